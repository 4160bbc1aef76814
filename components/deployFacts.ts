/**
 * What a release deploy learns about itself before the sign-off gate runs: whether it is an update or a preview,
 * and the ledger head the stack's previous deploy recorded (read from the stack's own last outputs, which live in
 * the Pulumi state backend, not in the repository: no file edit can forge them).
 */
import * as pulumi from "@pulumi/pulumi";
import { DeployMode, priorLedgerHead } from "../provenance/release";

/**
 * `update` only when the engine is applying changes. A preview, and a render with no engine at all (the mock
 * runtime behind `npm run synth` and the tests, which cannot deploy anything), report instead of refusing.
 */
export function deployMode(facts: { readonly dryRun: boolean; readonly engine: boolean }): DeployMode {
    return !facts.engine ? "offline" : facts.dryRun ? "preview" : "update";
}

/** The mode of the running program. */
export function currentDeployMode(): DeployMode {
    return deployMode({ dryRun: pulumi.runtime.isDryRun(), engine: pulumi.runtime.hasEngine() });
}

/** The stack's own fully qualified name (`org/project/stack`), or the bare stack name when no organization is set. */
function selfStackName(): string {
    let organization: string | undefined;
    try {
        organization = pulumi.getOrganization();
    } catch {
        organization = undefined; // the mock runtime without an organization: the bare name resolves the same stack
    }
    return organization ? `${organization}/${pulumi.getProject()}/${pulumi.getStack()}` : pulumi.getStack();
}

/**
 * The ledger head the previous deploy of this stack exported (`provenance.ledgerHead`), with where it was read;
 * undefined on a stack's first deploy. Reads the stack's own outputs: a read, nothing is created.
 */
export async function priorDeployHead(): Promise<{ head: string; source: string } | undefined> {
    const name = selfStackName();
    const ref = new pulumi.StackReference("prior-deploy", { name });
    const details = await ref.getOutputDetails("provenance");
    const provenance: unknown = details.value ?? details.secretValue;
    const head = priorLedgerHead({ provenance });
    return head ? { head, source: `the previous deploy of ${name} (stack output provenance.ledgerHead)` } : undefined;
}
