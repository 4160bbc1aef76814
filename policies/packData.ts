/**
 * The data the pack enforces, read from the repository: what tests and a ts-node run of the sources use. The shipped
 * pack never runs this module: offline/policyPackBuild.ts bundles policies/ with this module replaced by the same
 * data, read and validated at build time and compiled in, so the built pack reads no repository file.
 */
import { loadGovernance } from "../governance";
import { loadGuardrails } from "../core/guardrails";
import { readDataFile } from "../core/validation";
import { SIGNERS_FILE, loadSigners } from "../provenance/signers";
import { PackData } from "./context";

export function packData(): PackData {
    const governance = loadGovernance();
    // Validated here (schema, Ed25519, roles governance knows), so the pack only parses keys when it runs.
    loadSigners(
        SIGNERS_FILE,
        governance.roles.map((r) => r.name),
    );
    const doc = readDataFile(SIGNERS_FILE) as { signers: PackData["signers"] };
    return { guardrails: loadGuardrails(), governance, signers: doc.signers };
}
