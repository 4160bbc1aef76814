/**
 * Every SLO in the guardrails file has its alert rules deployed (a page and a ticket, labelled with the SLO, the
 * guardrail and the environment) and no rule measures it against a looser threshold or objective than the
 * guardrail. Reads PrometheusRule objects (spec.groups) and AMP rule group namespaces (data, a rule file).
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import * as yaml from "js-yaml";
import { GUARDRAIL_LABEL, SEVERITY_OF, SLO_RECORD, URGENCY } from "../core/conventions";
import { SloObjective } from "../core/guardrails";
import { PackContext } from "./context";
import { describeResource, stackUrn, TYPE } from "./resources";
import { environmentOrReport } from "./stack";

export const SLO_POLICY = "slo-alerts-not-loosened";

const GUARDRAILS_AT = "guardrails/guardrails.yaml /slo/objectives";
const FIX =
    "Fix: deploy the rules built from the guardrails (components/prometheusRules.ts); never loosen an SLO in a stack.";

interface DeployedRule {
    readonly resource: PolicyResource;
    readonly group: string;
    readonly alert?: string;
    readonly record?: string;
    readonly expr: string;
    readonly labels: Readonly<Record<string, string>>;
}

function asRules(resource: PolicyResource, groups: unknown): DeployedRule[] {
    const rules: DeployedRule[] = [];
    for (const g of Array.isArray(groups) ? (groups as Array<{ name?: unknown; rules?: unknown }>) : []) {
        for (const r of Array.isArray(g.rules) ? (g.rules as Array<Record<string, unknown>>) : []) {
            rules.push({
                resource,
                group: String(g.name),
                alert: typeof r.alert === "string" ? r.alert : undefined,
                record: typeof r.record === "string" ? r.record : undefined,
                expr: typeof r.expr === "string" ? r.expr : JSON.stringify(r.expr ?? ""),
                labels: (r.labels ?? {}) as Record<string, string>,
            });
        }
    }
    return rules;
}

/** Every rule the stack deploys, with the resource it comes from; unreadable rule files become problems. */
export function deployedRules(resources: readonly PolicyResource[]): {
    rules: DeployedRule[];
    problems: Array<{ urn: string; message: string }>;
} {
    const rules: DeployedRule[] = [];
    const problems: Array<{ urn: string; message: string }> = [];
    for (const r of resources) {
        if (r.type === TYPE.prometheusRule) {
            rules.push(...asRules(r, (r.props.spec as { groups?: unknown } | undefined)?.groups));
        } else if (r.type === TYPE.ampRuleGroupNamespace) {
            try {
                rules.push(...asRules(r, (yaml.load(String(r.props.data)) as { groups?: unknown } | null)?.groups));
            } catch (err) {
                problems.push({
                    urn: r.urn,
                    message: `${describeResource(r)}: data is not a Prometheus rule file (${(err as Error).message})`,
                });
            }
        }
    }
    return { rules, problems };
}

function escapeRegExp(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The value of a PromQL string literal: double- or single-quoted (Go escapes), or a raw backtick string. */
function promqlString(literal: string): string {
    const body = literal.slice(1, -1);
    if (literal.startsWith("`")) {
        return body;
    }
    return JSON.parse(`"${literal.startsWith("'") ? body.replace(/\\'/g, "'").replace(/"/g, '\\"') : body}"`) as string;
}

/** `le` bounds of the SLI's threshold buckets an expression reads (only selectors carrying the SLI's own matchers). */
export function thresholdBounds(expr: string, slo: SloObjective): string[] {
    const selector = new RegExp(`${escapeRegExp(slo.sli.metric)}_bucket\\{([^}]*)\\}`, "g");
    const own = slo.sli.matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`);
    const bounds: string[] = [];
    for (const m of expr.matchAll(selector)) {
        const matchers = m[1].replace(/\s+/g, "");
        const le = /(?:^|,)le(=~?)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/.exec(matchers);
        if (le && own.every((o) => matchers.includes(o))) {
            const value = promqlString(le[2]);
            // A regex matcher (both spellings of one bound, `1|1\.0`) counts each alternative as a bound; anything
            // that is not a literal number (`.*`, `1.*`) reads as no number, so it is refused as unbounded.
            bounds.push(...(le[1] === "=" ? [value] : value.split("|").map((v) => v.replace(/\\(.)/g, "$1"))));
        }
    }
    return bounds;
}

/** Objectives an expression compares with: `(1 - 0.95)` in burn-rate alerts, `vector(0.95)` in the objective recording. */
function objectivesIn(rule: DeployedRule): number[] {
    const found = [...rule.expr.matchAll(/\(\s*1\s*-\s*([0-9.eE+-]+)\s*\)/g)].map((m) => Number(m[1]));
    if (rule.record === SLO_RECORD.objective) {
        found.push(...[...rule.expr.matchAll(/vector\(\s*([0-9.eE+-]+)\s*\)/g)].map((m) => Number(m[1])));
    }
    return found;
}

function ruleName(r: DeployedRule): string {
    return `${r.alert ? `alert ${r.alert}` : `recording ${r.record ?? "?"}`} (group ${r.group}, ${describeResource(r.resource)})`;
}

export function sloPolicy(ctx: PackContext): StackValidationPolicy {
    return {
        name: SLO_POLICY,
        description:
            "Every guardrail SLO has page and ticket alert rules deployed, with a threshold and objective no looser than guardrails/guardrails.yaml.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            const env = environmentOrReport(ctx, args.resources, reportViolation, SLO_POLICY);
            const { rules, problems } = deployedRules(args.resources);
            for (const p of problems) {
                reportViolation(p.message, p.urn);
            }
            const urn = stackUrn(args.resources);
            ctx.guardrails.slo.objectives.forEach((slo, index) => {
                const at = `${GUARDRAILS_AT}/${index}`;
                const mine = rules.filter((r) => r.labels.slo === slo.id);
                const alerts = mine.filter((r) => r.alert !== undefined);
                if (alerts.length === 0) {
                    reportViolation(
                        `SLO ${slo.id} (${at}) has no alert rules deployed: no alerting rule is labelled slo="${slo.id}". ${FIX}`,
                        urn,
                    );
                    return;
                }
                for (const urgency of [URGENCY.page, URGENCY.ticket]) {
                    const severity = SEVERITY_OF[urgency];
                    // Both labels: routing matches `urgency`, people's own receivers and silences match `severity`.
                    if (
                        !alerts.some(
                            (a) =>
                                a.labels.urgency === urgency &&
                                a.labels.severity === severity &&
                                a.labels.guardrail === GUARDRAIL_LABEL.slo,
                        )
                    ) {
                        reportViolation(
                            `SLO ${slo.id} has no ${urgency} alert: no alerting rule labelled slo="${slo.id}", urgency="${urgency}", severity="${severity}", guardrail="${GUARDRAIL_LABEL.slo}". ${FIX}`,
                            alerts[0].resource.urn,
                        );
                    }
                }
                if (env !== undefined) {
                    for (const a of alerts.filter((x) => x.labels.env !== env)) {
                        reportViolation(
                            `SLO ${slo.id}: ${ruleName(a)} is labelled env="${a.labels.env ?? ""}" in the ${env} stack; allowed: env="${env}". ${FIX}`,
                            a.resource.urn,
                        );
                    }
                }
                const bounds = mine.flatMap((r) => thresholdBounds(r.expr, slo).map((le) => ({ r, le })));
                if (bounds.length === 0) {
                    reportViolation(
                        `SLO ${slo.id}: no rule measures its threshold (no ${slo.sli.metric}_bucket selector with the SLI's matchers and an le bound), so the guardrail of ${slo.sli.thresholdSeconds} s (${at}/sli/thresholdSeconds) is not enforced. ${FIX}`,
                        alerts[0].resource.urn,
                    );
                }
                for (const { r, le } of bounds) {
                    const seconds = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
                    if (!(seconds <= slo.sli.thresholdSeconds)) {
                        reportViolation(
                            `SLO ${slo.id}: ${ruleName(r)} counts requests within le="${le}" s as good, looser than the guardrail threshold of ${slo.sli.thresholdSeconds} s ` +
                                `(${at}/sli/thresholdSeconds); allowed: le <= ${slo.sli.thresholdSeconds}. ${FIX}`,
                            r.resource.urn,
                        );
                    }
                }
                for (const r of mine) {
                    for (const objective of objectivesIn(r).filter((o) => !(o >= slo.objective))) {
                        reportViolation(
                            `SLO ${slo.id}: ${ruleName(r)} uses objective ${objective}, looser than the guardrail objective ${slo.objective} (${at}/objective); allowed: >= ${slo.objective}. ${FIX}`,
                            r.resource.urn,
                        );
                    }
                }
            });
        },
    };
}
