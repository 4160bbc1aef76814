/**
 * What a deploy of a release checks beyond the ledger itself: that the code being deployed is the code that was
 * signed, and that the ledger extends the head the stack's previous deploy recorded. Pure functions over facts
 * (provenance/git.ts reads them), so the mock runtime's tests drive them with a throwaway repository and a
 * prior-deploy fixture.
 */
import { CheckoutState } from "./git";
import { GENESIS_HASH } from "./ledger";

/** Files that may differ between the signed commit and the deployed checkout: the sign-offs themselves. */
export const SIGNOFF_FILES: readonly string[] = ["provenance/ledger.jsonl"];

/**
 * How the program runs: a real update enforces the code binding; a preview reports it as a warning; an offline
 * render (no engine: the mock runtime behind `npm run synth` and the tests, which cannot deploy anything) reports
 * it in the stack outputs only.
 */
export type DeployMode = "update" | "preview" | "offline";

/**
 * Problems binding the deployed code to the signed commit: the checkout's HEAD must be the signed commit, or differ
 * from it only in the ledger (sign-offs are recorded after the commit they sign), and nothing may be uncommitted.
 */
export function codeBindingProblems(
    release: { readonly tag: string; readonly commit: string | undefined },
    checkout: CheckoutState | undefined,
): string[] {
    if (!checkout) {
        return [
            `the deploy does not run from a git checkout, so the code cannot be bound to the commit ${release.tag} was signed at; deploy from a clone of the repository`,
        ];
    }
    if (!release.commit) {
        return [`${release.tag} has no signed commit in the ledger, so no code can be bound to it`];
    }
    const problems: string[] = [];
    if (checkout.dirty.length > 0) {
        problems.push(
            `the working tree is dirty (${checkout.dirty.slice(0, 5).join(", ")}${checkout.dirty.length > 5 ? ", ..." : ""}): uncommitted code is not signed code; commit or stash it`,
        );
    }
    if (checkout.head !== release.commit) {
        const changed = checkout.changedSince(release.commit);
        const code = changed?.filter((f) => !SIGNOFF_FILES.includes(f));
        if (code === undefined) {
            problems.push(
                `HEAD ${checkout.head} cannot be compared with ${release.tag}'s signed commit ${release.commit} (not in this clone); fetch it`,
            );
        } else if (code.length > 0) {
            // Stryker disable next-line StringLiteral: SIGNOFF_FILES holds one file, so the separator never appears
            const newer = SIGNOFF_FILES.join(", ");
            problems.push(
                `HEAD ${checkout.head} is not ${release.tag}'s signed commit ${release.commit}: ${code.length} file(s) differ (${code.slice(0, 5).join(", ")}${code.length > 5 ? ", ..." : ""}); check out ${release.tag} (only ${newer} may be newer)`,
            );
        }
    }
    return problems;
}

/** The head a previous deploy recorded, read from its stack outputs (`provenance.ledgerHead`). */
export function priorLedgerHead(outputs: unknown): string | undefined {
    const provenance = (outputs as { provenance?: { ledgerHead?: unknown } } | undefined)?.provenance;
    const head = provenance?.ledgerHead;
    return typeof head === "string" && /^[0-9a-f]{64}$/.test(head) && head !== GENESIS_HASH ? head : undefined;
}
