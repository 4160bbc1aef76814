/**
 * What every stack policy needs first: the stack's environment. The engine names the stack in every URN it builds
 * (`urn:pulumi:<stack>::...`), and a stack name is bound to one environment (core/conventions.ts
 * environmentOfStack), so the environment comes from the engine's data. The resources' environment tags are what
 * the program claims; `stack-environment-bound` refuses a claim that differs, whatever the policy config says.
 */
import { PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { AWS_TAG, environmentOfStack } from "../core/conventions";
import { PackContext } from "./context";
import { EvidenceCoverage, reportDisabledFloor } from "./coverage";
import { describeResource, engineStack, readStamp, reportAtLevel, stackUrn } from "./resources";

export { boundEnvironment, engineStack } from "./resources";

export const STACK_BINDING_POLICY = "stack-environment-bound";

/** The stack's guardrail environment (bound by its name), or undefined after reporting why there is none. */
export function environmentOrReport(
    ctx: PackContext,
    resources: readonly PolicyResource[],
    reportViolation: ReportViolation,
    policyName: string,
): string | undefined {
    const stack = engineStack(resources);
    const env = stack === undefined ? undefined : environmentOfStack(stack, ctx.guardrails.environments);
    if (env === undefined) {
        reportViolation(
            `${policyName} cannot tell the stack's environment: the stack ${stack === undefined ? "(no single stack in the resources' URNs)" : `"${stack}"`} ` +
                `is bound to no guardrail environment; allowed stack names: ${ctx.guardrails.environments.map((e) => `${e} or ${e}-<suffix>`).join(", ")}. ` +
                "Fix: name the stack after its environment (pulumi stack init prod).",
            stackUrn(resources),
        );
    }
    return env;
}

/**
 * Every resource's environment stamp names the environment the stack is bound to. Reported mandatory whatever the
 * policy config says: a stack that claims another environment would be checked against that environment's looser
 * caps, lock mode and sign-offs.
 */
export function stackBindingPolicy(ctx: PackContext, coverage?: EvidenceCoverage): StackValidationPolicy {
    return {
        name: STACK_BINDING_POLICY,
        description:
            "The stack's name (from the engine's URNs) binds its environment; every resource's environment stamp names that environment.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            if (coverage) {
                reportDisabledFloor(ctx, coverage, args.resources, reportViolation);
            }
            const stack = engineStack(args.resources);
            const env = stack === undefined ? undefined : environmentOfStack(stack, ctx.guardrails.environments);
            if (env === undefined) {
                reportAtLevel(
                    reportViolation,
                    "mandatory",
                    `the stack ${stack === undefined ? "(no single stack in the resources' URNs)" : `"${stack}"`} is bound to no guardrail environment; ` +
                        `allowed stack names: ${ctx.guardrails.environments.map((e) => `${e} or ${e}-<suffix>`).join(", ")}`,
                    stackUrn(args.resources),
                );
                return;
            }
            for (const r of args.resources) {
                const stamp = readStamp(r.type, r.props);
                if (stamp?.environment !== undefined && stamp.environment !== env) {
                    reportAtLevel(
                        reportViolation,
                        "mandatory",
                        `${describeResource(r)}: ${stamp.keys.environment} is "${stamp.environment}" in the stack "${stack}", which its name binds to ${env}; ` +
                            `allowed: "${env}". Fix: set maestro-guardrails:environment to ${env} in Pulumi.${stack}.yaml (${AWS_TAG.environment} comes from it).`,
                        r.urn,
                    );
                }
            }
        },
    };
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
