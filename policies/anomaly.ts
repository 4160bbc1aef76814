/**
 * Every environment watches its spend with Cost Anomaly Detection: a monitor over the environment's spend (AWS
 * services in an account of its own, the environment's cost allocation tag in a shared one) and a subscription of
 * that monitor notifying an SNS topic of the stack when an anomaly's total impact reaches the guardrail's share of
 * the monthly cap, or earlier.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { AWS_TAG } from "../core/conventions";
import { accountSharedWith } from "../core/guardrails";
import { PackContext } from "./context";
import { describeResource, jsonOrUndefined, stackUrn } from "./resources";
import { environmentPolicy } from "./stack";

export const ANOMALY_POLICY = "cost-anomaly-detection";

const TYPE = {
    monitor: "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
    subscription: "aws:costexplorer/anomalySubscription:AnomalySubscription",
    topic: "aws:sns/topic:Topic",
} as const;

const FIX =
    "Fix: deploy the anomaly monitor and subscription of components/costBudgets.ts (budgets/specs.ts anomalySpec).";

/** The guardrail's anomaly threshold for the environment, in USD. */
export function anomalyThresholdUsd(ctx: PackContext, env: string): number {
    const cap = ctx.guardrails.cost.caps[env];
    return Math.round(cap.monthlyUsd * ctx.guardrails.cost.anomalyImpactShareOfCap * 100) / 100;
}

/** What is wrong with a monitor (undefined when it watches exactly the environment's spend, as the layout requires). */
function monitorProblem(m: PolicyResource, env: string, shared: boolean): string | undefined {
    if (!shared) {
        return m.props.monitorType === "DIMENSIONAL" && m.props.monitorDimension === "SERVICE"
            ? undefined
            : `in an account of its own the monitor watches every AWS service; allowed: monitorType "DIMENSIONAL", monitorDimension "SERVICE"`;
    }
    // Not JSON, or not text: no specification, refused below.
    const spec =
        typeof m.props.monitorSpecification === "string" ? jsonOrUndefined(m.props.monitorSpecification) : undefined;
    const tags = (spec as { Tags?: { Key?: unknown; Values?: unknown } } | undefined)?.Tags;
    const ok =
        m.props.monitorType === "CUSTOM" &&
        spec !== undefined &&
        Object.keys(spec as object).length === 1 &&
        tags?.Key === AWS_TAG.environment &&
        Array.isArray(tags.Values) &&
        tags.Values.length === 1 &&
        tags.Values[0] === env;
    return ok
        ? undefined
        : `in a shared account the monitor watches only the environment's tagged spend; allowed: monitorType "CUSTOM" with monitorSpecification {"Tags":{"Key":"${AWS_TAG.environment}","Values":["${env}"],...}}`;
}

/** The threshold a subscription notifies at, when it is the one absolute-impact condition the stack uses. */
function thresholdOf(s: PolicyResource): number | undefined {
    const dim = (
        s.props.thresholdExpression as { dimension?: { key?: unknown; values?: unknown; matchOptions?: unknown } }
    )?.dimension;
    const expr = s.props.thresholdExpression as Record<string, unknown> | undefined;
    const others = Object.entries(expr ?? {}).filter(([k, v]) => k !== "dimension" && v !== undefined && v !== null);
    if (
        !dim ||
        others.length > 0 ||
        dim.key !== "ANOMALY_TOTAL_IMPACT_ABSOLUTE" ||
        !Array.isArray(dim.matchOptions) ||
        dim.matchOptions.length !== 1 ||
        dim.matchOptions[0] !== "GREATER_THAN_OR_EQUAL" ||
        !Array.isArray(dim.values) ||
        dim.values.length !== 1
    ) {
        return undefined;
    }
    const n = Number(dim.values[0]);
    return Number.isFinite(n) ? n : undefined;
}

export function anomalyPolicy(ctx: PackContext): StackValidationPolicy {
    return environmentPolicy(
        ctx,
        ANOMALY_POLICY,
        "Each environment has a Cost Anomaly Detection monitor over its spend and a subscription notifying the stack's topic at the guardrail's share of the cap.",
        (env, args, reportViolation) => {
            const sharedWith = accountSharedWith(ctx.guardrails, env);
            const threshold = anomalyThresholdUsd(ctx, env);
            const at = "guardrails/guardrails.yaml /cost/anomalyImpactShareOfCap";
            const monitors = args.resources.filter((r) => r.type === TYPE.monitor);
            const good = new Set<string>();
            for (const m of monitors) {
                const problem = monitorProblem(m, env, sharedWith.length > 0);
                if (problem === undefined) {
                    good.add(m.urn);
                } else {
                    reportViolation(`${describeResource(m)}: ${problem}. ${FIX}`, m.urn);
                }
            }
            const topics = new Set(args.resources.filter((r) => r.type === TYPE.topic).map((r) => r.urn));
            const subscriptions = args.resources.filter((r) => r.type === TYPE.subscription);
            let covered = false;
            for (const s of subscriptions) {
                const problems: string[] = [];
                const t = thresholdOf(s);
                if (t === undefined || !(t <= threshold)) {
                    problems.push(
                        `thresholdExpression is ${JSON.stringify(s.props.thresholdExpression ?? null)}; allowed: dimension ANOMALY_TOTAL_IMPACT_ABSOLUTE, GREATER_THAN_OR_EQUAL, one value <= ${threshold} USD (${at})`,
                    );
                }
                // Stryker disable next-line ArrayDeclaration: equivalent; a string in place of the empty list has no urn, so it is no good monitor either
                const watched = (s.propertyDependencies.monitorArnLists ?? []).map((d) => d.urn);
                if (watched.length === 0 || !watched.every((u) => good.has(u))) {
                    problems.push(
                        "monitorArnLists must be the ARNs of this stack's environment monitors (by output, not a literal ARN)",
                    );
                }
                const subscribers = (s.props.subscribers ?? []) as Array<{ type?: unknown }>;
                // Stryker disable next-line ArrayDeclaration: equivalent; a string in place of the empty list has no urn, so it is no topic either
                const toTopic = (s.propertyDependencies.subscribers ?? []).some((d) => topics.has(d.urn));
                if (!subscribers.some((x) => x.type === "SNS") || !toTopic) {
                    problems.push("no SNS subscriber that is a topic of this stack (the budget topic)");
                }
                if (problems.length > 0) {
                    reportViolation(`${describeResource(s)}: ${problems.join("; ")}. ${FIX}`, s.urn);
                } else {
                    covered = true;
                }
            }
            if (!covered) {
                reportViolation(
                    `the ${env} stack has no Cost Anomaly Detection subscription notifying its topic at ${threshold} USD or less (${at}) from a monitor of its spend. ${FIX}`,
                    stackUrn(args.resources),
                );
            }
        },
    );
}
