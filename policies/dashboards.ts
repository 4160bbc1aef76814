/**
 * Each environment provisions its SLO, cost and summary dashboards (uids `maestro-<kind>-<env>`, the ones the
 * alerts' dashboard links and the Conductor summary point at), each with at least one panel.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { PackContext } from "./context";
import {
    CADENCE_METRIC,
    COST_METRIC,
    COST_RECORD,
    DASHBOARD_KINDS,
    DashboardKind,
    GRAFANA_DASHBOARD_TYPE,
    SLO_RECORD,
    dashboardUid,
} from "../core/conventions";
import { COST_BUDGETS, SLO_WINDOWS } from "../rules";
import { DASHBOARD_TYPES, dashboardModel, describeResource, stackUrn } from "./resources";
import { environmentPolicy } from "./stack";

export const DASHBOARDS_POLICY = "dashboards-provisioned";

/** Grafana resources that change where dashboards read from or where notifications go. */
export const GRAFANA_REDIRECTING_TYPES: readonly string[] = [
    "grafana:oss/dataSource:DataSource",
    "grafana:oss/dataSourceConfig:DataSourceConfig",
    "grafana:alerting/contactPoint:ContactPoint",
    "grafana:alerting/notificationPolicy:NotificationPolicy",
    "grafana:alerting/muteTiming:MuteTiming",
    "grafana:alerting/messageTemplate:MessageTemplate",
];
const COMPONENT_PACKAGE = "maestro";

interface Panel {
    readonly type?: unknown;
    readonly title?: unknown;
    readonly targets?: unknown;
    readonly panels?: unknown;
}

/** How the builders point every query at the dashboard's Prometheus datasource variable. */
const DATASOURCE_VARIABLE = "${datasource}";

/** Every panel of a model (rows' collapsed panels too), with its query targets. */
function panelTargets(model: {
    panels?: unknown;
}): Array<{ panel: Panel & { datasource?: unknown }; targets: Array<{ datasource?: unknown }> }> {
    const out: Array<{ panel: Panel & { datasource?: unknown }; targets: Array<{ datasource?: unknown }> }> = [];
    const visit = (ps: unknown) => {
        for (const p of Array.isArray(ps) ? (ps as Array<Panel & { datasource?: unknown }>) : []) {
            out.push({
                panel: p,
                targets: Array.isArray(p.targets) ? (p.targets as Array<{ datasource?: unknown }>) : [],
            });
            visit(p.panels);
        }
    };
    visit(model.panels);
    return out;
}

/** Every panel of a model (rows' collapsed panels too), with the expressions its queries run. */
function panelExprs(model: { panels?: unknown }): Array<{ panel: Panel; exprs: string[] }> {
    const out: Array<{ panel: Panel; exprs: string[] }> = [];
    const visit = (ps: unknown) => {
        for (const p of Array.isArray(ps) ? (ps as Panel[]) : []) {
            const exprs = (Array.isArray(p.targets) ? (p.targets as Array<{ expr?: unknown }>) : [])
                .map((t) => t.expr)
                .filter((e): e is string => typeof e === "string");
            out.push({ panel: p, exprs });
            visit(p.panels);
        }
    };
    visit(model.panels);
    return out;
}

/**
 * What each dashboard must show, per SLO and per budget, as the series its panels must query (the recordings
 * rules/ writes, named in core/conventions.ts). A dashboard reduced to a text panel, or missing one SLO or budget,
 * has a gap exactly where someone would look during an incident.
 */
function requiredQueries(kind: DashboardKind, sloIds: readonly string[]): Array<{ what: string; test: RegExp }> {
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const series = (name: string, matcher: string) => new RegExp(`${esc(name)}\\{[^}]*${esc(matcher)}`);
    if (kind === "slo") {
        const slo = 'slo="$slo"';
        return [
            { what: `${SLO_RECORD.latencyP95} (p95 latency)`, test: series(SLO_RECORD.latencyP95, slo) },
            {
                what: `${SLO_RECORD.thresholdSeconds} (the guardrail line)`,
                test: series(SLO_RECORD.thresholdSeconds, slo),
            },
            { what: `${SLO_RECORD.objective} (the objective)`, test: series(SLO_RECORD.objective, slo) },
            {
                what: `${SLO_RECORD.errorBudgetRemaining} (error budget)`,
                test: series(SLO_RECORD.errorBudgetRemaining, slo),
            },
            ...SLO_WINDOWS.map((w) => ({
                what: `${SLO_RECORD.errorRatio(w)} (burn rate, ${w})`,
                test: series(SLO_RECORD.errorRatio(w), slo),
            })),
        ];
    }
    if (kind === "cost") {
        return COST_BUDGETS.flatMap((b) => [
            {
                what: `${COST_RECORD.budget}{budget="${b}"} (the ${b} cap)`,
                test: series(COST_RECORD.budget, `budget="${b}"`),
            },
            {
                what: `${COST_METRIC.monthToDate}{category="${b}"} (${b} spend)`,
                test: series(COST_METRIC.monthToDate, `category="${b}"`),
            },
            {
                what: `${COST_RECORD.monthEndForecast}{category="${b}"} (${b} forecast)`,
                test: series(COST_RECORD.monthEndForecast, `category="${b}"`),
            },
        ]);
    }
    void sloIds;
    return [
        {
            what: `${SLO_RECORD.errorBudgetRemaining} (SLO error budgets)`,
            test: new RegExp(esc(SLO_RECORD.errorBudgetRemaining)),
        },
        ...COST_BUDGETS.map((b) => ({
            what: `${COST_RECORD.budget}{budget="${b}"}`,
            test: series(COST_RECORD.budget, `budget="${b}"`),
        })),
        { what: `${CADENCE_METRIC.lastCut} (release cadence)`, test: new RegExp(esc(CADENCE_METRIC.lastCut)) },
        { what: "ALERTS (firing guardrail alerts)", test: /ALERTS\{/ },
    ];
}

/** The required panels a dashboard model lacks (and, for the SLO dashboard, SLOs its `slo` variable leaves out). */
export function missingPanels(
    kind: DashboardKind,
    model: { panels?: unknown; templating?: unknown },
    sloIds: readonly string[],
): string[] {
    const exprs = panelExprs(model).flatMap((p) => p.exprs);
    const missing = requiredQueries(kind, sloIds)
        .filter((q) => !exprs.some((e) => q.test.test(e)))
        .map((q) => `no panel queries ${q.what}`);
    // Every query reads through the dashboard's Prometheus datasource variable, so one setting (its current value,
    // the stack's prometheusDatasourceUid) decides what all panels show; a fixed uid sends a panel elsewhere.
    for (const { panel, targets } of panelTargets(model)) {
        for (const ds of [panel.datasource, ...targets.map((t) => t.datasource)]) {
            const uid = (ds as { uid?: unknown } | null | undefined)?.uid;
            if (ds !== undefined && ds !== null && uid !== DATASOURCE_VARIABLE) {
                missing.push(
                    `panel ${JSON.stringify(panel.title ?? panel.type)} reads datasource ${JSON.stringify(uid ?? ds)}; allowed: ${JSON.stringify(DATASOURCE_VARIABLE)} (the dashboard's Prometheus variable)`,
                );
                break;
            }
        }
    }
    const vars = ((model.templating as { list?: unknown } | undefined)?.list ?? []) as Array<{
        name?: unknown;
        type?: unknown;
        query?: unknown;
    }>;
    const dsVar = vars.find((v) => v.name === "datasource");
    if (dsVar === undefined || dsVar.type !== "datasource" || dsVar.query !== "prometheus") {
        missing.push(
            `its datasource variable is ${JSON.stringify(dsVar ?? null)}; allowed: a "datasource" variable of type "prometheus"`,
        );
    }
    if (kind === "slo") {
        const vars = ((model.templating as { list?: unknown } | undefined)?.list ?? []) as Array<{
            name?: unknown;
            query?: unknown;
        }>;
        const slo = vars.find((v) => v.name === "slo");
        // Stryker disable next-line ArrayDeclaration: no SLO id matches the stand-in (the schema's ids are non-empty, lower-case, no spaces)
        const options = typeof slo?.query === "string" ? slo.query.split(",").map((x) => x.trim()) : [];
        const left = sloIds.filter((id) => !options.includes(id));
        if (left.length > 0) {
            missing.push(`its slo variable leaves out ${left.join(", ")} (allowed: every guardrail SLO)`);
        }
    }
    return missing;
}

export function dashboardsPolicy(ctx: PackContext): StackValidationPolicy {
    return environmentPolicy(
        ctx,
        DASHBOARDS_POLICY,
        "Each environment provisions its SLO, cost and summary Grafana dashboards.",
        (env, args, reportViolation) => {
            const models = args.resources
                .filter((r) => DASHBOARD_TYPES.includes(r.type))
                .map((r) => {
                    const { model, error } = dashboardModel(r.type, r.props);
                    if (!model) {
                        reportViolation(
                            `${describeResource(r)}: ${error}, so it provisions no dashboard. Fix: build it with the dashboards component.`,
                            r.urn,
                        );
                        return undefined;
                    }
                    return { r, model };
                })
                .filter((x) => x !== undefined);
            for (const kind of DASHBOARD_KINDS) {
                const uid = dashboardUid(kind, env);
                const found = models.find((m) => m.model.uid === uid);
                if (!found) {
                    reportViolation(
                        `the ${env} stack provisions no ${kind} dashboard (a ${GRAFANA_DASHBOARD_TYPE.legacy} or ${GRAFANA_DASHBOARD_TYPE.apps} whose model has uid "${uid}"). Fix: deploy the dashboards component for this stack.`,
                        stackUrn(args.resources),
                    );
                } else if (!Array.isArray(found.model.panels) || found.model.panels.length === 0) {
                    reportViolation(
                        `${describeResource(found.r)} (uid "${uid}") has no panels. Fix: build it with the dashboards component.`,
                        found.r.urn,
                    );
                } else {
                    const missing = missingPanels(
                        kind,
                        found.model,
                        ctx.guardrails.slo.objectives.map((o) => o.id),
                    );
                    if (missing.length > 0) {
                        reportViolation(
                            `${describeResource(found.r)} (uid "${uid}") lacks required panels: ${missing.join("; ")}. Fix: build it with the dashboards component (dashboards/${kind}.ts).`,
                            found.r.urn,
                        );
                    }
                }
            }
            // Datasources and notification settings redirect what the dashboards show and where alerts go: only the
            // stack's own components may manage them.
            for (const r of args.resources.filter((x) => GRAFANA_REDIRECTING_TYPES.includes(x.type))) {
                if (!r.parent?.type.startsWith(`${COMPONENT_PACKAGE}:`)) {
                    reportViolation(
                        `${describeResource(r)} is not the stack's own (created outside every ${COMPONENT_PACKAGE}:* component), and a Grafana ${r.type.split(":")[2]} redirects what the dashboards query or where alerts go; allowed: none outside the stack's components. Fix: remove it, or manage it in a component of this stack.`,
                        r.urn,
                    );
                }
            }
        },
    );
}
