/**
 * SLO dashboard: one row per SLO (repeated over the `slo` variable, so the alerts' `?var-slo=<id>` links open the
 * SLO that fired): p95 against the guardrail line, share of requests within the threshold against the objective,
 * error budget remaining, burn rate over every alert window against the alerts' burn rates, request rate.
 * Guardrail lines come from the recorded threshold and objective series, so an environment's tighter override shows.
 */
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import type { StackScope } from "../core/scope";
import { serviceDashboardUid } from "../core/conventions";
import { SLO_BURN_ALERTS, SLO_WINDOWS } from "../rules";
import type { BuiltDashboard } from "./common";
import {
    STATUS_COLOR,
    at,
    bottomLegend,
    builtDashboard,
    dashboardFrame,
    errorBudgetStat,
    guardrailLineOverride,
    lastValue,
    promTarget,
    thresholds,
} from "./common";
import { sloQueries } from "./queries";

export const SLO_VARIABLE = "slo";

/** Row layout (grid units): one header row, then panels 8 units high. */
const ROW_PANEL_HEIGHT = 8;

/** The `slo` variable: every SLO of the scope (value = id, text = title), all selected by default. */
function sloVariable(config: Pick<StackScope, "slos">): dashboard.CustomVariableBuilder {
    const options = config.slos.map((s) => ({ text: s.id, value: s.id, selected: false }));
    return new dashboard.CustomVariableBuilder(SLO_VARIABLE)
        .label("SLO")
        .values(config.slos.map((s) => s.id).join(","))
        .multi(true)
        .includeAll(true)
        .current({ text: ["All"], value: ["$__all"], selected: true })
        .options([{ text: "All", value: "$__all", selected: true }, ...options]);
}

function timeseriesBase(title: string, unit: string, description: string): timeseries.PanelBuilder {
    return new timeseries.PanelBuilder()
        .title(title)
        .description(description)
        .unit(unit)
        .lineWidth(2)
        .fillOpacity(10)
        .legend(bottomLegend())
        .tooltip(
            new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None),
        );
}

/**
 * What an SLO dashboard shows: the stack's SLOs, or a downstream service's (the guardrail kit), whose dashboard reads
 * only the recordings labelled with its `service`.
 */
export function buildSloDashboard(
    config: Pick<StackScope, "environment" | "prometheusDatasourceUid" | "slos" | "service">,
): BuiltDashboard {
    const kind = "slo" as const;
    const sloQuery = sloQueries(config.service);
    const title = config.service
        ? `${config.service} SLOs (${config.environment})`
        : `Maestro SLOs (${config.environment})`;
    const uid = config.service ? serviceDashboardUid(config.service, config.environment) : undefined;
    const shortest = SLO_WINDOWS[0];
    const burnRates = [...new Set(SLO_BURN_ALERTS.flatMap((a) => a.conditions.map((c) => c.burnRate)))].sort(
        (a, b) => a - b,
    );
    const y = 1;
    const h = ROW_PANEL_HEIGHT;

    const p95 = timeseriesBase(
        "p95 latency vs guardrail: $slo",
        "s",
        "The objective's quantile of request latency (5m) against the SLO threshold (dashed red).",
    )
        .withTarget(promTarget("A", sloQuery.p95, "p95"))
        .withTarget(promTarget("B", sloQuery.threshold, "guardrail"))
        .withOverride(guardrailLineOverride("B", STATUS_COLOR.breach))
        .min(0)
        .gridPos(at(0, y, 7, h));
    const within = timeseriesBase(
        `Requests within threshold vs objective: $slo`,
        "percentunit",
        `Share of requests faster than the SLO threshold over ${shortest}, against the objective (dashed red).`,
    )
        .withTarget(promTarget("A", sloQuery.withinThreshold(shortest), "within threshold"))
        .withTarget(promTarget("B", sloQuery.objective, "objective"))
        .withOverride(guardrailLineOverride("B", STATUS_COLOR.breach))
        .max(1)
        .gridPos(at(7, y, 7, h));
    const burn = timeseriesBase(
        "Burn rate by alert window: $slo",
        "x",
        `Error ratio over each alert window as a multiple of the error budget; the alerts fire above ${burnRates.map((b) => `${b}x`).join(" and ")} (lines).`,
    )
        .thresholds(
            thresholds(
                STATUS_COLOR.ok,
                burnRates.map(
                    (b, i) => [b, i === burnRates.length - 1 ? STATUS_COLOR.breach : STATUS_COLOR.atRisk] as const,
                ),
            ),
        )
        .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
        .min(0)
        .gridPos(at(14, y, 6, h));
    SLO_WINDOWS.forEach((w, i) => burn.withTarget(promTarget(String.fromCharCode(65 + i), sloQuery.burnRate(w), w)));
    const budget = errorBudgetStat()
        .title("Error budget remaining: $slo")
        .description("Share of the SLO period's error budget left: red when spent, orange when running low.")
        .withTarget(promTarget("A", sloQuery.budgetRemaining, "remaining", { instant: true }))
        .decimals(1)
        .gridPos(at(20, y, 4, h / 2));
    const rate = new stat.PanelBuilder()
        .title("Request rate: $slo")
        .description("Requests per second over 5m.")
        .withTarget(promTarget("A", sloQuery.requestRate, "req/s"))
        .unit("reqps")
        .colorMode(common.BigValueColorMode.None)
        .graphMode(common.BigValueGraphMode.Area)
        .reduceOptions(lastValue())
        .gridPos(at(20, y + h / 2, 4, h / 2));

    const description = config.service
        ? `Latency SLOs of ${config.service} in ${config.environment}, against the unified guardrails (the Maestro guardrail kit's recording rules).`
        : `Latency SLOs of the ${config.environment} stack, from guardrails/guardrails.yaml via the maestro_slo recording rules.`;
    const builder = dashboardFrame(kind, title, config, description, uid)
        .time({ from: "now-24h", to: "now" })
        .withVariable(sloVariable(config))
        .withRow(new dashboard.RowBuilder("$slo").repeat(SLO_VARIABLE).gridPos(at(0, 0, 24, 1)))
        .withPanel(p95)
        .withPanel(within)
        .withPanel(burn)
        .withPanel(budget)
        .withPanel(rate);
    return builtDashboard(kind, title, builder);
}
