/**
 * `npm run provenance -- keygen ...` makes an Ed25519 key pair for a role holder (private half to a file of theirs,
 * public half listed in governance/signers.json); `record ...` signs one role's sign-off of a release with the
 * holder's private key and appends it to the ledger (after checking the whole ledger and that the new entry would
 * verify); `verify` checks signatures, the chain, the roles per governance and the floor, times, and git, and exits 1
 * naming every problem. See docs/provenance.md.
 */
import "../offline/useCodeCache";
import { generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { releaseCutMetrics, releaseSignoffMetrics, writeMetricsFile } from "../verify/ciMetrics";
import { lastReleaseCuts } from "../rules";
import { ParsedFlags, UsageError, parseFlags, runMain, single } from "./cli";
import { GUARDRAILS_FILE, loadGuardrails } from "../core/guardrails";
import { displayPath, repoRoot } from "../core/validation";
import { GOVERNANCE_DIR, loadGovernance, milestoneFor, requiredSignoffs } from "../governance";
import { keyId, privateKeyFromText } from "../provenance/dsse";
import { gitFacts, headCommit } from "../provenance/git";
import {
    LEDGER_FILE,
    LedgerVerification,
    RequiredRoles,
    appendToLedgerFile,
    ledgerTime,
    signSignoff,
    verifyLedgerFile,
} from "../provenance/ledger";
import { SIGNERS_FILE, loadSigners, parseSigners } from "../provenance/signers";

const USAGE = `usage:
  npm run provenance -- keygen --out FILE --name NAME --email EMAIL --role ROLE [--role ROLE ...]
  npm run provenance -- record --tag vX.Y.Z --environment ENV --role ROLE --key FILE [--commit SHA] [--time ISO] [--checked ID,ID]
  npm run provenance -- verify [--tag vX.Y.Z --environment ENV] [--head HASH] [--json] [--metrics FILE]
common flags:
  --ledger FILE       the ledger (default provenance/ledger.jsonl)
  --signers FILE      who may sign: public keys and roles (default governance/signers.json)
  --governance DIR    governance data naming each release's required sign-offs (default governance/)
  --guardrails FILE   guardrails file, with the sign-off floor (default guardrails/guardrails.yaml)
keygen:
  --out FILE          where the private key goes (PKCS#8 PEM, mode 0600; never commit it); FILE.pub gets the public key
  --name/--email      the holder, as signers.json lists them
  --role              a governance role the holder signs for (repeat for several)
  The public key is added to the signers file; commit that change for review.
record:
  --key FILE          your Ed25519 private key: PKCS#8 PEM (openssl genpkey -algorithm ed25519) or OpenSSH (ssh-keygen -t ed25519)
  --commit            the commit the tag names (default: the tag's commit if the tag exists in git, else HEAD)
  --time              sign-off time, YYYY-MM-DDTHH:MM:SSZ (default: now; never in the future)
  --checked           backlog item ids you checked (default: every item of a milestone shipping the tag)
verify:
  --tag/--environment check only this release's required sign-offs (what a deploy checks; everything else is always checked whole)
  --head HASH         the hash the last entry must have (an anchor kept outside the repo, e.g. a deploy's ledgerHead)
  --json              print the verification as JSON
  --metrics FILE      write maestro_release_signoffs per release (signed, missing) and
                      maestro_release_last_cut_timestamp_seconds per cadence target (the Release Manager's
                      last staging / prod sign-off) for CI to push (docs/metrics.md)`;

const COMMON = ["ledger", "signers", "governance", "guardrails"];

function context(flags: ParsedFlags) {
    const ledger = path.resolve(single(flags, "ledger", USAGE) ?? LEDGER_FILE);
    const signersFile = path.resolve(single(flags, "signers", USAGE) ?? SIGNERS_FILE);
    const guardrails = loadGuardrails(path.resolve(single(flags, "guardrails", USAGE) ?? GUARDRAILS_FILE));
    const gov = loadGovernance(path.resolve(single(flags, "governance", USAGE) ?? GOVERNANCE_DIR));
    const roles = gov.roles.map((r) => r.name);
    const requiredRoles: RequiredRoles = (tag, environment) => requiredSignoffs(gov, tag, environment);
    const milestoneOf = (tag: string, environment: string) => milestoneFor(gov, tag, environment).id;
    return { ledger, signersFile, guardrails, gov, roles, requiredRoles, milestoneOf, git: gitFacts(repoRoot) };
}

function required(flags: ParsedFlags, command: string, name: string): string {
    const v = single(flags, name, USAGE);
    if (v === undefined) {
        throw new UsageError(`${command} needs --${name}`, USAGE);
    }
    return v;
}

/** The backlog items a release's sign-off attests by default: every item of a milestone shipping that tag. */
function releaseItems(gov: ReturnType<typeof loadGovernance>, tag: string): string[] {
    const milestones = new Set(gov.milestones.filter((m) => m.tag === tag).map((m) => m.id));
    return gov.items.filter((i) => milestones.has(i.milestone)).map((i) => i.id);
}

function keygen(flags: ParsedFlags): number {
    const { signersFile, roles } = context(flags);
    const out = path.resolve(required(flags, "keygen", "out"));
    const name = required(flags, "keygen", "name");
    const email = required(flags, "keygen", "email");
    const holderRoles = flags.values.role ?? [];
    if (holderRoles.length === 0) {
        throw new UsageError("keygen needs at least one --role", USAGE);
    }
    if (fs.existsSync(out)) {
        throw new UsageError(`${out} exists; keygen never overwrites a key`, USAGE);
    }
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    const doc = JSON.parse(fs.readFileSync(signersFile, "utf8")) as { signers: unknown[] };
    doc.signers.push({ name, email, roles: holderRoles, publicKey: publicPem });
    // Validate the file as it would be before touching anything: a bad role or a second entry for the email stops here.
    parseSigners(doc, displayPath(signersFile), roles);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, privateKey.export({ type: "pkcs8", format: "pem" }).toString(), { mode: 0o600 });
    fs.writeFileSync(`${out}.pub`, publicPem);
    fs.writeFileSync(signersFile, JSON.stringify(doc, null, 2) + "\n");
    process.stdout.write(
        `provenance: private key ${displayPath(out)} (keep it; never commit it), public key ${displayPath(out)}.pub\n` +
            `provenance: added ${name} <${email}> (${holderRoles.join(", ")}) with key ${keyId(publicKey)} to ${displayPath(signersFile)}\n`,
    );
    return 0;
}

function record(flags: ParsedFlags): number {
    const ctx = context(flags);
    const tag = required(flags, "record", "tag");
    const environment = required(flags, "record", "environment");
    const role = required(flags, "record", "role");
    const keyFile = required(flags, "record", "key");
    let privateKey;
    try {
        privateKey = privateKeyFromText(fs.readFileSync(path.resolve(keyFile), "utf8"));
    } catch (err) {
        throw new UsageError(`--key ${keyFile}: ${(err as Error).message}`, USAGE);
    }
    const commit = single(flags, "commit", USAGE) ?? gitFacts(repoRoot)?.tagCommit(tag) ?? headCommit(repoRoot) ?? "";
    const time = single(flags, "time", USAGE) ?? ledgerTime(new Date());
    let milestone: string;
    try {
        milestone = ctx.milestoneOf(tag, environment);
    } catch (err) {
        process.stderr.write(`provenance: ${(err as Error).message}\n`);
        return 1;
    }
    const checkedFlag = single(flags, "checked", USAGE);
    const checked = checkedFlag
        ? checkedFlag
              .split(",")
              .map((s) => s.trim())
              .filter((s) => s !== "")
        : releaseItems(ctx.gov, tag);
    const signers = loadSigners(ctx.signersFile, ctx.roles);
    const text = fs.existsSync(ctx.ledger) ? fs.readFileSync(ctx.ledger, "utf8") : "";
    let entry;
    try {
        entry = signSignoff(
            text,
            { tag, commit, environment, role, milestone, time, checked },
            privateKey,
            {
                guardrails: ctx.guardrails,
                requiredRoles: ctx.requiredRoles,
                milestoneOf: ctx.milestoneOf,
                signers,
                ...(ctx.git ? { git: ctx.git } : {}),
            },
            displayPath(ctx.ledger),
        );
    } catch (err) {
        process.stderr.write(`${displayPath(ctx.ledger)}: ${(err as Error).message}\n`);
        return 1;
    }
    appendToLedgerFile(ctx.ledger, entry);
    const after = verifyLedgerFile(ctx.ledger, ctx.requiredRoles, {
        guardrails: ctx.guardrails,
        signers,
        complete: "none",
    });
    const status = after.releases.find((r) => r.tag === tag && r.environment === environment);
    process.stdout.write(
        `provenance: recorded seq ${entry.seq}: ${entry.signer} signs ${tag} (${commit.slice(0, 12)}) for ${environment} as ${role}; hash ${entry.hash}\n` +
            (status && status.missing.length > 0
                ? `provenance: ${tag} in ${environment} still needs: ${status.missing.join(", ")}\n`
                : `provenance: ${tag} in ${environment} has every required sign-off\n`),
    );
    return 0;
}

function verify(flags: ParsedFlags): number {
    const ctx = context(flags);
    const tag = single(flags, "tag", USAGE);
    const environment = single(flags, "environment", USAGE);
    if ((tag === undefined) !== (environment === undefined)) {
        throw new UsageError(
            "give --tag and --environment together (one release), or neither (every release in the ledger)",
            USAGE,
        );
    }
    const head = single(flags, "head", USAGE);
    const result: LedgerVerification = verifyLedgerFile(ctx.ledger, ctx.requiredRoles, {
        guardrails: ctx.guardrails,
        signers: loadSigners(ctx.signersFile, ctx.roles),
        milestoneOf: ctx.milestoneOf,
        complete: tag && environment ? { tag, environment } : "all",
        ...(head !== undefined ? { head } : {}),
        ...(ctx.git ? { git: ctx.git } : {}),
    });
    const metrics = single(flags, "metrics", USAGE);
    if (metrics) {
        writeMetricsFile(metrics, [
            releaseSignoffMetrics(result.releases),
            // Only a ledger that verifies moves the cadence metric: an unverified entry is no cut.
            releaseCutMetrics(lastReleaseCuts(result.ok ? result.entries : [], ctx.guardrails)),
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
                ? `provenance: ${displayPath(ctx.ledger)} intact, ${result.entries.length} signed entries, head ${result.head}${ctx.git ? "" : " (not a git checkout: commits and tags not checked)"}\n`
                : `provenance: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${displayPath(ctx.ledger)}\n`,
        );
    }
    return result.ok ? 0 : 1;
}

const ONLY: Record<string, readonly string[]> = {
    keygen: ["out", "name", "email"],
    record: ["key", "commit", "time", "checked"],
    verify: ["head", "json", "metrics"],
};

function main(): number {
    const flags = parseFlags(
        process.argv.slice(2),
        {
            values: [
                ...COMMON,
                "tag",
                "environment",
                "role",
                "key",
                "commit",
                "time",
                "checked",
                "head",
                "metrics",
                "out",
                "name",
                "email",
            ],
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
    if (command !== "keygen" && command !== "record" && command !== "verify") {
        throw new UsageError(
            `${command === undefined ? "missing command" : `unknown command "${command}"`}; allowed: keygen, record, verify`,
            USAGE,
        );
    }
    for (const [other, names] of Object.entries(ONLY)) {
        const misplaced =
            other === command ? undefined : names.find((f) => flags.values[f] !== undefined || flags.booleans.has(f));
        if (misplaced) {
            throw new UsageError(`--${misplaced} belongs to \`${other}\`, not \`${command}\``, USAGE);
        }
    }
    if (command === "verify" && (flags.values.role !== undefined || flags.values.signer !== undefined)) {
        throw new UsageError("--role belongs to `record` and `keygen`, not `verify`", USAGE);
    }
    return command === "keygen" ? keygen(flags) : command === "record" ? record(flags) : verify(flags);
}

runMain(main);
