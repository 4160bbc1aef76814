/**
 * Pure Cost Explorer logic of the collector: the request for one category's month-to-date spend, and the
 * reading of its (paged) daily results into month-to-date figures and the newest billing day. No clock, no
 * network: the caller passes `now` and the pages.
 */
import type { GetCostAndUsageRequest, GetCostAndUsageResponse } from "@aws-sdk/client-cost-explorer";
import type { CategoryQuery } from "./settings";

/** Amortized, so upfront and monthly fees are spread over the month and the linear forecast holds (docs/metrics.md). */
export const COST_METRIC_NAME = "AmortizedCost";
/** The currency the exported figures are in (`maestro_cost_month_to_date_usd`). */
export const CURRENCY = "USD";

const DAY_MS = 86400_000;

/** YYYY-MM-DD of a UTC instant (Cost Explorer's date format). */
export function isoDay(ms: number): string {
    return new Date(ms).toISOString().slice(0, 10);
}

/** 00:00 UTC of a YYYY-MM-DD day, in ms. */
export function dayStartMs(day: string): number {
    return Date.parse(`${day}T00:00:00Z`);
}

/** The UTC month `now` is in, and the days one call set reads. */
export interface QueryWindow {
    /** YYYY-MM, the month the figures are for; a new value means the month rolled over. */
    readonly month: string;
    /** First day of the month (inclusive). */
    readonly monthStart: string;
    /** First day read: the month start, or `lookbackDays` before today when that is earlier. */
    readonly start: string;
    /** The day after today (Cost Explorer's End is exclusive), so today's partial data is included. */
    readonly end: string;
}

export function queryWindow(nowMs: number, lookbackDays: number): QueryWindow {
    const now = new Date(nowMs);
    const monthStartMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const todayMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    return {
        month: isoDay(monthStartMs).slice(0, 7),
        monthStart: isoDay(monthStartMs),
        start: isoDay(Math.min(monthStartMs, todayMs - lookbackDays * DAY_MS)),
        end: isoDay(todayMs + DAY_MS),
    };
}

/** One page's request: daily amortized cost over the window, the budget's filter, per service when asked. */
export function costRequest(query: CategoryQuery, window: QueryWindow, nextPageToken?: string): GetCostAndUsageRequest {
    return {
        TimePeriod: { Start: window.start, End: window.end },
        Granularity: "DAILY",
        Metrics: [COST_METRIC_NAME],
        ...(query.filter ? { Filter: query.filter } : {}),
        ...(query.perService ? { GroupBy: [{ Type: "DIMENSION", Key: "SERVICE" }] } : {}),
        ...(nextPageToken ? { NextPageToken: nextPageToken } : {}),
    };
}

/** A response Cost Explorer should not have sent (unit, amount, period); the category is not exported. */
export class MalformedResponseError extends Error {}

/** One category's figures from one call set. */
export interface CategoryFigures {
    readonly category: string;
    /** Month-to-date spend in USD (days on or after the month start). */
    readonly monthToDateUsd: number;
    /** Month-to-date spend per AWS service (only when the query asked per service). */
    readonly perServiceUsd: Readonly<Record<string, number>>;
    /**
     * End of the newest day with any spend, capped at the time Cost Explorer answered (today's data is partial);
     * the window's start when no day in it has spend, so an empty feed reads as old, never as fresh.
     */
    readonly dataTimestampMs: number;
}

function amount(metrics: Record<string, { Amount?: string; Unit?: string }> | undefined, where: string): number {
    const m = metrics?.[COST_METRIC_NAME];
    if (!m) {
        // Cost Explorer omits nothing it was asked for; a missing metric is a broken answer, not a zero.
        throw new MalformedResponseError(`${where}: no ${COST_METRIC_NAME} in the response`);
    }
    const value = Number(m.Amount);
    if (m.Amount === undefined || m.Amount.trim() === "" || !Number.isFinite(value)) {
        throw new MalformedResponseError(
            `${where}: ${COST_METRIC_NAME} amount ${JSON.stringify(m.Amount)} is not a number`,
        );
    }
    if (m.Unit !== CURRENCY) {
        throw new MalformedResponseError(
            `${where}: ${COST_METRIC_NAME} unit ${JSON.stringify(m.Unit)}; expected ${CURRENCY}`,
        );
    }
    return value;
}

/** Round to a hundredth of a cent: sums of many float amounts otherwise end in noise. */
function round(usd: number): number {
    return Math.round(usd * 10000) / 10000;
}

/** Read every page of one category's answer. */
export function categoryFigures(
    query: CategoryQuery,
    window: QueryWindow,
    pages: readonly GetCostAndUsageResponse[],
    answeredAtMs: number,
): CategoryFigures {
    const monthStartMs = dayStartMs(window.monthStart);
    let total = 0;
    const perService: Record<string, number> = {};
    let newestDayEndMs: number | undefined;
    pages.forEach((page, p) => {
        (page.ResultsByTime ?? []).forEach((r, i) => {
            const where = `${query.category} page ${p + 1} result ${i + 1}`;
            const day = r.TimePeriod?.Start;
            if (!day || !/^\d{4}-\d{2}-\d{2}$/.test(day)) {
                throw new MalformedResponseError(`${where}: TimePeriod.Start ${JSON.stringify(day)} is not a day`);
            }
            const startMs = dayStartMs(day);
            let daySpend = 0;
            if (query.perService) {
                for (const g of r.Groups ?? []) {
                    const service = g.Keys?.[0];
                    if (!service) {
                        throw new MalformedResponseError(`${where}: a group without a SERVICE key`);
                    }
                    const usd = amount(g.Metrics, `${where} ${service}`);
                    daySpend += usd;
                    if (startMs >= monthStartMs) {
                        perService[service] = (perService[service] ?? 0) + usd;
                    }
                }
            } else {
                daySpend = amount(r.Total, where);
            }
            if (startMs >= monthStartMs) {
                total += daySpend;
            }
            if (daySpend !== 0) {
                const endMs = startMs + DAY_MS;
                newestDayEndMs = Math.max(newestDayEndMs ?? endMs, endMs);
            }
        });
    });
    return {
        category: query.category,
        monthToDateUsd: round(total),
        perServiceUsd: Object.fromEntries(
            Object.entries(perService)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, v]) => [k, round(v)]),
        ),
        dataTimestampMs:
            newestDayEndMs === undefined ? dayStartMs(window.start) : Math.min(newestDayEndMs, answeredAtMs),
    };
}

/** Why a request failed, as the `reason` label of the error counter. */
export type FailureReason =
    | "throttled"
    | "access_denied"
    | "invalid_request"
    | "data_unavailable"
    | "server_error"
    | "network"
    | "malformed_response"
    | "page_limit"
    | "other";

/** Classify an SDK error: throttling and server-side failures are worth a retry, the rest are not. */
export function classifyError(err: unknown): { reason: FailureReason; retryable: boolean } {
    if (err instanceof MalformedResponseError) {
        return { reason: "malformed_response", retryable: false };
    }
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $fault?: string; code?: string };
    const name = e?.name ?? "";
    if (
        ["ThrottlingException", "LimitExceededException", "RequestLimitExceeded", "TooManyRequestsException"].includes(
            name,
        )
    ) {
        return { reason: "throttled", retryable: true };
    }
    if (["AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"].includes(name)) {
        return { reason: "access_denied", retryable: false };
    }
    if (name === "DataUnavailableException" || name === "BillExpirationException") {
        return { reason: "data_unavailable", retryable: false };
    }
    if (["ValidationException", "InvalidNextTokenException", "RequestChangedException"].includes(name)) {
        return { reason: "invalid_request", retryable: false };
    }
    const status = e?.$metadata?.httpStatusCode;
    if ((status !== undefined && status >= 500) || e?.$fault === "server") {
        return { reason: "server_error", retryable: true };
    }
    if (
        status === undefined &&
        ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EAI_AGAIN", "ENOTFOUND"].includes(e?.code ?? name)
    ) {
        return { reason: "network", retryable: true };
    }
    return { reason: "other", retryable: false };
}

/** Backoff before attempt `attempt` (2, 3, ...): base x 2^(attempt - 2), with up to 50% jitter from `random`. */
export function backoffMs(attempt: number, baseDelayMs: number, random: number): number {
    const delay = baseDelayMs * 2 ** (attempt - 2);
    return Math.round(delay + delay * 0.5 * random);
}
