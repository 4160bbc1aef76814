import { GUARDRAIL_LABEL, SLO_RECORD, urgencyLabels } from "../core/conventions";
import { Guardrails, SloObjective, leLabel, sliSelector } from "../core/guardrails";
import {
    AlertLinks,
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
 * Whose SLO rules these are: this stack's (no service), or a downstream service's in the same environment (the
 * guardrail kit). Service recordings carry a `service` label, so both sets share recording names (the Conductor
 * dashboards see them) without ever writing the same series. StackConfig is a scope.
 */
export interface SloScope extends AlertLinks {
    readonly environment: string;
    /** Where the targets came from, for messages. */
    readonly sourceFile: string;
    /** A downstream service's name (the kit); absent for this stack's own rules. */
    readonly service?: string;
}

/** The recording rule group's name for one SLO (also the PrometheusRule object's name). */
export function sloGroupName(sloId: string, service?: string): string {
    return service ? `maestro-${service}-slo-${sloId}` : `maestro-slo-${sloId}`;
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
    const thresholdBucket = sliSelector(sli, "_bucket", [
        { label: "le", op: "=", value: leLabel(sli.thresholdSeconds) },
    ]);
    const count = sliSelector(sli, "_count");
    const own = sloSeriesSelector(slo.id, env, scope.service);
    const period = sloPeriodWindow(guardrails);

    const ratio = (w: string): RecordingRule => ({
        record: SLO_RECORD.errorRatio(w),
        // Bad = slower than the threshold = every request not in the threshold's cumulative bucket.
        expr: `1 - (sum(rate(${thresholdBucket}[${w}])) / sum(rate(${count}[${w}])))`,
        labels,
    });
    const recordings: RecordingRule[] = [
        ...windows.map(ratio),
        {
            // The period's ratio averages the 5m recording (as Sloth does) instead of a 30-day rate over raw
            // buckets, which would read every sample of every series once a minute.
            record: SLO_RECORD.errorRatio(period),
            expr: `avg_over_time(${SLO_RECORD.errorRatio(windows[0])}${own}[${period}])`,
            labels,
        },
        { record: SLO_RECORD.objective, expr: `vector(${slo.objective})`, labels },
        { record: SLO_RECORD.thresholdSeconds, expr: `vector(${sli.thresholdSeconds})`, labels },
        {
            record: SLO_RECORD.errorBudgetRemaining,
            expr: `1 - (${SLO_RECORD.errorRatio(period)}${own} / (1 - ${slo.objective}))`,
            labels,
        },
        { record: SLO_RECORD.requestRate, expr: `sum(rate(${count}[${DASHBOARD_RATE_WINDOW}]))`, labels },
        {
            // The quantile is the objective, so the panel compares like with like: "p95 <= threshold" is the
            // same statement as "a share `objective` of requests within the threshold".
            record: SLO_RECORD.latencyP95,
            expr: `histogram_quantile(${slo.objective}, sum by (le) (rate(${sliSelector(sli, "_bucket")}[${DASHBOARD_RATE_WINDOW}])))`,
            labels,
        },
    ];

    const alerts: AlertingRule[] = design.map((a) => {
        const over = (w: string, burnRate: number) =>
            `${SLO_RECORD.errorRatio(w)}${own} > (${burnRate} * (1 - ${slo.objective}))`;
        const expr = a.conditions
            .map((c) => `(\n  ${over(c.longWindow, c.burnRate)}\nand\n  ${over(c.shortWindow, c.burnRate)}\n)`)
            .join("\nor\n");
        const lowest = a.conditions.reduce((x, c) => (c.burnRate < x.burnRate ? c : x));
        const shares = a.conditions
            .map((c) => `${percent(c.burnRate * budget)} over both the last ${c.longWindow} and ${c.shortWindow}`)
            .join(", or ");
        return {
            alert: a.alert,
            expr,
            labels: { ...labels, ...urgencyLabels(a.urgency), guardrail: GUARDRAIL_LABEL.slo },
            annotations: {
                summary: `${slo.title} (${scopeName(scope)}): latency error budget burning at over ${lowest.burnRate}x`,
                description:
                    `The share of ${slo.id} requests slower than ${sli.thresholdSeconds} s is above ${shares} (objective: ${percent(slo.objective)} ` +
                    `within the threshold). Held, this spends the ${guardrails.slo.periodDays}-day error budget in ` +
                    `${Number((guardrails.slo.periodDays / lowest.burnRate).toFixed(1))} days or less. ` +
                    `Slow share over the long window now: ${VALUE.percent}.`,
                runbook_url: runbookUrl(a.alert, scope),
                dashboard: sloDashboardPath(scope, slo.id),
            },
        };
    });
    return { name: sloGroupName(slo.id, scope.service), rules: [...recordings, ...alerts] };
}
