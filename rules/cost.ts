import { COST_METRIC, COST_RECORD, GUARDRAIL_LABEL, URGENCY, Urgency, urgencyLabels } from "../core/conventions";
import { StackConfig } from "../core/stackConfig";
import {
    COST_ALERT_FOR,
    COST_DATA_MAX_AGE_HOURS,
    COST_FORECAST_MIN_ELAPSED_DAYS,
    COST_TELEMETRY_FOR,
    DASHBOARD_PATH,
    VALUE,
    dashboardUrl,
    runbookUrl,
} from "./design";
import { percent } from "./slo";
import { AlertingRule, RecordingRule, RuleGroup } from "./types";

export const COST_ALERT = {
    threshold: "MaestroCostBudgetThresholdReached",
    exceeded: "MaestroCostBudgetExceeded",
    forecast: "MaestroCostForecastOverBudget",
    telemetry: "MaestroCostTelemetryDelayed",
} as const;

export const COST_GROUP = "maestro-cost";

/** The cost group's (and object's) name in one environment: `maestro-cost-<env>`. */
export function costGroupName(environment: string): string {
    return `${COST_GROUP}-${environment}`;
}

/** The two budgets every stack alerts on; each is watched through the exporter category of the same name. */
export const COST_BUDGETS = ["total", "llm"] as const;
export type CostBudget = (typeof COST_BUDGETS)[number];

export function budgetUsd(config: StackConfig, budget: CostBudget): number {
    return budget === "total" ? config.monthlyBudgetUsd : config.llmBudgetUsd;
}

/** Seconds since the start of the current (UTC) month, as a one-element vector. */
export const MONTH_ELAPSED_SECONDS = "((day_of_month() - 1) * 86400 + time() % 86400)";

/**
 * Cost rules from the billing exporter's month-to-date spend: the budgets as series, a linear month-end
 * forecast (spend so far over the share of the month gone), and ticket/page alerts per budget.
 */
export function buildCostGroup(config: StackConfig): RuleGroup {
    const env = config.environment;
    const spend = (category: string) => `max(${COST_METRIC.monthToDate}{category=${JSON.stringify(category)}})`;
    const recordings: RecordingRule[] = [
        ...COST_BUDGETS.map((b): RecordingRule => ({
            record: COST_RECORD.budget,
            expr: `vector(${budgetUsd(config, b)})`,
            labels: { budget: b, env },
        })),
        {
            record: COST_RECORD.monthEndForecast,
            expr:
                `max by (category) (${COST_METRIC.monthToDate})\n  / scalar(${MONTH_ELAPSED_SECONDS} / (days_in_month() * 86400))\n` +
                `and on () (${MONTH_ELAPSED_SECONDS} >= ${COST_FORECAST_MIN_ELAPSED_DAYS * 86400})`,
            labels: { env },
        },
    ];
    const alerts: AlertingRule[] = COST_BUDGETS.flatMap((b): AlertingRule[] => {
        const cap = budgetUsd(config, b);
        const name = b === "total" ? `${env} monthly budget` : `${env} LLM budget`;
        const labels = (urgency: Urgency) => ({
            env,
            ...urgencyLabels(urgency),
            guardrail: GUARDRAIL_LABEL.cost,
            budget: b,
            category: b,
        });
        const annotations = (alert: string, summary: string, description: string) => ({
            summary,
            description,
            runbook_url: runbookUrl(alert, config),
            dashboard: dashboardUrl(DASHBOARD_PATH.cost(env), config),
        });
        return [
            {
                alert: COST_ALERT.threshold,
                expr: `${spend(b)} >= ${config.costAlertThreshold} * ${cap}`,
                for: COST_ALERT_FOR,
                labels: labels(URGENCY.ticket),
                annotations: annotations(
                    COST_ALERT.threshold,
                    `${name}: ${percent(config.costAlertThreshold)} of ${cap} USD spent`,
                    `Month-to-date ${b} spend (category="${b}") has reached ${percent(config.costAlertThreshold)} of the ${cap} USD ${name}: ${VALUE.number} USD.`,
                ),
            },
            {
                alert: COST_ALERT.exceeded,
                expr: `${spend(b)} >= ${cap}`,
                for: COST_ALERT_FOR,
                labels: labels(URGENCY.page),
                annotations: annotations(
                    COST_ALERT.exceeded,
                    `${name} of ${cap} USD exceeded`,
                    `Month-to-date ${b} spend (category="${b}") is at or above the ${cap} USD ${name}: ${VALUE.number} USD.`,
                ),
            },
            {
                alert: COST_ALERT.forecast,
                expr: `max(${COST_RECORD.monthEndForecast}{category=${JSON.stringify(b)},env=${JSON.stringify(env)}}) > ${cap}`,
                for: COST_ALERT_FOR,
                labels: labels(URGENCY.page),
                annotations: annotations(
                    COST_ALERT.forecast,
                    `${name}: month-end forecast over ${cap} USD`,
                    `At this month's pace, ${b} spend (category="${b}") ends the month above the ${cap} USD ${name}: ${VALUE.number} USD forecast.`,
                ),
            },
            {
                alert: COST_ALERT.telemetry,
                expr: `absent(${COST_METRIC.monthToDate}{category=${JSON.stringify(b)}})\nor\n(time() - max(${COST_METRIC.dataTimestamp}) > ${COST_DATA_MAX_AGE_HOURS * 3600})`,
                for: COST_TELEMETRY_FOR,
                labels: labels(URGENCY.ticket),
                annotations: annotations(
                    COST_ALERT.telemetry,
                    `${name}: cost telemetry missing or older than ${COST_DATA_MAX_AGE_HOURS} h`,
                    `No ${COST_METRIC.monthToDate}{category="${b}"}, or the billing data behind it is over ${COST_DATA_MAX_AGE_HOURS} hours old: the cost alerts cannot be trusted until the exporter catches up.`,
                ),
            },
        ];
    });
    return { name: costGroupName(env), rules: [...recordings, ...alerts] };
}
