/**
 * The pure half of the guardrail kit: from a downstream service's SLIs and the unified targets, the rule groups and
 * the dashboard model its ServiceGuardrails component provisions, or every reason it refuses. The same builders as
 * this stack's own rules and dashboards (rules/, dashboards/), with a `service` label, so the numbers are the
 * guardrails' and nothing is copied.
 */
import { EVIDENCE_HOOKS, serviceDashboardUid } from "../core/conventions";
import { EvidenceItem, TagContext, withDashboardEvidence } from "../core/evidence";
import { ServiceBacklog, validatedBacklog } from "./backlog";
import { LabelMatcher, MatchOp, SloObjective, leLabel } from "../core/guardrails";
import { Problem, ValidationError } from "../core/validation";
import { BuiltDashboard, GRAFANA_MAX_UID_LENGTH, buildSloDashboard, provisionedJson } from "../dashboards";
import { dashboardProblems, seriesDefinedBy } from "../dashboards/check";
import { RuleGroup, buildSloGroup, buildTelemetryGapGroup, sloGroupName, telemetryGroupName } from "../rules";
import { RuleDestination } from "../core/ruleDestination";
import { GrafanaDestination, GuardrailTargets, looserProblems } from "./targets";

/** One of the service's SLIs, held to a unified SLO. */
export interface ServiceSlo {
    /** A unified SLO id (guardrails/guardrails.yaml /slo/objectives), e.g. `api-read-latency`. */
    readonly id: string;
    /** The service's own Prometheus histogram, base name (without `_bucket`, `_count`, `_sum`). */
    readonly metric: string;
    /** Label matchers that select the requests this SLO covers, e.g. `[{ label: "operation_type", op: "=", value: "query" }]`. */
    readonly matchers?: readonly LabelMatcher[];
    /** The histogram's bucket bounds in seconds, as the service exports them: the threshold must be one of them. */
    readonly buckets: readonly number[];
    /** Tighter than the unified threshold if the service wants; never looser. Default: the unified threshold. */
    readonly thresholdSeconds?: number;
    /** Higher than the unified objective if the service wants; never lower. Default: the unified objective. */
    readonly objective?: number;
}

export interface ServiceGuardrailsArgs {
    /** The service's name: the `service` label on its recordings, and part of rule and dashboard names. */
    readonly service: string;
    /** Team accountable for the service (evidence tags). */
    readonly owner: string;
    /** The unified targets: guardrailTargetsFromStack(...) or guardrailTargetsFromFile(...). */
    readonly targets: GuardrailTargets;
    readonly slos: readonly ServiceSlo[];
    /** The backlog item (in the service's workstream) these guardrails serve, with its four evidence hooks. */
    readonly evidence: EvidenceItem;
    /**
     * The service's own backlog (loadServiceBacklog(file), the same schema as governance/backlog.json): `evidence`
     * must be one of its items, with exactly the hooks it declares.
     */
    readonly backlog: ServiceBacklog;
    /** The release the service ships, stamped on its resources. */
    readonly releaseTag?: string;
    /** Where the rules go; default: beside the stack's (`targets.rules`). */
    readonly rules?: RuleDestination;
    /** Grafana folder and datasource; default: the stack's (`targets.grafana`). */
    readonly grafana?: GrafanaDestination;
}

/** One PrometheusRule object (or AMP rule group namespace). */
export interface ServiceRuleSet {
    readonly name: string;
    readonly groups: readonly RuleGroup[];
}

/** What ServiceGuardrails provisions, fully built and checked. */
export interface ServicePlan {
    readonly service: string;
    readonly environment: string;
    /** The service's effective SLOs: its own SLI, the unified (or tighter) threshold and objective. */
    readonly slos: readonly SloObjective[];
    /** One set per SLO, then the telemetry-gap alerts. */
    readonly ruleSets: readonly ServiceRuleSet[];
    readonly rules: RuleDestination;
    readonly grafana: GrafanaDestination;
    readonly dashboard: BuiltDashboard;
    /** The dashboard model as provisioned: sorted keys, evidence stamped. */
    readonly dashboardJson: string;
    readonly tagContext: TagContext;
}

const SERVICE_NAME = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MATCH_OPS: readonly MatchOp[] = ["=", "!=", "=~", "!~"];
/** Kubernetes label values (the backlog item id becomes one). */
const K8S_LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** Labels the kit's recordings set; a service SLI selecting on them would read the recordings' own label space. */
const RESERVED_LABELS = ["le", "slo", "env", "service"];

/** Reports one problem at a JSON path of the service's arguments. */
type Fail = (path: string, message: string) => void;

/**
 * Plan a service's guardrails: every check first, all problems at once (each with the argument's path and what is
 * allowed), then the builders. `stack` is the downstream stack's name, for the evidence stamps. Registers nothing.
 */

export function planServiceGuardrails(args: ServiceGuardrailsArgs, stack: string): ServicePlan {
    const file = `ServiceGuardrails ${JSON.stringify(args.service)} (targets from ${args.targets.source})`;
    const problems: Problem[] = [];
    const fail: Fail = (path, message) => problems.push({ file, path, message });
    const env = args.targets.environment;

    checkServiceIdentity(args, env, fail);
    const rules = args.rules ?? args.targets.rules;
    checkRuleSelector(rules, fail);
    if (!rules) {
        fail(
            "/rules",
            'missing, and the targets (from a file) name no rule location; allowed: { kind: "prometheus-operator", namespace, ruleSelectorLabels } or { kind: "amp", workspaceId }',
        );
    }
    const grafana = args.grafana ?? args.targets.grafana;
    if (!grafana) {
        fail(
            "/grafana",
            "missing, and the targets (from a file) name no Grafana folder; allowed: { folderUid, prometheusDatasourceUid }",
        );
    }

    const slos = checkServiceSlos(args, file, fail, problems);
    if (problems.length > 0 || !rules || !grafana) {
        throw new ValidationError(problems);
    }
    const { ruleSets, dashboard, dashboardJson, tagContext } = serviceArtifacts(
        args,
        stack,
        file,
        slos,
        grafana,
        fail,
        problems,
    );
    if (problems.length > 0) {
        throw new ValidationError(problems);
    }
    return {
        service: args.service,
        environment: env,
        slos,
        ruleSets,
        rules,
        grafana,
        dashboard,
        dashboardJson,
        tagContext,
    };
}

/** The service's name (and the dashboard uid it makes), owner and evidence item. */
function checkServiceIdentity(args: ServiceGuardrailsArgs, env: string, fail: Fail): void {
    if (!SERVICE_NAME.test(args.service)) {
        fail(
            "/service",
            `${JSON.stringify(args.service)}; allowed: lower-case letters, digits and dashes, starting with a letter`,
        );
    } else if (serviceDashboardUid(args.service, env).length > GRAFANA_MAX_UID_LENGTH) {
        fail(
            "/service",
            `"${args.service}" makes the dashboard uid "${serviceDashboardUid(args.service, env)}" longer than Grafana's ${GRAFANA_MAX_UID_LENGTH} characters; allowed: a shorter name`,
        );
    }
    if (!args.owner) {
        fail("/owner", "missing; allowed: the accountable team's name");
    }
    // Stryker disable next-line StringLiteral: any stand-in the label pattern refuses does; "" and "Stryker was here!" (a space, a '!') both are
    if (!K8S_LABEL_VALUE.test(args.evidence.id ?? "")) {
        fail(
            "/evidence/id",
            `${JSON.stringify(args.evidence.id)}; allowed: a backlog item id of letters, digits, '-', '_' and '.' (at most 63)`,
        );
    }
    for (const hook of EVIDENCE_HOOKS) {
        if (typeof args.evidence.hooks?.[hook] !== "string" || args.evidence.hooks[hook].trim() === "") {
            fail(
                `/evidence/hooks/${hook}`,
                `missing; every resource carries all four evidence hooks (${EVIDENCE_HOOKS.join(", ")}): a concrete reference`,
            );
        }
    }
    const backlog = validatedBacklog(args.backlog);
    const planned = backlog?.items.get(args.evidence.id);
    if (args.backlog === undefined || args.backlog === null) {
        fail("/backlog", "missing; allowed: loadServiceBacklog(<the service's backlog file>)");
    } else if (backlog === undefined) {
        fail(
            "/backlog",
            "not a backlog the kit validated (built by hand, it skips the schema); allowed: loadServiceBacklog(<the service's backlog file>)",
        );
    } else if (planned === undefined) {
        fail(
            "/evidence/id",
            `${JSON.stringify(args.evidence.id)} is not an item of ${backlog.file}; allowed: ${[...backlog.items.keys()].join(", ")}`,
        );
    } else {
        for (const hook of EVIDENCE_HOOKS) {
            if (args.evidence.hooks?.[hook] !== planned.hooks[hook]) {
                fail(
                    `/evidence/hooks/${hook}`,
                    `${JSON.stringify(args.evidence.hooks?.[hook])} is not what ${backlog.file} item ${planned.id} declares; allowed: ${JSON.stringify(planned.hooks[hook])}`,
                );
            }
        }
    }
}

/** Rules sent to a Prometheus Operator namespace must carry labels its Prometheus selects, each a valid label value. */
function checkRuleSelector(rules: ServicePlan["rules"] | undefined, fail: Fail): void {
    if (rules?.kind === "prometheus-operator") {
        const labels = Object.entries(rules.ruleSelectorLabels ?? {});
        if (labels.length === 0) {
            fail(
                "/rules/ruleSelectorLabels",
                "empty, so no Prometheus ruleSelector would load the service's rules; allowed: at least one label the stack's Prometheus selects",
            );
        }
        for (const [k, v] of labels.filter(([, v]) => !K8S_LABEL_VALUE.test(v))) {
            fail(
                `/rules/ruleSelectorLabels/${k}`,
                `${JSON.stringify(v)}; allowed: a Kubernetes label value (letters, digits, '-', '_', '.', at most 63)`,
            );
        }
    }
}

/** Each SLI held to a unified SLO id, no looser than the targets, with a bucket at its threshold. */
function checkServiceSlos(args: ServiceGuardrailsArgs, file: string, fail: Fail, problems: Problem[]): SloObjective[] {
    if (args.slos.length === 0) {
        fail("/slos", "empty; allowed: at least one SLI held to a unified SLO id");
    }
    const slos: SloObjective[] = [];
    const seen = new Set<string>();
    args.slos.forEach((s, i) => {
        const at = `/slos/${i}`;
        const unified = args.targets.slos.find((u) => u.id === s.id);
        if (!unified) {
            fail(
                `${at}/id`,
                `unknown SLO id ${JSON.stringify(s.id)}; allowed: ${args.targets.slos.map((u) => u.id).join(", ")}`,
            );
            return;
        }
        if (seen.has(s.id)) {
            fail(`${at}/id`, `"${s.id}" appears twice; allowed: each unified SLO once per service`);
        }
        seen.add(s.id);
        if (!METRIC_NAME.test(s.metric) || /_(bucket|count|sum)$/.test(s.metric)) {
            fail(
                `${at}/metric`,
                `${JSON.stringify(s.metric)}; allowed: a histogram's base name (a Prometheus metric name without _bucket, _count or _sum)`,
            );
        }
        (s.matchers ?? []).forEach((m, j) => {
            if (!LABEL_NAME.test(m.label) || RESERVED_LABELS.includes(m.label)) {
                fail(
                    `${at}/matchers/${j}/label`,
                    `${JSON.stringify(m.label)}; allowed: a Prometheus label name other than ${RESERVED_LABELS.join(", ")}`,
                );
            }
            if (!MATCH_OPS.includes(m.op)) {
                fail(`${at}/matchers/${j}/op`, `${JSON.stringify(m.op)}; allowed: ${MATCH_OPS.join(", ")}`);
            }
        });
        const thresholdSeconds = s.thresholdSeconds ?? unified.sli.thresholdSeconds;
        const objective = s.objective ?? unified.objective;
        problems.push(
            ...looserProblems(
                unified,
                { thresholdSeconds, objective },
                file,
                { threshold: `${at}/thresholdSeconds`, objective: `${at}/objective` },
                args.targets.source,
            ),
        );
        const sorted = s.buckets.every((b, j) => typeof b === "number" && b > 0 && (j === 0 || b > s.buckets[j - 1]));
        if (s.buckets.length === 0 || !sorted) {
            fail(`${at}/buckets`, "allowed: the histogram's bucket bounds in seconds, positive and ascending");
        } else if (!s.buckets.some((b) => leLabel(b) === leLabel(thresholdSeconds))) {
            fail(
                `${at}/buckets`,
                `no bucket at the ${thresholdSeconds} s threshold, so the share of slower requests cannot be measured; allowed: buckets including ${thresholdSeconds} (docs/instrumentation.md)`,
            );
        }
        slos.push({
            id: unified.id,
            title: unified.title,
            objective,
            sli: { metric: s.metric, matchers: s.matchers ?? [], thresholdSeconds },
        });
    });
    return slos;
}

/** The service's rule sets and its dashboard (checked against the series its rules define), stamped with evidence. */
function serviceArtifacts(
    args: ServiceGuardrailsArgs,
    stack: string,
    file: string,
    slos: SloObjective[],
    grafana: GrafanaDestination,
    fail: Fail,
    problems: Problem[],
): Pick<ServicePlan, "ruleSets" | "dashboard" | "dashboardJson" | "tagContext"> {
    const env = args.targets.environment;
    // Alerts link to the service dashboard under Grafana's URL when the targets know it (read from the stack).
    const scope = { environment: env, sourceFile: file, service: args.service, slos, grafanaUrl: grafana.url };
    const ruleSets: ServiceRuleSet[] = [];
    for (const slo of slos) {
        try {
            ruleSets.push({
                name: sloGroupName(slo.id, env, args.service),
                groups: [buildSloGroup(scope, args.targets.guardrails, slo)],
            });
        } catch (err) {
            fail(`/slos/${args.slos.findIndex((s) => s.id === slo.id)}/objective`, (err as Error).message);
        }
    }
    ruleSets.push({ name: telemetryGroupName(env, args.service), groups: [buildTelemetryGapGroup(scope)] });

    const dashboardScope = {
        environment: env,
        prometheusDatasourceUid: grafana.prometheusDatasourceUid,
        slos,
        service: args.service,
    };
    const built = buildSloDashboard(dashboardScope);
    const dashboard: BuiltDashboard = { ...built, backlogItem: args.evidence.id };
    const known = seriesDefinedBy(
        ruleSets.flatMap((r) => r.groups),
        slos.map((s) => s.sli.metric),
    );
    problems.push(...dashboardProblems(dashboard.model, dashboardScope, known));
    const tagContext: TagContext = { environment: env, owner: args.owner, stack, releaseTag: args.releaseTag };
    // Stryker disable next-line StringLiteral: the initial value is kept only when stamping threw, and then fail() has a problem, so planServiceGuardrails throws instead of returning it
    let dashboardJson = "";
    try {
        dashboardJson = withDashboardEvidence(provisionedJson(dashboard.model), tagContext, args.evidence);
    } catch (err) {
        fail("/evidence", (err as Error).message);
    }
    return { ruleSets, dashboard, dashboardJson, tagContext };
}
