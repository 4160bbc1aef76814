/**
 * Who gets which guardrail alert, built from the stack config: SLO pages to the on-call receiver, SLO tickets and
 * telemetry gaps to the team's ticket receiver, cost alerts to FinOps, cadence alerts to the Release Manager, each
 * grouped by what it is about (`slo` or `budget`) and `env`; a ticket is held back while a page for the same SLO and
 * environment fires. docs/slo-alerting.md ("Routing") explains each choice.
 */
import { ALERT_SECRET_PREFIX, GUARDRAIL_LABEL, PROJECT, URGENCY } from "../core/conventions";
import type { AlertRouteRole, ReceiverConfig, StackConfig } from "../core/stackConfig";
import { COST_ALERT } from "../rules/cost";
import { AlertmanagerConfigSpec, InhibitRule, Matcher, Receiver, Route } from "./types";

/** Name of the AlertmanagerConfig object (and of the file synth writes for it). */
export const ALERTMANAGER_CONFIG_NAME = "maestro-guardrails";
/** Name of the Kubernetes Secret holding the receivers' secrets, one key per secret name. */
export const RECEIVER_SECRET_NAME = "maestro-alert-receivers";

/**
 * How long Alertmanager waits and repeats. A page goes out 30 s after it fires and repeats hourly until resolved; a
 * ticket waits a few minutes for its siblings and repeats twice a day; the cadence reminder once a day.
 */
export interface RouteTimings {
    readonly groupWait: string;
    readonly groupInterval: string;
    readonly repeatInterval: string;
}
export const ROUTE_TIMINGS: Readonly<Record<AlertRouteRole, RouteTimings>> = {
    page: { groupWait: "30s", groupInterval: "5m", repeatInterval: "1h" },
    ticket: { groupWait: "2m", groupInterval: "10m", repeatInterval: "12h" },
    cost: { groupWait: "2m", groupInterval: "10m", repeatInterval: "12h" },
    cadence: { groupWait: "2m", groupInterval: "10m", repeatInterval: "24h" },
};

/** Labels a notification is grouped by: one notification per alert, SLO (or budget, or cadence target) and env. */
export const GROUP_BY = ["alertname", "env", "slo", "budget", "target", "service"] as const;

const eq = (name: string, value: string): Matcher => ({ name, value, matchType: "=" });

/** The matchers of each role's route, on the labels every rule builder sets (core/conventions.ts). */
export const ROLE_MATCHERS: Readonly<Record<AlertRouteRole, readonly Matcher[]>> = {
    page: [eq("guardrail", GUARDRAIL_LABEL.slo), eq("urgency", URGENCY.page)],
    ticket: [
        { name: "guardrail", value: `${GUARDRAIL_LABEL.slo}|${GUARDRAIL_LABEL.telemetry}`, matchType: "=~" },
        eq("urgency", URGENCY.ticket),
    ],
    cost: [eq("guardrail", GUARDRAIL_LABEL.cost)],
    cadence: [eq("guardrail", GUARDRAIL_LABEL.cadence)],
};

/** Route order: specific first; the root's own receiver (tickets) catches any guardrail alert none of them match. */
const ROLE_ORDER: readonly AlertRouteRole[] = ["page", "ticket", "cost", "cadence"];

/**
 * Inhibition: while an SLO page fires, the ticket for the same SLO, environment and service is held back (the page
 * already says it, louder); while a cost page fires (budget exceeded or forecast over it), the threshold ticket of
 * the same budget is. `equal` lists every label that tells two SLOs or budgets apart, so one never silences another.
 */
export const INHIBIT_RULES: readonly InhibitRule[] = [
    {
        sourceMatch: [eq("guardrail", GUARDRAIL_LABEL.slo), eq("urgency", URGENCY.page)],
        targetMatch: [eq("guardrail", GUARDRAIL_LABEL.slo), eq("urgency", URGENCY.ticket)],
        equal: ["slo", "env", "service"],
    },
    {
        sourceMatch: [eq("guardrail", GUARDRAIL_LABEL.cost), eq("urgency", URGENCY.page)],
        targetMatch: [eq("alertname", COST_ALERT.threshold)],
        equal: ["budget", "env"],
    },
];

export interface RoutingOptions {
    /** Replace the timings (only the end-to-end test does, to see a notification within seconds). */
    readonly timings?: Partial<Record<AlertRouteRole, RouteTimings>>;
}

/** The config key a receiver's secret is read from. */
export function alertSecretKey(name: string): string {
    return `${PROJECT}:${ALERT_SECRET_PREFIX}${name}`;
}

/** One receiver, its secrets referenced by key of the receivers' Secret (never inlined). */
export function buildReceiver(name: string, r: ReceiverConfig, awsRegion?: string): Receiver {
    const secretRef = (secret: string) => ({ name: RECEIVER_SECRET_NAME, key: secret });
    return {
        name,
        ...(r.pagerduty
            ? { pagerdutyConfigs: [{ routingKey: secretRef(r.pagerduty.routingKeySecret), sendResolved: true }] }
            : {}),
        ...(r.webhook ? { webhookConfigs: [{ urlSecret: secretRef(r.webhook.urlSecret), sendResolved: true }] } : {}),
        ...(r.email
            ? {
                  emailConfigs: r.email.to.map((to) => ({
                      to,
                      from: r.email!.from,
                      smarthost: r.email!.smarthost,
                      sendResolved: true,
                  })),
              }
            : {}),
        ...(r.sns
            ? {
                  snsConfigs: [
                      {
                          topicARN: r.sns.topicArn,
                          sendResolved: true,
                          ...(awsRegion ? { sigv4: { region: awsRegion } } : {}),
                      },
                  ],
              }
            : {}),
    };
}

/**
 * The AlertmanagerConfig spec of one stack. Every route ends at a receiver the stack file defines (validated with
 * the config), and the root's receiver is the ticket receiver, so no guardrail alert falls into a null route.
 */
export function buildAlertmanagerConfig(
    config: Pick<StackConfig, "alertRouting" | "environment" | "awsRegion">,
    opts: RoutingOptions = {},
): AlertmanagerConfigSpec {
    const routing = config.alertRouting;
    const timing = (role: AlertRouteRole) => opts.timings?.[role] ?? ROUTE_TIMINGS[role];
    const routes: Route[] = ROLE_ORDER.map((role) => ({
        receiver: routing.routes[role],
        matchers: ROLE_MATCHERS[role],
        ...timing(role),
    }));
    const used = [...new Set(ROLE_ORDER.map((role) => routing.routes[role]))].sort();
    return {
        route: {
            receiver: routing.routes.ticket,
            // Only this environment's alerts: a Prometheus shared by environments must not page prod for dev.
            matchers: [eq("env", config.environment)],
            groupBy: [...GROUP_BY],
            ...timing("ticket"),
            routes,
        },
        receivers: used.map((name) => buildReceiver(name, routing.receivers[name], config.awsRegion)),
        inhibitRules: designedInhibitRules(config.environment),
    };
}

/** The inhibit rules of one environment's routing: INHIBIT_RULES, each held to that environment's alerts. */
export function designedInhibitRules(environment: string): InhibitRule[] {
    return INHIBIT_RULES.map((r) => ({
        ...r,
        sourceMatch: [...r.sourceMatch, eq("env", environment)],
        targetMatch: [...r.targetMatch, eq("env", environment)],
    }));
}
