/**
 * What every stack policy needs first: the stack's environment (from its resources' evidence tags) or a violation
 * saying why it cannot be told.
 */
import { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { AWS_TAG } from "../core/conventions";
import { PackContext } from "./context";
import { stackEnvironment, stackUrn } from "./resources";

/** The stack's guardrail environment, or undefined after reporting why it is unknown. */
export function environmentOrReport(
    ctx: PackContext,
    resources: readonly PolicyResource[],
    reportViolation: ReportViolation,
    policyName: string,
): string | undefined {
    const env = stackEnvironment(resources);
    const urn = stackUrn(resources);
    if (env.seen.length === 0) {
        reportViolation(
            `${policyName} cannot tell the stack's environment: no resource carries ${AWS_TAG.environment} (or its Kubernetes label / Grafana tag). ` +
                "Fix: build resources inside the stack's components so core/evidence.ts stamps them.",
            urn,
        );
        return undefined;
    }
    if (env.environment === undefined) {
        reportViolation(
            `resources of one stack name several environments (${env.seen.join(", ")}); a stack deploys exactly one. Fix: one stack per environment.`,
            urn,
        );
        return undefined;
    }
    if (!ctx.guardrails.environments.includes(env.environment)) {
        reportViolation(
            `environment "${env.environment}" is not a guardrail environment; allowed: ${ctx.guardrails.environments.join(", ")}`,
            urn,
        );
        return undefined;
    }
    return env.environment;
}

/**
 * A mandatory stack policy that judges one environment: `check` runs once the stack's environment is known; a stack
 * whose environment cannot be told is reported instead, naming the policy.
 */
export function environmentPolicy(
    ctx: PackContext,
    name: string,
    description: string,
    check: (env: string, args: StackValidationArgs, reportViolation: ReportViolation) => void,
): StackValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            const env = environmentOrReport(ctx, args.resources, reportViolation, name);
            if (env !== undefined) {
                check(env, args, reportViolation);
            }
        },
    };
}
