/**
 * guardrail-alerts-routed, condition by condition: which alerts it routes (guardrail alerts only, each label set
 * once), how it reads each routing object (AlertmanagerConfig, AMP alert manager definition, an unreadable one),
 * what counts as reaching someone (any route of any object to a receiver with an integration, unmuted by time
 * intervals, and no inhibit rule but the designed ones, however written), and what the message says when nothing does.
 */
import * as yaml from "js-yaml";
import { GUARDRAIL_LABEL, URGENCY } from "../core/conventions";
import { ROUTING_POLICY, deployedRouting, routingPolicy } from "../policies/routing";
import { buildAlertmanagerConfig, renderAmpDefinition } from "../routing";
import {
    FIXTURE_ROUTING,
    FixtureResource,
    FixtureStack,
    fixtureContext,
    happyStack,
    policyResources,
} from "./fixtures/policies/stackResources";
import { runStack } from "./fixtures/policies/run";
import { guardrails, STACKS } from "./fixtures/shipped";

const ctx = fixtureContext(guardrails);
const FIX =
    "Fix: deploy the routing built from the stack's alertRouting (components/alertRouting.ts); every route must end at a receiver with at least one integration.";
const CONFIG_TYPE = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig";
const AMP_TYPE = "aws:amp/alertManagerDefinition:AlertManagerDefinition";
type Spec = {
    route: Record<string, unknown> & { routes: Array<Record<string, unknown>> };
    receivers: Array<{ name: string } & Record<string, unknown>>;
};
type Rule = { alert?: string; record?: string; expr: string; labels: Record<string, string> };
const reported = (s: FixtureStack) => runStack(routingPolicy(ctx), s.resources);
const messages = (s: FixtureStack) => reported(s).map((v) => v.message);
const config = (s: FixtureStack) => s.byName("alert-routing-config");
const specOf = (s: FixtureStack) => config(s).props.spec as Spec;
const sloIds = guardrails.slo.objectives.map((o) => o.id);
const ruleObjects = (s: FixtureStack) => sloIds.map((id) => s.byName(`rules-${id}`));
const rulesOf = (r: FixtureResource) => (r.props.spec as { groups: Array<{ name: string; rules: Rule[] }> }).groups[0];
const alerts = (s: FixtureStack) => ruleObjects(s).flatMap((r) => rulesOf(r).rules.filter((x) => x.alert));
/** How the policy shows an alert: `alert <name> {<labels sorted, with alertname>} (group <group>)`. */
const shown = (r: FixtureResource, rule: Rule) => {
    const labels = Object.entries({ ...rule.labels, alertname: rule.alert! })
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}="${v}"`)
        .join(",");
    return `alert ${rule.alert} {${labels}} (group ${rulesOf(r).name})`;
};

describe(`${ROUTING_POLICY}: what it routes`, () => {
    it.each(STACKS)("passes the %s stack", (env) => {
        expect(reported(happyStack(guardrails, env))).toEqual([]);
    });

    it("asks nothing of a stack without guardrail alerts, even without routing", () => {
        const s = happyStack(guardrails, "dev");
        s.resources.splice(s.resources.indexOf(config(s)), 1);
        // Alerts that serve no guardrail (another team's) need no route from this stack.
        alerts(s).forEach((a) => (a.labels.guardrail = "team"));
        expect(reported(s)).toEqual([]);
        ruleObjects(s).forEach((r) => (rulesOf(r).rules = rulesOf(r).rules.filter((x) => !x.alert)));
        expect(reported(s)).toEqual([]);
    });

    it.each(["slo", "cost", "cadence", "telemetry"])("routes alerts labelled guardrail=%s", (guardrail) => {
        const s = happyStack(guardrails, "dev");
        specOf(s).receivers.forEach((r) =>
            Object.keys(r)
                .filter((k) => k !== "name")
                .forEach((k) => delete r[k]),
        );
        const [first] = alerts(s);
        alerts(s).forEach((a) => (a.labels.guardrail = "team"));
        first.labels.guardrail = guardrail;
        expect(reported(s)).toHaveLength(1);
    });

    it("refuses a stack with guardrail alerts and no routing object, on the stack, counting the alerts", () => {
        const s = happyStack(guardrails, "prod");
        s.resources.splice(s.resources.indexOf(config(s)), 1);
        expect(reported(s)).toEqual([
            {
                message: `the stack deploys ${alerts(s).length} guardrail alert rules but no AlertmanagerConfig or AMP alert manager definition, so no alert reaches anyone. ${FIX}`,
                urn: s.byName("maestro-guardrails-prod").urn,
            },
        ]);
    });

    it("reports each label set once, however many rules carry it", () => {
        const s = happyStack(guardrails, "dev");
        delete specOf(s).receivers.find((r) => r.name === FIXTURE_ROUTING.routes.page)!.pagerdutyConfigs;
        const object = ruleObjects(s)[0];
        const page = rulesOf(object).rules.find((x) => x.labels.urgency === URGENCY.page)!;
        // The same alert again, in the same object: one report for both.
        rulesOf(object).rules.push({ ...page });
        expect(reported(s)).toHaveLength(sloIds.length);
    });

    it("reports a label set once whatever order its labels are written in", () => {
        const s = happyStack(guardrails, "dev");
        delete specOf(s).receivers.find((r) => r.name === FIXTURE_ROUTING.routes.page)!.pagerdutyConfigs;
        const object = ruleObjects(s)[0];
        const page = rulesOf(object).rules.find((x) => x.labels.urgency === URGENCY.page)!;
        rulesOf(object).rules.push({ ...page, labels: Object.fromEntries(Object.entries(page.labels).reverse()) });
        expect(reported(s)).toHaveLength(sloIds.length);
    });

    it("takes a recording rule labelled with a guardrail for no alert", () => {
        const s = happyStack(guardrails, "dev");
        s.resources.splice(s.resources.indexOf(config(s)), 1);
        ruleObjects(s).forEach((r) => (rulesOf(r).rules = rulesOf(r).rules.filter((x) => !x.alert)));
        const records = ruleObjects(s).flatMap((r) => rulesOf(r).rules);
        expect(records.length).toBeGreaterThan(0);
        records.forEach((x) => (x.labels = { ...x.labels, guardrail: GUARDRAIL_LABEL.slo }));
        expect(reported(s)).toEqual([]);
    });
});

describe(`${ROUTING_POLICY}: reaching someone`, () => {
    it("names the alert, the routing object, the receiver without integration, on the routing object", () => {
        const s = happyStack(guardrails, "dev");
        const onCall = specOf(s).receivers.find((r) => r.name === FIXTURE_ROUTING.routes.page)!;
        delete onCall.pagerdutyConfigs;
        const object = ruleObjects(s)[0];
        const page = rulesOf(object).rules.find((x) => x.labels.urgency === URGENCY.page)!;
        expect(reported(s)[0]).toEqual({
            message: `${shown(object, page)} reaches nobody: ${CONFIG_TYPE} "alert-routing-config" sends it to receiver "${FIXTURE_ROUTING.routes.page}", which has no integration. ${FIX}`,
            urn: config(s).urn,
        });
    });

    it("says when no route matches an alert, on the alert's rule object", () => {
        const s = happyStack(guardrails, "dev");
        specOf(s).route.matchers = [{ name: "env", value: "elsewhere", matchType: "=" }];
        const object = ruleObjects(s)[0];
        const page = rulesOf(object).rules.find((x) => x.labels.urgency === URGENCY.page)!;
        expect(reported(s)[0]).toEqual({
            message: `${shown(object, page)} reaches nobody: no route matches it. ${FIX}`,
            urn: object.urn,
        });
    });

    it("says when a route names no receiver at all", () => {
        const s = happyStack(guardrails, "dev");
        const spec = specOf(s);
        delete spec.route.receiver;
        spec.route.routes = [];
        expect(messages(s)[0]).toContain(
            `${CONFIG_TYPE} "alert-routing-config" sends it to no receiver, which has no integration`,
        );
    });

    it("takes an alert one routing object drops when another reaches someone, and names every object that drops it", () => {
        const s = happyStack(guardrails, "dev");
        const second: FixtureResource = {
            ...config(s),
            name: "second-routing",
            urn: `${config(s).urn}-second`,
            props: JSON.parse(JSON.stringify(config(s).props)) as Record<string, unknown>,
        };
        s.resources.push(second);
        const empty = (r: FixtureResource) =>
            (r.props.spec as Spec).receivers.forEach((x) =>
                Object.keys(x)
                    .filter((k) => k !== "name")
                    .forEach((k) => delete x[k]),
            );
        empty(second);
        expect(reported(s)).toEqual([]);
        empty(config(s));
        const [first] = messages(s);
        expect(first).toContain(
            `reaches nobody: ${CONFIG_TYPE} "alert-routing-config" sends it to receiver "${FIXTURE_ROUTING.routes.page}", which has no integration; ${CONFIG_TYPE} "second-routing" sends it to receiver "${FIXTURE_ROUTING.routes.page}", which has no integration.`,
        );
    });

    it("takes an alert that continues past an empty receiver to one that sends", () => {
        const s = happyStack(guardrails, "dev");
        const spec = specOf(s);
        spec.receivers.push({ name: "devnull" });
        spec.route.routes.unshift({ receiver: "devnull", matchers: [], continue: true });
        expect(reported(s)).toEqual([]);
        spec.route.routes[0].continue = false;
        expect(reported(s)).toHaveLength(alerts(s).length);
    });
});

describe(`${ROUTING_POLICY}: time intervals and inhibit rules`, () => {
    type Matcher = { name: string; value: string; matchType: string };
    type Inhibit = { sourceMatch: Matcher[]; targetMatch: Matcher[]; equal: string[] };
    const inhibitRules = (s: FixtureStack) => (specOf(s) as Spec & { inhibitRules: Inhibit[] }).inhibitRules;
    /** The designed rule muting an SLO's tickets while it pages. */
    const sloRule = (s: FixtureStack) =>
        inhibitRules(s).find((i) => i.targetMatch.some((m) => m.value === URGENCY.ticket))!;
    /** The alerts sloRule mutes, with their rule objects. */
    const tickets = (s: FixtureStack) =>
        ruleObjects(s).flatMap((r) =>
            rulesOf(r)
                .rules.filter(
                    (x) => x.alert && x.labels.guardrail === GUARDRAIL_LABEL.slo && x.labels.urgency === URGENCY.ticket,
                )
                .map((x) => ({ r, x })),
        );
    const m = (name: string, value: string, matchType = "="): Matcher => ({ name, value, matchType });

    it("names every time interval that mutes the route", () => {
        const s = happyStack(guardrails, "dev");
        const route = specOf(s).route.routes.find((r) => r.receiver === FIXTURE_ROUTING.routes.page)!;
        Object.assign(route, { muteTimeIntervals: ["weekends"], activeTimeIntervals: ["office-hours"] });
        const object = ruleObjects(s)[0];
        const page = rulesOf(object).rules.find((x) => x.labels.urgency === URGENCY.page)!;
        expect(reported(s)[0]).toEqual({
            message: `${shown(object, page)} reaches nobody: ${CONFIG_TYPE} "alert-routing-config" sends it to receiver "${FIXTURE_ROUTING.routes.page}", whose route is muted by time intervals (weekends, office-hours); allowed: none on a guardrail route. ${FIX}`,
            urn: config(s).urn,
        });
    });

    it("takes the designed rules whatever order their matchers and equal labels are written in", () => {
        const s = happyStack(guardrails, "dev");
        expect(tickets(s).length).toBeGreaterThan(0);
        // New arrays: the built spec shares its lists with routing/build.ts INHIBIT_RULES.
        inhibitRules(s).forEach((i) => {
            i.sourceMatch = [...i.sourceMatch].reverse();
            i.targetMatch = [...i.targetMatch].reverse();
            i.equal = [...i.equal].reverse();
        });
        expect(reported(s)).toEqual([]);
    });

    it.each<[string, (i: Inhibit) => void, string]>([
        [
            "another source value",
            (i) => (i.sourceMatch = [m("guardrail", "slo"), m("urgency", "ticket"), m("env", "dev")]),
            'guardrail="slo",urgency="ticket",env="dev"',
        ],
        ["no source at all", (i) => (i.sourceMatch = []), "any alert"],
        [
            "another target match type",
            (i) => (i.targetMatch = [m("guardrail", "slo"), m("urgency", "ticket", "=~"), m("env", "dev")]),
            'guardrail="slo",urgency="page",env="dev"',
        ],
        ["other equal labels", (i) => (i.equal = ["slo", "env"]), 'guardrail="slo",urgency="page",env="dev"'],
    ])("refuses the SLO rule with %s, on each alert it mutes, naming when it mutes them", (_what, change, source) => {
        const s = happyStack(guardrails, "dev");
        change(sloRule(s));
        expect(reported(s)).toEqual(
            tickets(s).map(({ r, x }) => ({
                message: `${shown(r, x)} reaches nobody: ${CONFIG_TYPE} "alert-routing-config" inhibits it while ${source} fires, an inhibit rule not in the design (routing/build.ts INHIBIT_RULES). ${FIX}`,
                urn: config(s).urn,
            })),
        );
    });

    it("takes an extra rule whose targets match a guardrail alert only in part", () => {
        const s = happyStack(guardrails, "dev");
        inhibitRules(s).push({
            sourceMatch: [m("alertname", "Watchdog")],
            targetMatch: [m("guardrail", "slo"), m("alertname", "PodNotReady")],
            equal: [],
        });
        expect(reported(s)).toEqual([]);
    });

    it("holds an alert without an env label to the design's rules for no environment", () => {
        const s = happyStack(guardrails, "dev");
        alerts(s).forEach((a) => delete a.labels.env);
        // A missing label reads as "" to a matcher (as in Alertmanager): the routing built for environment "".
        config(s).props.spec = buildAlertmanagerConfig({ environment: "", alertRouting: FIXTURE_ROUTING });
        expect(inhibitRules(s).length).toBeGreaterThan(0);
        expect(reported(s)).toEqual([]);
    });
});

describe(`${ROUTING_POLICY}: reading the routing objects`, () => {
    const amp = (s: FixtureStack, definition: string) =>
        Object.assign(config(s), { type: AMP_TYPE, props: { workspaceId: "ws", definition } });

    it("reads an AMP alert manager definition as its alertmanager.yml", () => {
        const s = happyStack(guardrails, "dev");
        amp(s, renderAmpDefinition(buildAlertmanagerConfig({ environment: "dev", alertRouting: FIXTURE_ROUTING })));
        expect(reported(s)).toEqual([]);
    });

    it("reads an AMP definition without alertmanager_config, or with one that is no text, as no route", () => {
        for (const definition of [
            yaml.dump({ template_files: {} }),
            yaml.dump({ alertmanager_config: { route: {} } }),
            "null",
        ]) {
            const s = happyStack(guardrails, "dev");
            amp(s, definition);
            expect(messages(s)[0]).toContain("which has no integration");
        }
    });

    it("refuses a routing object it cannot read, on it, and then every alert as routed nowhere (not as no routing)", () => {
        const s = happyStack(guardrails, "dev");
        amp(s, "alertmanager_config: [");
        const [v, ...rest] = reported(s);
        expect(v.message).toMatch(
            new RegExp(
                `^${AMP_TYPE.replace(/[/]/g, "\\/")} "alert-routing-config": its routing cannot be read \\([\\s\\S]+\\)\\. ${FIX.replace(/[().]/g, "\\$&")}$`,
            ),
        );
        expect(v.urn).toBe(config(s).urn);
        expect(rest.map((x) => x.message.replace(/^alert .* reaches nobody: /, ""))).toEqual(
            alerts(s).map(() => `no route matches it. ${FIX}`),
        );
    });

    it("reads a bad matcher inside a readable file as unreadable routing", () => {
        const s = happyStack(guardrails, "dev");
        amp(
            s,
            yaml.dump({ alertmanager_config: yaml.dump({ route: { receiver: "x", matchers: ["not a matcher"] } }) }),
        );
        expect(messages(s)[0]).toContain("its routing cannot be read");
    });

    it("reads only routing types", () => {
        const s = happyStack(guardrails, "dev");
        const rs = policyResources(s.resources);
        expect(deployedRouting(rs).trees.map((t) => t.resource.name)).toEqual(["alert-routing-config"]);
        expect(deployedRouting(rs).problems).toEqual([]);
    });
});
