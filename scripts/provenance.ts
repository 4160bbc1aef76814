/**
 * `npm run provenance -- record ...` appends one role's sign-off of a release to the ledger (after checking the
 * ledger is intact and the role is one governance requires); `npm run provenance -- verify` checks the hash
 * chain and the required sign-offs and exits 1 naming every problem. See docs/provenance.md.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { releaseCutMetrics, releaseSignoffMetrics, writeMetricsFile } from "../verify/ciMetrics";
import { lastReleaseCuts } from "../rules";
import { ParsedFlags, UsageError, parseFlags, runMain, single } from "./cli";
import { GUARDRAILS_FILE, loadGuardrails } from "../core/guardrails";
import { displayPath, repoRoot } from "../core/validation";
import { GOVERNANCE_DIR, loadGovernance, requiredSignoffs } from "../governance";
import {
    LEDGER_FILE,
    LedgerVerification,
    RequiredRoles,
    appendEntry,
    appendToLedgerFile,
    ledgerTime,
    verifyLedgerFile,
} from "../provenance/ledger";

const USAGE = `usage:
  npm run provenance -- record --tag vX.Y.Z --environment ENV --role ROLE [--signer "Name <email>"] [--commit SHA] [--time ISO]
  npm run provenance -- verify [--tag vX.Y.Z --environment ENV] [--head HASH] [--json] [--metrics FILE]
common flags:
  --ledger FILE       the ledger (default provenance/ledger.jsonl)
  --governance DIR    governance data naming each release's required sign-offs (default governance/)
  --guardrails FILE   guardrails file (default guardrails/guardrails.yaml)
record:
  --signer            who signs (default: git config user.name <user.email>)
  --commit            the commit the tag names (default: the tag's commit if the tag exists in git, else HEAD)
  --time              sign-off time, YYYY-MM-DDTHH:MM:SSZ (default: now)
verify:
  --tag/--environment check only this release's required sign-offs (what a deploy checks; the chain is always checked whole)
  --head HASH         the hash the last entry must have (an anchor kept outside the repo); catches a cut-off tail
  --json              print the verification as JSON
  --metrics FILE      write maestro_release_signoffs per release (signed, missing) and
                      maestro_release_last_cut_timestamp_seconds per cadence target (the Release Manager's
                      last staging / prod sign-off) for CI to push (docs/metrics.md)`;

const COMMON = ["ledger", "governance", "guardrails"];

function git(args: string[]): string | undefined {
    try {
        return (
            execFileSync("git", args, {
                cwd: repoRoot,
                encoding: "utf8",
                stdio: ["ignore", "pipe", "ignore"],
            }).trim() || undefined
        );
    } catch {
        return undefined;
    }
}

function context(flags: ParsedFlags) {
    const ledger = path.resolve(single(flags, "ledger", USAGE) ?? LEDGER_FILE);
    const guardrails = loadGuardrails(path.resolve(single(flags, "guardrails", USAGE) ?? GUARDRAILS_FILE));
    const gov = loadGovernance(path.resolve(single(flags, "governance", USAGE) ?? GOVERNANCE_DIR));
    const requiredRoles: RequiredRoles = (tag, environment) => requiredSignoffs(gov, tag, environment);
    return { ledger, guardrails, requiredRoles };
}

function required(flags: ParsedFlags, name: string): string {
    const v = single(flags, name, USAGE);
    if (v === undefined) {
        throw new UsageError(`record needs --${name}`, USAGE);
    }
    return v;
}

function record(flags: ParsedFlags): number {
    const { ledger, guardrails, requiredRoles } = context(flags);
    const tag = required(flags, "tag");
    const environment = required(flags, "environment");
    const role = required(flags, "role");
    const tagCommit = git(["rev-parse", "--verify", "--quiet", `refs/tags/${tag}^{commit}`]);
    const commit = single(flags, "commit", USAGE) ?? tagCommit ?? git(["rev-parse", "HEAD"]) ?? "";
    if (tagCommit && commit !== tagCommit) {
        throw new UsageError(
            `--commit ${commit} is not the commit of tag ${tag} (${tagCommit}); a sign-off names the tagged commit`,
            USAGE,
        );
    }
    const gitSigner = [git(["config", "user.name"]), git(["config", "user.email"])];
    const signer =
        single(flags, "signer", USAGE) ?? (gitSigner[0] && gitSigner[1] ? `${gitSigner[0]} <${gitSigner[1]}>` : "");
    const time = single(flags, "time", USAGE) ?? ledgerTime(new Date());

    // Never extend a broken chain: whatever broke it would be buried under the new entry.
    const before = verifyLedgerFile(ledger, requiredRoles, { guardrails, complete: "none" });
    const missingFile =
        before.entries.length === 0 &&
        before.problems.length === 1 &&
        before.problems[0].includes("ledger file not found");
    if (!before.ok && !missingFile) {
        process.stderr.write(
            before.problems.map((p) => `${p}\n`).join("") +
                `provenance: ${displayPath(ledger)} is not intact; nothing recorded\n`,
        );
        return 1;
    }
    let entry;
    try {
        entry = appendEntry(
            before.entries,
            { tag, commit, environment, role, signer, time },
            { guardrails, requiredRoles },
        );
    } catch (err) {
        process.stderr.write(`${displayPath(ledger)}: ${(err as Error).message}\n`);
        return 1;
    }
    appendToLedgerFile(ledger, entry);
    const after = verifyLedgerFile(ledger, requiredRoles, { guardrails, complete: "none" });
    const status = after.releases.find((r) => r.tag === tag && r.environment === environment);
    process.stdout.write(
        `provenance: recorded seq ${entry.seq}: ${role} signs ${tag} (${commit.slice(0, 12)}) for ${environment}; hash ${entry.hash}\n` +
            (status && status.missing.length > 0
                ? `provenance: ${tag} in ${environment} still needs: ${status.missing.join(", ")}\n`
                : `provenance: ${tag} in ${environment} has every required sign-off\n`),
    );
    return 0;
}

function verify(flags: ParsedFlags): number {
    const { ledger, guardrails, requiredRoles } = context(flags);
    const tag = single(flags, "tag", USAGE);
    const environment = single(flags, "environment", USAGE);
    if ((tag === undefined) !== (environment === undefined)) {
        throw new UsageError(
            "give --tag and --environment together (one release), or neither (every release in the ledger)",
            USAGE,
        );
    }
    const result: LedgerVerification = verifyLedgerFile(ledger, requiredRoles, {
        guardrails,
        complete: tag && environment ? { tag, environment } : "all",
        head: single(flags, "head", USAGE),
    });
    const metrics = single(flags, "metrics", USAGE);
    if (metrics) {
        writeMetricsFile(metrics, [
            releaseSignoffMetrics(result.releases),
            releaseCutMetrics(lastReleaseCuts(result.entries, guardrails)),
        ]);
    }
    if (flags.booleans.has("json")) {
        process.stdout.write(
            JSON.stringify(
                { ok: result.ok, head: result.head, problems: result.problems, releases: result.releases },
                null,
                2,
            ) + "\n",
        );
    } else {
        for (const r of result.releases) {
            process.stdout.write(
                `${r.tag} ${r.environment} ${r.commit?.slice(0, 12) ?? "-"}: ${r.complete ? "complete" : `missing ${r.missing.join(", ") || "(no required roles known)"}`} (signed: ${r.signed.join(", ") || "nobody"})\n`,
            );
        }
        process.stderr.write(result.problems.map((p) => `${p}\n`).join(""));
        process.stdout.write(
            result.ok
                ? `provenance: ${displayPath(ledger)} intact, ${result.entries.length} entries, head ${result.head}\n`
                : `provenance: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${displayPath(ledger)}\n`,
        );
    }
    return result.ok ? 0 : 1;
}

async function main(): Promise<number> {
    const flags = parseFlags(
        process.argv.slice(2),
        {
            values: [...COMMON, "tag", "environment", "role", "signer", "commit", "time", "head", "metrics"],
            booleans: ["json", "help"],
            positionals: 1,
        },
        USAGE,
    );
    if (flags.booleans.has("help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const command = flags.positionals[0];
    const only: Record<string, readonly string[]> = {
        record: ["role", "signer", "commit", "time"],
        verify: ["head", "json", "metrics"],
    };
    if (command !== "record" && command !== "verify") {
        throw new UsageError(
            `${command === undefined ? "missing command" : `unknown command "${command}"`}; allowed: record, verify`,
            USAGE,
        );
    }
    const other = command === "record" ? "verify" : "record";
    const misplaced = only[other].find((f) => flags.values[f] !== undefined || flags.booleans.has(f));
    if (misplaced) {
        throw new UsageError(`--${misplaced} belongs to \`${other}\`, not \`${command}\``, USAGE);
    }
    return command === "record" ? record(flags) : verify(flags);
}

runMain(main);
