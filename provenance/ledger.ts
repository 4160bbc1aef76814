/**
 * The sign-off ledger: an append-only JSON Lines file in which every line is one role's signed sign-off of a release
 * (tag + commit) for an environment: an in-toto Statement v1 in a DSSE envelope, signed with the Ed25519 key
 * governance/signers.json lists for that person and role. Each statement names the digest of the envelope before it
 * (prevHash) and its position (seq), so the chain itself is signed: rewriting, reordering or cutting it needs every
 * role holder's private key, and the deploy's anchor (the head its previous deploy recorded) catches a cut tail.
 *
 * `verifyLedger` is a pure function over data (ledger text, signers, governance requirements, optional git facts,
 * the clock), so the stack, the `provenance` script and the policy pack share it. File helpers are at the end.
 *
 * Entry hash: sha256 (hex) of the ledger line, the envelope's canonical JSON (payload, type and signature), so a
 * re-signed copy of a statement is a different entry. The first entry's prevHash is GENESIS_HASH.
 */
import { KeyObject, createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { sortKeys } from "../core/stableJson";
import { Guardrails, isReleaseTag, loadGuardrails, signoffFloor } from "../core/guardrails";
import { displayPath, repoRoot } from "../core/validation";
import { DsseEnvelope, IN_TOTO_PAYLOAD_TYPE, envelopePayload, keyId, signEnvelope, verifySignature } from "./dsse";
import { Signer, Signers, loadSigners } from "./signers";

/** The repository's ledger. */
export const LEDGER_FILE = path.join(repoRoot, "provenance", "ledger.jsonl");

/** prevHash of the first entry: there is nothing before it. */
export const GENESIS_HASH = "0".repeat(64);

/** predicateType of a release sign-off statement (v2: signed, chained inside the statement). */
export const SIGNOFF_PREDICATE_TYPE = "https://maestro.example/provenance/release-signoff/v2";
export const IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export { IN_TOTO_PAYLOAD_TYPE };

/** The predicate of a sign-off statement: who signs what, where, when, after which checks, and its chain link. */
export interface SignoffPredicate {
    /** 1-based position in the ledger; makes a removed or reordered line name itself. */
    readonly seq: number;
    /** Hash of the entry before (GENESIS_HASH for the first). */
    readonly prevHash: string;
    /** Guardrail environment the release ships to. */
    readonly environment: string;
    /** Governance role signing off (raci.json), e.g. "Release Manager". */
    readonly role: string;
    /** The governance milestone this sign-off clears (milestones.json id). */
    readonly milestone: string;
    /** `Name <email>` of the key's holder in signers.json. */
    readonly signer: string;
    /** When, ISO 8601 UTC to the second: 2026-11-24T10:00:00Z. */
    readonly time: string;
    /** What the signer checked: backlog item ids whose verification they attest (backlog.json). */
    readonly checked: readonly string[];
}

/** One verified-or-not line of the ledger, with the fields of its statement. */
export interface SignoffEntry extends SignoffPredicate {
    /** Release tag (subject name; the guardrails' cadence.tagPattern, vX.Y.Z). */
    readonly tag: string;
    /** The full git commit the tag names (subject digest gitCommit, 40 lowercase hex). */
    readonly commit: string;
    /** sha256 of the envelope's canonical JSON (the ledger line): the next entry's prevHash, the object key's digest. */
    readonly hash: string;
    /** keyid of the envelope's signature. */
    readonly keyid: string;
    readonly envelope: DsseEnvelope;
}

/** What a person supplies to sign a sign-off; the ledger adds seq, prevHash and the signer from the key. */
export interface SignoffInput {
    readonly tag: string;
    readonly commit: string;
    readonly environment: string;
    readonly role: string;
    readonly milestone: string;
    readonly time: string;
    readonly checked: readonly string[];
}

/** Roles whose sign-off a release needs in an environment (governance's requiredSignoffs, bound to its data). */
export type RequiredRoles = (tag: string, environment: string) => readonly string[];

/** What git says about the checkout the ledger is verified in. */
export interface GitFacts {
    /** True when the commit exists in the repository. */
    readonly commitExists: (commit: string) => boolean;
    /** The commit a tag names, undefined when the tag does not exist. */
    readonly tagCommit: (tag: string) => string | undefined;
}

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
    /** Who may sign (governance/signers.json). */
    readonly signers: Signers;
    /**
     * Which releases must hold every required sign-off: every release in the ledger ("all", the default), one
     * release (what a deploy checks; it must be in the ledger), or none (chain and entries only, e.g. before
     * recording). The chain, the signatures and every entry are always checked whole.
     */
    readonly complete?: "all" | "none" | ReleaseRef;
    /** The hash the last entry must have (`verify --head`): an anchor kept outside the repository. */
    readonly head?: string;
    /**
     * A hash the ledger must contain: the head a previous deploy recorded. Entries after it are new sign-offs; a
     * ledger without it was cut or rewritten. `source` says where the anchor came from, for messages.
     */
    readonly extends?: { readonly head: string; readonly source: string };
    /** The clock sign-off times are checked against (default: now). */
    readonly now?: Date;
    /** Facts from the git checkout; without them commits and tags are not checked against git. */
    readonly git?: GitFacts;
    /** The milestone that ships a tag to an environment (governance); when given, each statement must name it. */
    readonly milestoneOf?: (tag: string, environment: string) => string;
}

export interface LedgerVerification {
    readonly ok: boolean;
    /** One line each: `file:line: seq N (role, tag environment): message`. */
    readonly problems: readonly string[];
    readonly releases: readonly ReleaseStatus[];
    /** Entries that parsed (even when the chain is broken or a signature fails), in file order. */
    readonly entries: readonly SignoffEntry[];
    /** Hash of the last entry (GENESIS_HASH for an empty ledger). */
    readonly head: string;
}

const COMMIT = /^[0-9a-f]{40}$/;
const HASH = /^[0-9a-f]{64}$/;
const ISO_UTC_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const ENVELOPE_KEYS = ["payload", "payloadType", "signatures"];
const STATEMENT_KEYS = ["_type", "predicate", "predicateType", "subject"];
const PREDICATE_KEYS = ["checked", "environment", "milestone", "prevHash", "role", "seq", "signer", "time"];

/** Canonical serialization: keys sorted at every level, no whitespace. */
export function canonicalJson(value: unknown): string {
    return JSON.stringify(sortKeys(value));
}

/** The in-toto Statement v1 of a sign-off: subject the tag at its commit, predicate the sign-off. */
export function signoffStatement(tag: string, commit: string, predicate: SignoffPredicate): Record<string, unknown> {
    return {
        _type: IN_TOTO_STATEMENT_TYPE,
        subject: [{ name: tag, digest: { gitCommit: commit } }],
        predicateType: SIGNOFF_PREDICATE_TYPE,
        predicate: { ...predicate, checked: [...predicate.checked] },
    };
}

/** The ledger line of an entry: its envelope, canonical JSON. */
export function serializeEntry(entry: Pick<SignoffEntry, "envelope">): string {
    return canonicalJson(entry.envelope);
}

/** An entry's hash: sha256 (hex) of its ledger line. Covers the signature, so a re-signed statement differs. */
export function envelopeHash(envelope: DsseEnvelope): string {
    return createHash("sha256").update(canonicalJson(envelope), "utf8").digest("hex");
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
    text("milestone");
    const time = text("time");
    if (time !== undefined && !isIsoUtcSeconds(time)) {
        problems.push(`time: "${time}" is not a UTC time to the second; ${ALLOWED.time(guardrails)}`);
    }
    const checked = input.checked;
    if (!Array.isArray(checked) || checked.some((c) => typeof c !== "string" || c.trim() === "")) {
        problems.push(`checked: ${JSON.stringify(checked)}; ${ALLOWED.checked(guardrails)}`);
    }
    return problems;
}

const ALLOWED: Record<keyof SignoffInput, (g: Guardrails) => string> = {
    tag: (g) => `allowed: ${g.cadence.tagFormat} (pattern ${g.cadence.tagPattern})`,
    commit: () => "allowed: 40 lowercase hex digits (git rev-parse <tag>)",
    environment: (g) => `allowed: ${g.environments.join(", ")}`,
    role: () => "allowed: a governance role (governance/raci.json)",
    milestone: () => "allowed: the governance milestone shipping the tag there (governance/milestones.json)",
    time: () => "allowed: YYYY-MM-DDTHH:MM:SSZ",
    checked: () => "allowed: a list of backlog item ids (governance/backlog.json)",
};

function isIsoUtcSeconds(s: string): boolean {
    return (
        ISO_UTC_SECONDS.test(s) && !Number.isNaN(Date.parse(s)) && new Date(s).toISOString().replace(".000Z", "Z") === s
    );
}

/** A time as the ledger writes it: ISO 8601 UTC, whole seconds. */
export function ledgerTime(d: Date): string {
    // Stryker disable next-line Regex: toISOString always ends in ".sssZ" and holds no other "Z", so the unanchored /\.\d{3}Z/ matches the same text
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The roles a release needs: governance's milestone roles plus the guardrails' floor for the environment. */
export function requiredWithFloor(
    guardrails: Guardrails,
    requiredRoles: RequiredRoles,
    tag: string,
    environment: string,
): string[] {
    const roles = [...requiredRoles(tag, environment)];
    for (const role of signoffFloor(guardrails, environment)) {
        if (!roles.includes(role)) {
            roles.push(role);
        }
    }
    return roles;
}

/**
 * Sign a sign-off and chain it to the ledger: returns the new entry (its envelope is the line to append). Throws,
 * listing every problem, when the new line would not verify on top of `ledgerText`: a key signers.json does not
 * list for the role, a role the release does not need or already signed, a person signing a second role of the
 * release, a tag at another commit or a moved tag, a commit git does not have, a time in the future or before the
 * last entry, an environment skipped. The existing ledger must verify too (never extend a broken chain).
 */
export function signSignoff(
    ledgerText: string,
    input: SignoffInput,
    privateKey: KeyObject,
    options: Omit<VerifyOptions, "complete" | "head" | "extends">,
    file = "ledger.jsonl",
): SignoffEntry {
    const fieldProblems = inputProblems(input, options.guardrails);
    if (fieldProblems.length > 0) {
        throw new Error(`cannot record the sign-off:\n${fieldProblems.map((p) => `  ${p}`).join("\n")}`);
    }
    const before = verifyLedger(ledgerText, file, { ...options, complete: "none" });
    if (!before.ok) {
        throw new Error(`${file} is not intact; nothing recorded:\n${before.problems.map((p) => `  ${p}`).join("\n")}`);
    }
    const id = keyId(privateKey);
    const signer = options.signers.byKeyId.get(id);
    if (!signer) {
        throw new Error(
            `cannot record the sign-off:\n  key: ${id} is not in ${options.signers.file}; allowed: a key listed there for "${input.role}" (${
                options.signers.signers
                    .filter((s) => s.roles.includes(input.role))
                    .map((s) => s.identity)
                    .join(", ") || "nobody holds it"
            })`,
        );
    }
    const last = before.entries[before.entries.length - 1];
    const predicate: SignoffPredicate = {
        seq: before.entries.length + 1,
        prevHash: last ? last.hash : GENESIS_HASH,
        environment: input.environment,
        role: input.role,
        milestone: input.milestone,
        signer: signer.identity,
        time: input.time,
        checked: [...input.checked],
    };
    const payload = Buffer.from(canonicalJson(signoffStatement(input.tag, input.commit, predicate)), "utf8");
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, privateKey);
    const separator = ledgerText === "" || ledgerText.endsWith("\n") ? "" : "\n";
    const after = verifyLedger(`${ledgerText}${separator}${canonicalJson(envelope)}\n`, file, {
        ...options,
        complete: "none",
    });
    // Stryker disable next-line MethodExpression: before.ok holds, so before.problems is empty and the filter keeps every problem
    const newProblems = after.problems.filter((p) => !before.problems.includes(p));
    if (newProblems.length > 0) {
        throw new Error(`cannot record the sign-off:\n${newProblems.map((p) => `  ${p}`).join("\n")}`);
    }
    return after.entries[after.entries.length - 1];
}

interface ParsedLine {
    readonly line: number;
    readonly entry: SignoffEntry;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Exactly these keys, or a message naming the unexpected or missing one. */
function keyProblem(obj: Record<string, unknown>, keys: readonly string[], what: string): string | undefined {
    const extra = Object.keys(obj).find((k) => !keys.includes(k));
    if (extra !== undefined) {
        return `${what} has unknown key "${extra}"; allowed keys: ${keys.join(", ")}`;
    }
    const missing = keys.find((k) => !(k in obj));
    return missing === undefined ? undefined : `${what} is missing "${missing}"; allowed keys: ${keys.join(", ")}`;
}

/** One ledger line (a DSSE envelope) as an entry, or what is wrong with it; signatures are not checked here. */
export function parseLine(raw: string): SignoffEntry | string {
    let value: unknown;
    try {
        value = JSON.parse(raw);
    } catch (err) {
        return `not JSON (${(err as Error).message}); each line is one DSSE envelope`;
    }
    if (!isObject(value)) {
        return `not a DSSE envelope object; allowed keys: ${ENVELOPE_KEYS.join(", ")}`;
    }
    const shape = keyProblem(value, ENVELOPE_KEYS, "the envelope");
    if (shape) {
        return shape;
    }
    if (value.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
        return `payloadType ${JSON.stringify(value.payloadType)}; allowed: ${IN_TOTO_PAYLOAD_TYPE}`;
    }
    const sigs = value.signatures;
    if (
        !Array.isArray(sigs) ||
        sigs.length !== 1 ||
        !isObject(sigs[0]) ||
        // Stryker disable next-line StringLiteral: only whether there is a key problem counts here; its message (which names `what`) is dropped
        keyProblem(sigs[0], ["keyid", "sig"], "the signature") !== undefined ||
        typeof sigs[0].keyid !== "string" ||
        typeof sigs[0].sig !== "string"
    ) {
        return "signatures must hold exactly one {keyid, sig}: a sign-off is one person's";
    }
    if (typeof value.payload !== "string") {
        return "payload is not a string; allowed: base64 of the in-toto statement";
    }
    const envelope = value as unknown as DsseEnvelope;
    let statement: unknown;
    try {
        statement = JSON.parse(envelopePayload(envelope).toString("utf8"));
    } catch (err) {
        return `payload is not base64 of a JSON statement (${(err as Error).message})`;
    }
    if (!isObject(statement)) {
        return "payload is not an in-toto statement object";
    }
    const stShape = keyProblem(statement, STATEMENT_KEYS, "the statement");
    if (stShape) {
        return stShape;
    }
    if (statement._type !== IN_TOTO_STATEMENT_TYPE || statement.predicateType !== SIGNOFF_PREDICATE_TYPE) {
        return `the statement is not a release sign-off; allowed: _type ${IN_TOTO_STATEMENT_TYPE}, predicateType ${SIGNOFF_PREDICATE_TYPE}`;
    }
    const subject = statement.subject;
    if (
        !Array.isArray(subject) ||
        subject.length !== 1 ||
        !isObject(subject[0]) ||
        typeof subject[0].name !== "string" ||
        !isObject(subject[0].digest) ||
        // Stryker disable next-line StringLiteral: only whether there is a key problem counts here; its message (which names `what`) is dropped
        keyProblem(subject[0].digest, ["gitCommit"], "the subject digest") !== undefined ||
        typeof subject[0].digest.gitCommit !== "string"
    ) {
        return "the statement's subject must be exactly one {name: <tag>, digest: {gitCommit: <commit>}}";
    }
    const p = statement.predicate;
    if (!isObject(p)) {
        return "the statement's predicate is not an object";
    }
    const pShape = keyProblem(p, PREDICATE_KEYS, "the predicate");
    if (pShape) {
        return pShape;
    }
    for (const k of PREDICATE_KEYS) {
        const v = p[k];
        const ok = k === "seq" ? Number.isInteger(v) : k === "checked" ? Array.isArray(v) : typeof v === "string";
        if (!ok) {
            return `predicate.${k}: ${JSON.stringify(v)} has the wrong type; allowed: ${k === "seq" ? "an integer" : k === "checked" ? "a list of strings" : "a string"}`;
        }
    }
    return {
        ...(p as unknown as SignoffPredicate),
        checked: [...(p.checked as string[])],
        tag: subject[0].name,
        commit: subject[0].digest.gitCommit,
        hash: envelopeHash({
            payload: envelope.payload,
            payloadType: envelope.payloadType,
            signatures: [{ keyid: envelope.signatures[0].keyid, sig: envelope.signatures[0].sig }],
        }),
        keyid: (sigs[0] as { keyid: string }).keyid,
        envelope: {
            payload: envelope.payload,
            payloadType: envelope.payloadType,
            signatures: [{ keyid: envelope.signatures[0].keyid, sig: envelope.signatures[0].sig }],
        },
    };
}

/** Parse the ledger text; lines that are not a sign-off envelope become problems (with their line number). */
export function parseLedger(text: string, file: string): { lines: ParsedLine[]; problems: string[] } {
    const lines: ParsedLine[] = [];
    const problems: string[] = [];
    text.split("\n").forEach((raw, i) => {
        if (raw.trim() === "") {
            return;
        }
        const parsed = parseLine(raw);
        if (typeof parsed === "string") {
            problems.push(`${file}:${i + 1}: ${parsed}`);
        } else {
            lines.push({ line: i + 1, entry: parsed });
        }
    });
    return { lines, problems };
}

const releaseKey = (tag: string, environment: string) => `${tag}\u0000${environment}`;

/** A release as the ledger has signed it so far: the roles that signed and who signed each. */
interface ReleaseSoFar {
    readonly ref: ReleaseRef;
    readonly commit: string;
    readonly signed: string[];
    /** By the signer's lower-cased email: the line they first signed the release on. */
    readonly people: Map<string, ParsedLine>;
}

/**
 * What every check of one ledger reads and writes: the options, where problems go, the release rules, and what the
 * lines before the one being checked established (the previous line, each tag's first commit, each release so far).
 */
interface LedgerCheck {
    readonly file: string;
    readonly options: VerifyOptions;
    readonly lines: readonly ParsedLine[];
    readonly problems: string[];
    /** The roles a release needs, or why that cannot be told (computed once per release). */
    readonly requiredOf: (tag: string, environment: string) => readonly string[] | Error;
    /** Environments a release is promoted through, in order: those with a sign-off floor, as guardrails lists them. */
    readonly promotion: readonly string[];
    readonly firstCommitOfTag: Map<string, ParsedLine>;
    /** Tags whose git tag was already compared (git is asked once per tag). */
    readonly tagChecked: Set<string>;
    readonly releases: Map<string, ReleaseSoFar>;
    prev: ParsedLine | undefined;
}

/** A problem with one line: `file:line: seq N (role, tag environment): message`. */
function at(check: LedgerCheck, l: ParsedLine, message: string): void {
    check.problems.push(
        `${check.file}:${l.line}: seq ${l.entry.seq} (${l.entry.role}, ${l.entry.tag} ${l.entry.environment}): ${message}`,
    );
}

/** The state of a check of `lines`, before the first line. */
function ledgerCheck(
    file: string,
    options: VerifyOptions,
    lines: readonly ParsedLine[],
    problems: string[],
): LedgerCheck {
    const g = options.guardrails;
    const required = new Map<string, readonly string[] | Error>();
    const requiredOf = (tag: string, environment: string): readonly string[] | Error => {
        const k = releaseKey(tag, environment);
        if (!required.has(k)) {
            try {
                required.set(k, requiredWithFloor(g, options.requiredRoles, tag, environment));
            } catch (err) {
                required.set(k, err as Error);
            }
        }
        return required.get(k)!;
    };
    return {
        file,
        options,
        lines,
        problems,
        requiredOf,
        promotion: g.environments.filter((e) => signoffFloor(g, e).length > 0),
        firstCommitOfTag: new Map(),
        tagChecked: new Set(),
        releases: new Map(),
        prev: undefined,
    };
}

/**
 * Who signed: the key must be listed, the signature must verify with it, and its holder must hold the role and be
 * the signer the statement names. Returns the key's holder when signers.json lists the key.
 */
function checkSigner(check: LedgerCheck, l: ParsedLine): Signer | undefined {
    const e = l.entry;
    const signers = check.options.signers;
    const signer = signers.byKeyId.get(e.keyid);
    if (!signer) {
        at(check, l, `unknown key: signed by key ${e.keyid}, which ${signers.file} does not list`);
    } else if (!verifySignature(e.envelope, e.envelope.signatures[0], signer.publicKey)) {
        at(
            check,
            l,
            `signature does not verify with ${signer.identity}'s key: the statement was changed after it was signed, or another key signed it`,
        );
    } else {
        if (!signer.roles.includes(e.role)) {
            at(
                check,
                l,
                `impersonated role: ${signer.identity}'s key signs for ${signer.roles.join(", ")} (${signers.file}), not ${e.role}`,
            );
        }
        if (e.signer !== signer.identity) {
            at(check, l, `the statement names signer "${e.signer}" but the key is ${signer.identity}'s`);
        }
    }
    return signer;
}

/** The chain link: the line's position (seq) and the hash of the entry before it (prevHash). */
function checkChainLink(check: LedgerCheck, l: ParsedLine, index: number): void {
    const e = l.entry;
    const prev = check.prev;
    if (e.seq !== index + 1) {
        at(
            check,
            l,
            `seq is ${e.seq}, expected ${index + 1}: an entry before it was removed or inserted, or entries were reordered`,
        );
    }
    const expectedPrev = prev ? prev.entry.hash : GENESIS_HASH;
    if (e.prevHash !== expectedPrev) {
        at(
            check,
            l,
            prev
                ? `prevHash does not match the hash of the entry before it (line ${prev.line}, seq ${prev.entry.seq}): an entry was removed, inserted or reordered, or the chain was rewritten`
                : `prevHash of the first entry must be ${GENESIS_HASH}: entries before it were removed`,
        );
    }
    if (!HASH.test(e.prevHash)) {
        at(check, l, `prevHash "${e.prevHash}" is not a sha256; allowed: 64 lowercase hex digits`);
    }
}

/** The sign-off's fields, and its time: never beyond now plus the allowed skew, never before the previous line's. */
function checkFieldsAndTime(check: LedgerCheck, l: ParsedLine, now: number): void {
    const e = l.entry;
    const g = check.options.guardrails;
    for (const p of inputProblems(e, g)) {
        at(check, l, p);
    }
    const t = Date.parse(e.time);
    if (!Number.isNaN(t) && t > now + g.signoffs.maxClockSkewSeconds * 1000) {
        at(
            check,
            l,
            `time ${e.time} is in the future (now ${ledgerTime(new Date(now))}, allowed clock skew ${g.signoffs.maxClockSkewSeconds}s): a post-dated entry would block every honest one after it`,
        );
    }
    const prev = check.prev;
    if (prev && Date.parse(e.time) < Date.parse(prev.entry.time)) {
        at(
            check,
            l,
            `time ${e.time} is before the previous entry's ${prev.entry.time}: entries were reordered or back-dated`,
        );
    }
}

/** One commit per tag; with git facts, the commit exists and an existing git tag points at it. */
function checkCommit(check: LedgerCheck, l: ParsedLine): void {
    const e = l.entry;
    const tagCommit = check.firstCommitOfTag.get(e.tag);
    if (tagCommit && tagCommit.entry.commit !== e.commit) {
        at(
            check,
            l,
            `${e.tag} is signed at commit ${e.commit} but at ${tagCommit.entry.commit} on line ${tagCommit.line}; a tag names one commit`,
        );
    } else if (!tagCommit) {
        check.firstCommitOfTag.set(e.tag, l);
    }
    const git = check.options.git;
    if (git && COMMIT.test(e.commit)) {
        if (!git.commitExists(e.commit)) {
            at(
                check,
                l,
                `commit ${e.commit} is not in this repository: a sign-off names a commit git has (a shallow clone lacks history: git fetch --unshallow)`,
            );
        }
        const tagged = check.tagChecked.has(e.tag) ? undefined : git.tagCommit(e.tag);
        check.tagChecked.add(e.tag);
        if (tagged !== undefined && tagged !== e.commit) {
            at(check, l, `tag moved: git tag ${e.tag} points at ${tagged}, not the signed commit ${e.commit}`);
        }
    }
}

/** The role is one the release needs, and (when governance says which) the milestone is the one that ships it. */
function checkRoleAndMilestone(check: LedgerCheck, l: ParsedLine): void {
    const e = l.entry;
    const need = check.requiredOf(e.tag, e.environment);
    if (need instanceof Error) {
        at(
            check,
            l,
            `no release rule: cannot tell which sign-offs ${e.tag} needs in ${e.environment}: ${need.message}`,
        );
    } else if (!need.includes(e.role)) {
        at(check, l, `role ${e.role} does not sign off ${e.tag} in ${e.environment}; allowed: ${need.join(", ")}`);
    }
    const milestoneOf = check.options.milestoneOf;
    // Stryker disable next-line ConditionalExpression: without milestoneOf, calling it throws inside the try below, which leaves expected undefined: the same as skipping
    if (milestoneOf) {
        let expected: string | undefined;
        try {
            expected = milestoneOf(e.tag, e.environment);
        } catch {
            // expected stays undefined: a release no rule covers is reported above as "no release rule"
        }
        if (expected !== undefined && expected !== e.milestone) {
            at(check, l, `milestone "${e.milestone}" does not ship ${e.tag} to ${e.environment}; allowed: ${expected}`);
        }
    }
}

/** No environment skipped: every earlier promotion environment of this tag is complete before this line. */
function checkPromotion(check: LedgerCheck, l: ParsedLine): void {
    const e = l.entry;
    const stage = check.promotion.indexOf(e.environment);
    // Stryker disable next-line EqualityOperator: at stage 0 the slice is empty, so stage >= 0 picks the same (none) earlier environments
    for (const earlier of stage > 0 ? check.promotion.slice(0, stage) : []) {
        const before = check.releases.get(releaseKey(e.tag, earlier));
        const needEarlier = check.requiredOf(e.tag, earlier);
        const missing =
            needEarlier instanceof Error ? undefined : needEarlier.filter((r) => !before?.signed.includes(r));
        if (missing === undefined || missing.length > 0) {
            at(
                check,
                l,
                `environment skipped: ${e.tag} is signed for ${e.environment} before its ${earlier} release is complete (${
                    missing === undefined ? (needEarlier as Error).message : `missing ${missing.join(", ")}`
                }); promote through ${earlier} first`,
            );
            break;
        }
    }
}

/** Adds the sign-off to its release: one sign-off per role and release, distinct people for distinct roles. */
function recordSignoff(check: LedgerCheck, l: ParsedLine, signer: Signer | undefined): void {
    const e = l.entry;
    const k = releaseKey(e.tag, e.environment);
    const release = check.releases.get(k) ?? {
        ref: { tag: e.tag, environment: e.environment },
        commit: e.commit,
        signed: [],
        people: new Map<string, ParsedLine>(),
    };
    if (release.signed.includes(e.role)) {
        const twin = check.lines.find(
            // The role is in release.signed only once an earlier line signed it: the first match is that line.
            (x) => releaseKey(x.entry.tag, x.entry.environment) === k && x.entry.role === e.role,
        )!;
        at(
            check,
            l,
            `${e.role} already signed ${e.tag} in ${e.environment} on line ${twin.line}; one sign-off per role and release`,
        );
    } else {
        release.signed.push(e.role);
    }
    if (signer) {
        const same = release.people.get(signer.email.toLowerCase());
        if (same && same.entry.role !== e.role) {
            at(
                check,
                l,
                `same person for two roles: ${signer.identity} already signed ${e.tag} in ${e.environment} as ${same.entry.role} on line ${same.line}; distinct roles need distinct people`,
            );
        } else if (!same) {
            release.people.set(signer.email.toLowerCase(), l);
        }
    }
    check.releases.set(k, release);
}

/** The anchors kept outside the ledger: the head it must end at (`head`), the head it must contain (`extends`). */
function checkAnchors(check: LedgerCheck, head: string): void {
    const { file, options, lines } = check;
    if (options.head !== undefined && options.head !== head) {
        const known = lines.find((l) => l.entry.hash === options.head);
        check.problems.push(
            known
                ? `${file}: the anchored head ${options.head} is entry seq ${known.entry.seq} (line ${known.line}), not the last entry: entries were appended after the anchor was taken; re-anchor after checking them`
                : `${file}: the anchored head ${options.head} is not in the ledger: entries after it were removed or the chain was rewritten`,
        );
    }
    if (
        options.extends &&
        options.extends.head !== GENESIS_HASH &&
        !lines.some((l) => l.entry.hash === options.extends?.head)
    ) {
        check.problems.push(
            `${file}: does not extend the head ${options.extends.head} that ${options.extends.source} recorded: the ledger was truncated or its chain rewritten since that deploy`,
        );
    }
}

/**
 * Every release's status, and a problem for each release `options.complete` selects that misses a required
 * sign-off (a selected release nobody signed yet counts, with no sign-off).
 */
function releaseStatuses(check: LedgerCheck): ReleaseStatus[] {
    const { file, releases } = check;
    const complete = check.options.complete ?? "all";
    if (typeof complete === "object" && !releases.has(releaseKey(complete.tag, complete.environment))) {
        releases.set(releaseKey(complete.tag, complete.environment), {
            ref: complete,
            commit: "",
            signed: [],
            people: new Map(),
        });
    }
    const statuses: ReleaseStatus[] = [];
    for (const r of releases.values()) {
        const need = check.requiredOf(r.ref.tag, r.ref.environment);
        const requiredRoles = need instanceof Error ? [] : need;
        const missing = requiredRoles.filter((role) => !r.signed.includes(role));
        statuses.push({
            ...r.ref,
            ...(r.commit ? { commit: r.commit } : {}),
            signed: [...r.signed],
            required: [...requiredRoles],
            missing,
            complete: !(need instanceof Error) && missing.length === 0,
        });
        const checked =
            complete === "all" ||
            (typeof complete === "object" && complete.tag === r.ref.tag && complete.environment === r.ref.environment);
        if (!checked) {
            continue;
        }
        if (need instanceof Error) {
            check.problems.push(
                `${file}: ${r.ref.tag} in ${r.ref.environment}: cannot tell which sign-offs it needs: ${need.message}`,
            );
        } else if (missing.length > 0) {
            check.problems.push(
                `${file}: ${r.ref.tag} in ${r.ref.environment} is missing the sign-off of ${missing.join(", ")}` +
                    ` (required: ${requiredRoles.join(", ")}; signed: ${r.signed.join(", ") || "nobody"}); record it with` +
                    ` \`npm run provenance -- record --tag ${r.ref.tag} --environment ${r.ref.environment} --role "<role>" --key <private key>\``,
            );
        }
    }
    return statuses;
}

/**
 * Verify a ledger. Per entry: the envelope's one signature verifies with a key signers.json lists, whose holder
 * holds the entry's role and is the signer the statement names; the chain (seq, prevHash); the fields; the role is
 * one the release needs (governance plus the guardrails' floor); one sign-off per role and release; distinct people
 * for distinct roles of a release; one commit per tag; time never going backwards nor beyond now + the allowed skew;
 * no environment skipped (a release's earlier environments complete before a later one signs); with git facts, the
 * commit exists and an existing tag points at it. Then the anchors (`head`, `extends`) and the required sign-offs of
 * the releases `options.complete` selects. Every problem names the line, the entry and the rule.
 */
export function verifyLedger(text: string, file: string, options: VerifyOptions): LedgerVerification {
    const { lines, problems } = parseLedger(text, file);
    const check = ledgerCheck(file, options, lines, problems);
    const now = (options.now ?? new Date()).getTime();
    lines.forEach((l, index) => {
        const signer = checkSigner(check, l);
        checkChainLink(check, l, index);
        checkFieldsAndTime(check, l, now);
        checkCommit(check, l);
        checkRoleAndMilestone(check, l);
        checkPromotion(check, l);
        recordSignoff(check, l, signer);
        check.prev = l;
    });
    const head = check.prev ? check.prev.entry.hash : GENESIS_HASH;
    checkAnchors(check, head);
    const releases = releaseStatuses(check);
    return {
        ok: problems.length === 0,
        problems: [...new Set(problems)],
        releases,
        entries: lines.map((l) => l.entry),
        head,
    };
}

/** Turn a role into a key segment: "Release Manager" -> "release-manager" (each run of other characters one dash). */
export function roleSlug(role: string): string {
    return role
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, "");
}

/**
 * Object key of an entry in the provenance bucket:
 * `signoffs/<environment>/<tag>/<commit>/<seq>-<role>-<envelope sha256>.dsse.json`, seq zero-padded so keys list in
 * ledger order. The envelope digest in the key means a rewritten entry gets a key of its own: it can never become
 * the current version of the key an earlier deploy locked. `signoffs/<environment>/<tag>/` is the prefix
 * governance's evidence hooks name.
 */
export function signoffObjectKey(
    entry: Pick<SignoffEntry, "environment" | "tag" | "commit" | "seq" | "role" | "hash">,
): string {
    // Keep SIGNOFF_KEY_LAYOUT below in step with this template.
    return `${signoffPrefix(entry.environment, entry.tag)}${entry.commit}/${String(entry.seq).padStart(6, "0")}-${roleSlug(entry.role)}-${entry.hash}.dsse.json`;
}

/** The key template above, as downstream readers see it (a stack output). */
export const SIGNOFF_KEY_LAYOUT = "signoffs/<environment>/<tag>/<commit>/<seq>-<role>-<envelope sha256>.dsse.json";

export function signoffPrefix(environment: string, tag: string): string {
    return `signoffs/${environment}/${tag}/`;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** An evidence object to upload: a release's signed sign-off (its DSSE envelope), locked until `retainUntil`. */
export interface SignoffObject {
    readonly entry: SignoffEntry;
    readonly key: string;
    /** The envelope as the ledger holds it (canonical JSON, trailing newline): verifiable on its own. */
    readonly content: string;
    readonly lockMode: "GOVERNANCE" | "COMPLIANCE";
    /**
     * The deploy day (UTC midnight) + retention days: computed at deploy time, so a release deployed long after its
     * sign-offs still uploads (S3 refuses a retain-until date in the past), and stable through a day's re-deploys.
     */
    readonly retainUntil: string;
}

/** The objects a stack uploads for its release: every entry of `release`, in ledger order, locked from `deployedAt`. */
export function signoffObjects(
    entries: readonly SignoffEntry[],
    release: ReleaseRef,
    lock: { readonly objectLockMode: "GOVERNANCE" | "COMPLIANCE"; readonly retentionDays: number },
    deployedAt: Date,
): SignoffObject[] {
    if (!Number.isInteger(lock.retentionDays) || lock.retentionDays < 1) {
        throw new Error(
            `provenance.retentionDays: ${lock.retentionDays} is not a whole number of days; allowed: an integer >= 1`,
        );
    }
    const day = Math.floor(deployedAt.getTime() / DAY_MS) * DAY_MS;
    return entries
        .filter((e) => e.tag === release.tag && e.environment === release.environment)
        .map((entry) => ({
            entry,
            key: signoffObjectKey(entry),
            content: serializeEntry(entry) + "\n",
            lockMode: lock.objectLockMode,
            retainUntil: ledgerTime(new Date(day + (lock.retentionDays + 1) * DAY_MS)),
        }));
}

/** Read and verify a ledger file (what the policy pack and the stack call). A missing file is a problem. */
export function verifyLedgerFile(
    file: string,
    requiredRoles: RequiredRoles,
    options: Omit<VerifyOptions, "requiredRoles" | "guardrails" | "signers"> & {
        readonly guardrails?: Guardrails;
        /** Default: governance/signers.json. */
        readonly signers?: Signers;
    } = {},
): LedgerVerification {
    const shown = displayPath(file);
    const guardrails = options.guardrails ?? loadGuardrails();
    const signers = options.signers ?? loadSigners();
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
    return verifyLedger(fs.readFileSync(file, "utf8"), shown, { ...options, guardrails, signers, requiredRoles });
}

/** Append an entry to a ledger file (one line, newline-terminated). */
export function appendToLedgerFile(file: string, entry: Pick<SignoffEntry, "envelope">): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const separator = existing === "" || existing.endsWith("\n") ? "" : "\n";
    fs.appendFileSync(file, `${separator}${serializeEntry(entry)}\n`);
}
