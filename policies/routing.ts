/**
 * Every guardrail alert the stack deploys reaches a receiver that sends somewhere. Alertmanager drops an alert routed
 * to a receiver with no integration (a "null" receiver, kube-prometheus-stack's default), silently: the rule fires,
 * the dashboard shows it, nobody is told. This policy routes each deployed alert's labels through every routing
 * object of the stack (AlertmanagerConfig objects and AMP alert manager definitions) as Alertmanager would, so a
 * route placed before the intended one, a receiver emptied of its integrations, or a routing object missing all
 * count alike.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { GUARDRAIL_LABEL } from "../core/conventions";
import {
    RoutingTree,
    deliveries,
    matches,
    treeFromAlertmanagerConfigSpec,
    treeFromAlertmanagerYaml,
} from "../routing/match";
import { ROUTE_TIMINGS, designedInhibitRules } from "../routing/build";
import type { InhibitRule } from "../routing/types";
import { durationSeconds } from "../rules/design";
import { parseYamlBounded } from "../core/validation";
import { PackContext } from "./context";
import { describeResource, stackUrn, TYPE } from "./resources";
import { deployedRules } from "./slo";

export const ROUTING_POLICY = "guardrail-alerts-routed";

const FIX =
    "Fix: deploy the routing built from the stack's alertRouting (components/alertRouting.ts); every route must end at a receiver with at least one integration.";

interface DeployedRouting {
    readonly resource: PolicyResource;
    readonly tree: RoutingTree;
}

/** The routing objects of a stack, read as trees; unreadable ones become problems. */
export function deployedRouting(resources: readonly PolicyResource[]): {
    trees: DeployedRouting[];
    problems: Array<{ urn: string; message: string }>;
} {
    const trees: DeployedRouting[] = [];
    const problems: Array<{ urn: string; message: string }> = [];
    for (const r of resources) {
        try {
            if (r.type === TYPE.alertmanagerConfig) {
                trees.push({ resource: r, tree: treeFromAlertmanagerConfigSpec(r.props.spec) });
            } else if (r.type === TYPE.ampAlertManagerDefinition) {
                const outer = parseYamlBounded(String(r.props.definition), describeResource(r)) as {
                    alertmanager_config?: unknown;
                } | null;
                const inner = outer?.alertmanager_config;
                // No alertmanager.yml text (none, or a map where the text goes) is a configuration without routes.
                trees.push({
                    resource: r,
                    tree: treeFromAlertmanagerYaml(
                        typeof inner === "string" ? parseYamlBounded(inner, describeResource(r)) : undefined,
                    ),
                });
            }
        } catch (err) {
            problems.push({
                urn: r.urn,
                message: `${describeResource(r)}: its routing cannot be read (${(err as Error).message}). ${FIX}`,
            });
        }
    }
    return { trees, problems };
}

/** The longest group wait the design gives any route: a later first notification is a silenced one. */
const MAX_GROUP_WAIT_SECONDS = Math.max(...Object.values(ROUTE_TIMINGS).map((t) => durationSeconds(t.groupWait)));

/** Why a delivery does not notify anyone in time, or undefined when it does. */
function undelivered(integrations: number, groupWait: string | undefined, timeIntervals: readonly string[]) {
    if (integrations === 0) {
        return "which has no integration";
    }
    if (timeIntervals.length > 0) {
        return `whose route is muted by time intervals (${timeIntervals.join(", ")}); allowed: none on a guardrail route`;
    }
    let wait = 0;
    try {
        wait = groupWait === undefined ? 0 : durationSeconds(groupWait);
    } catch {
        wait = Number.POSITIVE_INFINITY;
    }
    if (wait > MAX_GROUP_WAIT_SECONDS) {
        return `whose route waits ${groupWait} before the first notification; allowed: at most ${MAX_GROUP_WAIT_SECONDS}s (routing/build.ts ROUTE_TIMINGS)`;
    }
    return undefined;
}

const canonical = (m: InhibitRule) =>
    JSON.stringify({
        source: m.sourceMatch.map((x) => `${x.name}${x.matchType}${x.value}`).sort(),
        target: m.targetMatch.map((x) => `${x.name}${x.matchType}${x.value}`).sort(),
        equal: [...m.equal].sort(),
    });

export function routingPolicy(_ctx: PackContext): StackValidationPolicy {
    return {
        name: ROUTING_POLICY,
        description:
            "Every guardrail alert (SLO, telemetry, cost, cadence) is routed to a receiver with at least one integration; no null route.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            const { rules } = deployedRules(args.resources);
            const guardrails: readonly string[] = Object.values(GUARDRAIL_LABEL);
            const alerts = rules.filter((r) => r.alert !== undefined && guardrails.includes(r.labels.guardrail));
            if (alerts.length === 0) {
                return;
            }
            const { trees, problems } = deployedRouting(args.resources);
            for (const p of problems) {
                reportViolation(p.message, p.urn);
            }
            if (trees.length === 0 && problems.length === 0) {
                reportViolation(
                    `the stack deploys ${alerts.length} guardrail alert rules but no AlertmanagerConfig or AMP alert manager definition, so no alert reaches anyone. ${FIX}`,
                    stackUrn(args.resources),
                );
                return;
            }
            const seen = new Set<string>();
            for (const a of alerts) {
                const labels: Record<string, string> = { ...a.labels, alertname: a.alert! };
                const key = JSON.stringify(Object.entries(labels).sort());
                if (seen.has(key)) {
                    continue;
                }
                seen.add(key);
                const reached = trees.flatMap((t) =>
                    deliveries(t.tree.route, labels).map((d) => ({
                        t,
                        receiver: d.receiver,
                        why: undelivered(t.tree.integrations.get(d.receiver) ?? 0, d.groupWait, d.timeIntervals),
                    })),
                );
                // Any inhibit rule of any routing object mutes in the one Alertmanager; only the designed ones may.
                const designed = new Set(designedInhibitRules(labels.env ?? "").map((r) => canonical(r)));
                const inhibitors = trees.flatMap((t) =>
                    t.tree.inhibitRules
                        .filter((i) => i.targetMatch.every((m) => matches(m, labels)) && !designed.has(canonical(i)))
                        .map((i) => ({ t, i })),
                );
                if (reached.some((x) => x.why === undefined) && inhibitors.length === 0) {
                    continue;
                }
                const where = [
                    ...(reached.length === 0
                        ? ["no route matches it"]
                        : reached
                              .filter((x) => x.why !== undefined)
                              .map(
                                  (x) =>
                                      `${describeResource(x.t.resource)} sends it to ${x.receiver ? `receiver "${x.receiver}"` : "no receiver"}, ${x.why}`,
                              )),
                    ...inhibitors.map(
                        ({ t, i }) =>
                            `${describeResource(t.resource)} inhibits it while ${i.sourceMatch.map((m) => `${m.name}${m.matchType}"${m.value}"`).join(",") || "any alert"} fires, an inhibit rule not in the design (routing/build.ts INHIBIT_RULES)`,
                    ),
                ].join("; ");
                const shown = Object.entries(labels)
                    .sort(([x], [y]) => x.localeCompare(y))
                    .map(([k, v]) => `${k}="${v}"`)
                    .join(",");
                reportViolation(
                    `alert ${a.alert} {${shown}} (group ${a.group}) reaches nobody: ${where}. ${FIX}`,
                    (reached[0]?.t.resource ?? inhibitors[0]?.t.resource ?? a.resource).urn,
                );
            }
        },
    };
}
