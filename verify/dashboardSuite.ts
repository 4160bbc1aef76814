/**
 * The dashboards as promtool sees them: every panel expression (variables substituted, one per value) becomes a
 * recording rule beside the stack's own rules, and a `promtool test rules` file feeds synthetic telemetry (SLI
 * histograms, cost exporter, release pipeline) and asserts each panel record holds a sample at the end. A wrong
 * metric or label name in a panel shows up as an empty record. Used by test/dashboards-promtool.test.ts.
 */
import * as yaml from "js-yaml";
import { CADENCE_METRIC, COST_METRIC } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";
import { buildRuleGroups, cadenceTargets, renderRuleFile } from "../rules";
import { COST_BUDGETS, budgetUsd } from "../rules/cost";
import { InputSeries, sliHistogram } from "./synthetic";
import { RecordingRule } from "../rules/types";
import { BuiltDashboard } from "../dashboards/common";
import { panelQueries } from "../dashboards/check";

/** Synthetic telemetry, as shares of the stack's own numbers (so no guardrail value is written in a fixture). */
export interface TelemetryScenario {
    /** Minutes of one-per-minute samples; the test evaluates at the last one. */
    readonly evalMinutes: number;
    /** Slow requests of every SLO as a multiple of its error budget (1 - objective). */
    readonly sloBurnRate: number;
    readonly cost: {
        /** Environment spend as a share of (alert threshold x budget). */
        readonly totalShareOfAlertLine: number;
        /** LLM spend as a share of the LLM budget. */
        readonly llmShareOfBudget: number;
        /** Further exporter categories, as shares of the environment spend. */
        readonly otherCategories: Readonly<Record<string, number>>;
    };
    /** Days since the last cut per release target, as multiples of its interval. */
    readonly cadenceIntervalsAgo: Readonly<Record<string, number>>;
}

export const EVALUATION_INTERVAL = "5m";

/** Group holding the panel expressions; evaluated after the stack's groups, so it reads this minute's recordings. */
export const PANEL_GROUP = "maestro-dashboard-panels";

export interface PanelRecord {
    readonly record: string;
    readonly dashboard: string;
    readonly panel: string;
    readonly refId: string;
    readonly values: Readonly<Record<string, string>>;
    readonly expr: string;
}

function sanitize(s: string): string {
    return s.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** One recording rule per panel expression and variable value. */
export function panelRecords(dashboards: readonly BuiltDashboard[]): PanelRecord[] {
    return dashboards.flatMap((d) =>
        panelQueries(d.model).flatMap((q) =>
            q.expanded.map((e) => {
                const suffix = Object.keys(e.values)
                    .sort()
                    .filter((k) => k !== "env")
                    .map((k) => `_${sanitize(e.values[k])}`)
                    .join("");
                return {
                    record: `maestro_dashboard:${sanitize(d.uid)}:panel${q.panelId}_${q.refId}${suffix}`,
                    dashboard: d.uid,
                    panel: q.panelTitle,
                    refId: q.refId,
                    values: e.values,
                    expr: e.expr,
                };
            }),
        ),
    );
}

/** The panel records as a rule file (what `promtool check rules` parses). */
export function panelRuleFile(records: readonly PanelRecord[]): string {
    const rules: RecordingRule[] = records.map((r) => ({ record: r.record, expr: r.expr, labels: {} }));
    return renderRuleFile([{ name: PANEL_GROUP, rules }]);
}

function gauge(series: string, value: number, minutes: number): InputSeries {
    return { series, values: `${value}+0x${minutes}` };
}

/**
 * The cost series of a collector's /metrics text as promtool input, constant over the scenario: spend as exported,
 * the data timestamp moved onto promtool's clock (which starts at 0) so it keeps its age at the evaluation time
 * (`collectorNowSeconds` is when the collector was scraped).
 */
export function exposedCostSeries(text: string, evalMinutes: number, collectorNowSeconds: number): InputSeries[] {
    const series: InputSeries[] = [];
    const names: readonly string[] = Object.values(COST_METRIC);
    for (const line of text.split("\n")) {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
        if (!m || !names.includes(m[1])) {
            continue;
        }
        const value =
            m[1] === COST_METRIC.dataTimestamp ? Number(m[3]) - collectorNowSeconds + evalMinutes * 60 : Number(m[3]);
        series.push(gauge(`${m[1]}${m[2] ?? ""}`, value, evalMinutes));
    }
    return series;
}

/**
 * Synthetic input series for one stack. `costSeries` replaces the synthetic cost exporter (e.g. a real
 * collector's output, exposedCostSeries).
 */
export function scenarioSeries(
    config: StackConfig,
    guardrails: Guardrails,
    s: TelemetryScenario,
    costSeries?: readonly InputSeries[],
): InputSeries[] {
    const series: InputSeries[] = [];
    const seen = new Set<string>();
    for (const slo of config.slos) {
        for (const x of sliHistogram(slo.sli, [
            { minutes: s.evalMinutes, badShare: s.sloBurnRate * (1 - slo.objective) },
        ])) {
            // Two SLOs reading the same histogram with the same matchers would write the same series twice.
            if (!seen.has(x.series)) {
                seen.add(x.series);
                series.push(x);
            }
        }
    }
    if (costSeries) {
        series.push(...costSeries);
    } else {
        series.push(...syntheticCostSeries(config, s));
    }
    const evalSeconds = s.evalMinutes * 60;
    for (const t of cadenceTargets(guardrails)) {
        const ago = s.cadenceIntervalsAgo[t.target];
        if (ago === undefined) {
            throw new Error(
                `scenario: cadenceIntervalsAgo has no "${t.target}"; needed: ${cadenceTargets(guardrails)
                    .map((x) => x.target)
                    .join(", ")}`,
            );
        }
        series.push(
            gauge(
                `${CADENCE_METRIC.lastCut}{target=${JSON.stringify(t.target)}}`,
                evalSeconds - ago * t.intervalDays * 86400,
                s.evalMinutes,
            ),
        );
    }
    return series;
}

/** The synthetic cost exporter: spend per category as shares of the stack's budgets, data as fresh as the clock. */
function syntheticCostSeries(config: StackConfig, s: TelemetryScenario): InputSeries[] {
    const series: InputSeries[] = [];
    const [total, llm] = COST_BUDGETS;
    const totalSpend = s.cost.totalShareOfAlertLine * config.costAlertThreshold * budgetUsd(config, total);
    const categories: Record<string, number> = {
        [total]: totalSpend,
        [llm]: s.cost.llmShareOfBudget * budgetUsd(config, llm),
    };
    for (const [c, share] of Object.entries(s.cost.otherCategories)) {
        categories[c] = share * totalSpend;
    }
    for (const [c, v] of Object.entries(categories)) {
        series.push(gauge(`${COST_METRIC.monthToDate}{category=${JSON.stringify(c)}}`, v, s.evalMinutes));
    }
    series.push(gauge(COST_METRIC.dataTimestamp, s.evalMinutes * 60, s.evalMinutes));
    return series;
}

export interface ExtraExprTest {
    readonly expr: string;
    readonly samples: ReadonlyArray<{ readonly labels: string; readonly value: number }>;
}

/**
 * The files for one stack: `rules.yaml` (the stack's rules), `panels.yaml` (the panel records), `test.yaml`
 * (the scenario, one assertion per panel record, plus `extra` exact-value assertions).
 */
export function dashboardPromtoolFiles(
    config: StackConfig,
    guardrails: Guardrails,
    dashboards: readonly BuiltDashboard[],
    scenario: TelemetryScenario,
    extra: readonly ExtraExprTest[] = [],
    costSeries?: readonly InputSeries[],
): { files: Record<string, string>; records: PanelRecord[] } {
    const groups = buildRuleGroups(config, guardrails);
    const records = panelRecords(dashboards);
    const evalTime = `${scenario.evalMinutes}m`;
    const test = {
        rule_files: ["rules.yaml", "panels.yaml"],
        // Samples stay one a minute (the rules' 5m rates need them); evaluating every 5 minutes is enough to fill
        // every recording and cuts promtool's time by five.
        evaluation_interval: EVALUATION_INTERVAL,
        group_eval_order: [...groups.map((g) => g.name), PANEL_GROUP],
        tests: [
            {
                interval: "1m",
                input_series: scenarioSeries(config, guardrails, scenario, costSeries),
                promql_expr_test: [
                    // Label-agnostic: "at least one sample", whatever the panel's labels are.
                    ...records.map((r) => ({
                        expr: `clamp_max(count(${r.record}), 1)`,
                        eval_time: evalTime,
                        exp_samples: [{ labels: "{}", value: 1 }],
                    })),
                    ...extra.map((e) => ({
                        expr: e.expr,
                        eval_time: evalTime,
                        exp_samples: e.samples.map((x) => ({ ...x })),
                    })),
                ],
            },
        ],
    };
    return {
        files: {
            "rules.yaml": renderRuleFile(groups),
            "panels.yaml": panelRuleFile(records),
            "test.yaml": yaml.dump(test, { lineWidth: -1, noRefs: true }),
        },
        records,
    };
}
