/**
 * The sign-off ledger: an append-only JSON Lines file in which every line is one role's sign-off of a release
 * (tag + commit) for an environment, chained to the line before it by hash. Editing, removing or reordering a
 * line breaks the chain; `verifyLedger` says where. Pure apart from the two file helpers at the end, so the
 * stack, the `provenance` script and the policy pack share one implementation.
 *
 * Hash: sha256 (hex) over the canonical JSON of the entry without its `hash` field (keys sorted, no whitespace).
 * The first entry's prevHash is GENESIS_HASH.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { sortKeys } from "../core/stableJson";
import { Guardrails, isReleaseTag, loadGuardrails } from "../core/guardrails";
import { displayPath, repoRoot } from "../core/validation";

/** The repository's ledger. */
export const LEDGER_FILE = path.join(repoRoot, "provenance", "ledger.jsonl");

/** prevHash of the first entry: there is nothing before it. */
export const GENESIS_HASH = "0".repeat(64);

/** predicateType of the in-toto statement each sign-off is uploaded as. */
export const SIGNOFF_PREDICATE_TYPE = "https://maestro.example/provenance/release-signoff/v1";
export const IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

/** One line of the ledger. */
export interface SignoffEntry {
    /** 1-based position in the ledger; makes a removed or reordered line name itself. */
    readonly seq: number;
    /** Release tag (the guardrails' cadence.tagPattern, vX.Y.Z). */
    readonly tag: string;
    /** The full git commit the tag names (40 lowercase hex). */
    readonly commit: string;
    /** Guardrail environment the release ships to. */
    readonly environment: string;
    /** Governance role signing off (raci.json), e.g. "Release Manager". */
    readonly role: string;
    /** Who signed, e.g. "Ana Diaz <ana@maestro.example>". */
    readonly signer: string;
    /** When, ISO 8601 UTC to the second: 2026-11-24T10:00:00Z. */
    readonly time: string;
    readonly prevHash: string;
    readonly hash: string;
}

/** What a person supplies to record a sign-off; the ledger adds seq, prevHash and hash. */
export type SignoffInput = Pick<SignoffEntry, "tag" | "commit" | "environment" | "role" | "signer" | "time">;

/** Roles whose sign-off a release needs in an environment (governance's requiredSignoffs, bound to its data). */
export type RequiredRoles = (tag: string, environment: string) => readonly string[];

export interface ReleaseRef {
    readonly tag: string;
    readonly environment: string;
}

export interface ReleaseStatus extends ReleaseRef {
    /** The commit the release's entries name (undefined when nobody signed yet). */
    readonly commit?: string;
    /** Roles that signed, in ledger order. */
    readonly signed: readonly string[];
    readonly required: readonly string[];
    readonly missing: readonly string[];
    readonly complete: boolean;
}

export interface VerifyOptions {
    readonly guardrails: Guardrails;
    readonly requiredRoles: RequiredRoles;
    /**
     * Which releases must hold every required sign-off: every release in the ledger ("all", the default), one
     * release (what a deploy checks; it must be in the ledger), or none (chain and fields only, e.g. before
     * recording). The chain is always checked whole.
     */
    readonly complete?: "all" | "none" | ReleaseRef;
    /**
     * The hash the last entry must have, from an anchor kept outside the repo (the newest locked object in the
     * provenance bucket). A hash chain alone cannot tell that its last lines were cut off; this can.
     */
    readonly head?: string;
}

export interface LedgerVerification {
    readonly ok: boolean;
    /** One line each: `file:line: message`. */
    readonly problems: readonly string[];
    readonly releases: readonly ReleaseStatus[];
    /** Entries that parsed (even when the chain is broken), in file order. */
    readonly entries: readonly SignoffEntry[];
    /** Hash of the last entry (GENESIS_HASH for an empty ledger). */
    readonly head: string;
}

const ENTRY_KEYS: readonly (keyof SignoffEntry)[] = [
    "seq",
    "tag",
    "commit",
    "environment",
    "role",
    "signer",
    "time",
    "prevHash",
    "hash",
];
const COMMIT = /^[0-9a-f]{40}$/;
const HASH = /^[0-9a-f]{64}$/;
const ISO_UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Canonical serialization: keys sorted at every level, no whitespace. */
export function canonicalJson(value: unknown): string {
    return JSON.stringify(sortKeys(value));
}

/** The hash an entry must carry: sha256 over everything but the hash itself. */
export function entryHash(entry: Omit<SignoffEntry, "hash">): string {
    const body: Record<string, unknown> = {};
    for (const k of ENTRY_KEYS) {
        if (k !== "hash") {
            body[k] = (entry as Record<string, unknown>)[k];
        }
    }
    return createHash("sha256").update(canonicalJson(body), "utf8").digest("hex");
}

/** The ledger line for an entry (canonical JSON, so a re-serialized ledger is byte-identical). */
export function serializeEntry(entry: SignoffEntry): string {
    return canonicalJson(entry);
}

/** Problems with the fields of a sign-off, each `field: message` naming what is allowed. */
export function inputProblems(input: Partial<SignoffInput>, guardrails: Guardrails): string[] {
    const problems: string[] = [];
    const text = (field: keyof SignoffInput): string | undefined => {
        const v = input[field];
        if (typeof v !== "string" || v.trim() === "") {
            problems.push(`${field}: missing; ${ALLOWED[field](guardrails)}`);
            return undefined;
        }
        return v;
    };
    const tag = text("tag");
    if (tag !== undefined && !isReleaseTag(guardrails, tag)) {
        problems.push(`tag: "${tag}" is not a release tag; ${ALLOWED.tag(guardrails)}`);
    }
    const commit = text("commit");
    if (commit !== undefined && !COMMIT.test(commit)) {
        problems.push(`commit: "${commit}" is not a full commit id; ${ALLOWED.commit(guardrails)}`);
    }
    const environment = text("environment");
    if (environment !== undefined && !guardrails.environments.includes(environment)) {
        problems.push(
            `environment: "${environment}" is not a guardrail environment; ${ALLOWED.environment(guardrails)}`,
        );
    }
    text("role");
    text("signer");
    const time = text("time");
    if (time !== undefined && !isIsoUtcSeconds(time)) {
        problems.push(`time: "${time}" is not a UTC time to the second; ${ALLOWED.time(guardrails)}`);
    }
    return problems;
}

const ALLOWED: Record<keyof SignoffInput, (g: Guardrails) => string> = {
    tag: (g) => `allowed: ${g.cadence.tagFormat} (pattern ${g.cadence.tagPattern})`,
    commit: () => "allowed: 40 lowercase hex digits (git rev-parse <tag>)",
    environment: (g) => `allowed: ${g.environments.join(", ")}`,
    role: () => "allowed: a governance role (governance/raci.json)",
    signer: () => 'allowed: a non-empty name, e.g. "Ana Diaz <ana@maestro.example>"',
    time: () => "allowed: YYYY-MM-DDTHH:MM:SSZ",
};

function isIsoUtcSeconds(s: string): boolean {
    return (
        ISO_UTC_SECONDS.test(s) && !Number.isNaN(Date.parse(s)) && new Date(s).toISOString().replace(".000Z", "Z") === s
    );
}

/** A time as the ledger writes it: ISO 8601 UTC, whole seconds. */
export function ledgerTime(d: Date): string {
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Append a sign-off: returns the new entry chained to the last one. Throws, listing every problem, when a field
 * is invalid, the role is not required for the release (when requiredRoles is given), the role already signed
 * the release, or the tag was signed before at another commit.
 */
export function appendEntry(
    ledger: readonly SignoffEntry[],
    input: SignoffInput,
    options: { readonly guardrails: Guardrails; readonly requiredRoles?: RequiredRoles },
): SignoffEntry {
    const problems = inputProblems(input, options.guardrails);
    if (problems.length === 0 && options.requiredRoles) {
        let required: readonly string[] | undefined;
        try {
            required = options.requiredRoles(input.tag, input.environment);
        } catch (err) {
            problems.push(`tag: ${(err as Error).message}`);
        }
        if (required && !required.includes(input.role)) {
            problems.push(
                `role: "${input.role}" does not sign off ${input.tag} in ${input.environment}; allowed: ${required.join(", ")}`,
            );
        }
    }
    const twin = ledger.find(
        (e) => e.tag === input.tag && e.environment === input.environment && e.role === input.role,
    );
    if (twin) {
        problems.push(
            `role: ${input.role} already signed ${input.tag} in ${input.environment} (seq ${twin.seq}, ${twin.time})`,
        );
    }
    const otherCommit = ledger.find((e) => e.tag === input.tag && e.commit !== input.commit);
    if (otherCommit) {
        problems.push(
            `commit: ${input.tag} was signed at ${otherCommit.commit} (seq ${otherCommit.seq}); a tag names one commit; allowed: ${otherCommit.commit}`,
        );
    }
    const last = ledger[ledger.length - 1];
    if (last && Date.parse(input.time) < Date.parse(last.time)) {
        problems.push(`time: ${input.time} is before the last entry's ${last.time}; allowed: ${last.time} or later`);
    }
    if (problems.length > 0) {
        throw new Error(`cannot record the sign-off:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    }
    const body = {
        seq: ledger.length + 1,
        tag: input.tag,
        commit: input.commit,
        environment: input.environment,
        role: input.role,
        signer: input.signer,
        time: input.time,
        prevHash: last ? last.hash : GENESIS_HASH,
    };
    return { ...body, hash: entryHash(body) };
}

interface ParsedLine {
    readonly line: number;
    readonly entry: SignoffEntry;
}

/** Parse the ledger text; lines that are not a well-formed entry become problems (with their line number). */
export function parseLedger(text: string, file: string): { lines: ParsedLine[]; problems: string[] } {
    const lines: ParsedLine[] = [];
    const problems: string[] = [];
    text.split("\n").forEach((raw, i) => {
        const line = i + 1;
        if (raw.trim() === "") {
            return;
        }
        let value: unknown;
        try {
            value = JSON.parse(raw);
        } catch (err) {
            problems.push(`${file}:${line}: not JSON (${(err as Error).message}); each line is one entry object`);
            return;
        }
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
            problems.push(`${file}:${line}: not an entry object; allowed keys: ${ENTRY_KEYS.join(", ")}`);
            return;
        }
        const obj = value as Record<string, unknown>;
        const shape: string[] = [];
        for (const k of Object.keys(obj)) {
            if (!(ENTRY_KEYS as readonly string[]).includes(k)) {
                shape.push(`unknown key "${k}"; allowed keys: ${ENTRY_KEYS.join(", ")}`);
            }
        }
        for (const k of ENTRY_KEYS) {
            const v = obj[k];
            if (k === "seq" ? !Number.isInteger(v) : typeof v !== "string") {
                shape.push(
                    `${k}: ${v === undefined ? "missing" : `${JSON.stringify(v)} has the wrong type`}; allowed: ${k === "seq" ? "an integer" : "a string"}`,
                );
            }
        }
        if (shape.length > 0) {
            problems.push(...shape.map((s) => `${file}:${line}: ${s}`));
            return;
        }
        lines.push({ line, entry: obj as unknown as SignoffEntry });
    });
    return { lines, problems };
}

/**
 * Verify a ledger: the hash chain (an edited, removed, inserted or reordered line is named), each entry's fields,
 * one commit per tag, one sign-off per role and release, time never going backwards, and the required sign-offs
 * of the releases `options.complete` selects.
 */
export function verifyLedger(text: string, file: string, options: VerifyOptions): LedgerVerification {
    const { lines, problems } = parseLedger(text, file);
    const g = options.guardrails;
    const at = (l: ParsedLine, message: string) => problems.push(`${file}:${l.line}: ${message}`);

    let prev: ParsedLine | undefined;
    const firstCommitOfTag = new Map<string, ParsedLine>();
    const firstSignoff = new Map<string, ParsedLine>();
    const releases = new Map<string, { ref: ReleaseRef; commit: string; signed: string[] }>();
    lines.forEach((l, index) => {
        const e = l.entry;
        if (e.seq !== index + 1) {
            at(
                l,
                `seq is ${e.seq}, expected ${index + 1}: an entry before it was removed or inserted, or entries were reordered`,
            );
        }
        const expectedPrev = prev ? prev.entry.hash : GENESIS_HASH;
        if (e.prevHash !== expectedPrev) {
            at(
                l,
                prev
                    ? `prevHash does not match the hash of the entry before it (line ${prev.line}, seq ${prev.entry.seq}): an entry was removed, inserted or reordered`
                    : `prevHash of the first entry must be ${GENESIS_HASH}: entries before it were removed`,
            );
        }
        if (!HASH.test(e.hash) || e.hash !== entryHash(e)) {
            at(l, `hash does not match the entry's content: the entry was edited after it was recorded`);
        }
        for (const p of inputProblems(e, g)) {
            at(l, p);
        }
        if (prev && Date.parse(e.time) < Date.parse(prev.entry.time)) {
            at(
                l,
                `time ${e.time} is before the previous entry's ${prev.entry.time}: entries were reordered or back-dated`,
            );
        }
        const tagCommit = firstCommitOfTag.get(e.tag);
        if (tagCommit && tagCommit.entry.commit !== e.commit) {
            at(
                l,
                `${e.tag} is signed at commit ${e.commit} but at ${tagCommit.entry.commit} on line ${tagCommit.line}; a tag names one commit`,
            );
        } else if (!tagCommit) {
            firstCommitOfTag.set(e.tag, l);
        }
        const signoffKey = `${e.tag}\u0000${e.environment}\u0000${e.role}`;
        const twin = firstSignoff.get(signoffKey);
        if (twin) {
            at(
                l,
                `${e.role} already signed ${e.tag} in ${e.environment} on line ${twin.line}; one sign-off per role and release`,
            );
        } else {
            firstSignoff.set(signoffKey, l);
        }
        const releaseKey = `${e.tag}\u0000${e.environment}`;
        const release = releases.get(releaseKey) ?? {
            ref: { tag: e.tag, environment: e.environment },
            commit: e.commit,
            signed: [],
        };
        if (!release.signed.includes(e.role)) {
            release.signed.push(e.role);
        }
        releases.set(releaseKey, release);
        prev = l;
    });

    const head = prev ? prev.entry.hash : GENESIS_HASH;
    if (options.head !== undefined && options.head !== head) {
        const known = lines.find((l) => l.entry.hash === options.head);
        problems.push(
            known
                ? `${file}: the anchored head ${options.head} is entry seq ${known.entry.seq} (line ${known.line}), not the last entry: entries were appended after the anchor was taken; re-anchor after checking them`
                : `${file}: the anchored head ${options.head} is not in the ledger: entries after it were removed or the chain was rewritten`,
        );
    }

    const complete = options.complete ?? "all";
    if (typeof complete === "object" && !releases.has(`${complete.tag}\u0000${complete.environment}`)) {
        releases.set(`${complete.tag}\u0000${complete.environment}`, { ref: complete, commit: "", signed: [] });
    }
    const statuses: ReleaseStatus[] = [];
    for (const r of releases.values()) {
        let required: readonly string[] = [];
        let requiredError: string | undefined;
        try {
            required = options.requiredRoles(r.ref.tag, r.ref.environment);
        } catch (err) {
            requiredError = (err as Error).message;
        }
        const missing = required.filter((role) => !r.signed.includes(role));
        const status: ReleaseStatus = {
            ...r.ref,
            ...(r.commit ? { commit: r.commit } : {}),
            signed: [...r.signed],
            required: [...required],
            missing,
            complete: requiredError === undefined && missing.length === 0,
        };
        statuses.push(status);
        const checked =
            complete === "all" ||
            (typeof complete === "object" && complete.tag === r.ref.tag && complete.environment === r.ref.environment);
        if (!checked) {
            continue;
        }
        if (requiredError !== undefined) {
            problems.push(
                `${file}: ${r.ref.tag} in ${r.ref.environment}: cannot tell which sign-offs it needs: ${requiredError}`,
            );
        } else if (missing.length > 0) {
            problems.push(
                `${file}: ${r.ref.tag} in ${r.ref.environment} is missing the sign-off of ${missing.join(", ")}` +
                    ` (required: ${required.join(", ")}; signed: ${r.signed.join(", ") || "nobody"}); record it with` +
                    ` \`npm run provenance -- record --tag ${r.ref.tag} --environment ${r.ref.environment} --role "<role>"\``,
            );
        }
    }
    return { ok: problems.length === 0, problems, releases: statuses, entries: lines.map((l) => l.entry), head };
}

/** The release's sign-off as an in-toto Statement v1: subject the tagged commit, predicate the ledger entry. */
export function inTotoStatement(entry: SignoffEntry): Record<string, unknown> {
    return {
        _type: IN_TOTO_STATEMENT_TYPE,
        subject: [{ name: entry.tag, digest: { gitCommit: entry.commit } }],
        predicateType: SIGNOFF_PREDICATE_TYPE,
        predicate: { ...entry },
    };
}

/** Turn a role into a key segment: "Release Manager" -> "release-manager". */
export function roleSlug(role: string): string {
    return role
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "");
}

/**
 * Object key of an entry in the provenance bucket: `signoffs/<environment>/<tag>/<commit>/<seq>-<role>.json`, seq
 * zero-padded so keys list in ledger order. `signoffs/<environment>/<tag>/` is the prefix governance's evidence
 * hooks name.
 */
export function signoffObjectKey(entry: SignoffEntry): string {
    // Keep SIGNOFF_KEY_LAYOUT below in step with this template.
    return `${signoffPrefix(entry.environment, entry.tag)}${entry.commit}/${String(entry.seq).padStart(6, "0")}-${roleSlug(entry.role)}.json`;
}

/** The key template above, as downstream readers see it (a stack output). */
export const SIGNOFF_KEY_LAYOUT = "signoffs/<environment>/<tag>/<commit>/<seq>-<role>.json";

export function signoffPrefix(environment: string, tag: string): string {
    return `signoffs/${environment}/${tag}/`;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** An evidence object to upload: a release's sign-off, locked until `retainUntil`. */
export interface SignoffObject {
    readonly entry: SignoffEntry;
    readonly key: string;
    /** Stable JSON of the in-toto statement (sorted keys, trailing newline). */
    readonly content: string;
    readonly lockMode: "GOVERNANCE" | "COMPLIANCE";
    /** Sign-off time + retention days: deterministic, so a re-deploy shows no diff. */
    readonly retainUntil: string;
}

/** The objects a stack uploads for its release: every entry of `release`, in ledger order. */
export function signoffObjects(
    entries: readonly SignoffEntry[],
    release: ReleaseRef,
    lock: { readonly objectLockMode: "GOVERNANCE" | "COMPLIANCE"; readonly retentionDays: number },
): SignoffObject[] {
    if (!Number.isInteger(lock.retentionDays) || lock.retentionDays < 1) {
        throw new Error(
            `provenance.retentionDays: ${lock.retentionDays} is not a whole number of days; allowed: an integer >= 1`,
        );
    }
    return entries
        .filter((e) => e.tag === release.tag && e.environment === release.environment)
        .map((entry) => ({
            entry,
            key: signoffObjectKey(entry),
            content: JSON.stringify(sortKeys(inTotoStatement(entry)), null, 2) + "\n",
            lockMode: lock.objectLockMode,
            retainUntil: ledgerTime(new Date(Date.parse(entry.time) + lock.retentionDays * DAY_MS)),
        }));
}

/** Read and verify a ledger file (what the policy pack and the stack call). A missing file is a problem. */
export function verifyLedgerFile(
    file: string,
    requiredRoles: RequiredRoles,
    options: Omit<VerifyOptions, "requiredRoles" | "guardrails"> & { readonly guardrails?: Guardrails } = {},
): LedgerVerification {
    const shown = displayPath(file);
    const guardrails = options.guardrails ?? loadGuardrails();
    if (!fs.existsSync(file)) {
        return {
            ok: false,
            problems: [
                `${shown}: ledger file not found; record the first sign-off with \`npm run provenance -- record\``,
            ],
            releases: [],
            entries: [],
            head: GENESIS_HASH,
        };
    }
    return verifyLedger(fs.readFileSync(file, "utf8"), shown, { ...options, guardrails, requiredRoles });
}

/** Append an entry to a ledger file (one line, newline-terminated). */
export function appendToLedgerFile(file: string, entry: SignoffEntry): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const separator = existing === "" || existing.endsWith("\n") ? "" : "\n";
    fs.appendFileSync(file, `${separator}${serializeEntry(entry)}\n`);
}
