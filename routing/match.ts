/**
 * Where Alertmanager sends an alert, computed as Alertmanager does (depth first; the first matching child wins
 * unless it says `continue`; a route without a receiver inherits its parent's), over either form a deployed stack
 * carries: an AlertmanagerConfig spec (camelCase) or a plain alertmanager.yml (AMP's definition). Inputs are read
 * leniently (they come from the engine, or from a file), so the policy pack and the tests judge what is deployed.
 */
import { MatchType } from "./types";

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

/** An inhibit rule: while an alert matching `source` fires, alerts matching `target` (equal on `equal`) are muted. */
export interface InhibitMatch {
    readonly source: readonly RouteMatcher[];
    readonly target: readonly RouteMatcher[];
    readonly equal: readonly string[];
}

export interface RoutingTree {
    readonly route: RouteNode;
    /** Integrations (pagerduty, webhook, email, sns, slack, ... configs) per receiver name. */
    readonly integrations: ReadonlyMap<string, number>;
    readonly inhibitRules: readonly InhibitMatch[];
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

function countIntegrations(receiver: Obj, suffix: string): number {
    return Object.entries(receiver)
        .filter(([k]) => k.endsWith(suffix))
        .reduce((n, [, v]) => n + asArr(v).length, 0);
}

const strings = (v: unknown): string[] => asArr(v).map(String);

function crdMatcher(m: unknown): RouteMatcher {
    const o = asObj(m);
    const type = typeof o.matchType === "string" && MATCH_TYPES.includes(o.matchType) ? o.matchType : undefined;
    return {
        name: typeof o.name === "string" ? o.name : "",
        value: typeof o.value === "string" ? o.value : "",
        matchType: (type ?? (o.regex === true ? "=~" : "=")) as MatchType,
    };
}

function crdRoute(v: unknown): RouteNode {
    const r = asObj(v);
    return {
        receiver: typeof r.receiver === "string" && r.receiver !== "" ? r.receiver : undefined,
        matchers: asArr(r.matchers).map(crdMatcher),
        continue: r.continue === true,
        routes: asArr(r.routes).map(crdRoute),
        groupWait: typeof r.groupWait === "string" ? r.groupWait : undefined,
        timeIntervals: [...strings(r.muteTimeIntervals), ...strings(r.activeTimeIntervals)],
    };
}

/** The tree of an AlertmanagerConfig spec (`spec.route`, `spec.receivers[].*Configs`). */
export function treeFromAlertmanagerConfigSpec(spec: unknown): RoutingTree {
    const s = asObj(spec);
    return {
        route: crdRoute(s.route),
        integrations: new Map(
            asArr(s.receivers).map((r) => [String(asObj(r).name), countIntegrations(asObj(r), "Configs")]),
        ),
        inhibitRules: asArr(s.inhibitRules).map((i) => {
            const o = asObj(i);
            return {
                source: asArr(o.sourceMatch).map(crdMatcher),
                target: asArr(o.targetMatch).map(crdMatcher),
                equal: strings(o.equal),
            };
        }),
    };
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

function yamlRoute(v: unknown): RouteNode {
    const r = asObj(v);
    return {
        receiver: typeof r.receiver === "string" && r.receiver !== "" ? r.receiver : undefined,
        matchers: [
            ...asArr(r.matchers).map((m) => parseMatcher(String(m))),
            ...legacy(r.match, "="),
            ...legacy(r.match_re, "=~"),
        ],
        continue: r.continue === true,
        routes: asArr(r.routes).map(yamlRoute),
        groupWait: typeof r.group_wait === "string" ? r.group_wait : undefined,
        timeIntervals: [...strings(r.mute_time_intervals), ...strings(r.active_time_intervals)],
    };
}

/** The tree of a plain Alertmanager configuration (`route`, `receivers[].*_configs`). */
export function treeFromAlertmanagerYaml(doc: unknown): RoutingTree {
    const d = asObj(doc);
    return {
        route: yamlRoute(d.route),
        integrations: new Map(
            asArr(d.receivers).map((r) => [String(asObj(r).name), countIntegrations(asObj(r), "_configs")]),
        ),
        inhibitRules: asArr(d.inhibit_rules).map((i) => {
            const o = asObj(i);
            const side = (prefix: "source" | "target") => [
                ...asArr(o[`${prefix}_matchers`]).map((m) => parseMatcher(String(m))),
                ...legacy(o[`${prefix}_match`], "="),
                ...legacy(o[`${prefix}_match_re`], "=~"),
            ];
            return { source: side("source"), target: side("target"), equal: strings(o.equal) };
        }),
    };
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
