/**
 * The pack's policies, in the order the engine runs them. Building the list does not start the analyzer server, so
 * tests import this; only index.ts constructs the PolicyPack.
 */
import { Policies } from "@pulumi/policy";
import { awsAccountPolicy } from "./accounts";
import { anomalyPolicy } from "./anomaly";
import { budgetsPolicy } from "./budgets";
import { PackContext } from "./context";
import { dashboardsPolicy } from "./dashboards";
import { EvidenceCoverage, evidenceFloorPolicy, evidenceHooksPolicy } from "./evidence";
import { provenanceBucketInputsPolicy, provenanceBucketPolicy, releasePolicy } from "./provenance";
import { routingPolicy } from "./routing";
import { decidedAtPreview } from "./preview";
import { providersPolicy } from "./providers";
import { sloPolicy } from "./slo";
import { stackBindingPolicy } from "./stack";

/** Name the pack is served (and reported) under. */
export const POLICY_PACK_NAME = "maestro-guardrails";

export function packPolicies(ctx: PackContext, coverage: EvidenceCoverage = new EvidenceCoverage()): Policies {
    return [
        evidenceHooksPolicy(ctx, coverage),
        provenanceBucketInputsPolicy(),
        // Stack policies run after every Analyze call, so the floor sees what evidence-hooks covered.
        evidenceFloorPolicy(ctx, coverage),
        // Both run after the floor and report it disabled in production (either may be disabled, not all three).
        stackBindingPolicy(ctx, coverage),
        providersPolicy(ctx, coverage),
        sloPolicy(ctx),
        routingPolicy(ctx),
        budgetsPolicy(ctx),
        provenanceBucketPolicy(ctx),
        releasePolicy(ctx),
        dashboardsPolicy(ctx),
        awsAccountPolicy(ctx),
        anomalyPolicy(ctx),
    ].map((p) => decidedAtPreview(ctx, p));
}
