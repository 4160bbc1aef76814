/**
 * Cost dashboard: month-to-date spend against the environment cap and the alert line, LLM spend against its cap,
 * the month-end forecast, spend by category and days left at the current rate. Caps are the `maestro_cost:budget:usd`
 * series the cost rules record from the stack's config; the stat colours use the same config numbers.
 */
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import { StackConfig } from "../core/stackConfig";
import { CostBudget, budgetUsd } from "../rules/cost";
import { percent } from "../rules/slo";
import type { BuiltDashboard } from "./common";
import {
    STATUS_COLOR,
    at,
    bottomLegend,
    builtDashboard,
    dashboardFrame,
    guardrailLineOverride,
    lastValue,
    promTarget,
    thresholds,
} from "./common";
import { COST_BUDGETS, costQuery } from "./queries";

const BUDGET_NAME: Readonly<Record<CostBudget, string>> = { total: "Environment", llm: "LLM" };

/** Colours against a budget: orange from the alert threshold, red from the cap (both from config). */
export function budgetThresholds(config: StackConfig, b: CostBudget) {
    const cap = budgetUsd(config, b);
    return thresholds(STATUS_COLOR.ok, [
        [config.costAlertThreshold * cap, STATUS_COLOR.atRisk],
        [cap, STATUS_COLOR.breach],
    ]);
}

function spendPanel(config: StackConfig, b: CostBudget, x: number): timeseries.PanelBuilder {
    return new timeseries.PanelBuilder()
        .title(`${BUDGET_NAME[b]} spend, month to date, vs cap`)
        .description(
            `Month-to-date ${b} spend (exporter category "${b}") against the ${b} budget (dashed red) and the ${percent(config.costAlertThreshold)} alert line (dashed orange).`,
        )
        .withTarget(promTarget("A", costQuery.spend(b), "spend"))
        .withTarget(promTarget("B", costQuery.budget(b), "cap"))
        .withTarget(promTarget("C", costQuery.alertLine(config, b), "alert threshold"))
        .withOverride(guardrailLineOverride("B", STATUS_COLOR.breach))
        .withOverride(guardrailLineOverride("C", STATUS_COLOR.atRisk))
        .unit("currencyUSD")
        .min(0)
        .lineWidth(2)
        .legend(bottomLegend())
        .gridPos(at(x, 0, 12, 8));
}

function forecastPanel(config: StackConfig, b: CostBudget, x: number): stat.PanelBuilder {
    return new stat.PanelBuilder()
        .title(`${BUDGET_NAME[b]} forecast, month end`)
        .description(
            `Linear forecast of month-end ${b} spend: orange from the alert threshold, red over the cap. Empty on the first day of a month.`,
        )
        .withTarget(promTarget("A", costQuery.forecast(b), "forecast", { instant: true }))
        .unit("currencyUSD")
        .decimals(0)
        .thresholds(budgetThresholds(config, b))
        .colorMode(common.BigValueColorMode.Background)
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(lastValue())
        .gridPos(at(x, 8, 6, 5));
}

function daysLeftPanel(b: CostBudget, x: number): stat.PanelBuilder {
    return new stat.PanelBuilder()
        .title(`${BUDGET_NAME[b]} budget: days left at current rate`)
        .description(`Days until the ${b} budget is spent at this month's average daily spend (0 once spent).`)
        .withTarget(promTarget("A", costQuery.daysLeft(b), "days", { instant: true }))
        .unit("d")
        .decimals(1)
        .colorMode(common.BigValueColorMode.None)
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(lastValue())
        .gridPos(at(x, 8, 6, 5));
}

export function buildCostDashboard(config: StackConfig): BuiltDashboard {
    const kind = "cost" as const;
    const title = `Maestro cost (${config.environment})`;
    const [total, llm] = COST_BUDGETS;
    const byCategory = new timeseries.PanelBuilder()
        .title("Spend by category, month to date")
        .description('Month-to-date spend per exporter category ("total" left out: it is their sum).')
        .withTarget(promTarget("A", costQuery.byCategory, "{{category}}"))
        .unit("currencyUSD")
        .min(0)
        .fillOpacity(30)
        .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
        .legend(
            new common.VizLegendOptionsBuilder()
                .displayMode(common.LegendDisplayMode.Table)
                .placement(common.LegendPlacement.Right)
                .showLegend(true)
                .calcs(["lastNotNull"]),
        )
        .gridPos(at(0, 13, 24, 8));
    const builder = dashboardFrame(
        kind,
        title,
        config,
        `Spend of the ${config.environment} stack against its budgets (stack config, capped by guardrails/guardrails.yaml).`,
    )
        .time({ from: "now-30d", to: "now" })
        .withPanel(spendPanel(config, total, 0))
        .withPanel(spendPanel(config, llm, 12))
        .withPanel(forecastPanel(config, total, 0))
        .withPanel(forecastPanel(config, llm, 6))
        .withPanel(daysLeftPanel(total, 12))
        .withPanel(daysLeftPanel(llm, 18))
        .withPanel(byCategory);
    return builtDashboard(kind, title, builder);
}
