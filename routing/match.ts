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
}

export interface RoutingTree {
    readonly route: RouteNode;
    /** Integrations (pagerduty, webhook, email, sns, slack, ... configs) per receiver name. */
    readonly integrations: ReadonlyMap<string, number>;
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

/**
 * A routing document's tree, whichever form: the receiver, `continue` and child routes are read alike; `matchersOf`
 * reads a route's matchers, and a receiver's integrations are its keys ending in `integrationSuffix`.
 */
function routingTree(
    route: unknown,
    receivers: unknown,
    matchersOf: (route: Obj) => RouteMatcher[],
    integrationSuffix: string,
): RoutingTree {
    const node = (v: unknown): RouteNode => {
        const r = asObj(v);
        return {
            receiver: typeof r.receiver === "string" && r.receiver !== "" ? r.receiver : undefined,
            matchers: matchersOf(r),
            continue: r.continue === true,
            routes: asArr(r.routes).map(node),
        };
    };
    return {
        route: node(route),
        integrations: new Map(
            asArr(receivers).map((r) => [String(asObj(r).name), countIntegrations(asObj(r), integrationSuffix)]),
        ),
    };
}

/** An AlertmanagerConfig route's matchers: `{name, value, matchType}` (or the older `regex: true`). */
function crdMatchers(r: Obj): RouteMatcher[] {
    return asArr(r.matchers).map((m) => {
        const o = asObj(m);
        const type = typeof o.matchType === "string" && MATCH_TYPES.includes(o.matchType) ? o.matchType : undefined;
        return {
            name: typeof o.name === "string" ? o.name : "",
            value: typeof o.value === "string" ? o.value : "",
            matchType: (type ?? (o.regex === true ? "=~" : "=")) as MatchType,
        };
    });
}

/** The tree of an AlertmanagerConfig spec (`spec.route`, `spec.receivers[].*Configs`). */
export function treeFromAlertmanagerConfigSpec(spec: unknown): RoutingTree {
    const s = asObj(spec);
    return routingTree(s.route, s.receivers, crdMatchers, "Configs");
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

/** An alertmanager.yml route's matchers: `matchers` strings, then the legacy `match` and `match_re` maps. */
function yamlMatchers(r: Obj): RouteMatcher[] {
    const legacy = (map: unknown, matchType: MatchType) =>
        Object.entries(asObj(map)).map(([name, value]) => ({ name, value: String(value), matchType }));
    return [
        ...asArr(r.matchers).map((m) => parseMatcher(String(m))),
        ...legacy(r.match, "="),
        ...legacy(r.match_re, "=~"),
    ];
}

/** The tree of a plain Alertmanager configuration (`route`, `receivers[].*_configs`). */
export function treeFromAlertmanagerYaml(doc: unknown): RoutingTree {
    const d = asObj(doc);
    return routingTree(d.route, d.receivers, yamlMatchers, "_configs");
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
 * The receivers an alert with these labels is sent to by this tree; empty when the tree's own route does not match
 * it. A receiver may be undefined (a route naming none, all the way up): Alertmanager would refuse such a config.
 */
export function routeAlert(route: RouteNode, labels: Readonly<Record<string, string>>, inherited?: string): string[] {
    if (!route.matchers.every((m) => matches(m, labels))) {
        return [];
    }
    const receiver = route.receiver ?? inherited;
    const found: string[] = [];
    for (const child of route.routes) {
        const got = routeAlert(child, labels, receiver);
        found.push(...got);
        if (got.length > 0 && !child.continue) {
            break;
        }
    }
    return found.length > 0 ? found : [receiver ?? ""];
}
