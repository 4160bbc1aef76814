import { GUARDRAIL_LABEL, SLO_RECORD, urgencyLabels } from "../core/conventions";
import { Guardrails, SloObjective, leMatcher, sliSelector } from "../core/guardrails";
import type { StackScope } from "../core/scope";
import {
    BurnRateAlert,
    DASHBOARD_PATH,
    DASHBOARD_RATE_WINDOW,
    dashboardUrl,
    designWindows,
    formatDuration,
    runbookUrl,
    SLO_BURN_ALERTS,
    VALUE,
} from "./design";
import { AlertingRule, RecordingRule, RuleGroup } from "./types";

/** Error-ratio windows the burn-rate alerts use, shortest first (dashboards plot burn rate for each). */
export const SLO_WINDOWS: readonly string[] = designWindows(SLO_BURN_ALERTS);

/** The SLO period as a window ("30d"): errorRatio(sloPeriodWindow(g)) is the ratio the error budget is counted on. */
export function sloPeriodWindow(g: Guardrails): string {
    return formatDuration(g.slo.periodDays * 86400);
}

/**
 * What SLO rules read of their scope: this stack's (no service), or a downstream service's in the same environment
 * (the guardrail kit, which publishes this name). Service recordings carry a `service` label, so both sets share
 * recording names (the Conductor dashboards see them) without ever writing the same series.
 */
export type SloScope = Pick<StackScope, "environment" | "sourceFile" | "service" | "grafanaUrl" | "runbookBaseUrl">;

/**
 * The recording rule group's name for one SLO in one environment (also the PrometheusRule object's and the AMP rule
 * group namespace's name). The environment is part of it so that two stacks sharing a namespace, a Prometheus or an
 * AMP workspace never write the same object.
 */
export function sloGroupName(sloId: string, environment: string, service?: string): string {
    return service ? `maestro-${service}-slo-${sloId}-${environment}` : `maestro-slo-${sloId}-${environment}`;
}

/** Labels every rule of one SLO carries: `slo`, `env`, and `service` for a downstream service's rules. */
export function sloLabels(sloId: string, scope: SloScope): Record<string, string> {
    return { slo: sloId, env: scope.environment, ...(scope.service ? { service: scope.service } : {}) };
}

/**
 * `{slo="<id>",env="<env>",service=""}`: the selector one SLO's recordings in one scope answer to. The stack's own
 * selector asks for no `service` label, so a service's recordings never feed the stack's budget.
 */
export function sloSeriesSelector(sloId: string, env: string, service = ""): string {
    return `{slo=${JSON.stringify(sloId)},env=${JSON.stringify(env)},service=${JSON.stringify(service)}}`;
}

/** Where a scope's objective may have been tightened: the stack file's guardrailOverrides, or the kit's arguments. */
function objectiveSource(scope: SloScope): string {
    return scope.service ? scope.sourceFile : `${scope.sourceFile} guardrailOverrides`;
}

/** How alerts name a scope: `prod`, or `checkout, prod` for a service. */
export function scopeName(scope: SloScope): string {
    return scope.service ? `${scope.service}, ${scope.environment}` : scope.environment;
}

/** Where an SLO alert's `dashboard` annotation points: the stack's SLO dashboard, or the service's (absolute). */
export function sloDashboardPath(scope: SloScope, sloId: string): string {
    return dashboardUrl(
        scope.service
            ? DASHBOARD_PATH.service(scope.environment, scope.service, sloId)
            : DASHBOARD_PATH.slo(scope.environment, sloId),
        scope,
    );
}

/** Percent text for annotations: 0.125 -> "12.5%", 0.0333 -> "3.33%". */
export function percent(ratio: number): string {
    return `${Number((ratio * 100).toFixed(2))}%`;
}

/**
 * The minimum-traffic gate of one burn-rate condition: more than `maxSlow` requests slower than the threshold within
 * the condition's long window. increase() extrapolates to the window's edges (by up to one scrape interval's share,
 * 30/29 for a 30m window scraped every minute), so "more than maxSlow" is asked as "at least maxSlow + 1": a burst of
 * maxSlow slow requests stays under it unless a window is extrapolated by a fifth or more.
 */
export function slowRequestGate(bucket: string, count: string, window: string, maxSlow: number): string {
    return `sum(increase(${count}[${window}])) - sum(increase(${bucket}[${window}])) >= ${maxSlow + 1}`;
}

/**
 * Recording rules and burn-rate alerts for one SLO in one scope. Throws when the objective leaves no room for
 * the page (its burn rate can never be reached), naming the SLO and the allowed objectives.
 */
export function buildSloGroup(
    scope: SloScope,
    guardrails: Guardrails,
    slo: SloObjective,
    design: readonly BurnRateAlert[] = SLO_BURN_ALERTS,
): RuleGroup {
    const env = scope.environment;
    const labels = sloLabels(slo.id, scope);
    const sli = slo.sli;
    const budget = 1 - slo.objective;
    const maxBurn = 1 / budget;
    const windows = designWindows(design);
    for (const a of design) {
        const lowest = Math.min(...a.conditions.map((c) => c.burnRate));
        if (lowest >= maxBurn) {
            throw new Error(
                `SLO "${slo.id}": objective ${slo.objective} (guardrails/guardrails.yaml /slo/objectives, or ${objectiveSource(scope)}) ` +
                    `caps the burn rate at ${Number(maxBurn.toFixed(3))}x, so ${a.alert} (${lowest}x) could never fire; allowed: an objective above ${Number((1 - 1 / lowest).toFixed(6))}`,
            );
        }
    }
    // Both spellings of the bound (Prometheus 2 keeps the client's "1", Prometheus 3 stores "1.0").
    const thresholdBucket = sliSelector(sli, "_bucket", [leMatcher(sli.thresholdSeconds)]);
    const count = sliSelector(sli, "_count");
    const own = sloSeriesSelector(slo.id, env, scope.service);
    const period = sloPeriodWindow(guardrails);

    const ratio = (w: string): RecordingRule => ({
        record: SLO_RECORD.errorRatio(w),
        // Bad = slower than the threshold = every request not in the threshold's cumulative bucket.
        expr: `1 - (sum(rate(${thresholdBucket}[${w}])) / sum(rate(${count}[${w}])))`,
        labels,
    });
    const sumOver = (record: string) => `sum_over_time(${record}${own}[${period}])`;
    const recordings: RecordingRule[] = [
        ...windows.map(ratio),
        { record: SLO_RECORD.requestRate, expr: `sum(rate(${count}[${DASHBOARD_RATE_WINDOW}]))`, labels },
        {
            record: SLO_RECORD.slowRequestRate,
            expr: `sum(rate(${count}[${DASHBOARD_RATE_WINDOW}])) - sum(rate(${thresholdBucket}[${DASHBOARD_RATE_WINDOW}]))`,
            labels,
        },
        {
            // Traffic-weighted: slow requests over all requests across the period (Pyrra's performance mode), summed
            // from the 5m rate recordings rather than a 30-day rate over raw buckets, which would read every sample
            // of every series once a minute. Each minute's rates count by its traffic, so a quiet night weighs less
            // than a busy day, and idle minutes (0 of 0) add nothing instead of turning an average of ratios into
            // NaN. A period with no traffic at all (or no telemetry) spends no budget: 0, never NaN or absent.
            record: SLO_RECORD.errorRatio(period),
            expr: `(\n  ${sumOver(SLO_RECORD.slowRequestRate)}\n/\n  (${sumOver(SLO_RECORD.requestRate)} > 0)\n)\nor on () vector(0)`,
            labels,
        },
        { record: SLO_RECORD.objective, expr: `vector(${slo.objective})`, labels },
        { record: SLO_RECORD.thresholdSeconds, expr: `vector(${sli.thresholdSeconds})`, labels },
        {
            record: SLO_RECORD.errorBudgetRemaining,
            expr: `1 - (${SLO_RECORD.errorRatio(period)}${own} / (1 - ${slo.objective}))`,
            labels,
        },
        {
            // The quantile is the objective, so the panel compares like with like: "p95 <= threshold" is the
            // same statement as "a share `objective` of requests within the threshold".
            record: SLO_RECORD.latencyP95,
            expr: `histogram_quantile(${slo.objective}, sum by (le) (rate(${sliSelector(sli, "_bucket")}[${DASHBOARD_RATE_WINDOW}])))`,
            labels,
        },
    ];

    const maxSlow = guardrails.slo.maxSlowRequestsWithoutAlert;
    const alerts: AlertingRule[] = design.map((a) => {
        const over = (w: string, burnRate: number) =>
            `${SLO_RECORD.errorRatio(w)}${own} > (${burnRate} * (1 - ${slo.objective}))`;
        // The gate is joined on no label: it is one number per SLO, and the ratios carry the recording labels.
        const expr = a.conditions
            .map(
                (c) =>
                    `(\n  ${over(c.longWindow, c.burnRate)}\nand\n  ${over(c.shortWindow, c.burnRate)}\nand on ()\n  ${slowRequestGate(thresholdBucket, count, c.longWindow, maxSlow)}\n)`,
            )
            .join("\nor\n");
        const lowest = Math.min(...a.conditions.map((c) => c.burnRate));
        const shares = a.conditions
            .map((c) => `${percent(c.burnRate * budget)} over both the last ${c.longWindow} and ${c.shortWindow}`)
            .join(", or ");
        return {
            alert: a.alert,
            expr,
            labels: { ...labels, ...urgencyLabels(a.urgency), guardrail: GUARDRAIL_LABEL.slo },
            annotations: {
                summary: `${slo.title} (${scopeName(scope)}): latency error budget burning at over ${lowest}x`,
                description:
                    `The share of ${slo.id} requests slower than ${sli.thresholdSeconds} s is above ${shares} (objective: ${percent(slo.objective)} ` +
                    `within the threshold). Held, this spends the ${guardrails.slo.periodDays}-day error budget in ` +
                    `${Number((guardrails.slo.periodDays / lowest).toFixed(1))} days or less. ` +
                    `Slow share over the long window now: ${VALUE.percent}.`,
                runbook_url: runbookUrl(a.alert, scope),
                dashboard: sloDashboardPath(scope, slo.id),
            },
        };
    });
    return { name: sloGroupName(slo.id, env, scope.service), rules: [...recordings, ...alerts] };
}
