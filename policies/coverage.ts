/**
 * What the pack's policies saw of each other in this process: the URNs evidence-hooks analyzed, and the stack
 * policies that ran per stack, so the production floor notices a policy the config disabled.
 */
import { PolicyResource, ReportViolation } from "@pulumi/policy";
import { environmentOfStack } from "../core/conventions";
import { PackContext } from "./context";
import { engineStack, reportAtLevel, stackUrn } from "./resources";

export const EVIDENCE_FLOOR_POLICY = "evidence-hooks-prod-floor";

/**
 * The URNs evidence-hooks analyzed in this process. The engine calls Analyze for every resource before it calls
 * AnalyzeStack once, in the same plugin process, so an unrecorded URN at AnalyzeStack means the policy was disabled.
 */
export class EvidenceCoverage {
    private readonly urns = new Set<string>();
    /** Stack policies that ran, by stack: a later policy sees an earlier one the config disabled. */
    private readonly stackPolicies = new Map<string, Set<string>>();
    ran(stack: string | undefined, policy: string): void {
        const key = stack ?? "";
        this.stackPolicies.set(key, (this.stackPolicies.get(key) ?? new Set()).add(policy));
    }
    hasRun(stack: string | undefined, policy: string): boolean {
        return this.stackPolicies.get(stack ?? "")?.has(policy) ?? false;
    }
    add(urn: string): void {
        this.urns.add(urn);
    }
    has(urn: string): boolean {
        return this.urns.has(urn);
    }
}

/**
 * Called by the stack policies that run after the floor: in a production stack, report (mandatory) that the floor
 * did not run, i.e. the policy config disabled it, which it may not do there. Disabling every watcher too stays
 * invisible from inside the pack (docs/policies.md).
 */
export function reportDisabledFloor(
    ctx: PackContext,
    coverage: EvidenceCoverage,
    resources: readonly PolicyResource[],
    reportViolation: ReportViolation,
): void {
    const stack = engineStack(resources);
    const env = stack === undefined ? undefined : environmentOfStack(stack, ctx.guardrails.environments);
    if (
        env === undefined ||
        !ctx.productionEnvironments.includes(env) ||
        coverage.hasRun(stack, EVIDENCE_FLOOR_POLICY)
    ) {
        return;
    }
    reportAtLevel(
        reportViolation,
        "mandatory",
        `${EVIDENCE_FLOOR_POLICY} did not run on this ${env} stack: it may not be disabled in ${ctx.productionEnvironments.join(", ")}. Fix: remove "${EVIDENCE_FLOOR_POLICY}": "disabled" from the policy pack config (--policy-pack-config).`,
        stackUrn(resources),
    );
}
