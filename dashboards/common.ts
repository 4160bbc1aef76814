/**
 * What the three dashboard builders share: uids, the `datasource` and `env` variables, query targets, explicit
 * grid placement, deterministic panel ids and the serialized model. Built with @grafana/grafana-foundation-sdk;
 * the SDK's objects carry builder methods and leave panel ids unset, so every model leaves here as plain JSON
 * with ids assigned in panel order.
 */
import * as cog from "@grafana/grafana-foundation-sdk/cog";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import { sortKeys } from "../core/stableJson";
import { BACKLOG_ITEM, DashboardKind, RULE_PREFIX, SLO_RECORD, dashboardUid } from "../core/conventions";
import type { StackScope } from "../core/scope";
import { ERROR_BUDGET_LOW } from "./design";

export { DASHBOARD_KINDS, dashboardUid, folderUid } from "../core/conventions";
export type { DashboardKind } from "../core/conventions";

/** The backlog item each dashboard serves (its evidence tags come from it). */
export const DASHBOARD_BACKLOG_ITEM: Readonly<Record<DashboardKind, string>> = {
    slo: BACKLOG_ITEM.sloDashboard,
    cost: BACKLOG_ITEM.costDashboard,
    summary: BACKLOG_ITEM.summaryDashboard,
};

/** Grafana's limit on dashboard uids (and so the folder's): longer ones are rejected with "uid too long". */
export const GRAFANA_MAX_UID_LENGTH = 40;

/** Name of the datasource variable every query goes through, and the reference panels and targets use. */
export const DATASOURCE_VARIABLE = "datasource";
export const ENV_VARIABLE = "env";
export const DATASOURCE_REF = { type: "prometheus", uid: `\${${DATASOURCE_VARIABLE}}` } as const;

/** A plain dashboard model, as Grafana stores it (`spec` of a dashboard.grafana.app/v1beta1 Dashboard). */
export interface DashboardJson {
    uid: string;
    title: string;
    tags?: string[];
    panels: PanelJson[];
    templating: { list?: VariableJson[] };
    [key: string]: unknown;
}

export interface PanelJson {
    id: number;
    type: string;
    title?: string;
    gridPos: { x: number; y: number; w: number; h: number };
    datasource?: { type?: string; uid?: string };
    targets?: TargetJson[];
    options?: Record<string, unknown>;
    fieldConfig?: { defaults?: Record<string, unknown>; overrides?: unknown[] };
    repeat?: string;
    panels?: PanelJson[];
    [key: string]: unknown;
}

export interface TargetJson {
    refId: string;
    expr: string;
    legendFormat?: string;
    datasource?: { type?: string; uid?: string };
    [key: string]: unknown;
}

export interface VariableJson {
    name: string;
    type: string;
    query?: unknown;
    current?: { text: string | string[]; value: string | string[] };
    options?: Array<{ text: string | string[]; value: string | string[] }>;
    datasource?: { type?: string; uid?: string };
    [key: string]: unknown;
}

/** One built dashboard: the model and where it belongs. */
export interface BuiltDashboard {
    readonly kind: DashboardKind;
    readonly uid: string;
    readonly title: string;
    readonly backlogItem: string;
    readonly model: DashboardJson;
}

/**
 * The `datasource` variable: any Prometheus datasource, defaulting to the stack's (`prometheusDatasourceUid`), so a
 * viewer can point the same dashboard at another Prometheus without editing it.
 */
export function datasourceVariable(
    config: Pick<StackScope, "prometheusDatasourceUid">,
): cog.Builder<dashboard.VariableModel> {
    return new dashboard.DatasourceVariableBuilder(DATASOURCE_VARIABLE)
        .label("Prometheus")
        .type("prometheus")
        .current({ text: config.prometheusDatasourceUid, value: config.prometheusDatasourceUid, selected: true });
}

/**
 * The `env` variable: the `env` label the stack's recording rules stamp, defaulting to this stack's environment.
 * A query variable rather than a constant, so one Grafana reading a shared Prometheus can switch environments.
 */
export function envVariable(config: Pick<StackScope, "environment">): cog.Builder<dashboard.VariableModel> {
    return new dashboard.QueryVariableBuilder(ENV_VARIABLE)
        .label("Environment")
        .datasource(DATASOURCE_REF)
        .query(`label_values(${SLO_RECORD.objective}, env)`)
        .definition(`label_values(${SLO_RECORD.objective}, env)`)
        .refresh(dashboard.VariableRefresh.OnDashboardLoad)
        .current({ text: config.environment, value: config.environment, selected: true })
        .options([{ text: config.environment, value: config.environment, selected: true }]);
}

/** A PromQL target through the datasource variable. `instant` for stats and tables, range otherwise. */
export function promTarget(
    refId: string,
    expr: string,
    legend: string,
    opts: { instant?: boolean; table?: boolean } = {},
): cog.Builder<cog.Dataquery> {
    const q = new prometheus.DataqueryBuilder()
        .refId(refId)
        .expr(expr)
        .legendFormat(legend)
        .datasource(DATASOURCE_REF)
        .editorMode(prometheus.QueryEditorMode.Code);
    if (opts.table) {
        q.format(prometheus.PromQueryFormat.Table);
    }
    return opts.instant || opts.table ? q.instant() : q.range();
}

export interface GridPos {
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
}

/** Explicit placement: the SDK's auto-layout only flows panels left to right, and the summary's grid is a stated rule. */
export function at(x: number, y: number, w: number, h: number): dashboard.GridPos {
    return { x, y, w, h };
}

/** Threshold steps from (value, colour) pairs; the first step is the base (-Infinity, serialized as null). */
export function thresholds(
    base: string,
    steps: ReadonlyArray<readonly [number, string]>,
): cog.Builder<dashboard.ThresholdsConfig> {
    return new dashboard.ThresholdsConfigBuilder()
        .mode(dashboard.ThresholdsMode.Absolute)
        .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

/** The legend of a time series whose series need no figures beside them: a list below the graph. */
export function bottomLegend(): common.VizLegendOptionsBuilder {
    return new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true);
}

/** How every stat here reduces its series: the last value that is not null, one figure. */
export function lastValue(): common.ReduceDataOptionsBuilder {
    return new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false);
}

/** Colours of the three guardrail states (Grafana's named palette). */
export const STATUS_COLOR = { ok: "green", atRisk: "orange", breach: "red" } as const;

/**
 * A stat of error budget left (a share): red when spent, orange when running low, green otherwise, on the last value.
 * The SLO and summary dashboards read it the same way; callers add title, query, decimals and place.
 */
export function errorBudgetStat(): stat.PanelBuilder {
    return new stat.PanelBuilder()
        .unit("percentunit")
        .thresholds(
            thresholds(STATUS_COLOR.breach, [
                [0, STATUS_COLOR.atRisk],
                [ERROR_BUDGET_LOW, STATUS_COLOR.ok],
            ]),
        )
        .colorMode(common.BigValueColorMode.Background)
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(lastValue());
}

/** Status values the summary's status expressions return (dashboards/queries.ts), and what they read as. */
export const STATUS = { ok: 0, atRisk: 1, breach: 2 } as const;

export function statusMappings(): dashboard.ValueMapping[] {
    const entry = (text: string, color: string, index: number) => ({ text, color, index });
    return [
        {
            type: dashboard.MappingType.ValueToText,
            options: {
                [String(STATUS.ok)]: entry("OK", STATUS_COLOR.ok, 0),
                [String(STATUS.atRisk)]: entry("AT RISK", STATUS_COLOR.atRisk, 1),
                [String(STATUS.breach)]: entry("BREACH", STATUS_COLOR.breach, 2),
            },
        },
    ];
}

/** Field override: draw a query's series as a dashed line in a fixed colour (guardrail and objective lines). */
export function guardrailLineOverride(
    refId: string,
    color: string,
): { matcher: dashboard.MatcherConfig; properties: dashboard.DynamicConfigValue[] } {
    return {
        matcher: { id: "byFrameRefID", options: refId },
        properties: [
            { id: "color", value: { mode: "fixed", fixedColor: color } },
            { id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } },
            { id: "custom.fillOpacity", value: 0 },
        ],
    };
}

/**
 * Serialize the SDK's dashboard to plain JSON (dropping builder methods and undefined fields) and number every
 * panel, rows and panels inside rows included, 1..n in array order: the SDK sets none, and ids must be unique
 * and stable so a redeploy shows no diff.
 */
export function toModel(builder: dashboard.DashboardBuilder): DashboardJson {
    const model = JSON.parse(JSON.stringify(builder.build())) as DashboardJson;
    let next = 1;
    const number = (panels: PanelJson[]) => {
        for (const p of panels) {
            p.id = next++;
            number(p.panels ?? []);
        }
    };
    number(model.panels ?? []);
    return model;
}

/** The built dashboard of `kind`: its plain-JSON model, uid and title, and the backlog item it serves. */
export function builtDashboard(
    kind: DashboardKind,
    title: string,
    builder: dashboard.DashboardBuilder,
): BuiltDashboard {
    const model = toModel(builder);
    return { kind, uid: model.uid, title, backlogItem: DASHBOARD_BACKLOG_ITEM[kind], model };
}

/** A model as it is provisioned. Sorted keys: the same model always serializes to the same string, so a second preview shows no diff. */
export function provisionedJson(model: DashboardJson): string {
    return JSON.stringify(sortKeys(model));
}

/** Every panel of a model, rows and their nested panels included. */
export function allPanels(model: { panels?: PanelJson[] }): PanelJson[] {
    return (model.panels ?? []).flatMap((p) => [p, ...allPanels(p)]);
}

/** A dashboard's common frame: uid (`maestro-<kind>-<env>` unless given), title, tags, time range, refresh, the two variables. */
export function dashboardFrame(
    kind: DashboardKind,
    title: string,
    config: Pick<StackScope, "environment" | "prometheusDatasourceUid">,
    description: string,
    uid = dashboardUid(kind, config.environment),
): dashboard.DashboardBuilder {
    return new dashboard.DashboardBuilder(title)
        .uid(uid)
        .description(description)
        .tags([RULE_PREFIX, kind, config.environment])
        .readonly()
        .timezone("utc")
        .refresh("1m")
        .tooltip(dashboard.DashboardCursorSync.Crosshair)
        .withVariable(datasourceVariable(config))
        .withVariable(envVariable(config));
}
