/**
 * What git says about a checkout, read with the `git` command: the facts the ledger's verification and the deploy's
 * code binding need. Reading is separate from judging (provenance/ledger.ts, provenance/release.ts judge), so tests
 * hand the judges facts from a throwaway repository.
 */
import { execFile, execFileSync } from "child_process";
import * as path from "path";
import { GitFacts } from "./ledger";

/** The questions every stack's program asks of its checkout (openGitSnapshot asks them ahead). */
const INSIDE_WORK_TREE = ["rev-parse", "--is-inside-work-tree"];
const STATUS = ["status", "--porcelain=v2", "--branch", "--untracked-files=normal"];
const TAGS = [
    "for-each-ref",
    "--format=%(refname:strip=2)%09%(objecttype)%09%(objectname)%09%(*objecttype)%09%(*objectname)",
    "refs/tags",
];

/** Trim only line ends: porcelain status lines start with a meaningful space. */
const trimmed = (out: string) => out.replace(/\s+$/, "");

/** A question's key in a snapshot: its arguments. */
const questionKey = (args: readonly string[]) => args.join("\0");

/** The open snapshots (openGitSnapshot): git's answers about one checkout, by question. */
const snapshots = new Set<{ readonly dir: string; readonly answers: Map<string, string | undefined> }>();

function git(cwd: string, args: string[]): string | undefined {
    const dir = path.resolve(cwd);
    const key = questionKey(args);
    const open = [...snapshots].filter((s) => s.dir === dir);
    const known = open.find((s) => s.answers.has(key));
    if (known) {
        return known.answers.get(key);
    }
    let answer: string | undefined;
    try {
        answer = trimmed(execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
    } catch {
        answer = undefined;
    }
    for (const s of open) {
        s.answers.set(key, answer);
    }
    return answer;
}

/** An open snapshot of git's answers (openGitSnapshot). */
export interface GitSnapshot {
    /** Settles once the questions asked ahead are answered (it never rejects: a failed question is a no). */
    readonly ready: Promise<void>;
    /** Every later question asks git again. */
    close(): void;
}

/**
 * A snapshot of what git says about the checkout at `dir`, for a command that renders several stacks in one process
 * (synth): until it is closed, each question is asked of git once and every stack reads the same repository state.
 * The questions every stack's program asks are asked at once, in the background: a caller opens the snapshot before
 * its second of synchronous SDK loading, and awaits `ready` after it (each git process it spared the programs blocked
 * the main thread ~10 ms, more on a busy machine). With `askAhead: false` nothing is asked until a program asks (for
 * a caller that may run no program at all: a test file). Outside a snapshot, every call asks git.
 */
export function openGitSnapshot(dir: string, opts: { askAhead?: boolean } = {}): GitSnapshot {
    const snapshot = { dir: path.resolve(dir), answers: new Map<string, string | undefined>() };
    snapshots.add(snapshot);
    const close = () => void snapshots.delete(snapshot);
    if (opts.askAhead === false) {
        return { ready: Promise.resolve(), close };
    }
    const ask = (args: readonly string[]) =>
        new Promise<void>((resolve) =>
            execFile("git", args, { cwd: dir, encoding: "utf8" }, (err, stdout) => {
                const key = questionKey(args);
                // A program that asked meanwhile (it did not wait for `ready`) keeps the answer it was given.
                if (!snapshot.answers.has(key)) {
                    snapshot.answers.set(key, err ? undefined : trimmed(stdout));
                }
                resolve();
            }),
        );
    const ready = Promise.all([INSIDE_WORK_TREE, STATUS, TAGS].map(ask)).then(() => undefined);
    return { ready, close };
}

/** True when `dir` is inside a git work tree. */
export function isGitCheckout(dir: string): boolean {
    return git(dir, INSIDE_WORK_TREE) === "true";
}

/**
 * Commits git has said exist, by repository. A commit, once there, stays (nothing here rewrites history), so a yes is
 * asked of git once per process: a synth of every stack verifies the same ledger once per stack, a git process per line.
 * A no is asked again (a fetch may bring the commit).
 */
const existingCommits = new Map<string, Set<string>>();

/**
 * Every tag of the repository at `dir` and the commit it names, in one git process. for-each-ref peels an annotated tag
 * once; a tag of a tag (rare) is resolved as `refs/tags/<tag>^{commit}` on its own. A tag that names no commit (a tree,
 * a blob) is left out, as that would not resolve either.
 */
function tagCommits(dir: string): ReadonlyMap<string, string> {
    const out = git(dir, TAGS);
    const tags = new Map<string, string>();
    for (const line of (out ?? "").split("\n").filter((l) => l !== "")) {
        const [tag, type, object, peeledType, peeled] = line.split("\t");
        const commit =
            type === "commit"
                ? object
                : peeledType === "commit"
                  ? peeled
                  : peeledType === "tag"
                    ? git(dir, ["rev-parse", "--verify", "--quiet", `refs/tags/${tag}^{commit}`])
                    : undefined;
        if (commit) {
            tags.set(tag, commit);
        }
    }
    return tags;
}

/**
 * Commit and tag lookups in the repository at `dir` (undefined outside a git checkout). The tags are read once, at the
 * first lookup: the facts describe the repository as one verification sees it.
 */
export function gitFacts(dir: string): GitFacts | undefined {
    if (!isGitCheckout(dir)) {
        return undefined;
    }
    const existing = existingCommits.get(dir) ?? new Set<string>();
    existingCommits.set(dir, existing);
    let tags: ReadonlyMap<string, string> | undefined;
    return {
        commitExists: (commit) => {
            if (!existing.has(commit) && git(dir, ["cat-file", "-e", `${commit}^{commit}`]) !== undefined) {
                existing.add(commit);
            }
            return existing.has(commit);
        },
        tagCommit: (tag) => (tags ??= tagCommits(dir)).get(tag),
    };
}

/** The commit checked out at `dir` (HEAD), or undefined outside a git work tree or before its first commit. */
export function headCommit(dir: string): string | undefined {
    // One git process: "true" or "false" (a .git folder, a bare repository), then the commit.
    const [inside, head] = (git(dir, ["rev-parse", "--is-inside-work-tree", "--verify", "HEAD"]) ?? "").split("\n");
    return inside === "true" && head ? head : undefined;
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

/**
 * The paths of `git status --porcelain=v2` entries, as git prints them (quoted when they hold special characters): a
 * changed or unmerged tracked file, an untracked file, and a rename or copy as `old -> new` (as porcelain v1 prints it).
 * A line of any other shape, except the `#` headers, is kept whole: an entry this does not know still makes the tree
 * dirty, so the code binding fails closed.
 */
export function changedPaths(lines: readonly string[]): string[] {
    return lines.flatMap((l) => {
        if (l === "" || l.startsWith("# ")) {
            return [];
        }
        const ordinary = /^1 (?:\S+ ){7}(.*)$/.exec(l);
        const renamed = /^2 (?:\S+ ){8}([^\t]*)\t(.*)$/.exec(l);
        const unmerged = /^u (?:\S+ ){9}(.*)$/.exec(l);
        const untracked = /^\? (.*)$/.exec(l);
        return ordinary
            ? [ordinary[1]]
            : renamed
              ? [`${renamed[2]} -> ${renamed[1]}`]
              : unmerged
                ? [unmerged[1]]
                : untracked
                  ? [untracked[1]]
                  : [l];
    });
}

/**
 * HEAD, uncommitted changes and a diff helper for the checkout at `dir`: undefined outside a git work tree, and before
 * its first commit.
 */
export function checkoutState(dir: string): CheckoutState | undefined {
    // One git process for both: porcelain v2 names HEAD's commit in its branch header.
    const status = git(dir, STATUS);
    const lines = (status ?? "").split("\n");
    const head = lines.map((l) => /^# branch\.oid ([0-9a-f]{40,64})$/.exec(l)?.[1]).find((h) => h !== undefined);
    if (!head) {
        return undefined;
    }
    const changed = new Map<string, readonly string[] | undefined>();
    return {
        head,
        dirty: changedPaths(lines),
        // Each component that binds a release to the code asks of the same commit: one git diff per commit.
        changedSince: (commit) => {
            if (!changed.has(commit)) {
                const out = git(dir, ["diff", "--name-only", commit, "HEAD", "--"]);
                changed.set(commit, out === undefined ? undefined : out.split("\n").filter((l) => l !== ""));
            }
            return changed.get(commit);
        },
    };
}
