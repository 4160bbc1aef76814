/**
 * The data the pack enforces, read from the repository: what tests and a ts-node run of the sources use. The shipped
 * pack never runs this module: offline/policyPackBuild.ts bundles policies/ with this module replaced by the same
 * data, read and validated at build time and compiled in, so the built pack reads no repository file.
 */
import { loadGovernance } from "../governance";
import { loadGuardrails } from "../core/guardrails";
import { PackData } from "./context";

export function packData(): PackData {
    return { guardrails: loadGuardrails(), governance: loadGovernance() };
}
