/**
 * What one collector process is told to do: the stack renders it as JSON into the collector's ConfigMap
 * (collector/plan.ts) and the process reads it back here at start. The queries carry the budgets' own Cost
 * Explorer filters, so the collector counts spend the way the budgets do.
 */
import type { Expression } from "@aws-sdk/client-cost-explorer";
import { COST_COLLECTOR_MIN_REFRESH_MINUTES } from "../core/conventions";

/** Cost Explorer bills every request, so a call set never starts more often than this. */
export const MIN_REFRESH_SECONDS = COST_COLLECTOR_MIN_REFRESH_MINUTES * 60;

/** One Cost Explorer query: the spend of one budget, filtered as that budget is. */
export interface CategoryQuery {
    /** Value of the `category` label: the budget kind ("total", "llm"). */
    readonly category: string;
    /** The budget's filter as a Cost Explorer expression; absent = the whole account the collector runs in. */
    readonly filter?: Expression;
    /** Also export one category per AWS service (the Cost Explorer SERVICE dimension) from this query. */
    readonly perService: boolean;
    /** This query's newest day with spend is the `maestro_cost_data_timestamp_seconds` value. */
    readonly dataTimestamp: boolean;
}

export interface CollectorSettings {
    readonly environment: string;
    /** Seconds between call sets (>= MIN_REFRESH_SECONDS); scrapes in between read the cache. */
    readonly refreshSeconds: number;
    /**
     * Days before today the query also reads, across a month start, so the newest data's age is known on the 1st
     * too (month-to-date sums only the current month's days).
     */
    readonly lookbackDays: number;
    /** Pages per query before the call set is abandoned (each page is a billed request). */
    readonly maxPages: number;
    /** Attempts per request when Cost Explorer throttles or fails server-side, with the first backoff delay. */
    readonly retry: { readonly attempts: number; readonly baseDelayMs: number };
    /** Port of /metrics and /healthz. */
    readonly port: number;
    readonly queries: readonly CategoryQuery[];
}

/** A settings problem, naming the file and the field and what is allowed. */
export class SettingsError extends Error {}

/**
 * Parse and check settings read from `file`. The stack writes valid settings; this guards a hand-edited
 * ConfigMap (a refresh under an hour would multiply the Cost Explorer bill).
 */
export function parseSettings(text: string, file: string): CollectorSettings {
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (err) {
        throw new SettingsError(`${file}: not JSON (${(err as Error).message})`);
    }
    const s = raw as Partial<CollectorSettings> | null;
    const problems: string[] = [];
    const int = (field: keyof CollectorSettings, v: unknown, min: number, max: number) => {
        if (!(typeof v === "number" && Number.isInteger(v) && v >= min && v <= max)) {
            problems.push(`${field}: ${JSON.stringify(v)}; allowed: an integer from ${min} to ${max}`);
        }
    };
    if (typeof s !== "object" || s === null || Array.isArray(s)) {
        throw new SettingsError(`${file}: expected an object`);
    }
    if (typeof s.environment !== "string" || s.environment === "") {
        problems.push(`environment: ${JSON.stringify(s.environment)}; allowed: a non-empty string`);
    }
    int("refreshSeconds", s.refreshSeconds, MIN_REFRESH_SECONDS, 31 * 86400);
    int("lookbackDays", s.lookbackDays, 1, 31);
    int("maxPages", s.maxPages, 1, 100);
    int("port", s.port, 1, 65535);
    const retry = s.retry as Partial<CollectorSettings["retry"]> | undefined;
    if (!(typeof retry?.attempts === "number" && Number.isInteger(retry.attempts) && retry.attempts >= 1)) {
        problems.push(`retry.attempts: ${JSON.stringify(retry?.attempts)}; allowed: an integer >= 1`);
    }
    if (!(typeof retry?.baseDelayMs === "number" && retry.baseDelayMs >= 0)) {
        problems.push(`retry.baseDelayMs: ${JSON.stringify(retry?.baseDelayMs)}; allowed: a number >= 0`);
    }
    const queries = Array.isArray(s.queries) ? s.queries : [];
    if (queries.length === 0) {
        problems.push(`queries: ${JSON.stringify(s.queries)}; allowed: a non-empty list`);
    }
    const seen = new Set<string>();
    queries.forEach((q: Partial<CategoryQuery>, i) => {
        if (typeof q.category !== "string" || !/^[a-z][a-z0-9_-]*$/.test(q.category) || seen.has(q.category)) {
            problems.push(`queries[${i}].category: ${JSON.stringify(q.category)}; allowed: a unique lowercase name`);
        } else {
            seen.add(q.category);
        }
        if (typeof q.perService !== "boolean" || typeof q.dataTimestamp !== "boolean") {
            problems.push(`queries[${i}]: perService and dataTimestamp must be true or false`);
        }
        if (q.filter !== undefined && (typeof q.filter !== "object" || q.filter === null)) {
            problems.push(`queries[${i}].filter: allowed: a Cost Explorer Expression object`);
        }
    });
    if (queries.filter((q: Partial<CategoryQuery>) => q.dataTimestamp === true).length !== 1) {
        problems.push("queries: exactly one query must set dataTimestamp: true");
    }
    if (problems.length > 0) {
        throw new SettingsError(`${file}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    }
    return s as CollectorSettings;
}
