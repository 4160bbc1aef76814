/**
 * What git says about a checkout, read with the `git` command: the facts the ledger's verification and the deploy's
 * code binding need. Reading is separate from judging (provenance/ledger.ts, provenance/release.ts judge), so tests
 * hand the judges facts from a throwaway repository.
 */
import { execFileSync } from "child_process";
import { GitFacts } from "./ledger";

function git(cwd: string, args: string[]): string | undefined {
    try {
        // Trim only line ends: porcelain status lines start with a meaningful space.
        return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).replace(
            /\s+$/,
            "",
        );
    } catch {
        return undefined;
    }
}

/** True when `dir` is inside a git work tree. */
export function isGitCheckout(dir: string): boolean {
    return git(dir, ["rev-parse", "--is-inside-work-tree"]) === "true";
}

/** Commit and tag lookups in the repository at `dir` (undefined outside a git checkout). */
export function gitFacts(dir: string): GitFacts | undefined {
    if (!isGitCheckout(dir)) {
        return undefined;
    }
    return {
        commitExists: (commit) => git(dir, ["cat-file", "-e", `${commit}^{commit}`]) !== undefined,
        tagCommit: (tag) => git(dir, ["rev-parse", "--verify", "--quiet", `refs/tags/${tag}^{commit}`]) || undefined,
    };
}

/** The state of the working tree a deploy runs from. */
export interface CheckoutState {
    /** The commit checked out (HEAD). */
    readonly head: string;
    /** Tracked files with uncommitted changes (staged or not), and untracked files not ignored. */
    readonly dirty: readonly string[];
    /** Paths that differ between `commit` and HEAD. */
    readonly changedSince: (commit: string) => readonly string[] | undefined;
}

/** HEAD, uncommitted changes and a diff helper for the checkout at `dir` (undefined outside a git checkout). */
export function checkoutState(dir: string): CheckoutState | undefined {
    const head = isGitCheckout(dir) ? git(dir, ["rev-parse", "HEAD"]) : undefined;
    if (!head) {
        return undefined;
    }
    const status = git(dir, ["status", "--porcelain=v1", "--untracked-files=normal"]) ?? "";
    return {
        head,
        dirty: status
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => l.slice(3)),
        changedSince: (commit) => {
            const out = git(dir, ["diff", "--name-only", commit, "HEAD", "--"]);
            return out === undefined ? undefined : out.split("\n").filter((l) => l !== "");
        },
    };
}
