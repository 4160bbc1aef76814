/**
 * Where Alertmanager sends an alert, computed as Alertmanager does (depth first; the first matching child wins
 * unless it says `continue`; a route without a receiver inherits its parent's), over either form a deployed stack
 * carries: an AlertmanagerConfig spec (camelCase) or a plain alertmanager.yml (AMP's definition). Inputs are read
 * leniently (they come from the engine, or from a file), so the policy pack and the tests judge what is deployed.
 */
import { InhibitRule, MatchType } from "./types";

export interface RouteMatcher {
    readonly name: string;
    readonly value: string;
    readonly matchType: MatchType;
}

export interface RouteNode {
    readonly receiver?: string;
    readonly matchers: readonly RouteMatcher[];
    readonly continue: boolean;
    readonly routes: readonly RouteNode[];
    /** Its own group wait (Alertmanager inherits an unset one from the parent route). */
    readonly groupWait?: string;
    /** Time intervals that mute it, or outside which it is muted (neither is inherited by child routes). */
    readonly timeIntervals: readonly string[];
}

export interface RoutingTree {
    readonly route: RouteNode;
    /** Integrations (pagerduty, webhook, email, sns, slack, ... configs) per receiver name. */
    readonly integrations: ReadonlyMap<string, number>;
    /** Inhibit rules: while an alert matching `sourceMatch` fires, alerts matching `targetMatch` are muted. */
    readonly inhibitRules: readonly InhibitRule[];
}

/** Where one alert is delivered: the receiver, and what delays or mutes the route that delivers it. */
export interface Delivery {
    readonly receiver: string;
    readonly groupWait?: string;
    readonly timeIntervals: readonly string[];
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const MATCH_TYPES: readonly string[] = ["=", "!=", "=~", "!~"];
const strings = (v: unknown): string[] => asArr(v).map(String);

function countIntegrations(receiver: Obj, suffix: string): number {
    return Object.entries(receiver)
        .filter(([k]) => k.endsWith(suffix))
        .reduce((n, [, v]) => n + asArr(v).length, 0);
}

/** How one form of routing document spells what the tree reads. */
interface RoutingForm {
    /** A route's matchers. */
    readonly matchersOf: (route: Obj) => RouteMatcher[];
    /** An inhibit rule's source or target matchers. */
    readonly inhibitSide: (rule: Obj, side: "source" | "target") => RouteMatcher[];
    /** The key a receiver's integration lists end in. */
    readonly integrationSuffix: string;
    /** A route field's key in this form, from its camelCase name. */
    readonly key: (camel: string) => string;
}

/**
 * A routing document's tree, whichever form: the receiver, `continue`, group wait, time intervals and child routes
 * are read alike; the form says how matchers, inhibit rules, integrations and keys are spelled.
 */
function routingTree(route: unknown, receivers: unknown, inhibitRules: unknown, form: RoutingForm): RoutingTree {
    const node = (v: unknown): RouteNode => {
        const r = asObj(v);
        const groupWait = r[form.key("groupWait")];
        return {
            receiver: typeof r.receiver === "string" && r.receiver !== "" ? r.receiver : undefined,
            matchers: form.matchersOf(r),
            continue: r.continue === true,
            routes: asArr(r.routes).map(node),
            groupWait: typeof groupWait === "string" ? groupWait : undefined,
            timeIntervals: [
                ...strings(r[form.key("muteTimeIntervals")]),
                ...strings(r[form.key("activeTimeIntervals")]),
            ],
        };
    };
    return {
        route: node(route),
        integrations: new Map(
            asArr(receivers).map((r) => [String(asObj(r).name), countIntegrations(asObj(r), form.integrationSuffix)]),
        ),
        inhibitRules: asArr(inhibitRules).map((i) => ({
            sourceMatch: form.inhibitSide(asObj(i), "source"),
            targetMatch: form.inhibitSide(asObj(i), "target"),
            equal: strings(asObj(i).equal),
        })),
    };
}

/** An AlertmanagerConfig matcher: `{name, value, matchType}` (or the older `regex: true`). */
function crdMatcher(m: unknown): RouteMatcher {
    const o = asObj(m);
    const type = typeof o.matchType === "string" && MATCH_TYPES.includes(o.matchType) ? o.matchType : undefined;
    return {
        name: typeof o.name === "string" ? o.name : "",
        value: typeof o.value === "string" ? o.value : "",
        matchType: (type ?? (o.regex === true ? "=~" : "=")) as MatchType,
    };
}

const CRD_FORM: RoutingForm = {
    matchersOf: (r) => asArr(r.matchers).map(crdMatcher),
    inhibitSide: (rule, side) => asArr(rule[`${side}Match`]).map(crdMatcher),
    integrationSuffix: "Configs",
    key: (camel) => camel,
};

/** The tree of an AlertmanagerConfig spec (`spec.route`, `spec.receivers[].*Configs`, `spec.inhibitRules`). */
export function treeFromAlertmanagerConfigSpec(spec: unknown): RoutingTree {
    const s = asObj(spec);
    return routingTree(s.route, s.receivers, s.inhibitRules, CRD_FORM);
}

/** `name="value"`, `name=~"re"`, `name!=value`, ...: Alertmanager's matcher syntax. */
export function parseMatcher(text: string): RouteMatcher {
    const m = /^\s*\{?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*\}?\s*$/.exec(text);
    if (!m) {
        throw new Error(
            `"${text}" is not an Alertmanager matcher; allowed: name="value", name!="value", name=~"re", name!~"re"`,
        );
    }
    let value = m[3];
    if (value.startsWith('"')) {
        value = JSON.parse(value) as string;
    }
    return { name: m[1], value, matchType: m[2] as MatchType };
}

const legacy = (map: unknown, matchType: MatchType): RouteMatcher[] =>
    Object.entries(asObj(map)).map(([name, value]) => ({ name, value: String(value), matchType }));

/** alertmanager.yml matchers under `prefix`: `<prefix>matchers` strings, then the legacy `match` and `match_re` maps. */
function yamlMatchers(o: Obj, prefix: string): RouteMatcher[] {
    return [
        ...asArr(o[`${prefix}matchers`]).map((m) => parseMatcher(String(m))),
        ...legacy(o[`${prefix}match`], "="),
        ...legacy(o[`${prefix}match_re`], "=~"),
    ];
}

const YAML_FORM: RoutingForm = {
    matchersOf: (r) => yamlMatchers(r, ""),
    inhibitSide: (rule, side) => yamlMatchers(rule, `${side}_`),
    integrationSuffix: "_configs",
    key: (camel) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
};

/** The tree of a plain Alertmanager configuration (`route`, `receivers[].*_configs`, `inhibit_rules`). */
export function treeFromAlertmanagerYaml(doc: unknown): RoutingTree {
    const d = asObj(doc);
    return routingTree(d.route, d.receivers, d.inhibit_rules, YAML_FORM);
}

export function matches(m: RouteMatcher, labels: Readonly<Record<string, string>>): boolean {
    const value = labels[m.name] ?? "";
    switch (m.matchType) {
        case "=":
            return value === m.value;
        case "!=":
            return value !== m.value;
        case "=~":
            return new RegExp(`^(?:${m.value})$`).test(value);
        case "!~":
            return !new RegExp(`^(?:${m.value})$`).test(value);
    }
}

/**
 * Where an alert with these labels is delivered by this route tree; empty when the tree's own route does not match
 * it. A receiver may be "" (a route naming none, all the way up): Alertmanager would refuse such a config.
 */
export function deliveries(
    route: RouteNode,
    labels: Readonly<Record<string, string>>,
    inherited: { receiver?: string; groupWait?: string } = {},
): Delivery[] {
    if (!route.matchers.every((m) => matches(m, labels))) {
        return [];
    }
    const here = { receiver: route.receiver ?? inherited.receiver, groupWait: route.groupWait ?? inherited.groupWait };
    const found: Delivery[] = [];
    for (const child of route.routes) {
        const got = deliveries(child, labels, here);
        found.push(...got);
        if (got.length > 0 && !child.continue) {
            break;
        }
    }
    return found.length > 0
        ? found
        : [{ receiver: here.receiver ?? "", groupWait: here.groupWait, timeIntervals: route.timeIntervals }];
}

/** The receivers an alert with these labels is sent to by this tree (see `deliveries`). */
export function routeAlert(route: RouteNode, labels: Readonly<Record<string, string>>): string[] {
    return deliveries(route, labels).map((d) => d.receiver);
}
