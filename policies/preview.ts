/**
 * A policy that cannot decide during a preview. @pulumi/policy turns a read of an unknown value (an output of a
 * resource the preview would create) into an advisory note, so a first deploy's preview would pass what it never
 * checked. In a production environment that is a mandatory violation instead; elsewhere the note stays advisory,
 * as the engine reports it. The stack's own design keeps what the policies read known (names and ARNs built from
 * stack, account and region): this is the net under it.
 */
import {
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
    UnknownValueError,
} from "@pulumi/policy";
import { PackContext } from "./context";
import { boundEnvironment, reportAtLevel, stackEnvironment } from "./resources";

/** The stack name in a URN (`urn:pulumi:<stack>::<project>::...`). */
export function urnStack(urn: string): string {
    return urn.startsWith("urn:pulumi:") ? urn.slice("urn:pulumi:".length).split("::")[0] : "";
}

/**
 * Whether a production environment is at stake: by the environment the stack's name binds (`prod`, `prod-<suffix>`)
 * or by what its resources are stamped with.
 */
function production(ctx: PackContext, urn: string, stamped: () => readonly string[]): boolean {
    const bound = boundEnvironment(ctx, urn);
    if (bound !== undefined && ctx.productionEnvironments.includes(bound)) {
        return true;
    }
    try {
        return stamped().some((e) => ctx.productionEnvironments.includes(e));
    } catch {
        // The stamp itself unknown: the stack's name above is all there is to go by.
        return false;
    }
}

function undecided(policyName: string, err: Error): string {
    return (
        `${policyName} cannot decide during this preview: ${err.message}. In production a policy that cannot decide ` +
        "blocks the deploy. Fix: build the value from inputs (names and ARNs derived from stack, account and region) so it is known before the resource exists."
    );
}

/** The policy, reporting a mandatory violation in production where it meets an unknown value. */
export function decidedAtPreview(
    ctx: PackContext,
    policy: ResourceValidationPolicy | StackValidationPolicy,
): ResourceValidationPolicy | StackValidationPolicy {
    if (!("validateStack" in policy)) {
        const wrap =
            (validate: ResourceValidation): ResourceValidation =>
            async (args: ResourceValidationArgs, report: ReportViolation) => {
                try {
                    await Promise.resolve(validate(args, report));
                } catch (err) {
                    const stamp = () => stackEnvironment([args]).seen;
                    if (!(err instanceof UnknownValueError) || !production(ctx, args.urn, stamp)) {
                        throw err;
                    }
                    reportAtLevel(report, "mandatory", undecided(policy.name, err as Error), args.urn);
                }
            };
        const v = policy.validateResource;
        if (v === undefined) {
            return policy;
        }
        return { ...policy, validateResource: Array.isArray(v) ? v.map(wrap) : wrap(v) };
    }
    const validate = policy.validateStack;
    return {
        ...policy,
        validateStack: async (args: StackValidationArgs, report: ReportViolation) => {
            try {
                await Promise.resolve(validate(args, report));
            } catch (err) {
                const resources: readonly PolicyResource[] = args.resources;
                const found = resources.find((r) => r.type === "pulumi:pulumi:Stack")?.urn ?? resources[0]?.urn;
                // Stryker disable next-line StringLiteral: no URN means no resource at all, whose stack neither a URN nor a stamp binds to production: the error is rethrown before the text is used
                const urn = found ?? "";
                if (
                    !(err instanceof UnknownValueError) ||
                    !production(ctx, urn, () => stackEnvironment(resources).seen)
                ) {
                    throw err;
                }
                reportAtLevel(report, "mandatory", undecided(policy.name, err as Error), urn || undefined);
            }
        },
    };
}
