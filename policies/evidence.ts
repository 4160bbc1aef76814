/**
 * Evidence hooks on every resource: each managed resource names the backlog item it serves, that item exists in the
 * governance backlog and declares all four hooks, and the resource carries exactly those hooks. In production the
 * policy can be neither lowered nor disabled: its violations there are mandatory whatever the config says, and a
 * companion stack policy redoes the check when the engine never ran it.
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { EVIDENCE_HOOKS, environmentOfStack } from "../core/conventions";
import { PackContext } from "./context";
import {
    describeResource,
    evidenceCarrier,
    knownInProduction,
    readStamp,
    reportAtLevel,
    stackEnvironment,
    stackUrn,
    dashboardModel,
} from "./resources";
import { EVIDENCE_FLOOR_POLICY, EvidenceCoverage } from "./coverage";
import { boundEnvironment, engineStack } from "./resources";

export { EVIDENCE_FLOOR_POLICY, EvidenceCoverage };

export const EVIDENCE_HOOKS_POLICY = "evidence-hooks";

const FIX =
    "Fix: create the resource inside a component that calls `declareEvidence(this, { backlogItem: BACKLOG_ITEM.<item>, creates: [<its type>, ...] })` " +
    "(core/evidence.ts, ids in core/conventions.ts); the stack then stamps the item's hooks from governance/backlog.json.";

/** Everything wrong with one resource's evidence hooks (empty when they are right or its type carries none). */
export function evidenceProblems(ctx: PackContext, type: string, props: Record<string, unknown>): string[] {
    const carrier = evidenceCarrier(type);
    if (carrier.kind === "unclassified") {
        return [
            `type ${type} has no evidence-hook convention; classify it in policies/resources.ts (UNTAGGABLE_AWS_TYPES or UNTAGGABLE_GRAFANA_TYPES) or teach core/evidence.ts to stamp it`,
        ];
    }
    const problems: string[] = [];
    if (carrier.kind === "grafana-dashboard-tags") {
        const parsed = dashboardModel(type, props);
        if (parsed.error) {
            return [`${parsed.error}, so its evidence tags cannot be read`];
        }
    }
    const stamp = readStamp(type, props);
    // An exempt type (the stack, a provider, a component, one that takes no tags) carries no stamp.
    if (!stamp) {
        return [];
    }
    if (!stamp.environment) {
        problems.push(`carries no ${stamp.keys.environment} (in ${stamp.where})`);
    }
    if (!stamp.backlogItem) {
        problems.push(`carries no ${stamp.keys.backlogItem} (in ${stamp.where}), so it serves no backlog item`);
        return problems;
    }
    const item = ctx.backlogItems.get(stamp.backlogItem);
    if (!item) {
        problems.push(
            `names backlog item "${stamp.backlogItem}", which ${ctx.backlogFile} does not have (a dangling hook); allowed: ${[...ctx.backlogItems.keys()].join(", ")}`,
        );
        return problems;
    }
    for (const hook of EVIDENCE_HOOKS) {
        const declared = item[hook];
        const carried = stamp.hooks[hook];
        if (!declared) {
            problems.push(
                `backlog item ${stamp.backlogItem} declares no "${hook}" hook in ${ctx.backlogFile}; every item needs ${EVIDENCE_HOOKS.join(", ")}`,
            );
        } else if (carried === undefined) {
            problems.push(`carries no ${stamp.keys[hook]} (backlog item ${stamp.backlogItem} declares "${declared}")`);
        } else if (carried !== declared) {
            problems.push(
                `${stamp.keys[hook]} is "${carried}" but backlog item ${stamp.backlogItem} declares "${declared}" (a dangling hook)`,
            );
        }
    }
    return problems;
}

function message(r: { type: string; name: string }, problems: readonly string[]): string {
    return `${describeResource(r)}: ${problems.join("; ")}. ${FIX}`;
}

export function evidenceHooksPolicy(ctx: PackContext, coverage: EvidenceCoverage): ResourceValidationPolicy {
    return {
        name: EVIDENCE_HOOKS_POLICY,
        description:
            "Every managed resource names its backlog item, which exists in governance and declares the logs, metrics, tests and provenance hooks the resource carries.",
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            coverage.add(args.urn);
            const problems = evidenceProblems(ctx, args.type, args.props);
            if (problems.length === 0) {
                return;
            }
            // The environment the engine's stack name binds, not the resource's own stamp: an unstamped or
            // unclassified resource in a prod stack is still in prod.
            const env = boundEnvironment(ctx, args.urn) ?? readStamp(args.type, args.props)?.environment;
            if (env !== undefined && ctx.productionEnvironments.includes(env)) {
                // The config may lower this policy elsewhere, never in production.
                reportAtLevel(reportViolation, "mandatory", message(args, problems), args.urn);
            } else {
                reportViolation(message(args, problems), args.urn);
            }
        },
    };
}

/**
 * Redoes evidence-hooks in a production stack when the engine did not run it (the config disabled it), and says
 * that it may not be disabled there. Always mandatory.
 */
export function evidenceFloorPolicy(ctx: PackContext, coverage: EvidenceCoverage): StackValidationPolicy {
    return {
        name: EVIDENCE_FLOOR_POLICY,
        description: `In production (${ctx.productionEnvironments.join(", ")}) the ${EVIDENCE_HOOKS_POLICY} policy runs on every resource, whatever the policy config says.`,
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            const stack = engineStack(args.resources);
            coverage.ran(stack, EVIDENCE_FLOOR_POLICY);
            const bound = stack === undefined ? undefined : environmentOfStack(stack, ctx.guardrails.environments);
            const claimed = stackEnvironment(args.resources).seen;
            const production = [...new Set([bound, ...claimed])].filter(
                (e): e is string => e !== undefined && ctx.productionEnvironments.includes(e),
            );
            if (production.length === 0) {
                return;
            }
            // Stryker disable next-line ArrayDeclaration: equivalent; no resource type is the placeholder a mutant puts in the list
            const allowed = ctx.guardrails.evidence.productionAllowedTypes ?? [];
            for (const r of args.resources.filter((x) => !knownInProduction(x.type, allowed))) {
                reportAtLevel(
                    reportViolation,
                    "mandatory",
                    `${describeResource(r)}: type ${r.type} is not one the policy pack knows, and a ${production.join("/")} stack deploys only known types, whatever the policy config says; ` +
                        `allowed: the types in policies/resources.ts KNOWN_TYPES or guardrails/guardrails.yaml /evidence/productionAllowedTypes. Fix: add the type there in a reviewed change.`,
                    r.urn,
                );
            }
            const unchecked = args.resources.filter(
                (r) => evidenceCarrier(r.type).kind !== "exempt" && !coverage.has(r.urn),
            );
            if (unchecked.length === 0) {
                return;
            }
            reportAtLevel(
                reportViolation,
                "mandatory",
                `${EVIDENCE_HOOKS_POLICY} did not run on ${unchecked.length} resource(s) of this ${production.join("/")} stack: it may not be disabled in ` +
                    `${ctx.productionEnvironments.join(", ")}. Fix: remove "${EVIDENCE_HOOKS_POLICY}": "disabled" from the policy pack config (--policy-pack-config).`,
                stackUrn(args.resources),
            );
            for (const r of unchecked) {
                const problems = evidenceProblems(ctx, r.type, r.props);
                if (problems.length > 0) {
                    reportAtLevel(reportViolation, "mandatory", message(r, problems), r.urn);
                }
            }
        },
    };
}
