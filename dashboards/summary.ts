/**
 * The Conductor control summary: the seed's single screen. Every guardrail's status (OK / AT RISK / BREACH against
 * its target), budget burn, days since the last staging cut and production release, firing guardrail alerts, and
 * the two releases' milestones with who is accountable. Laid out to end at visibleGridUnits() (dashboards/design.ts),
 * so nothing is below the fold on a 1920x1080 screen.
 */
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as gauge from "@grafana/grafana-foundation-sdk/gauge";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import * as text from "@grafana/grafana-foundation-sdk/text";
import { SLO_RECORD } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";
import { cadenceTargets } from "../rules";
import { CADENCE_GRACE_DAYS } from "../rules/design";
import {
    BuiltDashboard,
    STATUS,
    STATUS_COLOR,
    at,
    builtDashboard,
    dashboardFrame,
    errorBudgetStat,
    lastValue,
    promTarget,
    statusMappings,
    thresholds,
} from "./common";
import { COST_BUDGETS, FIRING_GUARDRAIL_ALERTS, costQuery, daysSinceCut, statusQuery } from "./queries";
import { ReleasePlan, releasePlanMarkdown } from "./releasePlan";

const NOT_HERE = "not pushed to this environment's Prometheus";

function statusPanel(title: string, description: string, x: number, w: number): stat.PanelBuilder {
    return new stat.PanelBuilder()
        .title(title)
        .description(description)
        .mappings(statusMappings())
        .thresholds(
            thresholds(STATUS_COLOR.ok, [
                [STATUS.atRisk, STATUS_COLOR.atRisk],
                [STATUS.breach, STATUS_COLOR.breach],
            ]),
        )
        .colorMode(common.BigValueColorMode.Background)
        .graphMode(common.BigValueGraphMode.None)
        .textMode(common.BigValueTextMode.ValueAndName)
        .reduceOptions(lastValue())
        .gridPos(at(x, 0, w, 5));
}

export function buildSummaryDashboard(config: StackConfig, guardrails: Guardrails, plan: ReleasePlan): BuiltDashboard {
    const kind = "summary" as const;
    const title = `Maestro Conductor summary (${config.environment})`;
    const targets = cadenceTargets(guardrails);

    const slos = statusPanel(
        "SLO guardrails",
        "Per SLO: BREACH when p95 is over its threshold over the page window or the error budget is spent; AT RISK when over it across the ticket window.",
        0,
        12,
    ).withTarget(promTarget("A", statusQuery.slo(), "{{slo}}", { instant: true }));
    const cost = statusPanel(
        "Cost guardrails",
        "Per budget: BREACH at the cap; AT RISK at the alert threshold or with a month-end forecast over the cap.",
        12,
        6,
    );
    COST_BUDGETS.forEach((b, i) =>
        cost.withTarget(promTarget(String.fromCharCode(65 + i), statusQuery.cost(config, b), b, { instant: true })),
    );
    const cadence = statusPanel(
        "Release cadence",
        `AT RISK past the interval (${targets.map((t) => `${t.target} ${t.intervalDays} d`).join(", ")}); BREACH past it plus ${CADENCE_GRACE_DAYS} d of grace.`,
        18,
        6,
    ).noValue(NOT_HERE);
    targets.forEach((t, i) =>
        cadence.withTarget(
            promTarget(String.fromCharCode(65 + i), statusQuery.cadence(guardrails, t.target), t.target, {
                instant: true,
            }),
        ),
    );

    const burn = new gauge.PanelBuilder()
        .title("Budget burn (spend / cap)")
        .description("Month-to-date spend as a share of each budget: orange from the alert threshold, red at the cap.")
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(
            thresholds(STATUS_COLOR.ok, [
                [config.costAlertThreshold, STATUS_COLOR.atRisk],
                [1, STATUS_COLOR.breach],
            ]),
        )
        .reduceOptions(lastValue())
        .gridPos(at(0, 5, 8, 6));
    COST_BUDGETS.forEach((b, i) =>
        burn.withTarget(promTarget(String.fromCharCode(65 + i), costQuery.burn(b), b, { instant: true })),
    );

    const errorBudget = errorBudgetStat()
        .title("Error budget remaining")
        .description("Share of each SLO's error budget left over the SLO period.")
        .withTarget(promTarget("A", `${SLO_RECORD.errorBudgetRemaining}{env="$env"}`, "{{slo}}", { instant: true }))
        .decimals(0)
        .textMode(common.BigValueTextMode.ValueAndName)
        .gridPos(at(8, 5, 8, 6));

    const sinceCut = new stat.PanelBuilder()
        .title("Days since last staging cut / production release")
        .description(
            "From the release pipeline's maestro_release_last_cut_timestamp_seconds; orange past the interval, red past it plus the grace.",
        )
        .unit("d")
        .decimals(1)
        .noValue(NOT_HERE)
        .colorMode(common.BigValueColorMode.Value)
        .graphMode(common.BigValueGraphMode.None)
        .textMode(common.BigValueTextMode.ValueAndName)
        .reduceOptions(lastValue())
        .gridPos(at(16, 5, 8, 6));
    targets.forEach((t, i) => {
        const refId = String.fromCharCode(65 + i);
        sinceCut.withTarget(promTarget(refId, daysSinceCut(t.target), t.target, { instant: true }));
        sinceCut.overrideByQuery(refId, [
            {
                id: "thresholds",
                value: {
                    mode: dashboard.ThresholdsMode.Absolute,
                    steps: [
                        { value: null, color: STATUS_COLOR.ok },
                        { value: t.intervalDays, color: STATUS_COLOR.atRisk },
                        { value: t.intervalDays + CADENCE_GRACE_DAYS, color: STATUS_COLOR.breach },
                    ],
                },
            },
        ]);
    });

    const alerts = new table.PanelBuilder()
        .title("Firing guardrail alerts")
        .description("Every firing alert of this stack's guardrail rules (SLO, telemetry, cost, cadence).")
        .withTarget(promTarget("A", FIRING_GUARDRAIL_ALERTS, "", { table: true }))
        .withTransformation({
            id: "organize",
            options: {
                excludeByName: { Time: true, Value: true, __name__: true, alertstate: true, env: true },
                indexByName: { alertname: 0, severity: 1, guardrail: 2 },
            },
        })
        .noValue("none firing")
        .gridPos(at(0, 11, 10, 12));

    const releases = new text.PanelBuilder()
        .title("Releases: milestones and who is accountable")
        .mode(text.TextMode.Markdown)
        .content(releasePlanMarkdown(plan))
        .gridPos(at(10, 11, 14, 12));

    const builder = dashboardFrame(
        kind,
        title,
        config,
        `The Conductor control summary of the ${config.environment} stack: every guardrail's status, budget burn, release cadence, firing alerts and release milestones.`,
    )
        .time({ from: "now-24h", to: "now" })
        .withPanel(slos)
        .withPanel(cost)
        .withPanel(cadence)
        .withPanel(burn)
        .withPanel(errorBudget)
        .withPanel(sinceCut)
        .withPanel(alerts)
        .withPanel(releases);
    return builtDashboard(kind, title, builder);
}
