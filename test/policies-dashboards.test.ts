/**
 * dashboards-provisioned, condition by condition: each dashboard found by its uid in either Grafana API, a model it
 * cannot read, no panels, each required query per kind (per SLO window, per budget), panels nested in rows, the
 * datasource of panels and targets, the datasource and slo variables, and Grafana resources that redirect what the
 * dashboards show or where alerts go.
 */
import {
    CADENCE_METRIC,
    COST_METRIC,
    COST_RECORD,
    DASHBOARD_KINDS,
    GRAFANA_DASHBOARD_TYPE,
    SLO_RECORD,
} from "../core/conventions";
import { COST_BUDGETS, SLO_WINDOWS } from "../rules";
import { DASHBOARDS_POLICY, GRAFANA_REDIRECTING_TYPES, dashboardsPolicy, missingPanels } from "../policies/dashboards";
import { FixtureResource, FixtureStack, fixtureContext, happyStack } from "./fixtures/policies/stackResources";
import { runStack, setSpecJson, specJson } from "./fixtures/policies/run";
import { guardrails, STACKS } from "./fixtures/shipped";

const ctx = fixtureContext(guardrails);
const APPS = GRAFANA_DASHBOARD_TYPE.apps;
const sloIds = guardrails.slo.objectives.map((o) => o.id);
const reported = (s: FixtureStack) => runStack(dashboardsPolicy(ctx), s.resources);
const messages = (s: FixtureStack) => reported(s).map((v) => v.message);
type Panel = Record<string, unknown> & { targets?: Array<Record<string, unknown>>; panels?: Panel[] };
type Model = { uid: string; panels: Panel[]; templating: { list: Array<Record<string, unknown>> } } & Record<
    string,
    unknown
>;
const modelOf = (s: FixtureStack, kind: string) => JSON.parse(specJson(s.byName(`dashboard-${kind}`))) as Model;
const setModel = (s: FixtureStack, kind: string, model: unknown) =>
    setSpecJson(s.byName(`dashboard-${kind}`), JSON.stringify(model));
const edit = (s: FixtureStack, kind: string, change: (m: Model) => void) => {
    const m = modelOf(s, kind);
    change(m);
    setModel(s, kind, m);
};
const lacks = (s: FixtureStack, kind: string, missing: string[]) =>
    `${APPS} "dashboard-${kind}" (uid "maestro-${kind}-${s.env}") lacks required panels: ${missing.join("; ")}. Fix: build it with the dashboards component (dashboards/${kind}.ts).`;
/** The model without the panels whose queries match `drop`. */
const without = (m: Model, drop: RegExp) => ({
    ...m,
    panels: m.panels.filter((p) => !(p.targets ?? []).some((t) => drop.test(String(t.expr)))),
});
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe(`${DASHBOARDS_POLICY}: each dashboard provisioned`, () => {
    it.each(STACKS)("passes the %s dashboards", (env) => {
        expect(reported(happyStack(guardrails, env))).toEqual([]);
    });

    it.each(DASHBOARD_KINDS.map((k) => [k]))(
        "refuses a stack without its %s dashboard, on the stack, naming the uid",
        (kind) => {
            const s = happyStack(guardrails, "staging");
            s.resources.splice(s.resources.indexOf(s.byName(`dashboard-${kind}`)), 1);
            expect(reported(s)).toEqual([
                {
                    message: `the staging stack provisions no ${kind} dashboard (a ${GRAFANA_DASHBOARD_TYPE.legacy} or ${APPS} whose model has uid "maestro-${kind}-staging"). Fix: deploy the dashboards component for this stack.`,
                    urn: s.byName("maestro-guardrails-staging").urn,
                },
            ]);
        },
    );

    it("finds a dashboard by its uid, not by its resource name, in the legacy API too", () => {
        const s = happyStack(guardrails, "dev");
        const r = s.byName("dashboard-cost");
        Object.assign(r, { type: GRAFANA_DASHBOARD_TYPE.legacy, name: "renamed", props: { configJson: specJson(r) } });
        expect(reported(s)).toEqual([]);
        r.props.configJson = JSON.stringify({
            ...(JSON.parse(r.props.configJson as string) as object),
            uid: "maestro-cost-prod",
        });
        expect(messages(s)).toEqual([expect.stringContaining("the dev stack provisions no cost dashboard")]);
    });

    it("refuses a dashboard whose model it cannot read, on it, and counts it as missing", () => {
        const s = happyStack(guardrails, "dev");
        setSpecJson(s.byName("dashboard-summary"), "[]");
        expect(reported(s)).toEqual([
            {
                message: `${APPS} "dashboard-summary": spec.json is not a JSON object, so it provisions no dashboard. Fix: build it with the dashboards component.`,
                urn: s.byName("dashboard-summary").urn,
            },
            expect.objectContaining({ message: expect.stringContaining("provisions no summary dashboard") as string }),
        ]);
    });

    it("refuses a dashboard without panels, or whose panels are not a list, on it", () => {
        for (const panels of [[], {}, undefined]) {
            const s = happyStack(guardrails, "dev");
            edit(s, "cost", (m) => ((m as Record<string, unknown>).panels = panels));
            expect(reported(s)).toEqual([
                {
                    message: `${APPS} "dashboard-cost" (uid "maestro-cost-dev") has no panels. Fix: build it with the dashboards component.`,
                    urn: s.byName("dashboard-cost").urn,
                },
            ]);
        }
    });
});

describe(`${DASHBOARDS_POLICY}: the required queries`, () => {
    it.each([
        [SLO_RECORD.latencyP95, "p95 latency"],
        [SLO_RECORD.thresholdSeconds, "the guardrail line"],
        [SLO_RECORD.objective, "the objective"],
        [SLO_RECORD.errorBudgetRemaining, "error budget"],
        ...SLO_WINDOWS.map((w) => [SLO_RECORD.errorRatio(w), `burn rate, ${w}`]),
    ])("refuses an SLO dashboard that does not query %s for $slo", (series, what) => {
        const s = happyStack(guardrails, "dev");
        edit(s, "slo", (m) => Object.assign(m, without(m, new RegExp(`^${esc(series)}\\{`))));
        expect(messages(s)).toEqual([lacks(s, "slo", [`no panel queries ${series} (${what})`])]);
    });

    it("counts a series only with the SLO variable's matcher among its labels", () => {
        const s = happyStack(guardrails, "dev");
        edit(s, "slo", (m) =>
            m.panels.forEach((p) =>
                (p.targets ?? []).forEach((t) => (t.expr = String(t.expr).replace('slo="$slo"', 'slo="api"'))),
            ),
        );
        expect(messages(s)[0]).toContain(`no panel queries ${SLO_RECORD.latencyP95} (p95 latency)`);
        const t = happyStack(guardrails, "dev");
        edit(t, "slo", (m) =>
            m.panels.forEach((p) => (p.targets ?? []).forEach((x) => (x.expr = `sum(${String(x.expr)})`))),
        );
        expect(reported(t)).toEqual([]);
    });

    it.each(COST_BUDGETS.map((b) => [b]))(
        "refuses a cost dashboard without the %s budget's cap, spend or forecast",
        (budget) => {
            for (const [series, label, what] of [
                [
                    COST_RECORD.budget,
                    `budget="${budget}"`,
                    `${COST_RECORD.budget}{budget="${budget}"} (the ${budget} cap)`,
                ],
                [
                    COST_METRIC.monthToDate,
                    `category="${budget}"`,
                    `${COST_METRIC.monthToDate}{category="${budget}"} (${budget} spend)`,
                ],
                [
                    COST_RECORD.monthEndForecast,
                    `category="${budget}"`,
                    `${COST_RECORD.monthEndForecast}{category="${budget}"} (${budget} forecast)`,
                ],
            ]) {
                const s = happyStack(guardrails, "prod");
                edit(s, "cost", (m) => Object.assign(m, without(m, new RegExp(`${esc(series)}\\{[^}]*${esc(label)}`))));
                expect(messages(s)).toEqual([lacks(s, "cost", [`no panel queries ${what}`])]);
            }
        },
    );

    it.each([
        [SLO_RECORD.errorBudgetRemaining, `${SLO_RECORD.errorBudgetRemaining} (SLO error budgets)`],
        ...COST_BUDGETS.map((b) => [`${COST_RECORD.budget}{budget="${b}"`, `${COST_RECORD.budget}{budget="${b}"}`]),
        [CADENCE_METRIC.lastCut, `${CADENCE_METRIC.lastCut} (release cadence)`],
        ["ALERTS{", "ALERTS (firing guardrail alerts)"],
    ])("refuses a summary dashboard without %s", (needle, what) => {
        const s = happyStack(guardrails, "dev");
        edit(s, "summary", (m) => Object.assign(m, without(m, new RegExp(esc(needle)))));
        expect(messages(s)).toEqual([lacks(s, "summary", [`no panel queries ${what}`])]);
    });

    it("reads the queries of panels nested in rows, and ignores blank or non-text ones", () => {
        const s = happyStack(guardrails, "dev");
        edit(s, "cost", (m) => {
            m.panels = [
                { type: "row", panels: m.panels },
                { type: "text", targets: [{ expr: " " }, { expr: 5 }, {}] },
            ];
        });
        expect(reported(s)).toEqual([]);
        edit(s, "cost", (m) => {
            m.panels = [{ type: "row", targets: "not a list", panels: "not a list" } as unknown as Panel];
        });
        expect(messages(s)[0]).toContain(`no panel queries ${COST_RECORD.budget}{budget="${COST_BUDGETS[0]}"}`);
        // A query that is no text runs nothing, even one that spells the series.
        const t = happyStack(guardrails, "dev");
        edit(t, "cost", (m) => m.panels.forEach((p) => p.targets?.forEach((x) => (x.expr = [x.expr]))));
        expect(messages(t)[0]).toContain(`no panel queries ${COST_RECORD.budget}{budget="${COST_BUDGETS[0]}"}`);
    });

    it("lists every query a dashboard lacks", () => {
        const s = happyStack(guardrails, "dev");
        edit(s, "summary", (m) => (m.panels = [{ type: "text" }]));
        expect(messages(s)).toEqual([
            lacks(s, "summary", [
                `no panel queries ${SLO_RECORD.errorBudgetRemaining} (SLO error budgets)`,
                ...COST_BUDGETS.map((b) => `no panel queries ${COST_RECORD.budget}{budget="${b}"}`),
                `no panel queries ${CADENCE_METRIC.lastCut} (release cadence)`,
                "no panel queries ALERTS (firing guardrail alerts)",
            ]),
        ]);
    });
});

describe(`${DASHBOARDS_POLICY}: datasources and variables`, () => {
    const variable = { name: "datasource", type: "datasource", query: "prometheus" };

    it("takes panels and targets that read the datasource variable, or name none", () => {
        const s = happyStack(guardrails, "dev");
        edit(s, "cost", (m) =>
            m.panels.forEach((p, i) => {
                p.datasource = i % 2 === 0 ? { uid: "${datasource}" } : null;
                (p.targets ?? []).forEach((t) => (t.datasource = { type: "prometheus", uid: "${datasource}" }));
            }),
        );
        expect(reported(s)).toEqual([]);
    });

    it("refuses a panel, or one of its targets, on a fixed datasource, once per panel, naming it by title or type", () => {
        const s = happyStack(guardrails, "dev");
        edit(s, "cost", (m) => {
            m.panels[0].title = "Spend";
            m.panels[0].datasource = { uid: "fixed-uid" };
            (m.panels[0].targets ?? [])[0].datasource = { uid: "other-uid" };
            (m.panels[1].targets ?? [])[0].datasource = "grafana";
        });
        expect(messages(s)).toEqual([
            lacks(s, "cost", [
                `panel "Spend" reads datasource "fixed-uid"; allowed: "\${datasource}" (the dashboard's Prometheus variable)`,
                `panel "timeseries" reads datasource "grafana"; allowed: "\${datasource}" (the dashboard's Prometheus variable)`,
            ]),
        ]);
    });

    it("refuses a dashboard without its Prometheus datasource variable", () => {
        for (const list of [
            [],
            [{ ...variable, type: "custom" }],
            [{ ...variable, query: "loki" }],
            [{ ...variable, name: "ds" }],
        ]) {
            const s = happyStack(guardrails, "dev");
            edit(s, "summary", (m) => (m.templating = { list }));
            const found = list.find((v) => v.name === "datasource");
            expect(messages(s)).toEqual([
                lacks(s, "summary", [
                    `its datasource variable is ${JSON.stringify(found ?? null)}; allowed: a "datasource" variable of type "prometheus"`,
                ]),
            ]);
        }
        const s = happyStack(guardrails, "dev");
        edit(s, "summary", (m) => delete (m as Record<string, unknown>).templating);
        expect(messages(s)[0]).toContain("its datasource variable is null");
    });

    it("refuses an SLO dashboard whose slo variable leaves an SLO out, naming it, and reads its list with spaces", () => {
        const s = happyStack(guardrails, "dev");
        const set = (query: unknown) =>
            edit(s, "slo", (m) => m.templating.list.filter((v) => v.name === "slo").forEach((v) => (v.query = query)));
        set(sloIds.join(" , "));
        expect(reported(s)).toEqual([]);
        set(sloIds.slice(1).join(","));
        expect(messages(s)).toEqual([
            lacks(s, "slo", [`its slo variable leaves out ${sloIds[0]} (allowed: every guardrail SLO)`]),
        ]);
        set(["not", "text"]);
        expect(messages(s)).toEqual([
            lacks(s, "slo", [`its slo variable leaves out ${sloIds.join(", ")} (allowed: every guardrail SLO)`]),
        ]);
    });

    it("asks no slo variable of the other dashboards", () => {
        const s = happyStack(guardrails, "dev");
        expect(modelOf(s, "cost").templating.list.some((v) => v.name === "slo")).toBe(false);
        expect(reported(s)).toEqual([]);
    });

    it("checks every model it is given (missingPanels)", () => {
        const s = happyStack(guardrails, "dev");
        expect(missingPanels("slo", modelOf(s, "slo"), sloIds)).toEqual([]);
        expect(missingPanels("slo", modelOf(s, "slo"), [...sloIds, "new-slo"])).toEqual([
            "its slo variable leaves out new-slo (allowed: every guardrail SLO)",
        ]);
    });
});

describe(`${DASHBOARDS_POLICY}: Grafana resources that redirect`, () => {
    const outside = (s: FixtureStack, type: string, parent?: string): FixtureResource => {
        const r: FixtureResource = {
            ...s.byName("folder"),
            type,
            name: "x",
            urn: `${s.byName("folder").urn}-x`,
            props: {},
            parent,
        };
        s.resources.push(r);
        return r;
    };

    it.each(GRAFANA_REDIRECTING_TYPES.map((t) => [t]))(
        "refuses a %s created outside the stack's components, on it",
        (type) => {
            const s = happyStack(guardrails, "dev");
            const r = outside(s, type);
            expect(reported(s)).toEqual([
                {
                    message: `${type} "x" is not the stack's own (created outside every maestro:* component), and a Grafana ${type.split(":")[2]} redirects what the dashboards query or where alerts go; allowed: none outside the stack's components. Fix: remove it, or manage it in a component of this stack.`,
                    urn: r.urn,
                },
            ]);
        },
    );

    it("takes one inside a maestro component, and refuses one inside anything else", () => {
        const s = happyStack(guardrails, "dev");
        const r = outside(s, GRAFANA_REDIRECTING_TYPES[0], s.byName("budgets").urn);
        expect(reported(s)).toEqual([]);
        r.parent = s.byName("folder").urn;
        expect(reported(s)).toHaveLength(1);
    });

    it("refuses one inside a component of another package whose name merely contains maestro", () => {
        for (const type of ["acme:maestro:Wrapper", "maestrox:grafana:Wrapper"]) {
            const s = happyStack(guardrails, "dev");
            const budgets = s.byName("budgets");
            const wrapper: FixtureResource = { ...budgets, type, name: "wrapper", urn: `${budgets.urn}-wrapper` };
            s.resources.push(wrapper);
            const r = outside(s, GRAFANA_REDIRECTING_TYPES[0], wrapper.urn);
            expect(runStack(dashboardsPolicy(fixtureContext(guardrails)), s.resources).map((v) => v.urn)).toEqual([
                r.urn,
            ]);
        }
    });

    it("leaves other Grafana types alone", () => {
        const s = happyStack(guardrails, "dev");
        outside(s, "grafana:oss/team:Team");
        expect(reported(s)).toEqual([]);
    });
});
