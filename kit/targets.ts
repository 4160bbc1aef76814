/**
 * The unified targets a downstream program holds its service to: read from this stack's outputs through a
 * `StackReference` (what a deployed environment actually enforces), or from a guardrails file. Either way they are
 * validated here, so a service is never measured against a target that is missing, malformed or looser than the
 * guardrail.
 */
import * as pulumi from "@pulumi/pulumi";
import {
    Guardrails,
    GUARDRAILS_FILE,
    SloObjective,
    loadGuardrails,
    loosenedBy,
    parseGuardrails,
} from "../core/guardrails";
import { histogramRequirements } from "../core/instrumentation";
import { RuleDestination } from "../core/ruleDestination";
import { RuleLocation, StackOutputs } from "../core/stackOutputs";
import { Problem, ValidationError, displayPath } from "../core/validation";

/** The Grafana folder and datasource a service's dashboard joins. */
export interface GrafanaDestination {
    readonly folderUid: string;
    readonly prometheusDatasourceUid: string;
    /** Grafana's base URL, for the dashboard's page; unknown when the targets came from a file. */
    readonly url?: string;
}

export interface GuardrailTargets {
    /** Where these came from, for messages: `stack reference <org>/maestro-guardrails/<env>` or a file path. */
    readonly source: string;
    readonly environment: string;
    /** The unified guardrails document. */
    readonly guardrails: Guardrails;
    /** The environment's effective SLOs: the guardrails' own, or tighter where the stack overrides them. */
    readonly slos: readonly SloObjective[];
    /** Present when read from the stack. */
    readonly rules?: RuleDestination;
    readonly grafana?: GrafanaDestination;
}

/** Where a candidate's two numbers sit in its source, for messages. */
export interface TargetPaths {
    readonly threshold: string;
    readonly objective: string;
}

/** Why `candidate` would loosen `unified`: a larger threshold or a lower objective. Empty when it is as strict or stricter. */
export function looserProblems(
    unified: SloObjective,
    candidate: { thresholdSeconds: number; objective: number },
    file: string,
    at: TargetPaths,
    unifiedSource: string,
): Problem[] {
    const problems: Problem[] = [];
    const looser = loosenedBy(unified, candidate);
    if (looser.thresholdSeconds) {
        problems.push({
            file,
            path: at.threshold,
            message: `${candidate.thresholdSeconds} s is looser than the unified ${unified.id} threshold (${unified.sli.thresholdSeconds} s, ${unifiedSource}); allowed: a number <= ${unified.sli.thresholdSeconds}`,
        });
    }
    // An objective of 1 leaves no error budget: no burn rate is defined, so it is refused with the looser ones.
    if (looser.objective || !(candidate.objective < 1)) {
        problems.push({
            file,
            path: at.objective,
            message: `${candidate.objective} is looser than the unified ${unified.id} objective (${unified.objective}, ${unifiedSource}); allowed: a number >= ${unified.objective} and < 1`,
        });
    }
    return problems;
}

/**
 * The bucket bounds (seconds) the instrumentation requirements recommend for the histogram an SLO is measured on
 * (docs/instrumentation.md): a bound at every effective threshold on it plus neighbours. A service exporting these
 * satisfies the kit's bucket check without copying a number.
 */
export function recommendedBuckets(targets: GuardrailTargets, sloId: string): number[] {
    const slo = targets.slos.find((s) => s.id === sloId);
    if (!slo) {
        throw new Error(
            `unknown SLO id "${sloId}" (${targets.source}); allowed: ${targets.slos.map((s) => s.id).join(", ")}`,
        );
    }
    const requirement = histogramRequirements(
        targets.guardrails,
        targets.slos.map((s) => s.sli),
    ).find((h) => h.metric === slo.sli.metric)!;
    return [...requirement.recommendedBuckets];
}

/**
 * Targets from a guardrails model a program already holds (validated with parseGuardrails or loadGuardrails): the
 * guardrails' own SLOs for `environment`. `source` names it in messages.
 */
export function guardrailTargets(
    guardrails: Guardrails,
    environment: string,
    source = "guardrails model",
): GuardrailTargets {
    if (!guardrails.environments.includes(environment)) {
        throw new ValidationError([
            {
                file: source,
                path: "/environments",
                message: `no environment "${environment}"; allowed: ${guardrails.environments.join(", ")}`,
            },
        ]);
    }
    return { source, environment, guardrails, slos: guardrails.slo.objectives };
}

/** Targets straight from a guardrails file (the shipped one by default), for programs that do not read the stack. */
export function guardrailTargetsFromFile(environment: string, file: string = GUARDRAILS_FILE): GuardrailTargets {
    return guardrailTargets(loadGuardrails(file), environment, displayPath(file));
}

type Reader = (output: string) => Promise<unknown>;

/** How messages name the kit's baseline. */
const KIT_BASELINE = displayPath(GUARDRAILS_FILE);

/**
 * Read and validate the outputs a downstream service needs from a deployed maestro-guardrails stack
 * (`<org>/maestro-guardrails/<env>`). Registers the StackReference (a read, no resource is created) and resolves
 * with plain values, so the service's plan can refuse before anything is registered. Rejects with every problem,
 * each naming the output and field and what is allowed.
 */
export async function guardrailTargetsFromStack(
    stackName: string,
    opts?: pulumi.CustomResourceOptions,
    baseline: Guardrails = loadGuardrails(),
): Promise<GuardrailTargets> {
    // No args: the reference's name is the stack name it is registered under.
    const ref = new pulumi.StackReference(stackName, undefined, opts);
    // Output details, not getOutput: plain values (secret or not) the plan can check before registering anything.
    const read: Reader = async (output) => {
        const d = await ref.getOutputDetails(output);
        return (d.value ?? d.secretValue) as unknown;
    };
    return parseStackTargets(`stack reference ${stackName}`, read, baseline);
}

/**
 * The checks behind guardrailTargetsFromStack, over any reader of outputs (tests feed synth's outputs.json). The
 * baseline is the guardrails the kit ships (the version the downstream locked), never the referenced stack's own
 * report: a stack whose exported guardrails or effective targets are looser than the baseline is refused, and the
 * targets returned are measured against the baseline.
 */
export async function parseStackTargets(
    source: string,
    read: Reader,
    baseline: Guardrails = loadGuardrails(),
): Promise<GuardrailTargets> {
    const [environment, guardrailsOut, targetsOut, rulesOut, grafanaOut] = await Promise.all(
        (
            [
                "environment",
                "guardrails",
                "targets",
                "rules",
                "grafana",
            ] as const satisfies readonly (keyof StackOutputs)[]
        ).map(read),
    );
    const problems: Problem[] = [];
    const at = (output: string, field = "") => `output "${output}"${field}`;
    const fail = (path: string, message: string) => problems.push({ file: source, path, message });
    const str = (v: unknown, path: string): string | undefined => {
        if (typeof v === "string" && v.length > 0) {
            return v;
        }
        fail(
            path,
            `${v === undefined ? "missing" : `is ${JSON.stringify(v)}`}; allowed: a non-empty string (deploy the maestro-guardrails stack first, or reference the right one)`,
        );
        return undefined;
    };

    let guardrails: Guardrails | undefined;
    if (guardrailsOut === undefined) {
        fail(at("guardrails"), "missing; allowed: the unified guardrails document the stack exports");
    } else {
        try {
            guardrails = parseGuardrails(guardrailsOut, `${source} ${at("guardrails")}`);
        } catch (err) {
            if (!(err instanceof ValidationError)) {
                throw err;
            }
            problems.push(...err.problems);
        }
    }
    if (guardrails) {
        // The stack's self-report may be as strict as the baseline or stricter; never looser, never missing one.
        baseline.slo.objectives.forEach((b) => {
            const i = guardrails.slo.objectives.findIndex((o) => o.id === b.id);
            const reported = guardrails.slo.objectives[i];
            if (!reported) {
                fail(
                    at("guardrails", "/slo/objectives"),
                    `has no SLO "${b.id}"; the kit's guardrails (${KIT_BASELINE}) enforce it`,
                );
                return;
            }
            problems.push(
                ...looserProblems(
                    b,
                    { thresholdSeconds: reported.sli.thresholdSeconds, objective: reported.objective },
                    source,
                    {
                        threshold: at("guardrails", `/slo/objectives/${i}/sli/thresholdSeconds`),
                        objective: at("guardrails", `/slo/objectives/${i}/objective`),
                    },
                    `the kit's guardrails, ${KIT_BASELINE}`,
                ),
            );
        });
    }
    const env = str(environment, at("environment"));
    if (guardrails && env && !guardrails.environments.includes(env)) {
        fail(
            at("environment"),
            `"${env}" is not a guardrails environment; allowed: ${guardrails.environments.join(", ")}`,
        );
    }

    const slos: SloObjective[] = [];
    const effective = (targetsOut as { slos?: unknown } | undefined)?.slos;
    if (!Array.isArray(effective)) {
        fail(at("targets", "/slos"), "missing; allowed: the list of effective SLOs the stack exports");
    } else {
        // Effective targets are measured against the kit's own guardrails, not the stack's report of them, so they
        // are checked whether or not that report is there.
        const g = baseline;
        effective.forEach((raw: unknown, i) => {
            const o = raw as Partial<SloObjective> | null;
            const path = at("targets", `/slos/${i}`);
            const unified = g.slo.objectives.find((u) => u.id === o?.id);
            if (!unified) {
                fail(
                    `${path}/id`,
                    `unknown SLO id ${JSON.stringify(o?.id)}; allowed: ${g.slo.objectives.map((u) => u.id).join(", ")}`,
                );
                return;
            }
            const thresholdSeconds = o?.sli?.thresholdSeconds;
            const objective = o?.objective;
            if (typeof thresholdSeconds !== "number" || typeof objective !== "number") {
                fail(path, "needs sli.thresholdSeconds and objective as numbers");
                return;
            }
            problems.push(
                ...looserProblems(
                    unified,
                    { thresholdSeconds, objective },
                    source,
                    { threshold: `${path}/sli/thresholdSeconds`, objective: `${path}/objective` },
                    `the kit's guardrails, ${KIT_BASELINE}`,
                ),
            );
            slos.push({ ...unified, objective, sli: { ...unified.sli, thresholdSeconds } });
        });
        for (const u of g.slo.objectives.filter(
            (x) => !effective.some((e: unknown) => (e as { id?: unknown } | null)?.id === x.id),
        )) {
            fail(
                at("targets", "/slos"),
                `has no entry for SLO "${u.id}"; every guardrail SLO is enforced in every environment`,
            );
        }
    }

    const rules = parseRuleLocation(rulesOut, at("rules"), fail);
    const grafana = parseGrafana(grafanaOut, at("grafana"), str);
    if (problems.length > 0 || !guardrails || !env) {
        throw new ValidationError(problems);
    }
    return { source, environment: env, guardrails: baseline, slos, rules, grafana };
}

function parseRuleLocation(
    v: unknown,
    path: string,
    fail: (path: string, message: string) => void,
): RuleDestination | undefined {
    const r = v as
        | Partial<RuleLocation & { ruleSelectorLabels: Record<string, string>; namespace: string; workspaceId: string }>
        | undefined;
    if (r?.kind === "prometheus-operator") {
        if (typeof r.namespace !== "string" || r.namespace === "") {
            fail(`${path}/namespace`, "missing; allowed: the namespace the stack's PrometheusRule objects live in");
            return undefined;
        }
        const labels = r.ruleSelectorLabels;
        if (
            labels === null ||
            typeof labels !== "object" ||
            Object.keys(labels).length === 0 ||
            Object.values(labels).some((x) => typeof x !== "string" || x === "")
        ) {
            fail(
                `${path}/ruleSelectorLabels`,
                `is ${JSON.stringify(labels)}; allowed: the non-empty string labels the Prometheus ruleSelector matches (at least one: without them no Prometheus loads the rules)`,
            );
            return undefined;
        }
        return { kind: r.kind, namespace: r.namespace, ruleSelectorLabels: labels };
    }
    if (r?.kind === "amp") {
        if (typeof r.workspaceId !== "string" || r.workspaceId === "") {
            fail(`${path}/workspaceId`, "missing; allowed: the AMP workspace id the stack's rules live in");
            return undefined;
        }
        return { kind: r.kind, workspaceId: r.workspaceId };
    }
    fail(`${path}/kind`, `is ${JSON.stringify(r?.kind)}; allowed: "prometheus-operator" or "amp"`);
    return undefined;
}

function parseGrafana(
    v: unknown,
    path: string,
    str: (v: unknown, path: string) => string | undefined,
): GrafanaDestination | undefined {
    const g = (v ?? {}) as Partial<StackOutputs["grafana"]>;
    const folderUid = str(g.folderUid, `${path}/folderUid`);
    const prometheusDatasourceUid = str(g.prometheusDatasourceUid, `${path}/prometheusDatasourceUid`);
    // The stack's dashboard pages are `<grafana:url>/d/<uid>`: the base is what precedes `/d/`.
    const page = g.dashboardUrls?.slo;
    const url = typeof page === "string" && page.includes("/d/") ? page.slice(0, page.lastIndexOf("/d/")) : undefined;
    // Stryker disable next-line LogicalOperator,ConditionalExpression: equivalent; str() already reported a missing uid, so parseStackTargets refuses before it uses this result
    return folderUid && prometheusDatasourceUid ? { folderUid, prometheusDatasourceUid, url } : undefined;
}
