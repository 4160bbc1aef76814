/**
 * Every SLO in the guardrails file has its alert rules deployed (a page and a ticket, labelled with the SLO, the
 * guardrail and the environment) and no rule measures it against a looser threshold or objective than the
 * guardrail. Reads PrometheusRule objects (spec.groups) and AMP rule group namespaces (data, a rule file).
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { GUARDRAIL_LABEL, K8S_LABEL, SEVERITY_OF, SLO_RECORD, URGENCY } from "../core/conventions";
import { sortKeys } from "../core/stableJson";
import { RuleGroup, buildSloGroup, isAlertingRule } from "../rules";
import { SloObjective, leLabel } from "../core/guardrails";
import { parseYamlBounded } from "../core/validation";
import { PackContext } from "./context";
import { describeResource, stackUrn, TYPE } from "./resources";
import { environmentOrReport } from "./stack";

export const SLO_POLICY = "slo-alerts-not-loosened";

const GUARDRAILS_AT = "guardrails/guardrails.yaml /slo/objectives";
/** The name space of the SLO recordings (core/conventions.ts SLO_RECORD). */
const SLO_RECORD_PREFIX = SLO_RECORD.objective.slice(0, SLO_RECORD.objective.indexOf(":") + 1);
const FIX =
    "Fix: deploy the rules built from the guardrails (components/prometheusRules.ts); never loosen an SLO in a stack.";

interface DeployedRule {
    readonly resource: PolicyResource;
    readonly group: string;
    readonly alert?: string;
    readonly record?: string;
    readonly expr: string;
    readonly for?: unknown;
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
                for: r.for,
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
                rules.push(
                    ...asRules(
                        r,
                        (parseYamlBounded(String(r.props.data), describeResource(r)) as { groups?: unknown } | null)
                            ?.groups,
                    ),
                );
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

/** The single-character escapes of PromQL's quoted strings (Go's), and what they stand for. */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
    a: "\x07",
    b: "\b",
    f: "\f",
    n: "\n",
    r: "\r",
    t: "\t",
    v: "\v",
    "\\": "\\",
};
/** Hex digits each numeric escape takes: `\x30`, `\u0030`, `\U00000030`. */
const HEX_ESCAPE_DIGITS: Readonly<Record<string, number>> = { x: 2, u: 4, U: 8 };

/**
 * The value of a PromQL string literal: a raw backtick string as it is; a double- or single-quoted one with Go's
 * escapes read (`\n`, `\x30`, `\060`, `\u0030`, `\U00000030`, and the literal's own quote). Undefined for an escape
 * Prometheus refuses (`\q`, `\'` in double quotes, a short or out-of-range code): the caller reads that as no bound.
 */
export function promqlString(literal: string): string | undefined {
    const quote = literal[0];
    const body = literal.slice(1, -1);
    // Stryker disable next-line ConditionalExpression: the callers' patterns match whole literals, so one starts with a backtick exactly when it ends with one
    if (quote === "`") {
        return body;
    }
    let out = "";
    for (let i = 0; i < body.length; i++) {
        if (body[i] !== "\\") {
            out += body[i];
            continue;
        }
        // Past the end (a lone backslash) this is undefined: refused by the last branch, as no escape.
        const e = body[++i];
        const hexDigits = HEX_ESCAPE_DIGITS[e];
        if (e === quote || e in SIMPLE_ESCAPES) {
            out += SIMPLE_ESCAPES[e] ?? e;
            continue;
        }
        if (hexDigits !== undefined) {
            const digits = body.slice(i + 1, i + 1 + hexDigits);
            const code = parseInt(digits, 16);
            if (
                !new RegExp(`^[0-9a-fA-F]{${hexDigits}}$`).test(digits) ||
                code > 0x10ffff ||
                (code >= 0xd800 && code < 0xe000)
            ) {
                return undefined;
            }
            out += String.fromCodePoint(code);
            i += hexDigits;
            continue;
        }
        const octal = body.slice(i, i + 3);
        // Stryker disable next-line Regex: the slice holds at most three characters, so either anchor alone says the same
        if (/^[0-7]{3}$/.test(octal) && parseInt(octal, 8) <= 0xff) {
            out += String.fromCharCode(parseInt(octal, 8));
            i += 2;
        } else {
            return undefined;
        }
    }
    return out;
}

/** `le` bounds of the SLI's threshold buckets an expression reads (only selectors carrying the SLI's own matchers). */
export function thresholdBounds(expr: string, slo: SloObjective): string[] {
    const selector = new RegExp(`${escapeRegExp(slo.sli.metric)}_bucket\\{([^}]*)\\}`, "g");
    const own = slo.sli.matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`);
    const bounds: string[] = [];
    for (const m of expr.matchAll(selector)) {
        const matchers = m[1].replace(/\s/g, "");
        const le = /(?:^|,)le(=~?)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/.exec(matchers);
        if (le && own.every((o) => matchers.includes(o))) {
            // An escape Prometheus refuses leaves the literal as it is written: no number, refused as unbounded.
            const value = promqlString(le[2]) ?? le[2];
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

/** Whitespace-insensitive form of an expression (the rule file may fold lines differently). */
function normalized(expr: string): string {
    return expr.replace(/\s+/g, " ").trim();
}

/** A bucket bound spelled as a regex of its spellings (`le=~"0\\.35|0\\.350"`: Prometheus 2 and 3 print it differently) reads as the one literal bound rules/ writes; a regex with any other alternative stays as it is. */
function literalBounds(expr: string): string {
    return expr.replace(/\ble\s*=~\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g, (whole, literal: string) => {
        const text = promqlString(literal);
        if (text === undefined) {
            return whole;
        }
        const alternatives = text.split("|").map((v) => v.replace(/\\(.)/g, "$1"));
        const values = alternatives.map(Number);
        const oneNumber =
            alternatives.every((a) => /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(a)) &&
            values.every((v) => v === values[0]);
        return oneNumber ? `le="${leLabel(values[0])}"` : whole;
    });
}

/** The number a `vector(X)` recording holds, if the deployed rule is one. */
function vectorValue(r: DeployedRule | undefined): number | undefined {
    const m = r ? /^vector\(\s*([0-9.eE+-]+)\s*\)$/.exec(normalized(r.expr)) : null;
    return m ? Number(m[1]) : undefined;
}

/** Whether a deployed rule has no hold time, however the rule file spells none. */
function holdsForNoTime(r: DeployedRule): boolean {
    return r.for === undefined || r.for === null || r.for === "" || r.for === "0s";
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
    return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

/**
 * The SLO's rules checked whole against what rules/ builds for it: every recording and both burn-rate alerts, with
 * their expressions (windows, burn factors, matchers, threshold bucket, objective), labels and no `for`. "Or tighter"
 * is the objective and threshold the stack deployed, when they are at least as strict as the guardrail: the
 * expected rules are built with them. Any other rule writing one of this SLO's recordings is refused too, since
 * Prometheus would then hold two answers for the series the alerts read.
 */
function wholeRuleProblems(
    env: string,
    slo: SloObjective,
    at: string,
    rules: readonly DeployedRule[],
    guardrails: PackContext["guardrails"],
): Array<{ urn?: string; message: string }> {
    // An empty `service` label is no label in Prometheus: such a rule writes the stack's own series.
    const own = rules.filter((r) => r.labels.slo === slo.id && !r.labels.service);
    const deployedObjective = vectorValue(own.find((r) => r.record === SLO_RECORD.objective));
    const deployedThreshold = vectorValue(own.find((r) => r.record === SLO_RECORD.thresholdSeconds));
    const objective =
        deployedObjective !== undefined &&
        // Stryker disable next-line EqualityOperator: at the guardrail's objective, the deployed one is that same number
        deployedObjective >= slo.objective &&
        deployedObjective < 1
            ? deployedObjective
            : slo.objective;
    const threshold =
        deployedThreshold !== undefined &&
        deployedThreshold > 0 &&
        // Stryker disable next-line EqualityOperator: at the guardrail's threshold, the deployed one is that same number
        deployedThreshold <= slo.sli.thresholdSeconds
            ? deployedThreshold
            : slo.sli.thresholdSeconds;
    const tightened: SloObjective = { ...slo, objective, sli: { ...slo.sli, thresholdSeconds: threshold } };
    let expected: RuleGroup;
    try {
        expected = buildSloGroup({ environment: env, sourceFile: "the stack's config" }, guardrails, tightened);
    } catch (err) {
        return [{ message: `SLO ${slo.id}: ${(err as Error).message}. ${FIX}` }];
    }
    const problems: Array<{ urn?: string; message: string }> = [];
    const designAt = `rules/slo.ts buildSloGroup, rules/design.ts SLO_BURN_ALERTS; ${at}`;
    for (const want of expected.rules) {
        const name = isAlertingRule(want) ? want.alert : want.record;
        const same = own.filter((r) => (isAlertingRule(want) ? r.alert === want.alert : r.record === want.record));
        const exact = same.filter(
            (r) =>
                normalized(literalBounds(r.expr)) === normalized(want.expr) &&
                sameLabels(r.labels, want.labels) &&
                holdsForNoTime(r),
        );
        if (same.length === 0) {
            problems.push({
                message: `SLO ${slo.id}: ${isAlertingRule(want) ? "alert" : "recording"} ${name} is not deployed; allowed: exactly the rule rules/ builds (${designAt}). ${FIX}`,
            });
            continue;
        }
        for (const r of same.filter((x) => !exact.includes(x) || same.length > 1)) {
            const diffs: string[] = [];
            if (normalized(literalBounds(r.expr)) !== normalized(want.expr)) {
                diffs.push(`expr is \`${normalized(r.expr)}\`; allowed: \`${normalized(want.expr)}\``);
            }
            if (!sameLabels(r.labels, want.labels)) {
                diffs.push(
                    `labels are ${JSON.stringify(sortKeys(r.labels))}; allowed: ${JSON.stringify(sortKeys(want.labels))}`,
                );
            }
            if (!holdsForNoTime(r)) {
                diffs.push(`for is ${JSON.stringify(r.for)}; allowed: none (the burn-rate windows are the hold time)`);
            }
            // No difference: an exact copy, reported only when the rule is deployed more than once.
            if (diffs.length === 0) {
                diffs.push(`it is deployed ${same.length} times; allowed: once`);
            }
            problems.push({
                urn: r.resource.urn,
                message: `SLO ${slo.id}: ${ruleName(r)}: ${diffs.join("; ")} (${designAt}). ${FIX}`,
            });
        }
    }
    // Every recording of this SLO, in any group or object, is one of the designed ones.
    for (const r of own.filter((x) => x.record !== undefined)) {
        if (!expected.rules.some((w) => !isAlertingRule(w) && w.record === r.record)) {
            problems.push({
                urn: r.resource.urn,
                message: `SLO ${slo.id}: ${ruleName(r)} writes a series labelled slo="${slo.id}" that rules/ does not build; allowed: only the designed recordings (${designAt}). ${FIX}`,
            });
        }
    }
    return problems;
}

/**
 * PrometheusRule objects carry the selector labels a Prometheus' ruleSelector matches: at least one label besides
 * the evidence stamps, the same on every object (an object without them is silently never loaded).
 */
function selectorProblems(resources: readonly PolicyResource[]): Array<{ urn: string; message: string }> {
    const objects = resources.filter((r) => r.type === TYPE.prometheusRule);
    const stamps = new Set<string>([...Object.values(K8S_LABEL)]);
    const selectors = objects.map((r) => {
        const labels = (r.props.metadata as { labels?: Record<string, unknown> } | undefined)?.labels ?? {};
        return {
            r,
            selector: Object.fromEntries(
                Object.entries(labels).filter(([k, v]) => !stamps.has(k) && typeof v === "string" && v !== ""),
            ),
        };
    });
    const problems: Array<{ urn: string; message: string }> = [];
    for (const { r, selector } of selectors) {
        if (Object.keys(selector).length === 0) {
            problems.push({
                urn: r.urn,
                message: `${describeResource(r)} carries no selector label (only evidence labels), so no Prometheus ruleSelector loads it; allowed: the stack's ruleTarget.ruleSelectorLabels (non-empty). ${FIX}`,
            });
        }
    }
    const distinct = [
        ...new Set(
            selectors
                .filter((x) => Object.keys(x.selector).length > 0)
                .map((x) => JSON.stringify(sortKeys(x.selector))),
        ),
    ];
    if (distinct.length > 1) {
        for (const { r, selector } of selectors.filter((x) => JSON.stringify(sortKeys(x.selector)) !== distinct[0])) {
            problems.push({
                urn: r.urn,
                message: `${describeResource(r)} carries selector labels ${JSON.stringify(sortKeys(selector))}, unlike the stack's other rule objects (${distinct[0]}); allowed: the same ruleSelectorLabels on every object. ${FIX}`,
            });
        }
    }
    return problems;
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
            for (const p of selectorProblems(args.resources)) {
                reportViolation(p.message, p.urn);
            }
            // A recording of the SLO namespace that names no guardrail SLO (its labels come from the expression, or
            // name none) and is not a service's (the kit's, labelled service) is a second writer nobody designed.
            const ids = new Set(ctx.guardrails.slo.objectives.map((o) => o.id));
            for (const r of rules.filter(
                (x) =>
                    x.record?.startsWith(SLO_RECORD_PREFIX) === true &&
                    !x.labels.service &&
                    // Stryker disable next-line StringLiteral: no SLO id matches the stand-in (the schema's ids are non-empty, lower-case, no spaces)
                    !ids.has(x.labels.slo ?? ""),
            )) {
                reportViolation(
                    `${ruleName(r)} writes a ${SLO_RECORD_PREFIX}* series labelled slo=${JSON.stringify(r.labels.slo ?? "")}, which no guardrail SLO or service owns; allowed: only the recordings rules/ builds per SLO (labelled with its id). ${FIX}`,
                    r.resource.urn,
                );
            }
            ctx.guardrails.slo.objectives.forEach((slo, index) => {
                const at = `${GUARDRAILS_AT}/${index}`;
                if (env !== undefined) {
                    for (const p of wholeRuleProblems(env, slo, at, rules, ctx.guardrails)) {
                        reportViolation(p.message, p.urn ?? urn);
                    }
                }
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
                    // `+Inf`, like any bound that is not a number, reads as NaN: refused as looser.
                    if (!(Number(le) <= slo.sli.thresholdSeconds)) {
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
