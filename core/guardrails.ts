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
        readonly objectives: readonly SloObjective[];
    };
    readonly cost: {
        readonly currency: "USD";
        /** Share of a cap at which budgets notify and cost alerts ticket. */
        readonly alertThreshold: number;
        readonly caps: Readonly<Record<string, CostCap>>;
    };
    readonly cadence: {
        readonly branching: "trunk-based";
        readonly stagingCutIntervalDays: number;
        readonly prodReleaseIntervalDays: number;
        readonly tagFormat: string;
        readonly tagPattern: string;
    };
    readonly evidence: {
        readonly hooks: readonly EvidenceHook[];
        /** Resource types a production stack may deploy beyond those the policy pack knows. */
        readonly productionAllowedTypes?: readonly string[];
    };
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

export function objectiveById(g: Guardrails, id: string): SloObjective {
    const o = g.slo.objectives.find((x) => x.id === id);
    if (!o) {
        throw new Error(`unknown SLO id "${id}"; known: ${g.slo.objectives.map((x) => x.id).join(", ")}`);
    }
    return o;
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

/** Whether a release tag has the guardrail's shape (vX.Y.Z). */
export function isReleaseTag(g: Guardrails, tag: string): boolean {
    return new RegExp(g.cadence.tagPattern).test(tag);
}
