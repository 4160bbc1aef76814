import { GrafanaDashboards } from "../components/grafanaDashboards";
import {
    BuiltDashboard,
    DashboardJson,
    ReleasePlan,
    SCREEN,
    SLO_VARIABLE,
    allPanels,
    buildDashboards,
    dashboardUid,
    folderUid,
    panelHeightPx,
    releasePlanFromGovernance,
    releasePlanMarkdown,
    visibleGridUnits,
} from "../dashboards";
import {
    dashboardProblems,
    datasourceProblems,
    gridProblems,
    knownSeries,
    panelIdProblems,
    parsePromQL,
    panelQueries,
    promqlProblems,
    schemaProblems,
    screenProblems,
    variableProblems,
} from "../dashboards/check";
import { TEXT_PANEL } from "../dashboards/design";
import { Governance, evidenceResolver, loadGovernance } from "../governance";
import { extractArtifacts } from "../offline/artifacts";
import {
    AWS_TAG,
    BACKLOG_ITEM,
    COST_RECORD,
    GRAFANA_DASHBOARD_TYPE,
    GRAFANA_MAX_TAG_LENGTH,
    SLO_RECORD,
    dashboardEvidence,
    dashboardModelJson,
} from "../core/conventions";
import { registerEvidenceStamping } from "../core/evidence";
import { RegisteredResource, runWithMocks, unwrapSecrets } from "../offline/mockRuntime";
import { shippedStackFile } from "../offline/shippedStacks";
import { GRAFANA_APIS, GrafanaApi, StackConfig } from "../core/stackConfig";
import { SLO_BURN_ALERTS, SLO_WINDOWS, cadenceTargets } from "../rules";
import { budgetUsd } from "../rules/cost";
import { DASHBOARD_PATH } from "../rules/design";
import { STACKS, guardrails, stackConfig } from "./helpers";

const gov: Governance = loadGovernance();
const plan: ReleasePlan = releasePlanFromGovernance(gov);

function built(stack: string): {
    config: StackConfig;
    dashboards: BuiltDashboard[];
    byKind: (k: string) => BuiltDashboard;
} {
    const config = stackConfig(stack);
    const dashboards = buildDashboards(config, guardrails, plan);
    return { config, dashboards, byKind: (k) => dashboards.find((d) => d.kind === k)! };
}

/** A deep copy to break in one place. */
function copy(model: DashboardJson): DashboardJson {
    return JSON.parse(JSON.stringify(model)) as DashboardJson;
}

function panel(model: DashboardJson, title: string) {
    const p = allPanels(model).find((x) => x.title === title);
    if (!p) {
        throw new Error(
            `no panel "${title}" in ${model.uid}; panels: ${allPanels(model)
                .map((x) => x.title)
                .join(", ")}`,
        );
    }
    return p;
}

describe("dashboard models", () => {
    it.each(STACKS)("%s: builds the SLO, cost and summary dashboards with uids maestro-<kind>-<env>", (stack) => {
        const { dashboards } = built(stack);
        expect(dashboards.map((d) => d.uid)).toEqual(["slo", "cost", "summary"].map((k) => `maestro-${k}-${stack}`));
        expect(dashboards.map((d) => d.backlogItem)).toEqual([
            BACKLOG_ITEM.sloDashboard,
            BACKLOG_ITEM.costDashboard,
            BACKLOG_ITEM.summaryDashboard,
        ]);
        // The uids the alerts' dashboard annotations link to.
        expect(DASHBOARD_PATH.slo(stack, "x")).toContain(`/d/${dashboardUid("slo", stack)}?`);
        expect(DASHBOARD_PATH.cost(stack)).toBe(`/d/${dashboardUid("cost", stack)}`);
        expect(DASHBOARD_PATH.summary(stack)).toBe(`/d/${dashboardUid("summary", stack)}`);
    });

    it.each(STACKS)(
        "%s: every model passes every offline check (schema, ids, grid, variables, datasources, PromQL, known series)",
        (stack) => {
            const { config, dashboards } = built(stack);
            const known = knownSeries(config, guardrails);
            for (const d of dashboards) {
                expect(dashboardProblems(d.model, config, known)).toEqual([]);
            }
        },
    );

    it.each(STACKS)("%s: builds the same JSON every time, panel ids 1..n in order", (stack) => {
        const a = built(stack).dashboards.map((d) => JSON.stringify(d.model));
        const b = built(stack).dashboards.map((d) => JSON.stringify(d.model));
        expect(a).toEqual(b);
        for (const d of built(stack).dashboards) {
            expect(allPanels(d.model).map((p) => p.id)).toEqual(allPanels(d.model).map((_, i) => i + 1));
        }
    });

    it.each(STACKS)(
        "%s: every query goes through the datasource variable, which defaults to the stack's Prometheus",
        (stack) => {
            const { config, dashboards } = built(stack);
            for (const d of dashboards) {
                const ds = d.model.templating.list!.find((v) => v.name === "datasource")!;
                expect(ds).toMatchObject({
                    type: "datasource",
                    query: "prometheus",
                    current: { value: config.prometheusDatasourceUid },
                });
                const env = d.model.templating.list!.find((v) => v.name === "env")!;
                expect(env.current?.value).toBe(config.environment);
                for (const p of allPanels(d.model).filter((x) => x.targets)) {
                    expect(p.targets!.every((t) => t.datasource?.uid === "${datasource}")).toBe(true);
                }
            }
        },
    );
});

describe("SLO dashboard", () => {
    it.each(STACKS)("%s: repeats one row per SLO over the slo variable, which lists the stack's SLOs", (stack) => {
        const { config, byKind } = built(stack);
        const m = byKind("slo").model;
        const v = m.templating.list!.find((x) => x.name === SLO_VARIABLE)!;
        expect(v.options!.map((o) => o.value).filter((x) => x !== "$__all")).toEqual(config.slos.map((s) => s.id));
        const rows = m.panels.filter((p) => p.type === "row");
        expect(rows).toHaveLength(1);
        expect(rows[0].repeat).toBe(SLO_VARIABLE);
    });

    it.each(STACKS)(
        "%s: plots p95 against the recorded threshold and the within-threshold share against the recorded objective",
        (stack) => {
            const m = built(stack).byKind("slo").model;
            const exprs = (title: string) => panel(m, title).targets!.map((t) => t.expr);
            expect(exprs("p95 latency vs guardrail: $slo")).toEqual([
                `${SLO_RECORD.latencyP95}{slo="$slo",env="$env",service=""}`,
                `${SLO_RECORD.thresholdSeconds}{slo="$slo",env="$env",service=""}`,
            ]);
            expect(exprs("Requests within threshold vs objective: $slo")[1]).toBe(
                `${SLO_RECORD.objective}{slo="$slo",env="$env",service=""}`,
            );
            expect(exprs("Error budget remaining: $slo")).toEqual([
                `${SLO_RECORD.errorBudgetRemaining}{slo="$slo",env="$env",service=""}`,
            ]);
            expect(exprs("Request rate: $slo")).toEqual([
                `${SLO_RECORD.requestRate}{slo="$slo",env="$env",service=""}`,
            ]);
        },
    );

    it.each(STACKS)(
        "%s: plots the burn rate over every alert window with the alerts' burn rates as threshold lines",
        (stack) => {
            const burn = panel(built(stack).byKind("slo").model, "Burn rate by alert window: $slo");
            expect(burn.targets!.map((t) => t.legendFormat)).toEqual([...SLO_WINDOWS]);
            const steps = (
                burn.fieldConfig!.defaults!.thresholds as { steps: Array<{ value: number | null }> }
            ).steps.map((s) => s.value);
            const rates = [...new Set(SLO_BURN_ALERTS.flatMap((a) => a.conditions.map((c) => c.burnRate)))].sort(
                (a, b) => a - b,
            );
            expect(steps).toEqual([null, ...rates]);
        },
    );
});

describe("cost dashboard", () => {
    it.each(STACKS)(
        "%s: draws each budget and its alert line from the budget recording and the stack's alert threshold",
        (stack) => {
            const { config, byKind } = built(stack);
            const m = byKind("cost").model;
            const env = panel(m, "Environment spend, month to date, vs cap").targets!.map((t) => t.expr);
            expect(env[1]).toBe(`max(${COST_RECORD.budget}{budget="total",env="$env"})`);
            expect(env[2]).toBe(`${config.costAlertThreshold} * max(${COST_RECORD.budget}{budget="total",env="$env"})`);
            const llm = panel(m, "LLM spend, month to date, vs cap").targets!.map((t) => t.expr);
            expect(llm[1]).toBe(`max(${COST_RECORD.budget}{budget="llm",env="$env"})`);
        },
    );

    it.each(STACKS)(
        "%s: colours the forecasts orange from the alert threshold and red from the cap (config numbers)",
        (stack) => {
            const { config, byKind } = built(stack);
            const m = byKind("cost").model;
            for (const [title, b] of [
                ["Environment forecast, month end", "total"],
                ["LLM forecast, month end", "llm"],
            ] as const) {
                const steps = (
                    panel(m, title).fieldConfig!.defaults!.thresholds as {
                        steps: Array<{ value: number | null; color: string }>;
                    }
                ).steps;
                const cap = budgetUsd(config, b);
                expect(steps).toEqual([
                    { value: null, color: "green" },
                    { value: config.costAlertThreshold * cap, color: "orange" },
                    { value: cap, color: "red" },
                ]);
            }
        },
    );

    it("follows a stack's own budgets: a halved budget moves the forecast colours with it", () => {
        const base = stackConfig("prod");
        const halved: StackConfig = { ...base, monthlyBudgetUsd: base.monthlyBudgetUsd / 2 };
        const m = buildDashboards(halved, guardrails, plan).find((d) => d.kind === "cost")!.model;
        const steps = (
            panel(m, "Environment forecast, month end").fieldConfig!.defaults!.thresholds as {
                steps: Array<{ value: number | null }>;
            }
        ).steps;
        expect(steps[2].value).toBe(base.monthlyBudgetUsd / 2);
    });
});

describe("Conductor summary dashboard", () => {
    it("states the grid-height rule: rows of 30 px plus 8 px margins in what a 1920x1080 screen leaves below the headers", () => {
        const visible =
            SCREEN.heightPx -
            SCREEN.browserChromePx -
            SCREEN.grafanaTopBarPx -
            SCREEN.dashboardControlsPx -
            SCREEN.pagePaddingPx;
        const units = visibleGridUnits();
        expect(panelHeightPx(units)).toBeLessThanOrEqual(visible);
        expect(panelHeightPx(units + 1)).toBeGreaterThan(visible);
        // A taller screen (more rows) or heavier chrome (fewer) changes the rule with it.
        expect(
            visibleGridUnits({
                ...SCREEN,
                browserChromePx: SCREEN.browserChromePx + 2 * (SCREEN.gridCellPx + SCREEN.gridMarginPx),
            }),
        ).toBe(units - 2);
    });

    it.each(STACKS)(
        "%s: fits one screen: every panel ends at or above the visible grid height, none repeats",
        (stack) => {
            const m = built(stack).byKind("summary").model;
            expect(screenProblems(m, visibleGridUnits())).toEqual([]);
            expect(Math.max(...m.panels.map((p) => p.gridPos.y + p.gridPos.h))).toBeLessThanOrEqual(visibleGridUnits());
        },
    );

    it("refuses a panel below the fold or a repeating row", () => {
        const m = copy(built("prod").byKind("summary").model);
        m.panels[m.panels.length - 1].gridPos.h += 1;
        expect(screenProblems(m, visibleGridUnits())[0].message).toContain(
            `below the fold; allowed: y + h <= ${visibleGridUnits()}`,
        );
        const r = copy(built("prod").byKind("summary").model);
        r.panels[0].repeat = "slo";
        expect(screenProblems(r, visibleGridUnits())[0].message).toContain("repeats");
    });

    it.each(STACKS)("%s: shows every guardrail's status: each SLO, both budgets, both release targets", (stack) => {
        const m = built(stack).byKind("summary").model;
        expect(panel(m, "SLO guardrails").targets![0].legendFormat).toBe("{{slo}}");
        expect(panel(m, "Cost guardrails").targets!.map((t) => t.legendFormat)).toEqual(["total", "llm"]);
        expect(panel(m, "Release cadence").targets!.map((t) => t.legendFormat)).toEqual(
            cadenceTargets(guardrails).map((t) => t.target),
        );
        const mappings = panel(m, "SLO guardrails").fieldConfig!.defaults!.mappings as Array<{
            options: Record<string, { text: string; color: string }>;
        }>;
        expect(Object.values(mappings[0].options).map((o) => [o.text, o.color])).toEqual([
            ["OK", "green"],
            ["AT RISK", "orange"],
            ["BREACH", "red"],
        ]);
    });

    it.each(STACKS)("%s: cadence colours come from the guardrails' intervals", (stack) => {
        const p = panel(built(stack).byKind("summary").model, "Days since last staging cut / production release");
        const overrides = p.fieldConfig!.overrides as Array<{
            properties: Array<{ value: { steps: Array<{ value: number | null }> } }>;
        }>;
        expect(overrides.map((o) => o.properties[0].value.steps[1].value)).toEqual(
            cadenceTargets(guardrails).map((t) => t.intervalDays),
        );
    });

    it.each(STACKS)(
        "%s: lists both releases' milestones with the accountable and responsible roles from governance",
        (stack) => {
            const text = (
                panel(built(stack).byKind("summary").model, "Releases: milestones and who is accountable").options as {
                    content: string;
                }
            ).content;
            for (const m of gov.milestones) {
                const raci = gov.raci.find((r) => r.milestone === m.id)!;
                const accountable = Object.entries(raci.assignments).find(([, l]) => l === "A")![0];
                expect(text).toContain(
                    `| ${m.date} | ${m.title} | ${m.tag} → ${m.environment} | ${m.status} | ${accountable} |`,
                );
            }
            for (const r of gov.releases) {
                expect(text).toContain(`**${r.title}**`);
            }
        },
    );

    it("the release panel's content fits its panel (table rows and lines at Grafana's text sizes)", () => {
        const p = panel(built("prod").byKind("summary").model, "Releases: milestones and who is accountable");
        const lines = releasePlanMarkdown(plan).split("\n");
        const tableRows = lines.filter((l) => l.startsWith("|") && !l.startsWith("| ---")).length;
        const other = lines.length - lines.filter((l) => l.startsWith("|")).length;
        expect(TEXT_PANEL.headerPx + tableRows * TEXT_PANEL.tableRowPx + other * TEXT_PANEL.linePx).toBeLessThanOrEqual(
            panelHeightPx(p.gridPos.h),
        );
    });

    it("takes the release plan as data, so a plan without governance files works, and refuses a milestone with no release", () => {
        const own: ReleasePlan = {
            releases: [{ id: "X", title: "Release X" }],
            milestones: [
                {
                    id: "X-1",
                    release: "X",
                    title: "cut",
                    environment: "staging",
                    date: "2030-01-01",
                    tag: "v9.0.0",
                    status: "planned",
                    accountable: "Someone",
                    responsible: ["A", "B"],
                },
            ],
        };
        expect(releasePlanMarkdown(own)).toContain(
            "| 2030-01-01 | cut | v9.0.0 → staging | planned | Someone | A, B |",
        );
        expect(() => releasePlanMarkdown({ ...own, releases: [] })).toThrow(
            "release plan: milestones X-1 name no listed release",
        );
    });

    it("refuses governance where a milestone has no single accountable role, naming the file", () => {
        const broken: Governance = {
            ...gov,
            raci: gov.raci.map((r, i) => (i === 0 ? { ...r, assignments: { ...r.assignments, "Dev Lead": "A" } } : r)),
        };
        expect(() => releasePlanFromGovernance(broken)).toThrow(
            `governance/raci.json: /matrix: milestone ${gov.raci[0].milestone}`,
        );
    });
});

describe("offline checks fail on a broken model (one change each)", () => {
    const { config, byKind } = built("dev");
    const known = knownSeries(config, guardrails);
    const slo = () => copy(byKind("slo").model);
    const cost = () => copy(byKind("cost").model);

    it("schema: a panel option the stat plugin's schema requires is missing", () => {
        const m = cost();
        delete (m.panels[2].options as Record<string, unknown>).reduceOptions;
        expect(schemaProblems(m)).toContainEqual(
            expect.objectContaining({
                file: "grafana/maestro-cost-dev.json",
                path: "/panels/2/options",
                message: 'missing required key "reduceOptions"',
            }),
        );
    });

    it("schema: an unknown dashboard key, and a panel type with no schema", () => {
        const m = cost() as DashboardJson & { colour?: string };
        m.colour = "blue";
        m.panels[0].type = "piechart";
        const messages = schemaProblems(m).map((p) => `${p.path}: ${p.message}`);
        expect(messages).toContainEqual(expect.stringContaining('unknown key "colour"'));
        expect(messages).toContainEqual(
            '/panels/0/type: panel type "piechart" has no schema in dashboards/schema; allowed: stat, timeseries, gauge, table, text',
        );
    });

    it("schema: a Prometheus target without an expression", () => {
        const m = cost();
        delete (m.panels[0].targets![0] as Partial<{ expr: string }>).expr;
        expect(schemaProblems(m)).toContainEqual(
            expect.objectContaining({ path: "/panels/0/targets/0", message: 'missing required key "expr"' }),
        );
    });

    it("ids: a duplicate panel id", () => {
        const m = cost();
        m.panels[1].id = m.panels[0].id;
        expect(panelIdProblems(m)[0].message).toBe(
            `panel id ${m.panels[0].id} is also used by "${m.panels[0].title}"; ids must be unique`,
        );
    });

    it("grid: overlapping panels, and a panel wider than the grid", () => {
        const m = cost();
        m.panels[1].gridPos = { ...m.panels[0].gridPos, x: m.panels[0].gridPos.x + 1 };
        expect(gridProblems(m).map((p) => p.message)).toContainEqual(
            `"${m.panels[1].title}" overlaps "${m.panels[0].title}" (/panels/0)`,
        );
        const w = cost();
        w.panels[6].gridPos.x = 1;
        expect(gridProblems(w)[0].message).toBe("x + w = 25; allowed: at most 24 (the grid's columns)");
    });

    it("variables: a query using an undefined variable", () => {
        const m = slo();
        m.panels[1].targets![0].expr = m.panels[1].targets![0].expr.replace("$env", "$environment");
        expect(variableProblems(m)).toEqual([
            expect.objectContaining({
                path: "/panels/1/targets/0/expr",
                message: expect.stringContaining("refers to $environment, which the dashboard does not define"),
            }),
        ]);
    });

    it("datasources: a hard-coded unknown datasource uid, and a default other than the stack's", () => {
        const m = cost();
        m.panels[0].targets![0].datasource = { type: "prometheus", uid: "someone-elses" };
        expect(datasourceProblems(m, config)[0]).toMatchObject({
            path: "/panels/0/targets/0/datasource/uid",
            message: expect.stringContaining('unknown datasource uid "someone-elses"'),
        });
        expect(
            datasourceProblems(cost(), { ...config, prometheusDatasourceUid: "other" }).map((p) => p.message),
        ).toContainEqual(expect.stringContaining('defaults to "prometheus-dev"'));
    });

    it("PromQL: an expression that does not parse", () => {
        const m = cost();
        m.panels[0].targets![0].expr = 'max(maestro_cost_month_to_date_usd{category="total"}';
        expect(promqlProblems(m, known)[0].message).toContain("PromQL does not parse");
    });

    it("PromQL: a series neither the rules nor the instrumentation requirements define", () => {
        const m = cost();
        m.panels[0].targets![0].expr = 'max(maestro_cost_month_to_date_dollars{category="total"})';
        expect(promqlProblems(m, known)).toEqual([
            expect.objectContaining({
                path: "/panels/0/targets/0/expr",
                message: expect.stringContaining("reads maestro_cost_month_to_date_dollars, which neither"),
            }),
        ]);
    });

    it("PromQL: expands $slo to every SLO id, so each SLO's row is checked", () => {
        const q = panelQueries(byKind("slo").model).find((x) => x.expr.includes(SLO_RECORD.latencyP95))!;
        expect(q.expanded.map((e) => e.values.slo)).toEqual(config.slos.map((s) => s.id));
        expect(q.expanded.every((e) => !e.expr.includes("$"))).toBe(true);
        expect(parsePromQL(q.expanded[0].expr)).toEqual({ errors: [], metrics: [SLO_RECORD.latencyP95] });
    });
});

describe("GrafanaDashboards component (mock runtime)", () => {
    async function run(stack: string, grafanaUrl = "https://grafana.example.com/", api: GrafanaApi = "legacy") {
        // The apps API needs Grafana 12: the variant declares it, as a stack file choosing it would.
        const config: StackConfig = {
            ...stackConfig(stack),
            grafanaApi: api,
            grafanaVersion: api === "apps" ? "12.1" : "10.4",
        };
        const resolve = evidenceResolver(gov);
        const record: RegisteredResource[] = [];
        const result = await runWithMocks({
            stack,
            config: shippedStackFile(stack),
            record,
            program: () => {
                registerEvidenceStamping(
                    { environment: config.environment, owner: config.owner, stack, releaseTag: config.releaseTag },
                    resolve,
                );
                const d = new GrafanaDashboards("dashboards", { config, guardrails, releasePlan: plan, grafanaUrl });
                return {
                    folderUid: d.folderUid,
                    folderUrl: d.folderUrl,
                    dashboardUids: d.dashboardUids,
                    dashboardUrls: d.dashboardUrls,
                };
            },
        });
        return { config, result };
    }

    const dashboardsOf = (rs: readonly RegisteredResource[]) =>
        rs.filter((r) => (Object.values(GRAFANA_DASHBOARD_TYPE) as string[]).includes(r.type));
    const modelOf = (r: RegisteredResource) =>
        JSON.parse(dashboardModelJson(r.type, r.inputs).json!) as DashboardJson & { links: unknown[] };
    const STACK_APIS = STACKS.flatMap((s) => GRAFANA_APIS.map((api) => [s, api] as const));

    it.each(STACK_APIS)(
        "%s, %s API: creates the folder and three dashboards of that API in it, and outputs uids and URLs",
        async (stack, api) => {
            const { config, result } = await run(stack, undefined, api);
            const folder = result.resources.find((r) => r.type === "grafana:oss/folder:Folder")!;
            expect(folder.inputs).toMatchObject({ uid: folderUid(stack), title: config.grafanaFolder });
            const dashboards = dashboardsOf(result.resources);
            expect(dashboards.map((r) => r.type)).toEqual(Array(3).fill(GRAFANA_DASHBOARD_TYPE[api]));
            expect(dashboards.map((r) => modelOf(r).uid).sort()).toEqual(
                ["cost", "slo", "summary"].map((k) => dashboardUid(k as "slo", stack)),
            );
            for (const r of dashboards) {
                if (api === "apps") {
                    expect(r.inputs.metadata).toEqual({ uid: modelOf(r).uid, folderUid: folderUid(stack) });
                    expect(r.inputs.options).toEqual({ overwrite: true });
                } else {
                    expect({ folder: r.inputs.folder, overwrite: r.inputs.overwrite }).toEqual({
                        folder: folderUid(stack),
                        overwrite: true,
                    });
                }
            }
            const outputs = unwrapSecrets(result.outputs) as Record<string, Record<string, string> | string>;
            expect(outputs.folderUid).toBe(folderUid(stack));
            expect(outputs.dashboardUids).toEqual({
                slo: `maestro-slo-${stack}`,
                cost: `maestro-cost-${stack}`,
                summary: `maestro-summary-${stack}`,
            });
            expect(outputs.dashboardUrls).toEqual({
                slo: `https://grafana.example.com/d/maestro-slo-${stack}`,
                cost: `https://grafana.example.com/d/maestro-cost-${stack}`,
                summary: `https://grafana.example.com/d/maestro-summary-${stack}`,
            });
        },
    );

    /** The dashboards component alone under dev's stack file: what it registers goes to `record`. */
    const dashboardsAlone = (config: StackConfig, grafanaUrl: string, record: RegisteredResource[]) =>
        runWithMocks({
            stack: "dev",
            config: shippedStackFile("dev"),
            record,
            program: () => new GrafanaDashboards("dashboards", { config, guardrails, releasePlan: plan, grafanaUrl }),
        });

    it("refuses the apps API on a Grafana older than 12 before creating anything", async () => {
        const config: StackConfig = { ...stackConfig("dev"), grafanaApi: "apps", grafanaVersion: "11.6" };
        const record: RegisteredResource[] = [];
        await expect(dashboardsAlone(config, "https://grafana.example.com/", record)).rejects.toThrow(
            'maestro-guardrails:grafanaApi "apps" (Pulumi.dev.yaml) needs Grafana 12 or later, and maestro-guardrails:grafanaVersion declares "11.6"',
        );
        expect(record.filter((r) => r.type.startsWith("grafana:"))).toEqual([]);
    });

    it.each(STACKS)(
        "%s: tags each dashboard with its own backlog item and carries all four evidence hooks, within Grafana's tag limit",
        async (stack) => {
            const { result } = await run(stack);
            const byItem = {
                [`maestro-slo-${stack}`]: BACKLOG_ITEM.sloDashboard,
                [`maestro-cost-${stack}`]: BACKLOG_ITEM.costDashboard,
                [`maestro-summary-${stack}`]: BACKLOG_ITEM.summaryDashboard,
            };
            for (const r of dashboardsOf(result.resources)) {
                const model = modelOf(r);
                const item = gov.items.find((i) => i.id === byItem[model.uid])!;
                const stamps = dashboardEvidence(model);
                expect(stamps[AWS_TAG.backlogItem]).toBe(item.id);
                expect(stamps[AWS_TAG.environment]).toBe(stack);
                for (const hook of ["logs", "metrics", "tests", "provenance"] as const) {
                    expect(stamps[AWS_TAG[hook]]).toBe(item.hooks[hook]);
                }
                expect(model.tags!.filter((t) => t.length > GRAFANA_MAX_TAG_LENGTH)).toEqual([]);
                expect(model.tags!.slice(0, 3)).toEqual(["maestro", model.uid.split("-")[1], stack]);
            }
        },
    );

    it.each(STACKS)(
        "%s: synth writes each provisioned model to grafana/<uid>.json, and it still passes the checks",
        async (stack) => {
            const { config, result } = await run(stack);
            const artifacts = extractArtifacts(result.resources).filter((a) => a.path.startsWith("grafana/"));
            expect(artifacts.map((a) => a.path)).toEqual(
                ["cost", "slo", "summary"].map((k) => `grafana/maestro-${k}-${stack}.json`),
            );
            const known = knownSeries(config, guardrails);
            for (const a of artifacts) {
                expect(dashboardProblems(JSON.parse(a.content) as DashboardJson, config, known)).toEqual([]);
            }
        },
    );

    it("refuses a grafana:url that is not an http(s) URL before creating anything", async () => {
        const { config } = await run("dev");
        const record: RegisteredResource[] = [];
        await expect(dashboardsAlone(config, "grafana.example.com", record)).rejects.toThrow(
            'grafana:url "grafana.example.com" (Pulumi.dev.yaml) is not a URL',
        );
        expect(record.filter((r) => r.type.startsWith("grafana:"))).toEqual([]);
    });
});
