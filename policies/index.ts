/**
 * The Maestro guardrails policy pack: `pulumi preview --policy-pack policies` (after `npm run build:policies`, which
 * bundles this entry into bin/index.js). Constructing the PolicyPack starts the analyzer gRPC server and prints its
 * port (what the Pulumi CLI, and offline/policyAnalyzer.ts, read), so this is the only module that does it; the
 * policies live in modules tests can import.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICY_PACK_NAME, packPolicies } from "./all";
import { packContext } from "./context";
import { packData } from "./packData";

new PolicyPack(POLICY_PACK_NAME, {
    // Every policy is mandatory unless a stack's policy config lowers it (docs/policies.md).
    enforcementLevel: "mandatory",
    policies: packPolicies(packContext(packData())),
});
