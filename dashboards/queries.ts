/**
 * The PromQL every panel runs. Panels read the recordings the rules define (core/conventions.ts names them) and the
 * raw series the instrumentation requirements name (cost exporter, release pipeline); numbers the guardrails set
 * (objectives, thresholds, caps) come from recorded series or from the stack's config, never from literals here.
 * `$env` and `$slo` are Grafana variables; test/dashboards-promtool.test.ts substitutes them and runs every
 * expression through promtool against synthetic telemetry.
 */
import { CADENCE_METRIC, COST_METRIC, COST_RECORD, SLO_RECORD } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";
import { SLO_BURN_ALERTS, cadenceTargets } from "../rules";
// The same elapsed-month measure the cost rules forecast with, so panel and alert agree.
import { COST_BUDGETS, CostBudget, MONTH_ELAPSED_SECONDS } from "../rules/cost";
import { CADENCE_GRACE_DAYS, COST_FORECAST_MIN_ELAPSED_DAYS, durationSeconds } from "../rules/design";
import { STATUS } from "./common";

const ENV = `env="$env"`;
const q = JSON.stringify;

/**
 * `{slo="$slo",env="$env",service=""}`: one SLO's recordings in the selected environment, the stack's own (no
 * `service` label) or one downstream service's (the guardrail kit's rules).
 */
export function sloSelector(service = ""): string {
    return `{slo="$slo",${ENV},service=${q(service)}}`;
}

/** The SLO panels' queries for the stack's recordings, or a downstream service's. */
export function sloQueries(service = "") {
    const sel = sloSelector(service);
    return {
        p95: `${SLO_RECORD.latencyP95}${sel}`,
        threshold: `${SLO_RECORD.thresholdSeconds}${sel}`,
        /** Share of requests within the threshold over the shortest alert window. */
        withinThreshold: (window: string) => `1 - ${SLO_RECORD.errorRatio(window)}${sel}`,
        objective: `${SLO_RECORD.objective}${sel}`,
        budgetRemaining: `${SLO_RECORD.errorBudgetRemaining}${sel}`,
        /** Burn rate: error ratio over the window as a multiple of the error budget (1 - objective). */
        burnRate: (window: string) => `${SLO_RECORD.errorRatio(window)}${sel} / (1 - ${SLO_RECORD.objective}${sel})`,
        requestRate: `${SLO_RECORD.requestRate}${sel}`,
    };
}

/** Month-to-date spend of one exporter category, as a single series. */
export function spend(category: string): string {
    return `max(${COST_METRIC.monthToDate}{category=${q(category)}})`;
}

/** A budget (cap) as a single series, from the recording the cost rules write from the stack's config. */
export function budget(b: CostBudget): string {
    return `max(${COST_RECORD.budget}{budget=${q(b)},${ENV}})`;
}

export const costQuery = {
    spend,
    budget,
    /** The alert line: the stack's alert threshold (config) times the budget series. */
    alertLine: (config: StackConfig, b: CostBudget) => `${config.costAlertThreshold} * ${budget(b)}`,
    forecast: (b: CostBudget) => `max(${COST_RECORD.monthEndForecast}{category=${q(b)},${ENV}})`,
    /** Spend per exporter category other than the budget totals ("total" is every category summed). */
    byCategory: `max by (category) (${COST_METRIC.monthToDate}{category!="total"})`,
    /** Spend as a share of the budget. */
    burn: (b: CostBudget) => `${spend(b)} / ${budget(b)}`,
    /**
     * Days until the budget is spent at this month's average daily rate; 0 once it is spent. No value while the
     * month is younger than the forecast's minimum (the rate is noise then, as the cost rules say).
     */
    daysLeft: (b: CostBudget) =>
        `clamp_min((${budget(b)} - ${spend(b)}) / (${spend(b)} / (${MONTH_ELAPSED_SECONDS} / 86400)), 0)` +
        ` and on () (${MONTH_ELAPSED_SECONDS} >= ${COST_FORECAST_MIN_ELAPSED_DAYS * 86400})`,
};

/** Days since the last cut to a release target, labelled `target`. */
export function daysSinceCut(target: string): string {
    return `(time() - max by (target) (${CADENCE_METRIC.lastCut}{target=${q(target)}})) / 86400`;
}

/** The page's and the ticket's longest windows: "breached now" and "burning faster than the budget lasts". */
function statusWindows(): { breach: string; atRisk: string } {
    const longest = (urgency: string) => {
        const ws = SLO_BURN_ALERTS.filter((a) => a.urgency === urgency).flatMap((a) =>
            a.conditions.map((c) => c.longWindow),
        );
        if (ws.length === 0) {
            throw new Error(`rules/design.ts SLO_BURN_ALERTS has no ${urgency} alert; the SLO status needs one`);
        }
        return ws.sort((a, b) => durationSeconds(b) - durationSeconds(a))[0];
    };
    return { breach: longest("page"), atRisk: longest("ticket") };
}

/**
 * One value per guardrail: 0 OK, 1 at risk, 2 breach (STATUS). As arithmetic on 0/1 comparisons, so every state is
 * one expression promtool can evaluate: `clamp_max(2 * breach + atRisk, 2)`.
 */
export const statusQuery = {
    /**
     * Per SLO: breach when the share of slow requests over the page's long window is above the budget (p95 over the
     * threshold) or the period's error budget is spent; at risk when it is above the budget over the ticket's window.
     */
    slo: (): string => {
        const w = statusWindows();
        const over = (window: string) =>
            `(${SLO_RECORD.errorRatio(window)}{${ENV}} > bool (1 - ${SLO_RECORD.objective}{${ENV}}))`;
        const spent = `(${SLO_RECORD.errorBudgetRemaining}{${ENV}} <= bool 0)`;
        return `max by (slo) (clamp_max(2 * clamp_max(${over(w.breach)} + ${spent}, 1) + ${over(w.atRisk)}, ${STATUS.breach}))`;
    },
    /**
     * Per budget: breach at or over the cap; at risk at the alert threshold (config) or with a month-end forecast
     * over the cap. Without a forecast (first day of a month) only spend counts.
     */
    cost: (config: StackConfig, b: CostBudget): string => {
        const forecastOver = `((${costQuery.forecast(b)} > bool ${budget(b)}) or (0 * ${budget(b)}))`;
        const atRisk = `clamp_max((${spend(b)} >= bool ${config.costAlertThreshold} * ${budget(b)}) + ${forecastOver}, 1)`;
        return `clamp_max(2 * (${spend(b)} >= bool ${budget(b)}) + ${atRisk}, ${STATUS.breach})`;
    },
    /** Per release target: at risk past its interval (guardrails), breach past the interval plus the alerts' grace. */
    cadence: (g: Guardrails, target: string): string => {
        const t = cadenceTargets(g).find((x) => x.target === target);
        if (!t) {
            throw new Error(
                `unknown release target "${target}"; known: ${cadenceTargets(g)
                    .map((x) => x.target)
                    .join(", ")}`,
            );
        }
        const days = daysSinceCut(target);
        return `clamp_max(2 * (${days} > bool ${t.intervalDays + CADENCE_GRACE_DAYS}) + (${days} > bool ${t.intervalDays}), ${STATUS.breach})`;
    },
};

/** Guardrail alerts firing in the environment (every alert the rules define carries a `guardrail` label). */
export const FIRING_GUARDRAIL_ALERTS = `ALERTS{alertstate="firing",guardrail!="",${ENV}}`;

export { COST_BUDGETS };
