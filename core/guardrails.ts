import * as path from "path";
import { Problem, ValidationError, displayPath, readDataFile, repoRoot, validateAgainstSchema } from "./validation";

/** The guardrails file shipped with the stack. */
export const GUARDRAILS_FILE = path.join(repoRoot, "guardrails", "guardrails.yaml");
export const GUARDRAILS_SCHEMA = path.join(repoRoot, "guardrails", "guardrails.schema.json");

export type MatchOp = "=" | "!=" | "=~" | "!~";

export interface LabelMatcher {
    readonly label: string;
    readonly op: MatchOp;
    readonly value: string;
}

export interface Sli {
    /** Base name of a Prometheus histogram (without `_bucket`, `_count`, `_sum`). */
    readonly metric: string;
    readonly matchers: readonly LabelMatcher[];
    /** A request slower than this is "bad"; must be one of the histogram's bucket boundaries (`le`). */
    readonly thresholdSeconds: number;
}

export interface SloObjective {
    readonly id: string;
    readonly title: string;
    readonly sli: Sli;
    /** Share of requests that must be faster than the threshold, in (0, 1). 0.95 is a p95 guardrail. */
    readonly objective: number;
}

export interface CostCap {
    readonly monthlyUsd: number;
    /** Present where the seed caps LLM spend separately. */
    readonly llmMonthlyUsd?: number;
}

export interface Guardrails {
    readonly version: 1;
    readonly environments: readonly string[];
    readonly slo: {
        readonly periodDays: number;
        /**
         * Minimum-traffic gate: an SLO page or ticket also needs more than this many slow requests within its long
         * window, so a burst of at most this many never alerts, at any traffic.
         */
        readonly maxSlowRequestsWithoutAlert: number;
        readonly objectives: readonly SloObjective[];
    };
    readonly cost: {
        readonly currency: "USD";
        /** Share of a cap at which budgets notify and cost alerts ticket. */
        readonly alertThreshold: number;
        readonly caps: Readonly<Record<string, CostCap>>;
        /** Cost anomaly detection notifies at an anomaly whose total impact reaches this share of the monthly cap. */
        readonly anomalyImpactShareOfCap: number;
    };
    readonly cadence: {
        readonly branching: "trunk-based";
        readonly stagingCutIntervalDays: number;
        readonly prodReleaseIntervalDays: number;
        readonly tagFormat: string;
        readonly tagPattern: string;
    };
    readonly signoffs: {
        /**
         * Per environment, the roles every release there must be signed by (governance milestones may add roles,
         * never drop these; the deploy gate requires at least these).
         */
        readonly floor: Readonly<Record<string, readonly string[]>>;
        /** How far (seconds) a sign-off's time may be ahead of the checking machine's clock. */
        readonly maxClockSkewSeconds: number;
    };
    readonly evidence: {
        readonly hooks: readonly EvidenceHook[];
        /** Resource types a production stack may deploy beyond those the policy pack knows. */
        readonly productionAllowedTypes?: readonly string[];
    };
    /** The AWS account and region each environment deploys to (stack files pin them, the pack checks them). */
    readonly accounts: Readonly<Record<string, AwsAccount>>;
}

export interface AwsAccount {
    /** 12 digits. */
    readonly accountId: string;
    readonly region: string;
}

export type EvidenceHook = "logs" | "metrics" | "tests" | "provenance";

/**
 * Validate a parsed guardrails document: the JSON Schema first, then what a schema cannot say
 * (unique ids, a cap for every environment, the LLM cap inside the environment cap).
 */
export function parseGuardrails(data: unknown, file: string = displayPath(GUARDRAILS_FILE)): Guardrails {
    const g = validateAgainstSchema<Guardrails>(data, GUARDRAILS_SCHEMA, file);
    const problems: Problem[] = [];
    const seen = new Set<string>();
    g.slo.objectives.forEach((o, i) => {
        if (seen.has(o.id)) {
            problems.push({
                file,
                path: `/slo/objectives/${i}/id`,
                message: `duplicate SLO id "${o.id}"; ids must be unique`,
            });
        }
        seen.add(o.id);
    });
    for (const env of g.environments) {
        if (!g.cost.caps[env]) {
            problems.push({
                file,
                path: `/cost/caps`,
                message: `no cost cap for environment "${env}"; every entry of /environments needs one`,
            });
        }
    }
    for (const [env, cap] of Object.entries(g.cost.caps)) {
        if (!g.environments.includes(env)) {
            problems.push({
                file,
                path: `/cost/caps/${env}`,
                message: `unknown environment "${env}"; allowed: ${g.environments.join(", ")}`,
            });
        }
        if (cap.llmMonthlyUsd !== undefined && cap.llmMonthlyUsd > cap.monthlyUsd) {
            problems.push({
                file,
                path: `/cost/caps/${env}/llmMonthlyUsd`,
                message: `LLM cap ${cap.llmMonthlyUsd} exceeds the environment cap ${cap.monthlyUsd}`,
            });
        }
    }
    for (const env of Object.keys(g.signoffs.floor)) {
        if (!g.environments.includes(env)) {
            problems.push({
                file,
                path: `/signoffs/floor/${env}`,
                message: `unknown environment "${env}"; allowed: ${g.environments.join(", ")}`,
            });
        }
    }
    for (const env of g.environments) {
        if (!g.accounts[env]) {
            problems.push({
                file,
                path: "/accounts",
                message: `no AWS account for environment "${env}"; every entry of /environments needs { accountId, region }`,
            });
        }
    }
    for (const env of Object.keys(g.accounts)) {
        if (!g.environments.includes(env)) {
            problems.push({
                file,
                path: `/accounts/${env}`,
                message: `unknown environment "${env}"; allowed: ${g.environments.join(", ")}`,
            });
        }
    }
    if (g.cadence.prodReleaseIntervalDays < g.cadence.stagingCutIntervalDays) {
        problems.push({
            file,
            path: "/cadence/prodReleaseIntervalDays",
            message: "production cannot be released more often than staging is cut",
        });
    }
    if (problems.length > 0) {
        throw new ValidationError(problems);
    }
    return g;
}

/** Load and validate a guardrails file (the shipped one by default). */
export function loadGuardrails(file: string = GUARDRAILS_FILE): Guardrails {
    return parseGuardrails(readDataFile(file), displayPath(file));
}

/** The roles a release in `environment` needs at least (the guardrails' sign-off floor; none where there is none). */
export function signoffFloor(g: Guardrails, environment: string): readonly string[] {
    return Object.prototype.hasOwnProperty.call(g.signoffs.floor, environment) ? g.signoffs.floor[environment] : [];
}

/** PromQL label matchers for an SLI, e.g. `operation_type="query"`; extra matchers are appended. */
export function renderMatchers(matchers: readonly LabelMatcher[], extra: readonly LabelMatcher[] = []): string {
    return [...matchers, ...extra].map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(",");
}

/** A PromQL selector for one of the histogram's series, e.g. `foo_bucket{operation_type="query",le="0.35"}`. */
export function sliSelector(
    sli: Sli,
    suffix: "_bucket" | "_count" | "_sum" | "",
    extra: readonly LabelMatcher[] = [],
): string {
    return `${sli.metric}${suffix}{${renderMatchers(sli.matchers, extra)}}`;
}

/**
 * The `le` label value Prometheus client libraries export for a bucket bound. They format floats the way Go's
 * strconv.FormatFloat(f, 'f', -1, 64) does (0.35 -> "0.35", 1 -> "1"), which is what JavaScript's String()
 * produces for the values used here.
 */
export function leLabel(seconds: number): string {
    return String(seconds);
}

/**
 * Every spelling a bucket bound can have in a Prometheus TSDB. Clients differ (Go and prom-client write `1`,
 * Python and Java `1.0`), and Prometheus 3 rewrites classic-histogram `le` values at ingestion to the OpenMetrics
 * float form (`1` becomes `1.0`, `0.35` stays), so a threshold of 1 s is `le="1"` on one server and `le="1.0"` on
 * the next. Bounds below 1e-4 differ again (`1e-05` against `0.00001`).
 */
export function leValues(seconds: number): string[] {
    const js = String(seconds);
    const [mantissa, exponent] = seconds.toExponential().split("e");
    const exp = Number(exponent);
    // Go's FormatFloat(f, 'g', -1, 64) (client_golang, and Prometheus 3 before it appends ".0"): exponent notation
    // when exp < -4 or exp >= 6 (strconv's precision for the shortest form), two exponent digits at least.
    // Stryker disable next-line EqualityOperator: at exp 0 the exponent form is never used (below), so its sign is never read
    const goExp = `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
    // Below 1e-4 Go and Python both write the exponent form.
    const small = exp < -4;
    const go = small || exp >= 6 ? goExp : js;
    // Python's repr: exponent notation when exp < -4 or exp >= 16; integers keep ".0". OpenMetrics (Prometheus 3)
    // appends ".0" to Go's form when it has neither a point nor an exponent: below 1e6 that is Python's spelling, at
    // and above Go's form has an exponent, so it is always one of these.
    const py = small || exp >= 16 ? goExp : /[.e]/.test(js) ? js : `${js}.0`;
    return [...new Set([js, go, py])];
}

/** Escape a literal for a PromQL regular expression (RE2, fully anchored by Prometheus). */
function regexLiteral(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The matcher that selects a threshold bucket however the bound is spelled (leValues): `le="0.35"` when there is
 * one spelling, `le=~"1|1\\.0"` otherwise, so the same rules read Prometheus 2 and Prometheus 3 data.
 */
export function leMatcher(seconds: number): LabelMatcher {
    const values = leValues(seconds);
    return values.length === 1
        ? { label: "le", op: "=", value: values[0] }
        : { label: "le", op: "=~", value: values.map(regexLiteral).join("|") };
}

/**
 * Which of a candidate's numbers would loosen an SLO: a threshold above its own, or an objective below its own (a
 * number left undefined keeps the SLO's). The stack's per-environment overrides and the kit's service targets both
 * ask this; each words its own message.
 */
export function loosenedBy(
    slo: SloObjective,
    candidate: { thresholdSeconds?: number; objective?: number },
): { thresholdSeconds: boolean; objective: boolean } {
    return {
        thresholdSeconds:
            candidate.thresholdSeconds !== undefined && !(candidate.thresholdSeconds <= slo.sli.thresholdSeconds),
        objective: candidate.objective !== undefined && !(candidate.objective >= slo.objective),
    };
}

/**
 * The other environments deployed to `env`'s AWS account. Non-empty means the account is shared: the budgets of
 * `env` must count only spend carrying its cost allocation tag, or they would count the others' spend too.
 */
export function accountSharedWith(g: Guardrails, env: string): string[] {
    const mine = g.accounts[env]?.accountId;
    return g.environments.filter((e) => e !== env && mine !== undefined && g.accounts[e]?.accountId === mine);
}

/** Whether a release tag has the guardrail's shape (vX.Y.Z). */
export function isReleaseTag(g: Guardrails, tag: string): boolean {
    return new RegExp(g.cadence.tagPattern).test(tag);
}

/** Provider keys that pin the AWS account and region (the engine's default provider reads them). */
export const AWS_PIN_KEYS = { accounts: "aws:allowedAccountIds", region: "aws:region" } as const;
/** Provider keys that would let the provider skip the account lookup the pin relies on. */
export const AWS_ACCOUNT_CHECK_SKIPS = ["aws:skipRequestingAccountId", "aws:skipCredentialsValidation"] as const;

/** `["111122223333"]` (JSON, how Pulumi hands a list) or `111122223333,444455556666`; undefined when neither. */
export function parseAccountIds(value: unknown): string[] | undefined {
    let v: unknown = value;
    if (typeof value === "string") {
        try {
            v = JSON.parse(value);
        } catch {
            v = value.split(",").map((s) => s.trim());
        }
    }
    if (typeof v === "number") {
        v = [String(v)];
    }
    return Array.isArray(v) && v.every((x) => typeof x === "string" || typeof x === "number")
        ? v.map((x) => String(x))
        : undefined;
}
