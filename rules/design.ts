/**
 * The alert design: windows, burn rates, grace periods and hold times. These are design choices, not
 * guardrails (the targets they protect come from guardrails/guardrails.yaml); docs/slo-alerting.md explains
 * each one and lists the detection and reset times they achieve, measured with promtool.
 */
import { DEFAULT_RUNBOOK_BASE_URL, URGENCY, Urgency, dashboardUid, serviceDashboardUid } from "../core/conventions";
import type { StackScope } from "../core/scope";

/** One multi-window condition: both windows' error ratios above `burnRate` times the budget (1 - objective). */
export interface BurnRateCondition {
    readonly longWindow: string;
    readonly shortWindow: string;
    /** Multiple of the sustainable error rate; 1 spends the budget exactly over the SLO period. */
    readonly burnRate: number;
}

/** An alert that fires when any of its conditions holds (Sloth's shape: one page, one ticket). */
export interface BurnRateAlert {
    readonly alert: string;
    readonly urgency: Urgency;
    readonly conditions: readonly BurnRateCondition[];
}

export const SLO_ALERT_NAME = { page: "MaestroSLOFastBurn", ticket: "MaestroSLOSlowBurn" } as const;

/**
 * At a p95 objective the highest possible burn rate is 1 / (1 - objective), 20x, reached when every request is
 * slow, so the SRE workbook's 14.4x page needs most requests slow for a whole hour. Here the page looks at 30
 * minutes and asks for 5x: every request slow pages after 30m x 5 / 20 = 7.5 minutes, a 7x burn after about 21
 * minutes, and a 2x burn (budget gone in half the period) never pages. The 5-minute short window lets the page
 * resolve minutes after a breach ends and keeps a 3-minute blip (at most 2x over 30 minutes) quiet. The ticket
 * catches any burn above 1x held for 6 hours (the budget would not last the period), a 2x burn after about 3
 * hours, and never fires at 0.6x. Detection time of a condition = window x factor / burn.
 */
export const SLO_BURN_ALERTS: readonly BurnRateAlert[] = [
    {
        alert: SLO_ALERT_NAME.page,
        urgency: URGENCY.page,
        conditions: [{ longWindow: "30m", shortWindow: "5m", burnRate: 5 }],
    },
    {
        alert: SLO_ALERT_NAME.ticket,
        urgency: URGENCY.ticket,
        conditions: [{ longWindow: "6h", shortWindow: "30m", burnRate: 1 }],
    },
];

/**
 * The Google SRE workbook's multi-window multi-burn-rate alerts, as Sloth and Pyrra generate them (page: 2% of
 * the budget in 1h or 5% in 6h; ticket: 10% in 1d or 10% in 3d). Only for comparison: verify/measure.ts measures
 * both designs with promtool, and the promtool suite proves this one misses the alerting goals (docs/slo-alerting.md).
 */
export const WORKBOOK_BURN_ALERTS: readonly BurnRateAlert[] = [
    {
        alert: SLO_ALERT_NAME.page,
        urgency: URGENCY.page,
        conditions: [
            { longWindow: "1h", shortWindow: "5m", burnRate: 14.4 },
            { longWindow: "6h", shortWindow: "30m", burnRate: 6 },
        ],
    },
    {
        alert: SLO_ALERT_NAME.ticket,
        urgency: URGENCY.ticket,
        conditions: [
            { longWindow: "1d", shortWindow: "2h", burnRate: 3 },
            { longWindow: "3d", shortWindow: "6h", burnRate: 1 },
        ],
    },
];

/** Every error-ratio window a design needs, shortest first. */
export function designWindows(design: readonly BurnRateAlert[]): string[] {
    return [...new Set(design.flatMap((a) => a.conditions.flatMap((c) => [c.shortWindow, c.longWindow])))].sort(
        (a, b) => durationSeconds(a) - durationSeconds(b),
    );
}

/** The longest window a design looks at (how much history a test needs before its scenario starts). */
export function longestWindow(design: readonly BurnRateAlert[]): string {
    const ws = designWindows(design);
    return ws[ws.length - 1];
}

/** Window of the request-rate and p95 recordings (dashboards). */
export const DASHBOARD_RATE_WINDOW = "5m";

/** How long an SLI series or its threshold bucket must be missing before the telemetry alert fires. */
export const TELEMETRY_GAP_FOR = "10m";

/**
 * Cost alerts hold for an hour: billing data lands a few times a day, and one odd scrape of the exporter
 * should not page anyone.
 */
export const COST_ALERT_FOR = "1h";
/**
 * No month-end forecast during the first day of a month: a few hours of spend extrapolated over 30 days is
 * noise (and a late exporter reset would look like a whole month spent in an hour). Day 1 is still covered
 * by the "budget exceeded" page.
 */
export const COST_FORECAST_MIN_ELAPSED_DAYS = 1;
/** Billing data older than this means the exporter (or the FinOps feed behind it) is late: the seed's top cost risk. */
export const COST_DATA_MAX_AGE_HOURS = 48;
export const COST_TELEMETRY_FOR = "1h";

/**
 * A cut or release may slip by one working day before anyone is ticketed: a weekly cut done on Tuesday
 * afternoon instead of Tuesday morning is not late.
 */
export const CADENCE_GRACE_DAYS = 1;
/** The release pipeline pushes the cadence metric on every cut; missing for an hour means it is not wired. */
export const CADENCE_ABSENT_FOR = "1h";

/** Grafana dashboard paths (relative to the Grafana URL), by the uids the dashboards component uses. */
export const DASHBOARD_PATH = {
    slo: (env: string, sloId: string) => `/d/${dashboardUid("slo", env)}?var-slo=${sloId}`,
    cost: (env: string) => `/d/${dashboardUid("cost", env)}`,
    summary: (env: string) => `/d/${dashboardUid("summary", env)}`,
    /** A downstream service's SLO dashboard (the guardrail kit provisions it). */
    service: (env: string, service: string, sloId: string) =>
        `/d/${serviceDashboardUid(service, env)}?var-slo=${sloId}`,
} as const;

/**
 * Runbook of an alert: its section in docs/slo-alerting.md (GitHub's anchor is the lower-cased heading), under the
 * scope's `runbookBaseUrl`. A notification is read in a pager app or a mail client, far from this repository and
 * from Grafana, so both an alert's links are absolute.
 */
export function runbookUrl(alert: string, links: Pick<StackScope, "runbookBaseUrl"> = {}): string {
    return new URL(
        `slo-alerting.md#${alert.toLowerCase()}`,
        withSlash(links.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL),
    ).href;
}

/** A dashboard path (DASHBOARD_PATH) as an absolute URL under Grafana's base; the path alone when Grafana is unknown. */
export function dashboardUrl(dashboardPath: string, links: Pick<StackScope, "grafanaUrl"> = {}): string {
    return links.grafanaUrl ? `${links.grafanaUrl.replace(/\/+$/, "")}${dashboardPath}` : dashboardPath;
}

function withSlash(base: string): string {
    return base.endsWith("/") ? base : `${base}/`;
}

/**
 * Alert-template fragments that print the value the alert fired with (Prometheus' template functions), so a
 * notification says how bad it is without opening a dashboard.
 */
export const VALUE = {
    percent: "{{ $value | humanizePercentage }}",
    number: "{{ $value | humanize }}",
    duration: "{{ $value | humanizeDuration }}",
} as const;

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Seconds in a single-unit Prometheus duration ("5m", "6h", "30d"). */
export function durationSeconds(d: string): number {
    const m = /^(\d+)([smhdw])$/.exec(d);
    if (!m) {
        throw new Error(`"${d}" is not a single-unit Prometheus duration; allowed: <integer><s|m|h|d|w>, e.g. 30m`);
    }
    return Number(m[1]) * UNIT_SECONDS[m[2]];
}

/** The shortest single-unit Prometheus duration for a whole number of seconds. */
export function formatDuration(seconds: number): string {
    if (!Number.isInteger(seconds) || seconds <= 0) {
        throw new Error(`cannot write ${seconds} s as a Prometheus duration; need a positive whole number of seconds`);
    }
    for (const unit of ["w", "d", "h", "m"]) {
        if (seconds % UNIT_SECONDS[unit] === 0) {
            return `${seconds / UNIT_SECONDS[unit]}${unit}`;
        }
    }
    return `${seconds}s`;
}
