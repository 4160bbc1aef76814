import { execFileSync } from "child_process";
import { createHash, createPublicKey, generateKeyPairSync, sign } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadGovernance, milestoneFor, requiredSignoffs } from "../governance";
import {
    DsseEnvelope,
    envelopeDigest,
    envelopePayload,
    keyId,
    pae,
    privateKeyFromText,
    publicKeyFromText,
    rawPublicKey,
    signEnvelope,
    verifySignature,
} from "../provenance/dsse";
import { CheckoutState, gitFacts } from "../provenance/git";
import { SIGNOFF_FILES, codeBindingProblems, priorLedgerHead } from "../provenance/release";
import {
    IN_TOTO_PAYLOAD_TYPE,
    IN_TOTO_STATEMENT_TYPE,
    LEDGER_FILE,
    RequiredRoles,
    SignoffEntry,
    SignoffInput,
    SignoffPredicate,
    appendToLedgerFile,
    envelopeHash,
    inputProblems,
    ledgerTime,
    parseLine,
    requiredWithFloor,
    roleSlug,
    SIGNOFF_PREDICATE_TYPE,
    signSignoff,
    signoffObjectKey,
    signoffObjects,
    verifyLedger,
    verifyLedgerFile,
} from "../provenance/ledger";
import { SIGNERS_FILE, loadSigners, parseSigners } from "../provenance/signers";
import { ValidationError, repoRoot } from "../core/validation";
import { guardrails, runScript } from "./helpers";
import {
    COMMIT,
    GENESIS_HASH,
    NOW,
    STANDARD_TEAM,
    NEXT_RELEASE,
    NEXT_RELEASE_FIRST_SIGNOFF,
    forgeAfter,
    Team,
    chainSteps,
    forgeLine,
    join,
    lines,
    makeTeam,
    milestoneOf,
    optionsFor,
    predicateOf,
    releaseSteps,
    requiredRoles,
    signSteps,
} from "./fixtures/provenance/signedLedger";

const FILE = "ledger.jsonl";
// The fixture ledger is signed afresh for each test (not while the file loads), so mutation testing sees which
// tests reach which ledger code (docs/CONTRIBUTING.md, "Mutation testing").
let team: Team;
let text: string;
let ls: string[];
let entries: readonly SignoffEntry[];
const verify = (t: string, extra: Parameters<typeof optionsFor>[1] = {}) =>
    verifyLedger(t, FILE, optionsFor(team, extra));
beforeEach(() => {
    team = makeTeam(STANDARD_TEAM);
    ({ text, entries } = chainSteps(team, releaseSteps()));
    ls = lines(text);
});
const floor = guardrails.signoffs.floor;
const prodStart = floor.staging.length;

describe("DSSE", () => {
    it("encodes PAE exactly as the DSSE v1 spec's example", () => {
        expect(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).toBe(
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
        );
        // Lengths are bytes, not characters.
        expect(pae("t", Buffer.from("é")).toString("utf8")).toBe("DSSEv1 1 t 2 é");
    });

    it("signs in-toto statements whose subject is the tag at its commit", () => {
        const env = entries[0].envelope;
        expect(env.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
        const statement = JSON.parse(Buffer.from(env.payload, "base64").toString()) as Record<string, unknown>;
        expect(statement._type).toBe(IN_TOTO_STATEMENT_TYPE);
        expect(statement.predicateType).toBe(SIGNOFF_PREDICATE_TYPE);
        expect(statement.subject).toEqual([{ name: "v1.0.0", digest: { gitCommit: COMMIT } }]);
        expect(statement.predicate).toMatchObject({
            role: "Release Manager",
            environment: "staging",
            milestone: milestoneOf("v1.0.0", "staging"),
            signer: `${team.holder("Release Manager").name} <${team.holder("Release Manager").email}>`,
            seq: 1,
            prevHash: GENESIS_HASH,
        });
        expect(env.signatures).toHaveLength(1);
        expect(env.signatures[0].keyid).toBe(keyId(team.holder("Release Manager").privateKey));
        expect(
            verifySignature(env, env.signatures[0], createPublicKey(team.holder("Release Manager").privateKey)),
        ).toBe(true);
        expect(entries[0].hash).toBe(envelopeHash(env));
        expect(entries[1].prevHash).toBe(entries[0].hash);
    });

    it("reads an OpenSSH Ed25519 key as the same key ssh-keygen reports, and refuses an encrypted one", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-ssh-"));
        const file = path.join(dir, "id_ed25519");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", file]);
        const key = privateKeyFromText(fs.readFileSync(file, "utf8"));
        // ssh-keygen's own .pub line carries the raw public key: ours must be the same 32 bytes.
        const pubLine = fs.readFileSync(`${file}.pub`, "utf8");
        const blob = Buffer.from(pubLine.split(" ")[1], "base64");
        expect(rawPublicKey(key).equals(blob.subarray(blob.length - 32))).toBe(true);
        expect(keyId(publicKeyFromText(pubLine))).toBe(keyId(key));
        const locked = path.join(dir, "locked");
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret-passphrase", "-f", locked]);
        expect(() => privateKeyFromText(fs.readFileSync(locked, "utf8"))).toThrow(
            "the OpenSSH private key is encrypted (aes256-ctr); allowed: an unencrypted key",
        );
        const rsa = path.join(dir, "rsa");
        execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa]);
        expect(() => privateKeyFromText(fs.readFileSync(rsa, "utf8"))).toThrow("allowed: ssh-ed25519");
    });
});

describe("a signed ledger", () => {
    it("is what record writes, step by step, for the same keys and steps", () => {
        expect(signSteps(team, releaseSteps())).toBe(text);
        expect(verify(text).entries).toEqual(entries);
    });

    it("verifies: signatures, chain, every release complete with at least the floor", () => {
        const r = verify(text);
        expect(r.problems).toEqual([]);
        expect(r.releases).toEqual([
            expect.objectContaining({ tag: "v1.0.0", environment: "staging", missing: [], complete: true }),
            expect.objectContaining({ tag: "v1.0.0", environment: "prod", missing: [], complete: true }),
        ]);
        expect(r.head).toBe(entries[entries.length - 1].hash);
    });

    it("requires the floor even when the milestone's roles were cut (the fixture's prod milestone lists three)", () => {
        expect(requiredRoles("v1.0.0", "prod").length).toBeLessThan(floor.prod.length);
        const status = verify(text).releases.find((r) => r.environment === "prod");
        expect([...(status?.required ?? [])].sort()).toEqual([...floor.prod].sort());
        // Cut the prod sign-offs to the milestone's own three roles: the floor's others are missing.
        const cut = signSteps(
            team,
            releaseSteps().filter(
                (s) => s.environment === "staging" || requiredRoles("v1.0.0", "prod").includes(s.role),
            ),
        );
        const missing = floor.prod.filter((r) => !requiredRoles("v1.0.0", "prod").includes(r));
        expect(verify(cut).problems).toEqual([
            expect.stringContaining(`${FILE}: v1.0.0 in prod is missing the sign-off of ${missing.join(", ")}`),
        ]);
    });
});

describe("each attack is refused, naming the entry and the rule", () => {
    let mallory: Team;
    // Sock puppets: one made-up person per role, each with a key the attacker holds.
    let puppets: Team;
    beforeEach(() => {
        mallory = makeTeam([["Mallory Moss", ["Release Manager", "Dev Lead", "SRE Lead", "Sec Lead"]]]);
        puppets = makeTeam(STANDARD_TEAM.map(([name, roles]) => [`${name} Puppet`, roles] as const));
    });

    it("a chain regenerated end to end with keys governance does not list (unknown key)", () => {
        // The hostile insider's move: re-sign everything with their own keys, chain and all.
        // Their own signers file would accept it; the repository's does not.
        const forged = signSteps(puppets, releaseSteps());
        const r = verify(forged, { complete: "none" });
        expect(r.problems).toEqual(
            expect.arrayContaining([
                `${FILE}:1: seq 1 (Release Manager, v1.0.0 staging): unknown key: signed by key ${keyId(puppets.holder("Release Manager").privateKey)}, which signers.json does not list`,
            ]),
        );
    });

    it("an edited statement (signature no longer verifies) and a re-chained tail after it", () => {
        const e = entries[4];
        const edited = JSON.parse(ls[4]) as { payload: string };
        const statement = JSON.parse(Buffer.from(edited.payload, "base64").toString()) as {
            predicate: { time: string };
        };
        statement.predicate.time = "2026-11-24T10:16:00Z";
        edited.payload = Buffer.from(JSON.stringify(statement)).toString("base64");
        const r = verify(join(ls.map((l, i) => (i === 4 ? JSON.stringify(edited) : l))));
        expect(r.problems).toEqual(
            expect.arrayContaining([
                `${FILE}:5: seq 5 (${e.role}, v1.0.0 prod): signature does not verify with ${e.signer}'s key: the statement was changed after it was signed, or another key signed it`,
                expect.stringContaining(`${FILE}:6: seq 6`),
            ]),
        );
    });

    it("a signature or payload re-spelled in base64 (the bits past the last byte set): same bytes, another line", () => {
        // Without a key, anyone could make the last line hash differently (a new head, a new evidence object key) if
        // the bits base64 leaves unused were ignored; the signature is of the bytes, so it would still verify.
        const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const respelled = (b64: string) => {
            const at = b64.replace(/=+$/, "").length - 1;
            return `${b64.slice(0, at)}${B64[B64.indexOf(b64[at]) ^ 1]}${b64.slice(at + 1)}`;
        };
        const last = ls.length - 1;
        const e = entries[last];
        const envelope = JSON.parse(ls[last]) as DsseEnvelope;
        const sig = respelled(envelope.signatures[0].sig);
        expect(Buffer.from(sig, "base64")).toEqual(Buffer.from(envelope.signatures[0].sig, "base64"));
        const r = verify(
            join([
                ...ls.slice(0, last),
                JSON.stringify({ ...envelope, signatures: [{ ...envelope.signatures[0], sig }] }),
            ]),
        );
        expect(r.problems).toContain(
            `${FILE}:${last + 1}: seq ${last + 1} (${e.role}, v1.0.0 prod): signature does not verify with ${e.signer}'s key: the statement was changed after it was signed, or another key signed it`,
        );
        const payload = "eyJhIjoxfR=="; // eyJhIjoxfQ== ({"a":1}) with an unused bit set
        expect(Buffer.from(payload, "base64").toString()).toBe('{"a":1}');
        expect(() => envelopePayload({ payload })).toThrow("payload is not standard base64");
    });

    it("an impersonated role: a listed key signing for a role its holder does not hold", () => {
        const devLead = team.holder("Dev Lead");
        const line = forgeLine(
            devLead.privateKey,
            {
                ...predicateOf(entries[entries.length - 1]),
                seq: entries.length + 1,
                prevHash: entries[entries.length - 1].hash,
                environment: "staging",
                role: "SRE Lead",
            },
            NEXT_RELEASE,
        );
        const r = verify(text + line + "\n", { complete: "none" });
        expect(r.problems).toContain(
            `${FILE}:${ls.length + 1}: seq ${ls.length + 1} (SRE Lead, v1.1.0 staging): impersonated role: ${devLead.name} <${devLead.email}>'s key signs for Dev Lead (signers.json), not SRE Lead`,
        );
    });

    it("an impersonated role by a key listed for several roles, naming each of them", () => {
        const m = mallory.people[0];
        const line = forgeLine(
            m.privateKey,
            {
                seq: 1,
                prevHash: GENESIS_HASH,
                environment: "staging",
                role: "Docs Lead",
                milestone: milestoneOf("v1.0.0", "staging"),
                signer: `${m.name} <${m.email}>`,
                time: "2026-11-17T10:00:00Z",
                checked: [],
            },
            { tag: "v1.0.0", commit: COMMIT },
        );
        const r = verifyLedger(line + "\n", FILE, optionsFor(mallory, { complete: "none" }));
        expect(r.problems).toContain(
            `${FILE}:1: seq 1 (Docs Lead, v1.0.0 staging): impersonated role: Mallory Moss <mallory.moss@maestro.example>'s key signs for Release Manager, Dev Lead, SRE Lead, Sec Lead (signers.json), not Docs Lead`,
        );
    });

    it("a keyid naming someone else over an attacker's signature", () => {
        const rm = team.holder("Release Manager");
        const line = forgeLine(
            mallory.people[0].privateKey,
            predicateOf(entries[0]),
            { tag: "v1.0.0", commit: COMMIT },
            keyId(rm.privateKey),
        );
        const r = verify(join([line, ...ls.slice(1)]));
        expect(r.problems[0]).toBe(
            `${FILE}:1: seq 1 (Release Manager, v1.0.0 staging): signature does not verify with ${rm.name} <${rm.email}>'s key: the statement was changed after it was signed, or another key signed it`,
        );
    });

    it("the same person for two roles of one release", () => {
        const dual = makeTeam([
            ["Rosa Reyes", ["Release Manager", "Sec Lead"]],
            ...STANDARD_TEAM.filter(([, roles]) => !roles.includes("Release Manager") && !roles.includes("Sec Lead")),
        ]);
        const steps = releaseSteps();
        const honest = signSteps(
            dual,
            steps.filter((s) => s.role !== "Sec Lead" || s.environment === "staging"),
        );
        const secIndex = steps.findIndex((s) => s.environment === "prod" && s.role === "Sec Lead");
        const last = verifyLedger(honest, FILE, optionsFor(dual)).entries.slice(-1)[0];
        const rosa = dual.holder("Sec Lead");
        const line = forgeAfter(
            rosa,
            last,
            { role: "Sec Lead", time: steps[steps.length - 1].time },
            { tag: "v1.0.0", commit: COMMIT },
        );
        expect(secIndex).toBeGreaterThan(0);
        const r = verifyLedger(honest + line + "\n", FILE, optionsFor(dual, { complete: "none" }));
        const rmLine = lines(honest).length - floor.prod.length + 2;
        expect(r.problems).toEqual([
            expect.stringMatching(
                new RegExp(
                    `^${FILE}:${lines(honest).length + 1}: seq ${last.seq + 1} \\(Sec Lead, v1\\.0\\.0 prod\\): same person for two roles: Rosa Reyes <rosa\\.reyes@maestro\\.example> already signed v1\\.0\\.0 in prod as Release Manager on line ${rmLine}; distinct roles need distinct people$`,
                ),
            ),
        ]);
        // record refuses it too.
        expect(() =>
            signSignoff(
                honest,
                {
                    tag: "v1.0.0",
                    commit: COMMIT,
                    environment: "prod",
                    role: "Sec Lead",
                    milestone: milestoneOf("v1.0.0", "prod"),
                    time: steps[steps.length - 1].time,
                    checked: [],
                },
                rosa.privateKey,
                optionsFor(dual),
            ),
        ).toThrow("same person for two roles");
    });

    it("a commit that is not in git, and a tag that was moved", () => {
        const git = { commitExists: (c: string) => c !== COMMIT, tagCommit: () => undefined };
        expect(verify(text, { git }).problems[0]).toBe(
            `${FILE}:1: seq 1 (Release Manager, v1.0.0 staging): commit ${COMMIT} is not in this repository: a sign-off names a commit git has (a shallow clone lacks history: git fetch --unshallow)`,
        );
        const moved = {
            commitExists: () => true,
            tagCommit: (t: string) => (t === "v1.0.0" ? "e".repeat(40) : undefined),
        };
        expect(verify(text, { git: moved }).problems).toEqual([
            `${FILE}:1: seq 1 (Release Manager, v1.0.0 staging): tag moved: git tag v1.0.0 points at ${"e".repeat(40)}, not the signed commit ${COMMIT}`,
        ]);
        const right = { commitExists: () => true, tagCommit: (t: string) => (t === "v1.0.0" ? COMMIT : undefined) };
        expect(verify(text, { git: right }).ok).toBe(true);
    });

    it("a commit that is not one is not looked up in git, and a tag git does not have yet is no moved tag", () => {
        const asked: string[] = [];
        const git = {
            commitExists: (c: string) => {
                asked.push(c);
                return c === COMMIT;
            },
            tagCommit: () => undefined,
        };
        const upper = "B".repeat(40);
        const line = forgeAfter(
            team.holder("Release Manager"),
            entries[entries.length - 1],
            {
                environment: "staging",
                role: "Release Manager",
                milestone: milestoneOf("v1.1.0", "staging"),
                time: "2026-11-30T09:00:00Z",
            },
            { tag: "v1.1.0", commit: upper },
        );
        expect(verify(text + line + "\n", { git, complete: "none" }).problems).toEqual([
            `${FILE}:${ls.length + 1}: seq ${ls.length + 1} (Release Manager, v1.1.0 staging): commit: "${upper}" is not a full commit id; allowed: 40 lowercase hex digits (git rev-parse <tag>)`,
        ]);
        expect(asked).not.toContain(upper);
    });

    it("a time in the future (beyond the allowed skew), while a time within the skew passes", () => {
        const skew = guardrails.signoffs.maxClockSkewSeconds;
        const at = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
        const step = NEXT_RELEASE_FIRST_SIGNOFF;
        expect(verify(signSteps(team, [{ ...step, time: at(skew) }], text), { complete: "none" }).ok).toBe(true);
        expect(() => signSteps(team, [{ ...step, time: at(skew * 2 + 60) }], text)).toThrow(
            `time ${at(skew * 2 + 60)} is in the future (now ${at(0)}, allowed clock skew ${skew}s)`,
        );
        // Signed long ago with a post-dated time, checked today: the same rule.
        const later = signSteps(team, [{ ...step, time: "2099-01-01T00:00:00Z" }], text, {
            now: new Date("2099-01-02T00:00:00Z"),
        });
        expect(verify(later, { complete: "none" }).problems).toEqual([
            expect.stringContaining(
                `${FILE}:${ls.length + 1}: seq ${ls.length + 1} (Release Manager, v1.1.0 staging): time 2099-01-01T00:00:00Z is in the future`,
            ),
        ]);
    });

    it("a truncated (or emptied) ledger against the deploy's anchor", () => {
        const anchor = { head: entries[entries.length - 1].hash, source: "the previous deploy of prod" };
        const cut = join(ls.slice(0, -2));
        expect(verify(cut, { extends: anchor, complete: "none" }).problems).toEqual([
            `${FILE}: does not extend the head ${anchor.head} that the previous deploy of prod recorded: the ledger was truncated or its chain rewritten since that deploy`,
        ]);
        expect(verify("", { extends: anchor, complete: "none" }).ok).toBe(false);
        // A ledger that grew since the anchor extends it.
        const grown = signSteps(team, [NEXT_RELEASE_FIRST_SIGNOFF], text);
        expect(verify(grown, { extends: anchor, complete: "none" }).ok).toBe(true);
        // An emptied ledger cannot pass a deploy of the release either.
        expect(verify("", { complete: { tag: "v1.0.0", environment: "prod" } }).problems).toEqual([
            expect.stringContaining("v1.0.0 in prod is missing the sign-off of"),
        ]);
    });

    it("reordered entries (the chain is inside the signed statements)", () => {
        const swapped = [...ls];
        [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
        const r = verify(join(swapped));
        expect(r.problems).toEqual(
            expect.arrayContaining([
                `${FILE}:2: seq 3 (${entries[2].role}, v1.0.0 staging): seq is 3, expected 2: an entry before it was removed or inserted, or entries were reordered`,
                `${FILE}:2: seq 3 (${entries[2].role}, v1.0.0 staging): prevHash does not match the hash of the entry before it (line 1, seq 1): an entry was removed, inserted or reordered, or the chain was rewritten`,
            ]),
        );
    });

    it("an environment skipped: prod signed before staging is complete for the same tag", () => {
        const steps = releaseSteps();
        const skipped = steps.filter((s) => s.environment === "prod");
        expect(() => signSteps(team, skipped)).toThrow(
            `seq 1 (${skipped[0].role}, v1.0.0 prod): environment skipped: v1.0.0 is signed for prod before its staging release is complete (missing ${floor.staging.join(", ")}); promote through staging first`,
        );
        // Staging partly signed is not enough either.
        expect(() => signSteps(team, [steps[0], ...skipped])).toThrow("environment skipped");
    });

    it("a role the release does not need, an entry of a release governance does not plan, a wrong milestone", () => {
        const step = NEXT_RELEASE_FIRST_SIGNOFF;
        expect(() => signSteps(team, [{ ...step, role: "Docs Lead" }], text)).toThrow(
            `role Docs Lead does not sign off v1.1.0 in staging; allowed: ${[...new Set([...requiredRoles("v1.1.0", "staging"), ...floor.staging])].join(", ")}`,
        );
        expect(() => signSteps(team, [{ ...step, tag: "v9.9.9" }], text)).toThrow(
            "no milestone ships v9.9.9 to staging",
        );
        const wrong = forgeAfter(
            team.holder("Release Manager"),
            entries[entries.length - 1],
            { environment: "staging", role: "Release Manager", milestone: "R9-ELSEWHERE", time: step.time },
            NEXT_RELEASE,
        );
        expect(verify(text + wrong + "\n", { complete: "none" }).problems).toEqual([
            expect.stringContaining(
                `milestone "R9-ELSEWHERE" does not ship v1.1.0 to staging; allowed: ${milestoneOf("v1.1.0", "staging")}`,
            ),
        ]);
    });

    it("a tag signed at a second commit, a role signing twice, a time before the last entry", () => {
        const step = { tag: "v1.0.0", environment: "prod", time: "2026-11-30T09:00:00Z" };
        expect(() => signSteps(team, [{ ...step, role: "Docs Lead", commit: "d".repeat(40) }], text)).toThrow(
            `v1.0.0 is signed at commit ${"d".repeat(40)} but at ${COMMIT} on line 1; a tag names one commit`,
        );
        expect(() => signSteps(team, [{ ...step, role: "Docs Lead" }], text)).toThrow(
            `Docs Lead already signed v1.0.0 in prod on line ${ls.length}; one sign-off per role and release`,
        );
        expect(() => signSteps(team, [{ ...NEXT_RELEASE_FIRST_SIGNOFF, time: "2026-11-01T00:00:00Z" }], text)).toThrow(
            `time 2026-11-01T00:00:00Z is before the previous entry's ${entries[entries.length - 1].time}`,
        );
    });

    it("a key signers.json does not list cannot record", () => {
        expect(() =>
            signSignoff(
                text,
                {
                    ...NEXT_RELEASE,
                    environment: "staging",
                    role: "Release Manager",
                    milestone: milestoneOf("v1.1.0", "staging"),
                    time: "2026-11-30T09:00:00Z",
                    checked: [],
                },
                mallory.people[0].privateKey,
                optionsFor(team),
            ),
        ).toThrow(
            `key: ${keyId(mallory.people[0].privateKey)} is not in signers.json; allowed: a key listed there for "Release Manager" (${team.holder("Release Manager").name}`,
        );
    });

    it("lines that are not one signed sign-off envelope", () => {
        const env = JSON.parse(ls[0]) as Record<string, unknown>;
        const twoSigs = JSON.stringify({
            ...env,
            signatures: [...(env.signatures as unknown[]), ...(env.signatures as unknown[])],
        });
        const r = verify(
            join([
                "{not json",
                JSON.stringify({ ...env, payloadType: "text/plain" }),
                twoSigs,
                JSON.stringify({ ...env, extra: 1 }),
            ]),
            { complete: "none" },
        );
        expect(r.problems).toEqual([
            expect.stringMatching(new RegExp(`^${FILE}:1: not JSON \\(`)),
            `${FILE}:2: payloadType "text/plain"; allowed: ${IN_TOTO_PAYLOAD_TYPE}`,
            `${FILE}:3: signatures must hold exactly one {keyid, sig}: a sign-off is one person's`,
            `${FILE}:4: the envelope has unknown key "extra"; allowed keys: payload, payloadType, signatures`,
        ]);
    });
});

describe("signers.json", () => {
    const doc = () => JSON.parse(JSON.stringify(team.doc)) as typeof team.doc;

    it("validates against its schema and the rules beside it", () => {
        const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 })
            .publicKey.export({ type: "spki", format: "pem" })
            .toString();
        const bad = doc();
        bad.signers[1].publicKey = rsa;
        expect(() => parseSigners(bad, "signers.json")).toThrow(
            "signers.json: /signers/1/publicKey: the public key is a rsa key; allowed: Ed25519",
        );
        const twin = doc();
        twin.signers[1].publicKey = twin.signers[0].publicKey;
        expect(() => parseSigners(twin, "signers.json")).toThrow("/signers/1/publicKey: the key");
        const sameEmail = doc();
        sameEmail.signers[1].email = sameEmail.signers[0].email;
        expect(() => parseSigners(sameEmail, "signers.json")).toThrow("one entry per person, with all their roles");
        expect(() => parseSigners(doc(), "signers.json", ["Release Manager"])).toThrow(
            '/signers/1/roles/0: unknown role "Dev Lead"; allowed: Release Manager',
        );
        expect(() => parseSigners({ signers: [{ ...doc().signers[0], roles: [] }] }, "signers.json")).toThrow(
            "signers.json: /signers/0/roles",
        );
        expect(() => parseSigners({ signers: [{ ...doc().signers[0], keyId: "x" }] }, "signers.json")).toThrow(
            'unknown key "keyId"',
        );
    });
});

describe("sign-off objects for the provenance bucket", () => {
    const lock = { objectLockMode: "COMPLIANCE" as const, retentionDays: 400 };
    const deployedAt = new Date("2027-06-15T13:45:00Z");

    it("keys each envelope by environment, tag, commit, seq, role and envelope digest", () => {
        const objects = signoffObjects(entries, { tag: "v1.0.0", environment: "prod" }, lock, deployedAt);
        expect(objects).toHaveLength(floor.prod.length);
        objects.forEach((o, i) => {
            const e = entries[prodStart + i];
            expect(o.key).toBe(
                `signoffs/prod/v1.0.0/${COMMIT}/${String(e.seq).padStart(6, "0")}-${e.role.toLowerCase().replace(/ /g, "-")}-${e.hash}.dsse.json`,
            );
            expect(o.key).toBe(signoffObjectKey(e));
            expect(o.content).toBe(ls[prodStart + i] + "\n");
        });
    });

    it("a rewritten entry gets a key of its own, never a new version of the locked one", () => {
        // The same statements signed again (same names, other keys): same content, different envelopes.
        const other = makeTeam(STANDARD_TEAM);
        const rewritten = verifyLedger(signSteps(other, releaseSteps()), FILE, optionsFor(other)).entries;
        expect(signoffObjectKey(rewritten[0])).not.toBe(signoffObjectKey(entries[0]));
    });

    it("locks from the deploy day, so a release deployed months after its sign-offs still uploads", () => {
        for (const o of signoffObjects(
            entries,
            { tag: "v1.0.0", environment: "staging" },
            { objectLockMode: "GOVERNANCE", retentionDays: 90 },
            deployedAt,
        )) {
            expect(o.lockMode).toBe("GOVERNANCE");
            expect(Date.parse(o.retainUntil)).toBeGreaterThanOrEqual(deployedAt.getTime() + 90 * 24 * 3600 * 1000);
            expect(Date.parse(o.retainUntil)).toBeLessThanOrEqual(deployedAt.getTime() + 91 * 24 * 3600 * 1000);
            expect(o.retainUntil).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
        }
        // Two deploys the same day lock alike: no diff on a re-deploy.
        const again = signoffObjects(
            entries,
            { tag: "v1.0.0", environment: "prod" },
            lock,
            new Date("2027-06-15T23:59:00Z"),
        );
        expect(again.map((o) => o.retainUntil)).toEqual(
            signoffObjects(entries, { tag: "v1.0.0", environment: "prod" }, lock, deployedAt).map((o) => o.retainUntil),
        );
    });

    it("refuses a retention that is not a whole number of days", () => {
        expect(() =>
            signoffObjects(
                entries,
                { tag: "v1.0.0", environment: "prod" },
                { ...lock, retentionDays: 0.5 },
                deployedAt,
            ),
        ).toThrow("provenance.retentionDays: 0.5 is not a whole number of days; allowed: an integer >= 1");
    });

    it("refuses a retention of a fraction of a day above one, and accepts the whole days around it", () => {
        const release = { tag: "v1.0.0", environment: "prod" };
        const deployedAt = new Date("2027-06-15T13:45:00Z");
        expect(() =>
            signoffObjects(entries, release, { objectLockMode: "GOVERNANCE", retentionDays: 1.5 }, deployedAt),
        ).toThrow("provenance.retentionDays: 1.5 is not a whole number of days; allowed: an integer >= 1");
        for (const [retentionDays, retainUntil] of [
            [1, "2027-06-17T00:00:00Z"],
            [2, "2027-06-18T00:00:00Z"],
        ] as const) {
            const [first] = signoffObjects(
                entries,
                release,
                { objectLockMode: "GOVERNANCE", retentionDays },
                deployedAt,
            );
            expect(first.retainUntil).toBe(retainUntil);
        }
    });
});

describe("the repository's ledger (provenance/ledger.jsonl) and signers (governance/signers.json)", () => {
    const gov = loadGovernance();
    const realRoles: RequiredRoles = (tag, environment) => requiredSignoffs(gov, tag, environment);
    const git = gitFacts(repoRoot);
    const options = () => ({
        guardrails,
        signers: loadSigners(
            SIGNERS_FILE,
            gov.roles.map((r) => r.name),
        ),
        git,
        milestoneOf: (t: string, e: string) => milestoneFor(gov, t, e).id,
    });

    it("verifies with the shipped public keys, in this git checkout: every release complete", () => {
        expect(git).toBeDefined();
        const r = verifyLedgerFile(LEDGER_FILE, realRoles, options());
        expect(r.problems).toEqual([]);
        expect(r.entries.length).toBeGreaterThan(0);
    });

    it.each(["staging", "prod"])(
        "ships v1.0.0 to %s signed by at least the floor, one distinct person per role",
        (environment) => {
            const r = verifyLedgerFile(LEDGER_FILE, realRoles, {
                ...options(),
                complete: { tag: "v1.0.0", environment },
            });
            const mine = r.entries.filter((e) => e.tag === "v1.0.0" && e.environment === environment);
            expect(mine.map((e) => e.role)).toEqual(expect.arrayContaining([...floor[environment]]));
            expect(new Set(mine.map((e) => e.keyid)).size).toBe(mine.length);
        },
    );

    it("holds no private key anywhere in the repository", () => {
        const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" })
            .split("\0")
            .filter(Boolean);
        const untracked = execFileSync("git", ["ls-files", "-z", "--others", "--exclude-standard"], {
            cwd: repoRoot,
            encoding: "utf8",
        })
            .split("\0")
            .filter(Boolean);
        // A mutation report embeds the TypeScript sources it ran (mutated files and tests): those are read as the .ts
        // files they are, below; the rest of the report is read like any file.
        const scanned = (f: string, text: string) => {
            if (!/^reports\/mutation\/.*\.json$/.test(f)) {
                return text;
            }
            const report = JSON.parse(text) as Record<string, Record<string, { source?: string }> | undefined>;
            for (const part of [report.files, report.testFiles]) {
                for (const [name, entry] of Object.entries(part ?? {})) {
                    if (name.endsWith(".ts")) {
                        delete entry.source;
                    }
                }
            }
            return JSON.stringify(report);
        };
        const withKeys = [...tracked, ...untracked].filter((f) => {
            const file = path.join(repoRoot, f);
            return (
                fs.existsSync(file) &&
                fs.statSync(file).isFile() &&
                /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(scanned(f, fs.readFileSync(file, "latin1")))
            );
        });
        // Test sources mention the marker as a pattern; no file holds a key block.
        expect(withKeys.filter((f) => !f.endsWith(".ts") && !f.endsWith(".md"))).toEqual([]);
    });
});

describe("npm run provenance", () => {
    const work = () => fs.mkdtempSync(path.join(os.tmpdir(), "maestro-prov-"));
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const gov = loadGovernance();
    const stagingRoles = [...new Set([...requiredSignoffs(gov, "v1.0.0", "staging"), ...floor.staging])];
    /** `npm run provenance -- <command>`, its flags given in order as an object ({ tag: "v1.0.0" }: --tag v1.0.0). */
    const provenance = (command: string, flags: Readonly<Record<string, string>> = {}) =>
        runScript("provenance", command, ...Object.entries(flags).flatMap(([k, v]) => [`--${k}`, v]));

    it("keygen, record (PEM and OpenSSH keys) until complete, verify: the README's flow with throwaway keys", () => {
        const dir = work();
        const signers = path.join(dir, "signers.json");
        const ledger = path.join(dir, "ledger.jsonl");
        fs.writeFileSync(signers, JSON.stringify({ signers: [] }));
        // An empty list fails the schema (minItems 1): keygen validates the file as it will be, with the new key.
        stagingRoles.forEach((role, i) => {
            const key = path.join(dir, `key-${i}`);
            if (i === 0) {
                const k = provenance("keygen", {
                    signers,
                    out: key,
                    name: `Person ${i}`,
                    email: `p${i}@maestro.example`,
                    role,
                });
                expect(k.stderr).toBe("");
                expect(k.status).toBe(0);
                expect((fs.statSync(key).mode & 0o777).toString(8)).toBe("600");
            } else {
                // The second way people already have: an OpenSSH key, listed by its public half.
                execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
                const pem = fs.readFileSync(`${key}.pub`, "utf8");
                const doc = JSON.parse(fs.readFileSync(signers, "utf8")) as { signers: unknown[] };
                doc.signers.push({
                    name: `Person ${i}`,
                    email: `p${i}@maestro.example`,
                    roles: [role],
                    publicKey: pem,
                });
                fs.writeFileSync(signers, JSON.stringify(doc));
            }
            const r = provenance("record", {
                signers,
                ledger,
                tag: "v1.0.0",
                environment: "staging",
                role,
                key,
                commit,
                time: `2026-11-17T0${i}:00:00Z`,
            });
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toContain(`recorded seq ${i + 1}: Person ${i} <p${i}@maestro.example> signs v1.0.0`);
        });
        const v = provenance("verify", { signers, ledger, tag: "v1.0.0", environment: "staging" });
        expect(v.stderr).toBe("");
        expect(v.status).toBe(0);
        // A different person's key cannot record for a role they do not hold.
        const other = path.join(dir, "other");
        provenance("keygen", { signers, out: other, name: "Other", email: "o@maestro.example", role: "Docs Lead" });
        const refused = provenance("record", {
            signers,
            ledger,
            tag: "v1.0.0",
            environment: "prod",
            role: "Sec Lead",
            key: other,
            commit,
            time: "2026-11-18T00:00:00Z",
        });
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain("impersonated role: Other <o@maestro.example>'s key signs for Docs Lead");
    });

    /** A folder with the test team's signers.json, the Release Manager's key and where a ledger goes. */
    const releaseManagerAt = () => {
        const dir = work();
        const files = {
            signers: path.join(dir, "signers.json"),
            ledger: path.join(dir, "ledger.jsonl"),
            key: path.join(dir, "k"),
        };
        fs.writeFileSync(files.signers, JSON.stringify(team.doc));
        fs.writeFileSync(files.key, team.holder("Release Manager").privateKey.export({ type: "pkcs8", format: "pem" }));
        return files;
    };

    /** The Release Manager records v1.0.0's staging sign-off in `files`, with any further flags. */
    const recordStagingCut = (
        files: ReturnType<typeof releaseManagerAt>,
        flags: Readonly<Record<string, string>> = {},
    ) =>
        provenance("record", {
            ...files,
            tag: "v1.0.0",
            environment: "staging",
            role: "Release Manager",
            time: "2026-11-17T00:00:00Z",
            ...flags,
        });

    it("record refuses a commit git does not have", () => {
        const r = recordStagingCut(releaseManagerAt(), { commit: "f".repeat(40) });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`commit ${"f".repeat(40)} is not in this repository`);
    });

    it("record without --commit signs the commit the tag names, or else the commit checked out", () => {
        const files = releaseManagerAt();
        // A clone of this repository has no release tag yet; one that has v1.0.0 signs the tagged commit.
        let expected = commit;
        try {
            expected = execFileSync("git", ["rev-parse", "--verify", "--quiet", "refs/tags/v1.0.0^{commit}"], {
                cwd: repoRoot,
                encoding: "utf8",
            }).trim();
        } catch {
            // no such tag: HEAD
        }
        const r = recordStagingCut(files);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        const entries = fs
            .readFileSync(files.ledger, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map(parseLine);
        expect(entries.map((e) => (typeof e === "string" ? e : e.commit))).toEqual([expected]);
    });

    it("verify exits 1 naming a tampered line", () => {
        const { signers, ledger } = releaseManagerAt();
        fs.writeFileSync(ledger, text.replace(/"sig":"[A-Za-z0-9+/]{4}/, '"sig":"AAAA'));
        const v = provenance("verify", { signers, ledger });
        expect(v.status).toBe(1);
        expect(v.stderr).toContain(
            "ledger.jsonl:1: seq 1 (Release Manager, v1.0.0 staging): signature does not verify",
        );
    });

    it("verify passes on the shipped ledger", () => {
        const r = runScript("provenance", "verify");
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(
            /provenance: provenance\/ledger\.jsonl intact, \d+ signed entries, head [0-9a-f]{64}\n$/,
        );
    });

    it("names a bad command or flag", () => {
        expect(runScript("provenance", "sign").stderr).toContain(
            'unknown command "sign"; allowed: keygen, record, verify',
        );
        expect(runScript("provenance", "verify", "--key", "x").stderr).toContain(
            "--key belongs to `record`, not `verify`",
        );
        expect(runScript("provenance", "verify", "--tag", "v1.0.0").stderr).toContain(
            "give --tag and --environment together",
        );
        expect(runScript("provenance", "record", "--tag", "v1.0.0").stderr).toContain("record needs --environment");
    });
});

describe("a ledger line is one signed sign-off envelope: each shape refused, naming what is allowed", () => {
    type Json = Record<string, unknown>;
    const envelopeOf = (line: string) => JSON.parse(line) as Json;
    const statementOf = (env: Json) =>
        JSON.parse(Buffer.from(env.payload as string, "base64").toString("utf8")) as Json;
    const base64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    /** The first fixture line with its envelope changed (return a value to replace it whole). */
    const withEnvelope = (change: (env: Json) => unknown) => () => {
        const env = envelopeOf(ls[0]);
        return JSON.stringify(change(env) ?? env);
    };
    /** The first fixture line with its statement changed: the shape is checked before any signature. */
    const withStatement = (change: (st: Json) => unknown) =>
        withEnvelope((env) => {
            const st = statementOf(env);
            return { ...env, payload: base64(JSON.stringify(change(st) ?? st)) };
        });
    const subjectOf = (st: Json) => (st.subject as Json[])[0];
    const withPredicate = (change: (p: Json) => unknown) =>
        withStatement((st) => {
            change(st.predicate as Json);
        });
    const ENVELOPE_KEYS = "allowed keys: payload, payloadType, signatures";
    const ONE_SIGNATURE = "signatures must hold exactly one {keyid, sig}: a sign-off is one person's";
    const STATEMENT_KEYS = "allowed keys: _type, predicate, predicateType, subject";
    const ONE_SUBJECT = "the statement's subject must be exactly one {name: <tag>, digest: {gitCommit: <commit>}}";
    const PREDICATE_KEYS = "allowed keys: checked, environment, milestone, prevHash, role, seq, signer, time";
    const NOT_SIGNOFF = `the statement is not a release sign-off; allowed: _type ${IN_TOTO_STATEMENT_TYPE}, predicateType ${SIGNOFF_PREDICATE_TYPE}`;

    it("parses a signed line into its statement's fields, its keyid and its hash", () => {
        const entry = parseLine(ls[0]);
        expect(entry).toEqual({
            ...predicateOf(entries[0]),
            tag: "v1.0.0",
            commit: COMMIT,
            keyid: keyId(team.holder("Release Manager").privateKey),
            hash: envelopeHash(JSON.parse(ls[0]) as DsseEnvelope),
            envelope: JSON.parse(ls[0]) as DsseEnvelope,
        });
    });

    it.each<[string, () => string, string]>([
        ["a JSON list", () => "[]", `not a DSSE envelope object; ${ENVELOPE_KEYS}`],
        ["JSON null", () => "null", `not a DSSE envelope object; ${ENVELOPE_KEYS}`],
        ["a JSON string", () => '"envelope"', `not a DSSE envelope object; ${ENVELOPE_KEYS}`],
        ["a JSON number", () => "7", `not a DSSE envelope object; ${ENVELOPE_KEYS}`],
        [
            "an envelope without its payload",
            withEnvelope(({ payloadType, signatures }) => ({ payloadType, signatures })),
            `the envelope is missing "payload"; ${ENVELOPE_KEYS}`,
        ],
        ["signatures that are not a list", withEnvelope((e) => ({ ...e, signatures: {} })), ONE_SIGNATURE],
        [
            "signatures that are an object shaped like a list of one",
            withEnvelope((e) => ({ ...e, signatures: { 0: (e.signatures as Json[])[0], length: 1 } })),
            ONE_SIGNATURE,
        ],
        ["no signature", withEnvelope((e) => ({ ...e, signatures: [] })), ONE_SIGNATURE],
        ["a signature that is not an object", withEnvelope((e) => ({ ...e, signatures: ["sig"] })), ONE_SIGNATURE],
        ["a null signature", withEnvelope((e) => ({ ...e, signatures: [null] })), ONE_SIGNATURE],
        [
            "a signature with another key",
            withEnvelope((e) => ({ ...e, signatures: [{ ...(e.signatures as Json[])[0], cert: "x" }] })),
            ONE_SIGNATURE,
        ],
        [
            "a signature without its sig",
            withEnvelope((e) => ({ ...e, signatures: [{ keyid: (e.signatures as Json[])[0].keyid }] })),
            ONE_SIGNATURE,
        ],
        [
            "a keyid that is not a string",
            withEnvelope((e) => ({ ...e, signatures: [{ ...(e.signatures as Json[])[0], keyid: 1 }] })),
            ONE_SIGNATURE,
        ],
        [
            "a sig that is not a string",
            withEnvelope((e) => ({ ...e, signatures: [{ ...(e.signatures as Json[])[0], sig: 1 }] })),
            ONE_SIGNATURE,
        ],
        [
            "a payload that is not a string",
            withEnvelope((e) => ({ ...e, payload: 1 })),
            "payload is not a string; allowed: base64 of the in-toto statement",
        ],
        [
            "a payload that is not base64",
            withEnvelope((e) => ({ ...e, payload: "%%%%" })),
            "payload is not base64 of a JSON statement (payload is not standard base64)",
        ],
        [
            "a payload that is a JSON list",
            withEnvelope((e) => ({ ...e, payload: base64("[]") })),
            "payload is not an in-toto statement object",
        ],
        [
            "a statement with another key",
            withStatement((st) => ({ ...st, extra: 1 })),
            `the statement has unknown key "extra"; ${STATEMENT_KEYS}`,
        ],
        [
            "a statement without its subject",
            withStatement(({ subject: _subject, ...st }) => st),
            `the statement is missing "subject"; ${STATEMENT_KEYS}`,
        ],
        [
            "another statement type",
            withStatement((st) => ({ ...st, _type: "https://in-toto.io/Statement/v0.1" })),
            NOT_SIGNOFF,
        ],
        [
            "another predicate type",
            withStatement((st) => ({ ...st, predicateType: "https://slsa.dev/provenance/v1" })),
            NOT_SIGNOFF,
        ],
        ["a subject that is not a list", withStatement((st) => ({ ...st, subject: subjectOf(st) })), ONE_SUBJECT],
        [
            "a subject that is an object shaped like a list of one",
            withStatement((st) => ({ ...st, subject: { 0: subjectOf(st), length: 1 } })),
            ONE_SUBJECT,
        ],
        ["two subjects", withStatement((st) => ({ ...st, subject: [subjectOf(st), subjectOf(st)] })), ONE_SUBJECT],
        ["a subject that is not an object", withStatement((st) => ({ ...st, subject: ["v1.0.0"] })), ONE_SUBJECT],
        ["a null subject", withStatement((st) => ({ ...st, subject: [null] })), ONE_SUBJECT],
        [
            "a subject name that is not a string",
            withStatement((st) => ({ ...st, subject: [{ ...subjectOf(st), name: 1 }] })),
            ONE_SUBJECT,
        ],
        [
            "a digest that is not an object",
            withStatement((st) => ({ ...st, subject: [{ ...subjectOf(st), digest: COMMIT }] })),
            ONE_SUBJECT,
        ],
        [
            "a null digest",
            withStatement((st) => ({ ...st, subject: [{ ...subjectOf(st), digest: null }] })),
            ONE_SUBJECT,
        ],
        [
            "a digest with another algorithm besides gitCommit",
            withStatement((st) => ({
                ...st,
                subject: [{ ...subjectOf(st), digest: { gitCommit: COMMIT, sha256: GENESIS_HASH } }],
            })),
            ONE_SUBJECT,
        ],
        [
            "a gitCommit that is not a string",
            withStatement((st) => ({ ...st, subject: [{ ...subjectOf(st), digest: { gitCommit: 1 } }] })),
            ONE_SUBJECT,
        ],
        [
            "a predicate that is not an object",
            withStatement((st) => ({ ...st, predicate: [] })),
            "the statement's predicate is not an object",
        ],
        [
            "a null predicate",
            withStatement((st) => ({ ...st, predicate: null })),
            "the statement's predicate is not an object",
        ],
        [
            "a predicate with another key",
            withPredicate((p) => (p.extra = 1)),
            `the predicate has unknown key "extra"; ${PREDICATE_KEYS}`,
        ],
        [
            "a predicate without its time",
            withPredicate((p) => delete p.time),
            `the predicate is missing "time"; ${PREDICATE_KEYS}`,
        ],
        [
            "a seq that is not a whole number",
            withPredicate((p) => (p.seq = 1.5)),
            "predicate.seq: 1.5 has the wrong type; allowed: an integer",
        ],
        [
            "a seq written as text",
            withPredicate((p) => (p.seq = "1")),
            'predicate.seq: "1" has the wrong type; allowed: an integer',
        ],
        [
            "checked that is not a list",
            withPredicate((p) => (p.checked = "R1-SIGNOFF-LEDGER")),
            'predicate.checked: "R1-SIGNOFF-LEDGER" has the wrong type; allowed: a list of strings',
        ],
        [
            "a role that is not a string",
            withPredicate((p) => (p.role = 7)),
            "predicate.role: 7 has the wrong type; allowed: a string",
        ],
    ])("refuses %s", (_what, line, message) => {
        expect(parseLine(line())).toBe(message);
    });

    it("refuses a payload of base64 that is not JSON, with the parser's reason", () => {
        const line = withEnvelope((e) => ({ ...e, payload: base64("not json") }))();
        expect(parseLine(line)).toMatch(/^payload is not base64 of a JSON statement \(.+\)$/);
    });

    it("skips blank lines, numbering problems by the file's own lines", () => {
        const spaced = `${ls[0]}\n\n   \n${ls.slice(1).join("\n")}\n{broken\n`;
        const r = verify(spaced, { complete: "none" });
        expect(r.entries).toHaveLength(ls.length);
        expect(r.problems).toEqual([expect.stringMatching(new RegExp(`^${FILE}:${ls.length + 3}: not JSON \\(`))]);
    });
});

/** A well-formed staging sign-off of v1.1.0 by the Release Manager, checking `checked`. */
function stagingSignoff(checked: string[]): SignoffInput {
    return {
        tag: "v1.1.0",
        commit: "b".repeat(40),
        environment: "staging",
        role: "Release Manager",
        milestone: milestoneOf("v1.1.0", "staging"),
        time: "2026-11-30T09:00:00Z",
        checked,
    };
}

describe("the fields of a sign-off: each refused, naming what is allowed", () => {
    const input = (): SignoffInput => stagingSignoff(["R1-SIGNOFF-LEDGER"]);
    const ALLOWED_TAG = `allowed: ${guardrails.cadence.tagFormat} (pattern ${guardrails.cadence.tagPattern})`;

    it("accepts a complete sign-off", () => {
        expect(inputProblems(input(), guardrails)).toEqual([]);
    });

    it.each<[keyof SignoffInput, string]>([
        ["tag", ALLOWED_TAG],
        ["commit", "allowed: 40 lowercase hex digits (git rev-parse <tag>)"],
        ["environment", `allowed: ${guardrails.environments.join(", ")}`],
        ["role", "allowed: a governance role (governance/raci.json)"],
        ["milestone", "allowed: the governance milestone shipping the tag there (governance/milestones.json)"],
        ["time", "allowed: YYYY-MM-DDTHH:MM:SSZ"],
    ])("refuses a missing or blank %s", (field, allowed) => {
        const rest: Partial<SignoffInput> = input();
        delete rest[field];
        expect(inputProblems(rest, guardrails)).toEqual([`${field}: missing; ${allowed}`]);
        expect(inputProblems({ ...input(), [field]: "  " }, guardrails)).toEqual([`${field}: missing; ${allowed}`]);
    });

    it("refuses a tag that is not a release tag", () => {
        expect(inputProblems({ ...input(), tag: "1.1.0" }, guardrails)).toEqual([
            `tag: "1.1.0" is not a release tag; ${ALLOWED_TAG}`,
        ]);
    });

    it.each([
        ["short", "b".repeat(39)],
        ["upper-case", "B".repeat(40)],
        ["padded", ` ${"b".repeat(40)}`],
        ["long", "b".repeat(41)],
    ])("refuses a %s commit id", (_what, commit) => {
        expect(inputProblems({ ...input(), commit }, guardrails)).toEqual([
            `commit: "${commit}" is not a full commit id; allowed: 40 lowercase hex digits (git rev-parse <tag>)`,
        ]);
    });

    it("refuses an environment the guardrails do not list", () => {
        expect(inputProblems({ ...input(), environment: "qa" }, guardrails)).toEqual([
            `environment: "qa" is not a guardrail environment; allowed: ${guardrails.environments.join(", ")}`,
        ]);
    });

    it.each([
        ["with milliseconds", "2026-11-30T09:00:00.000Z"],
        ["without the zone", "2026-11-30T09:00:00"],
        ["with an offset", "2026-11-30T09:00:00+01:00"],
        ["with a space", "2026-11-30 09:00:00Z"],
        ["a day that does not exist", "2026-02-30T09:00:00Z"],
        ["a month that does not exist", "2026-13-01T09:00:00Z"],
        ["text around it", "at 2026-11-30T09:00:00Z"],
        // Date's own round trip writes years past 9999 this way: only the pattern refuses them.
        ["with a six-digit year", "+010000-01-01T00:00:00Z"],
    ])("refuses a time %s", (_what, time) => {
        expect(inputProblems({ ...input(), time }, guardrails)).toEqual([
            `time: "${time}" is not a UTC time to the second; allowed: YYYY-MM-DDTHH:MM:SSZ`,
        ]);
    });

    it.each<[string, unknown]>([
        ["missing", undefined],
        ["not a list", "R1-SIGNOFF-LEDGER"],
        ["holding a number", [1]],
        ["holding a blank id", ["R1-SIGNOFF-LEDGER", " "]],
    ])("refuses checked %s", (_what, checked) => {
        expect(inputProblems({ ...input(), checked: checked as string[] }, guardrails)).toEqual([
            `checked: ${JSON.stringify(checked)}; allowed: a list of backlog item ids (governance/backlog.json)`,
        ]);
    });

    it("accepts an empty checked list (nothing attested beyond the sign-off)", () => {
        expect(inputProblems({ ...input(), checked: [] }, guardrails)).toEqual([]);
    });

    it("lists every problem at once, in field order", () => {
        expect(inputProblems({}, guardrails).map((p) => p.split(":")[0])).toEqual([
            "tag",
            "commit",
            "environment",
            "role",
            "milestone",
            "time",
            "checked",
        ]);
    });
});

describe("the chain, the anchors and the releases: each refusal names the entry or the release", () => {
    /** A line the holder of `role` signs after the fixture's last entry, with the predicate changed as given. */
    const next = (
        role: string,
        change: Partial<SignoffPredicate> = {},
        subject = { tag: "v1.1.0", commit: "b".repeat(40) },
    ) => {
        const last = entries[entries.length - 1];
        const holder = team.holder(role);
        return forgeLine(
            holder.privateKey,
            {
                ...predicateOf(last),
                seq: last.seq + 1,
                prevHash: last.hash,
                environment: "staging",
                role,
                milestone: change.milestone ?? milestoneOf(subject.tag, "staging"),
                signer: `${holder.name} <${holder.email}>`,
                time: "2026-11-30T09:00:00Z",
                ...change,
            },
            subject,
        );
    };
    const where = (role: string, tag = "v1.1.0", env = "staging") =>
        `${FILE}:${ls.length + 1}: seq ${ls.length + 1} (${role}, ${tag} ${env})`;

    it("accepts a well-formed next entry (the forged lines below differ from it in one field)", () => {
        expect(verify(text + next("Release Manager") + "\n", { complete: "none" }).problems).toEqual([]);
    });

    it("refuses a statement naming another signer than the key's holder", () => {
        const rm = team.holder("Release Manager");
        const line = next("Release Manager", { signer: "Someone Else <someone@maestro.example>" });
        expect(verify(text + line + "\n", { complete: "none" }).problems).toEqual([
            `${where("Release Manager")}: the statement names signer "Someone Else <someone@maestro.example>" but the key is ${rm.name} <${rm.email}>'s`,
        ]);
    });

    it("refuses a first entry that does not start from the genesis hash", () => {
        const rm = team.holder("Release Manager");
        const first = forgeLine(
            rm.privateKey,
            { ...predicateOf(entries[0]), prevHash: "f".repeat(64) },
            {
                tag: "v1.0.0",
                commit: COMMIT,
            },
        );
        expect(verify(first + "\n", { complete: "none" }).problems).toEqual([
            `${FILE}:1: seq 1 (Release Manager, v1.0.0 staging): prevHash of the first entry must be ${GENESIS_HASH}: entries before it were removed`,
        ]);
    });

    it("refuses a prevHash that is not a sha256", () => {
        const r = verify(text + next("Release Manager", { prevHash: "not-a-hash" }) + "\n", { complete: "none" });
        expect(r.problems).toEqual([
            expect.stringContaining(
                `${where("Release Manager")}: prevHash does not match the hash of the entry before it`,
            ),
            `${where("Release Manager")}: prevHash "not-a-hash" is not a sha256; allowed: 64 lowercase hex digits`,
        ]);
    });

    it.each<[string, (hash: string) => string]>([
        ["a digit after the hash", (h) => `${h}0`],
        ["a digit before the hash", (h) => `0${h}`],
        ["the hash in upper case", (h) => h.toUpperCase()],
    ])("refuses a prevHash of %s as not a sha256", (_what, variant) => {
        const prevHash = variant(entries[entries.length - 1].hash);
        const r = verify(text + next("Release Manager", { prevHash }) + "\n", { complete: "none" });
        expect(r.problems).toEqual([
            expect.stringContaining(
                `${where("Release Manager")}: prevHash does not match the hash of the entry before it`,
            ),
            `${where("Release Manager")}: prevHash "${prevHash}" is not a sha256; allowed: 64 lowercase hex digits`,
        ]);
    });

    it("refuses an entry whose fields are not a sign-off's, naming the field", () => {
        const r = verify(text + next("Release Manager", { time: "2026-11-30T09:00:00.000Z" }) + "\n", {
            complete: "none",
        });
        expect(r.problems).toEqual([
            `${where("Release Manager")}: time: "2026-11-30T09:00:00.000Z" is not a UTC time to the second; allowed: YYYY-MM-DDTHH:MM:SSZ`,
        ]);
    });

    it("accepts a time exactly at the allowed skew, and refuses one second past it", () => {
        const skew = guardrails.signoffs.maxClockSkewSeconds;
        const at = (s: number) => ledgerTime(new Date(NOW.getTime() + s * 1000));
        expect(verify(text + next("Release Manager", { time: at(skew) }) + "\n", { complete: "none" }).ok).toBe(true);
        expect(
            verify(text + next("Release Manager", { time: at(skew + 1) }) + "\n", { complete: "none" }).problems,
        ).toEqual([
            `${where("Release Manager")}: time ${at(skew + 1)} is in the future (now ${ledgerTime(NOW)}, allowed clock skew ${skew}s): a post-dated entry would block every honest one after it`,
        ]);
    });

    it("accepts an entry at the same second as the one before it", () => {
        const same = next("Release Manager", { time: entries[entries.length - 1].time });
        expect(verify(text + same + "\n", { complete: "none" }).ok).toBe(true);
    });

    it("refuses an entry of a release no rule covers, and asks nothing more of its milestone", () => {
        const line = next("Release Manager", { milestone: "M-ANY" }, { tag: "v9.9.9", commit: "b".repeat(40) });
        expect(verify(text + line + "\n", { complete: "none" }).problems).toEqual([
            `${where("Release Manager", "v9.9.9")}: no release rule: cannot tell which sign-offs v9.9.9 needs in staging: no milestone ships v9.9.9 to staging`,
        ]);
    });

    it("refuses a later environment whose earlier one has no release rule", () => {
        const line = forgeLine(
            team.holder("Release Manager").privateKey,
            {
                ...predicateOf(entries[entries.length - 1]),
                seq: entries.length + 1,
                prevHash: entries[entries.length - 1].hash,
                environment: "prod",
                role: "Release Manager",
                milestone: "M-ANY",
                signer: entries[0].signer,
                time: "2026-11-30T09:00:00Z",
            },
            { tag: "v9.9.9", commit: "b".repeat(40) },
        );
        expect(verify(text + line + "\n", { complete: "none" }).problems).toEqual([
            expect.stringContaining("no release rule"),
            `${where("Release Manager", "v9.9.9", "prod")}: environment skipped: v9.9.9 is signed for prod before its staging release is complete (no milestone ships v9.9.9 to staging); promote through staging first`,
        ]);
    });

    it("asks a sign-off for an environment without a floor for no earlier environment", () => {
        // dev has no sign-off floor, so it is no stage of the promotion: v1.1.0 has no staging sign-off yet.
        const devToo: RequiredRoles = (tag, env) => (env === "dev" ? ["Release Manager"] : requiredRoles(tag, env));
        const dev = next("Release Manager", { environment: "dev", milestone: "M-DEV-V1-1-0" });
        expect(verify(text + dev + "\n", { complete: "none", requiredRoles: devToo }).problems).toEqual([]);
        const prod = next("Release Manager", { environment: "prod", milestone: "M-PROD-V1-1-0" });
        expect(verify(text + prod + "\n", { complete: "none", requiredRoles: devToo }).problems).toEqual([
            expect.stringContaining("no release rule"),
            `${where("Release Manager", "v1.1.0", "prod")}: environment skipped: v1.1.0 is signed for prod before its staging release is complete (missing Release Manager, Dev Lead, SRE Lead); promote through staging first`,
        ]);
    });

    it("names only the first environment skipped when several earlier ones are incomplete", () => {
        const threeStages = {
            ...guardrails,
            signoffs: { ...guardrails.signoffs, floor: { dev: ["Release Manager"], ...guardrails.signoffs.floor } },
        };
        const rm = team.holder("Release Manager");
        const line = forgeLine(
            rm.privateKey,
            {
                seq: 1,
                prevHash: GENESIS_HASH,
                environment: "prod",
                role: "Release Manager",
                milestone: "M-ANY",
                signer: `${rm.name} <${rm.email}>`,
                time: "2026-11-30T09:00:00Z",
                checked: [],
            },
            NEXT_RELEASE,
        );
        const r = verify(line + "\n", {
            guardrails: threeStages,
            requiredRoles: () => ["Release Manager"],
            complete: "none",
        });
        expect(r.problems).toEqual([
            `${FILE}:1: seq 1 (Release Manager, v1.1.0 prod): environment skipped: v1.1.0 is signed for prod before its dev release is complete (missing Release Manager); promote through dev first`,
        ]);
    });

    it("names the line a role first signed a release on", () => {
        const first = next("Release Manager");
        const firstEntry = verify(text + first + "\n", { complete: "none" }).entries.slice(-1)[0];
        const second = forgeLine(
            team.holder("Release Manager").privateKey,
            {
                ...predicateOf(firstEntry),
                seq: firstEntry.seq + 1,
                prevHash: firstEntry.hash,
            },
            { tag: "v1.1.0", commit: "b".repeat(40) },
        );
        expect(verify(text + first + "\n" + second + "\n", { complete: "none" }).problems).toEqual([
            `${FILE}:${ls.length + 2}: seq ${ls.length + 2} (Release Manager, v1.1.0 staging): Release Manager already signed v1.1.0 in staging on line ${ls.length + 1}; one sign-off per role and release`,
        ]);
    });

    it("names the line a person first signed a release on when they sign a second role", () => {
        const dual = makeTeam([
            ["Rosa Reyes", ["Release Manager", "Dev Lead"]],
            ["Sam Lindqvist", ["SRE Lead"]],
        ]);
        const rosa = "Rosa Reyes <rosa.reyes@maestro.example>";
        const step = { ...NEXT_RELEASE, environment: "staging" };
        const { text: ledger } = chainSteps(dual, [
            { ...step, role: "Release Manager", time: "2026-11-30T09:00:00Z" },
            { ...step, role: "Release Manager", time: "2026-11-30T09:15:00Z" },
            { ...step, role: "Dev Lead", time: "2026-11-30T09:30:00Z" },
        ]);
        expect(verifyLedger(ledger, FILE, optionsFor(dual, { complete: "none" })).problems).toEqual([
            `${FILE}:2: seq 2 (Release Manager, v1.1.0 staging): Release Manager already signed v1.1.0 in staging on line 1; one sign-off per role and release`,
            `${FILE}:3: seq 3 (Dev Lead, v1.1.0 staging): same person for two roles: ${rosa} already signed v1.1.0 in staging as Release Manager on line 1; distinct roles need distinct people`,
        ]);
    });

    it("asks for a release's required roles once, however many lines sign it", () => {
        const asked: string[] = [];
        const counting: RequiredRoles = (tag, env) => {
            asked.push(`${tag} ${env}`);
            return requiredRoles(tag, env);
        };
        expect(verify(text, { requiredRoles: counting }).ok).toBe(true);
        expect(asked).toEqual(["v1.0.0 staging", "v1.0.0 prod"]);
    });

    it("checks the release a deploy names, not another tag's release in the same environment", () => {
        const grown = text + next("Release Manager") + "\n";
        expect(verify(grown, { complete: { tag: "v1.0.0", environment: "staging" } }).problems).toEqual([]);
        expect(verify(grown, { complete: { tag: "v1.1.0", environment: "staging" } }).problems).toEqual([
            expect.stringContaining(`${FILE}: v1.1.0 in staging is missing the sign-off of Dev Lead, SRE Lead`),
        ]);
    });

    it("tells an anchored head that is an earlier entry from one that is not in the ledger, and accepts the last", () => {
        const last = entries[entries.length - 1];
        expect(verify(text, { head: last.hash }).ok).toBe(true);
        expect(verify(text, { head: entries[1].hash }).problems).toEqual([
            `${FILE}: the anchored head ${entries[1].hash} is entry seq 2 (line 2), not the last entry: entries were appended after the anchor was taken; re-anchor after checking them`,
        ]);
        expect(verify(text, { head: "e".repeat(64) }).problems).toEqual([
            `${FILE}: the anchored head ${"e".repeat(64)} is not in the ledger: entries after it were removed or the chain was rewritten`,
        ]);
        expect(verify("", { head: GENESIS_HASH, complete: "none" }).ok).toBe(true);
    });

    it("accepts any ledger, even an empty one, as extending the genesis anchor (a first deploy)", () => {
        const genesis = { head: GENESIS_HASH, source: "the first deploy" };
        expect(verify("", { extends: genesis, complete: "none" }).ok).toBe(true);
        expect(verify(text, { extends: genesis }).ok).toBe(true);
    });

    it("accepts a ledger whose first entry is the anchor", () => {
        expect(verify(text, { extends: { head: entries[0].hash, source: "an early deploy" } }).ok).toBe(true);
    });

    it("reports a release to deploy that nobody signed, with what it needs and how to record it", () => {
        const r = verify(text, { complete: { tag: "v1.1.0", environment: "staging" } });
        const required = requiredWithFloor(guardrails, requiredRoles, "v1.1.0", "staging");
        expect(r.problems).toEqual([
            `${FILE}: v1.1.0 in staging is missing the sign-off of ${required.join(", ")} (required: ${required.join(", ")}; signed: nobody); record it with \`npm run provenance -- record --tag v1.1.0 --environment staging --role "<role>" --key <private key>\``,
        ]);
        expect(r.releases.find((x) => x.tag === "v1.1.0")).toEqual({
            tag: "v1.1.0",
            environment: "staging",
            signed: [],
            required,
            missing: required,
            complete: false,
        });
    });

    it("reports a release to deploy missing a sign-off, listing the roles that signed it", () => {
        const [rm, dev] = entries;
        const r = verify(join(ls.slice(0, 2)), { complete: { tag: "v1.0.0", environment: "staging" } });
        const required = requiredWithFloor(guardrails, requiredRoles, "v1.0.0", "staging");
        const missing = required.filter((role) => role !== rm.role && role !== dev.role);
        expect(missing.length).toBeGreaterThan(0);
        expect(r.problems).toEqual([
            `${FILE}: v1.0.0 in staging is missing the sign-off of ${missing.join(", ")} (required: ${required.join(", ")}; signed: ${rm.role}, ${dev.role}); record it with \`npm run provenance -- record --tag v1.0.0 --environment staging --role "<role>" --key <private key>\``,
        ]);
    });

    it("checks only the release a deploy names, and none when asked for none", () => {
        const cut = join(ls.slice(0, -1));
        expect(verify(cut, { complete: { tag: "v1.0.0", environment: "staging" } }).ok).toBe(true);
        expect(verify(cut, { complete: { tag: "v1.0.0", environment: "prod" } }).problems).toEqual([
            expect.stringContaining(
                `${FILE}: v1.0.0 in prod is missing the sign-off of ${entries[entries.length - 1].role}`,
            ),
        ]);
        expect(verify(cut, { complete: "none" }).ok).toBe(true);
        expect(verify(cut).ok).toBe(false);
    });

    it("reports a release to deploy that no rule covers", () => {
        const r = verify(text, { complete: { tag: "v9.9.9", environment: "prod" } });
        expect(r.problems).toEqual([
            `${FILE}: v9.9.9 in prod: cannot tell which sign-offs it needs: no milestone ships v9.9.9 to prod`,
        ]);
        expect(r.releases.find((x) => x.tag === "v9.9.9")).toMatchObject({ required: [], complete: false });
    });

    it("reports each release's signers in ledger order, its commit, and the head", () => {
        const r = verify(text);
        expect(r.releases.map((x) => [x.environment, x.commit, x.signed])).toEqual([
            [
                "staging",
                COMMIT,
                releaseSteps()
                    .filter((s) => s.environment === "staging")
                    .map((s) => s.role),
            ],
            [
                "prod",
                COMMIT,
                releaseSteps()
                    .filter((s) => s.environment === "prod")
                    .map((s) => s.role),
            ],
        ]);
        expect(verify("", { complete: "none" })).toEqual({
            ok: true,
            problems: [],
            releases: [],
            entries: [],
            head: GENESIS_HASH,
        });
    });
});

describe("recording a sign-off refuses before signing", () => {
    const input = (): SignoffInput => stagingSignoff([]);

    it("a sign-off with a bad field, listing every problem", () => {
        expect(() =>
            signSignoff(
                text,
                { ...input(), tag: "latest", commit: "HEAD" },
                team.holder("Release Manager").privateKey,
                optionsFor(team),
            ),
        ).toThrow(
            `cannot record the sign-off:\n  tag: "latest" is not a release tag; allowed: ${guardrails.cadence.tagFormat} (pattern ${guardrails.cadence.tagPattern})\n  commit: "HEAD" is not a full commit id`,
        );
    });

    it("on top of a ledger that does not verify", () => {
        const broken = join([ls[1], ls[0], ...ls.slice(2)]);
        expect(() => signSignoff(broken, input(), team.holder("Release Manager").privateKey, optionsFor(team))).toThrow(
            `${FILE} is not intact; nothing recorded:\n  ${FILE}:1: seq 2`,
        );
    });

    it("on top of a ledger that does not verify, listing every problem", () => {
        const cut = join([ls[1]]);
        const where = `${FILE}:1: seq 2 (${entries[1].role}, v1.0.0 staging)`;
        expect(() => signSignoff(cut, input(), team.holder("Release Manager").privateKey, optionsFor(team))).toThrow(
            new Error(
                `${FILE} is not intact; nothing recorded:\n` +
                    `  ${where}: seq is 2, expected 1: an entry before it was removed or inserted, or entries were reordered\n` +
                    `  ${where}: prevHash of the first entry must be ${GENESIS_HASH}: entries before it were removed`,
            ),
        );
    });

    it("with a key not listed, naming everyone who holds the role", () => {
        const two = makeTeam([...STANDARD_TEAM, ["Ada Second", ["Release Manager"]]]);
        const stranger = makeTeam([["Sam Stranger", ["Release Manager"]]]).people[0];
        const first: SignoffInput = {
            ...input(),
            tag: "v1.0.0",
            commit: COMMIT,
            milestone: milestoneOf("v1.0.0", "staging"),
        };
        expect(() => signSignoff("", first, stranger.privateKey, optionsFor(two))).toThrow(
            new Error(
                `cannot record the sign-off:\n  key: ${keyId(stranger.privateKey)} is not in signers.json; allowed: a key listed there for "Release Manager" (Rosa Reyes <rosa.reyes@maestro.example>, Ada Second <ada.second@maestro.example>)`,
            ),
        );
    });

    it("with a key nobody holds for a role nobody holds", () => {
        const stranger = makeTeam([["Sam Stranger", ["Release Manager"]]]);
        expect(() =>
            signSignoff(
                text,
                { ...input(), role: "Chief Vibes Officer" },
                stranger.people[0].privateKey,
                optionsFor(team),
            ),
        ).toThrow(
            `key: ${keyId(stranger.people[0].privateKey)} is not in signers.json; allowed: a key listed there for "Chief Vibes Officer" (nobody holds it)`,
        );
    });

    it("names the line after the last one when a sign-off after it is refused", () => {
        const docs = { ...input(), role: "Docs Lead" };
        const allowed = requiredWithFloor(guardrails, requiredRoles, "v1.1.0", "staging").join(", ");
        expect(() => signSignoff(text, docs, team.holder("Docs Lead").privateKey, optionsFor(team))).toThrow(
            new Error(
                `cannot record the sign-off:\n  ${FILE}:${ls.length + 1}: seq ${ls.length + 1} (Docs Lead, v1.1.0 staging): role Docs Lead does not sign off v1.1.0 in staging; allowed: ${allowed}`,
            ),
        );
    });

    it("listing every problem the new line would have", () => {
        const docs = { ...input(), role: "Docs Lead", milestone: "M-ELSEWHERE" };
        const where = `${FILE}:${ls.length + 1}: seq ${ls.length + 1} (Docs Lead, v1.1.0 staging)`;
        const allowed = requiredWithFloor(guardrails, requiredRoles, "v1.1.0", "staging").join(", ");
        expect(() => signSignoff(text, docs, team.holder("Docs Lead").privateKey, optionsFor(team))).toThrow(
            new Error(
                `cannot record the sign-off:\n` +
                    `  ${where}: role Docs Lead does not sign off v1.1.0 in staging; allowed: ${allowed}\n` +
                    `  ${where}: milestone "M-ELSEWHERE" does not ship v1.1.0 to staging; allowed: ${milestoneOf("v1.1.0", "staging")}`,
            ),
        );
    });

    it("names line 1 when the first sign-off of an empty ledger is refused", () => {
        const first: SignoffInput = {
            tag: "v1.0.0",
            commit: COMMIT,
            environment: "prod",
            role: "Release Manager",
            milestone: milestoneOf("v1.0.0", "prod"),
            time: "2026-11-30T09:00:00Z",
            checked: [],
        };
        expect(() => signSignoff("", first, team.holder("Release Manager").privateKey, optionsFor(team))).toThrow(
            new Error(
                `cannot record the sign-off:\n  ${FILE}:1: seq 1 (Release Manager, v1.0.0 prod): environment skipped: v1.0.0 is signed for prod before its staging release is complete (missing Release Manager, Dev Lead, SRE Lead); promote through staging first`,
            ),
        );
    });

    it("appends to a ledger whose last line has no newline", () => {
        const entry = signSignoff(text.trimEnd(), input(), team.holder("Release Manager").privateKey, optionsFor(team));
        expect(entry).toMatchObject({ seq: ls.length + 1, prevHash: entries[entries.length - 1].hash, tag: "v1.1.0" });
        const first = signSignoff(
            "",
            { ...input(), tag: "v1.0.0", commit: COMMIT, milestone: milestoneOf("v1.0.0", "staging") },
            team.holder("Release Manager").privateKey,
            optionsFor(team),
        );
        expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    });
});

describe("ledger files and helpers", () => {
    const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), "maestro-ledger-"));

    it("a missing ledger file is a problem saying how to record the first sign-off", () => {
        const file = path.join(dir(), "ledger.jsonl");
        const r = verifyLedgerFile(file, requiredRoles, { guardrails, signers: team.signers, now: NOW });
        expect(r).toEqual({
            ok: false,
            problems: [
                `${file}: ledger file not found; record the first sign-off with \`npm run provenance -- record\``,
            ],
            releases: [],
            entries: [],
            head: GENESIS_HASH,
        });
    });

    it("appends one newline-terminated line, also after a last line without one, creating the folder", () => {
        const file = path.join(dir(), "nested", "ledger.jsonl");
        appendToLedgerFile(file, entries[0]);
        expect(fs.readFileSync(file, "utf8")).toBe(`${ls[0]}\n`);
        fs.writeFileSync(file, ls[0]);
        appendToLedgerFile(file, entries[1]);
        expect(fs.readFileSync(file, "utf8")).toBe(`${ls[0]}\n${ls[1]}\n`);
        appendToLedgerFile(file, entries[2]);
        expect(fs.readFileSync(file, "utf8")).toBe(join(ls.slice(0, 3)));
    });

    it("slugs a role for object keys", () => {
        expect(roleSlug("Release Manager")).toBe("release-manager");
        expect(roleSlug("  -Sec & Privacy Lead!- ")).toBe("sec-privacy-lead");
    });

    it("writes times as ISO 8601 UTC to the second", () => {
        expect(ledgerTime(new Date("2026-11-24T10:00:00.987Z"))).toBe("2026-11-24T10:00:00Z");
    });

    it("adds the guardrails' floor to a release's own roles, each once, in order", () => {
        const own: RequiredRoles = () => ["Sec Lead", "Release Manager"];
        expect(requiredWithFloor(guardrails, own, "v1.0.0", "staging")).toEqual([
            "Sec Lead",
            "Release Manager",
            ...floor.staging.filter((r) => r !== "Sec Lead" && r !== "Release Manager"),
        ]);
        expect(requiredWithFloor(guardrails, () => [], "v1.0.0", "dev")).toEqual([...(floor.dev ?? [])]);
    });

    it("refuses a retention of zero days and accepts one day", () => {
        const release = { tag: "v1.0.0", environment: "prod" };
        const deployedAt = new Date("2027-06-15T13:45:00Z");
        expect(() =>
            signoffObjects(entries, release, { objectLockMode: "COMPLIANCE", retentionDays: 0 }, deployedAt),
        ).toThrow("provenance.retentionDays: 0 is not a whole number of days; allowed: an integer >= 1");
        const [first] = signoffObjects(
            entries,
            release,
            { objectLockMode: "COMPLIANCE", retentionDays: 1 },
            deployedAt,
        );
        expect(first.retainUntil).toBe("2027-06-17T00:00:00Z");
    });

    it("keeps only the release's own entries as objects", () => {
        const objects = signoffObjects(
            entries,
            { tag: "v1.0.0", environment: "staging" },
            { objectLockMode: "GOVERNANCE", retentionDays: 1 },
            NOW,
        );
        expect(objects.map((o) => o.entry)).toEqual(entries.slice(0, prodStart));
        expect(
            signoffObjects(
                entries,
                { tag: "v1.1.0", environment: "staging" },
                { objectLockMode: "GOVERNANCE", retentionDays: 1 },
                NOW,
            ),
        ).toEqual([]);
    });
});

describe("DSSE envelopes and keys: each refusal", () => {
    const rsa = () => generateKeyPairSync("rsa", { modulusLength: 1024 });
    const ed = () => generateKeyPairSync("ed25519");
    const envelope = () => signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{"a":1}'), team.people[0].privateKey);

    it("reads a payload only as standard base64", () => {
        expect(envelopePayload({ payload: "eyJhIjoxfQ==" }).toString()).toBe('{"a":1}');
        expect(envelopePayload({ payload: "" })).toEqual(Buffer.alloc(0));
        for (const payload of ["eyJhIjoxfQ", "eyJhIjoxfQ=$", "-_Jh", "eyJh IjoxfQ=="]) {
            expect(() => envelopePayload({ payload })).toThrow("payload is not standard base64");
        }
    });

    it("digests the PAE of the payload type and payload", () => {
        const e = envelope();
        expect(envelopeDigest(e)).toBe(
            createHash("sha256")
                .update(pae(e.payloadType, Buffer.from(e.payload, "base64")))
                .digest("hex"),
        );
    });

    it("verifies a signature only with the signer's Ed25519 key, over the exact payload type", () => {
        const e = envelope();
        const pub = createPublicKey(team.people[0].privateKey);
        expect(verifySignature(e, e.signatures[0], pub)).toBe(true);
        expect(verifySignature(e, e.signatures[0], createPublicKey(team.people[1].privateKey))).toBe(false);
        expect(verifySignature({ ...e, payloadType: "text/plain" }, e.signatures[0], pub)).toBe(false);
        expect(verifySignature(e, e.signatures[0], rsa().publicKey)).toBe(false);
    });

    it("refuses a signature that is not base64 of 64 bytes", () => {
        const e = envelope();
        const pub = createPublicKey(team.people[0].privateKey);
        const sig = Buffer.from(e.signatures[0].sig, "base64");
        for (const bad of [
            `${e.signatures[0].sig.slice(0, -2)}$=`,
            sig.subarray(0, 63).toString("base64"),
            Buffer.concat([sig, Buffer.from([0])]).toString("base64"),
        ]) {
            expect(verifySignature(e, { keyid: e.signatures[0].keyid, sig: bad }, pub)).toBe(false);
        }
    });

    it("refuses a signature by an RSA key, even one of 64 bytes over the same PAE", () => {
        const e = envelope();
        const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 512 });
        const sig = sign(null, pae(e.payloadType, envelopePayload(e)), privateKey);
        expect(sig).toHaveLength(64);
        expect(verifySignature(e, { keyid: keyId(publicKey), sig: sig.toString("base64") }, publicKey)).toBe(false);
    });

    it("signs only with an Ed25519 key, naming the key's type", () => {
        expect(() => signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from("{}"), rsa().privateKey)).toThrow(
            "the signing key is a rsa key; allowed: Ed25519",
        );
    });

    it("gives a key pair's halves one keyid (sha256 of the public key's SPKI DER) and one raw public key", () => {
        const { privateKey, publicKey } = ed();
        const der = publicKey.export({ type: "spki", format: "der" });
        expect(keyId(privateKey)).toBe(createHash("sha256").update(der).digest("hex"));
        expect(keyId(publicKey)).toBe(keyId(privateKey));
        expect(rawPublicKey(privateKey)).toEqual(rawPublicKey(publicKey));
    });

    describe("public keys", () => {
        /** An OpenSSH public key line over a hand-made blob: string type, string key, then anything after. */
        const sshLine = (type: string, raw: Buffer, after = Buffer.alloc(0)) =>
            `ssh-ed25519 ${Buffer.concat([sshString(type), sshString(raw), after]).toString("base64")} someone@host`;

        it("reads PEM and an OpenSSH line (with or without a comment) as the same key", () => {
            const { publicKey } = ed();
            const raw = rawPublicKey(publicKey);
            const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
            expect(keyId(publicKeyFromText(`\n${pem}\n`))).toBe(keyId(publicKey));
            expect(keyId(publicKeyFromText(sshLine("ssh-ed25519", raw)))).toBe(keyId(publicKey));
            const bare = sshLine("ssh-ed25519", raw).split(" ").slice(0, 2).join(" ");
            expect(keyId(publicKeyFromText(`${bare}\n`))).toBe(keyId(publicKey));
        });

        it("reads an OpenSSH line with blank space around it, and a bare key ending in CRLF", () => {
            const { publicKey } = ed();
            const line = sshLine("ssh-ed25519", rawPublicKey(publicKey));
            const bare = line.split(" ").slice(0, 2).join(" ");
            expect(keyId(publicKeyFromText(`\n  ${line}\n\n`))).toBe(keyId(publicKey));
            expect(keyId(publicKeyFromText(`${bare}\r\n`))).toBe(keyId(publicKey));
        });

        it.each<[string, (raw: Buffer) => string]>([
            ["another key type inside an ssh-ed25519 line", (raw) => sshLine("ssh-ed448", raw)],
            ["a key of 31 bytes", (raw) => sshLine("ssh-ed25519", raw.subarray(0, 31))],
            ["a key of 33 bytes", (raw) => sshLine("ssh-ed25519", Buffer.concat([raw, Buffer.from([0])]))],
            [
                "a key type length past the blob",
                (raw) =>
                    `ssh-ed25519 ${Buffer.concat([Buffer.from([255, 255, 255, 255]), Buffer.from("ssh-ed25519"), sshString(raw)]).toString("base64")}`,
            ],
            [
                "a key length one past its 32 bytes (the blob as long as a good one)",
                (raw) =>
                    `ssh-ed25519 ${Buffer.concat([sshString("ssh-ed25519"), Buffer.from([0, 0, 0, 33]), raw]).toString("base64")}`,
            ],
            ["bytes after the key", (raw) => sshLine("ssh-ed25519", raw, Buffer.from([0]))],
            ["a blob shorter than its length field", () => `ssh-ed25519 ${Buffer.from([0, 0]).toString("base64")}`],
            [
                "a key length past the blob",
                (raw) =>
                    `ssh-ed25519 ${Buffer.concat([sshString("ssh-ed25519"), Buffer.from([0, 0, 0, 32]), raw.subarray(0, 8)]).toString("base64")}`,
            ],
            [
                "a key length field cut short",
                () =>
                    `ssh-ed25519 ${Buffer.concat([sshString("ssh-ed25519"), Buffer.from([0, 0])]).toString("base64")}`,
            ],
        ])("refuses an OpenSSH line with %s", (_what, line) => {
            expect(() => publicKeyFromText(line(rawPublicKey(ed().publicKey)))).toThrow(
                "the OpenSSH public key is malformed; allowed: one ssh-ed25519 key",
            );
        });

        it("refuses a key's base64 that is not the one standard spelling of its blob", () => {
            const [, b64] = sshLine("ssh-ed25519", rawPublicKey(ed().publicKey)).split(" ");
            // 51 bytes are 68 characters without padding; Node's decoder drops a lone character past them and padding.
            for (const spelled of [`${b64}A`, `${b64}=`, `${b64}==`]) {
                expect(() => publicKeyFromText(`ssh-ed25519 ${spelled} someone@host`)).toThrow(
                    "the OpenSSH public key is malformed; allowed: one ssh-ed25519 key",
                );
            }
        });

        it("refuses an OpenSSH line with text before it or a line after it", () => {
            const line = sshLine("ssh-ed25519", rawPublicKey(ed().publicKey));
            // Not an OpenSSH line, so it is read as PEM, which OpenSSL's decoder refuses in its own words.
            expect(() => publicKeyFromText(`key: ${line}`)).toThrow();
            expect(() => publicKeyFromText(`${line}\n${line}`)).toThrow(
                "the OpenSSH public key is ssh-ed25519; allowed: ssh-ed25519",
            );
        });

        it("refuses other OpenSSH key types and non-Ed25519 PEM, naming the type", () => {
            expect(() => publicKeyFromText("ssh-rsa AAAAB3NzaC1yc2E= me@host")).toThrow(
                "the OpenSSH public key is ssh-rsa; allowed: ssh-ed25519",
            );
            expect(() => publicKeyFromText("\n  ssh-rsa AAAAB3NzaC1yc2E= me@host\n")).toThrow(
                "the OpenSSH public key is ssh-rsa; allowed: ssh-ed25519",
            );
            expect(() => publicKeyFromText(rsa().publicKey.export({ type: "spki", format: "pem" }).toString())).toThrow(
                "the public key is a rsa key; allowed: Ed25519",
            );
        });
    });

    describe("private keys", () => {
        const BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
        const END = "-----END OPENSSH PRIVATE KEY-----";
        interface OpenSshParts {
            magic?: string;
            cipher?: string;
            keys?: number;
            checks?: [number, number];
            type?: string;
            pub?: Buffer;
            secret?: Buffer;
            /** What follows the secret in the private section (a comment string). */
            tail?: Buffer;
            /** The whole private section, in place of the one built from the parts above. */
            section?: Buffer;
            /** The public key blob before the private section (by default the section's public key). */
            header?: Buffer;
        }
        /** An OpenSSH private key file (PROTOCOL.key) built from an Ed25519 key, with one part changed. */
        function openSsh(parts: OpenSshParts = {}, key = ed().privateKey): { text: string; blob: Buffer } {
            const jwk = key.export({ format: "jwk" }) as { d: string; x: string };
            const pub = parts.pub ?? Buffer.from(jwk.x, "base64url");
            const secret = parts.secret ?? Buffer.concat([Buffer.from(jwk.d, "base64url"), pub]);
            const [c1, c2] = parts.checks ?? [7, 7];
            const u32 = (n: number) => {
                const b = Buffer.alloc(4);
                b.writeUInt32BE(n);
                return b;
            };
            const priv =
                parts.section ??
                Buffer.concat([
                    u32(c1),
                    u32(c2),
                    sshString(parts.type ?? "ssh-ed25519"),
                    sshString(pub),
                    sshString(secret),
                    parts.tail ?? sshString("comment"),
                ]);
            const blob = Buffer.concat([
                Buffer.from(parts.magic ?? "openssh-key-v1\0", "latin1"),
                sshString(parts.cipher ?? "none"),
                sshString("none"),
                sshString(""),
                u32(parts.keys ?? 1),
                sshString(parts.header ?? Buffer.concat([sshString("ssh-ed25519"), sshString(pub)])),
                sshString(priv),
            ]);
            return { text: armor(blob), blob };
        }
        const armor = (blob: Buffer) => `${BEGIN}\n${blob.toString("base64").replace(/(.{70})/g, "$1\n")}\n${END}\n`;

        it("reads PKCS#8 PEM and an unencrypted OpenSSH key as the same key", () => {
            const { privateKey } = ed();
            expect(keyId(privateKeyFromText(privateKey.export({ type: "pkcs8", format: "pem" }).toString()))).toBe(
                keyId(privateKey),
            );
            expect(keyId(privateKeyFromText(openSsh({}, privateKey).text))).toBe(keyId(privateKey));
        });

        it("refuses a PKCS#8 key that is not Ed25519", () => {
            expect(() =>
                privateKeyFromText(rsa().privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
            ).toThrow("the private key is a rsa key; allowed: Ed25519");
        });

        it.each<[string, () => string, string]>([
            ["no END line", () => openSsh().text.replace(END, ""), "the OpenSSH private key has no END line"],
            [
                "nothing between BEGIN and END",
                () => `${BEGIN}${END}`,
                "not an OpenSSH private key (no openssh-key-v1 header)",
            ],
            [
                "another header",
                () => openSsh({ magic: "openssh-key-v2\0" }).text,
                "not an OpenSSH private key (no openssh-key-v1 header)",
            ],
            [
                "a length field cut short",
                () => armor(openSsh().blob.subarray(0, 17)),
                "the OpenSSH private key is truncated",
            ],
            ["a string cut short", () => armor(openSsh().blob.subarray(0, 22)), "the OpenSSH private key is truncated"],
            [
                "its private section cut short (inside the comment, after the key)",
                () => armor(openSsh().blob.subarray(0, -4)),
                "the OpenSSH private key is truncated",
            ],
            [
                "a cipher",
                () => openSsh({ cipher: "aes256-ctr" }).text,
                "the OpenSSH private key is encrypted (aes256-ctr); allowed: an unencrypted key. Export one for signing with " +
                    '`ssh-keygen -p -N "" -f COPY` on a copy kept on an encrypted disk, or convert it: `ssh-keygen -p -m PKCS8 -f COPY`',
            ],
            [
                "two keys",
                () => openSsh({ keys: 2 }).text,
                "the OpenSSH private key file holds several keys; allowed: exactly one",
            ],
            [
                "check integers that differ",
                () => openSsh({ checks: [7, 8] }).text,
                "the OpenSSH private key's check integers differ (wrong passphrase or a corrupt key)",
            ],
            [
                "another key type",
                () => openSsh({ type: "ssh-rsa" }).text,
                "the OpenSSH private key is ssh-rsa; allowed: ssh-ed25519",
            ],
            [
                "a public key of 31 bytes",
                () => openSsh({ pub: Buffer.alloc(31, 1) }).text,
                "the OpenSSH Ed25519 key is malformed",
            ],
            [
                "a secret of 32 bytes",
                () => openSsh({ secret: Buffer.alloc(32, 1) }).text,
                "the OpenSSH Ed25519 key is malformed",
            ],
            [
                "a secret whose second half is not the public key",
                () => {
                    const key = ed().privateKey;
                    const d = Buffer.from((key.export({ format: "jwk" }) as { d: string }).d, "base64url");
                    return openSsh({ secret: Buffer.concat([d, Buffer.alloc(32, 1)]) }, key).text;
                },
                "the OpenSSH Ed25519 key is malformed",
            ],
            [
                "an empty secret ending its private section (a length field that ends the section is read)",
                () => openSsh({ secret: Buffer.alloc(0), tail: Buffer.alloc(0) }).text,
                "the OpenSSH Ed25519 key is malformed",
            ],
            [
                "a private section shorter than its check integers",
                () => openSsh({ section: Buffer.from([0, 0, 0, 7]) }).text,
                "the OpenSSH private key is truncated",
            ],
            [
                "a secret's length past its private section",
                () =>
                    openSsh({
                        section: Buffer.concat([
                            Buffer.from([0, 0, 0, 7, 0, 0, 0, 7]),
                            sshString("ssh-ed25519"),
                            sshString(rawPublicKey(ed().publicKey)),
                            Buffer.from([0, 0, 0, 64]),
                            Buffer.alloc(10),
                        ]),
                    }).text,
                "the OpenSSH private key is truncated",
            ],
            [
                "a public key (and the secret's copy of it) that is not the secret key's",
                () => openSsh({ pub: rawPublicKey(ed().publicKey) }).text,
                "the OpenSSH Ed25519 key's public key is not its secret key's",
            ],
            [
                "a public key before its private section that is not the section's",
                () =>
                    openSsh({
                        header: Buffer.concat([sshString("ssh-ed25519"), sshString(rawPublicKey(ed().publicKey))]),
                    }).text,
                "the OpenSSH private key's public key is not the one its private section holds",
            ],
        ])("refuses an OpenSSH key with %s", (_what, text, message) => {
            expect(() => privateKeyFromText(text())).toThrow(message);
        });
    });
});

describe("signers.json: each refusal names the entry", () => {
    const doc = () => JSON.parse(JSON.stringify(team.doc)) as typeof team.doc;

    it("lists each person by keyid with their identity and roles", () => {
        const signers = parseSigners(doc(), "signers.json");
        const rm = team.holder("Release Manager");
        const id = keyId(rm.privateKey);
        expect(signers.file).toBe("signers.json");
        expect(signers.byKeyId.get(id)).toMatchObject({
            name: rm.name,
            email: rm.email,
            roles: ["Release Manager"],
            keyid: id,
            identity: `${rm.name} <${rm.email}>`,
        });
        expect(signers.signers.map((s) => s.keyid)).toEqual(team.people.map((p) => keyId(p.privateKey)));
    });

    it("refuses a key that does not parse, naming the formats allowed", () => {
        const bad = doc();
        bad.signers[2].publicKey = "ssh-ed25519 AAAA";
        expect(() => parseSigners(bad, "signers.json")).toThrow(
            "signers.json: /signers/2/publicKey: the OpenSSH public key is malformed; allowed: one ssh-ed25519 key; allowed: an Ed25519 public key in PEM (openssl pkey -pubout) or an OpenSSH ssh-ed25519 line",
        );
    });

    it("refuses an email listed twice, whatever its case", () => {
        const twice = doc();
        twice.signers[3].email = twice.signers[1].email.toUpperCase();
        expect(() => parseSigners(twice, "signers.json")).toThrow(
            `signers.json: /signers/3/email: ${twice.signers[3].email} is already listed at /signers/1; one entry per person, with all their roles`,
        );
    });

    it("refuses a key listed twice, naming its first holder", () => {
        const twin = doc();
        twin.signers[4].publicKey = twin.signers[0].publicKey;
        const first = team.people[0];
        expect(() => parseSigners(twin, "signers.json")).toThrow(
            `signers.json: /signers/4/publicKey: the key ${keyId(first.privateKey)} is already ${first.name} <${first.email}>'s; a key belongs to one person`,
        );
    });

    it("accepts any role when no role list is given, and refuses one outside the list given", () => {
        const odd = doc();
        odd.signers[0].roles = ["Chief Vibes Officer"];
        expect(parseSigners(odd, "signers.json").signers[0].roles).toEqual(["Chief Vibes Officer"]);
        expect(() => parseSigners(odd, "signers.json", ["Release Manager", "Dev Lead"])).toThrow(
            'signers.json: /signers/0/roles/0: unknown role "Chief Vibes Officer"; allowed: Release Manager, Dev Lead',
        );
    });

    it("lists every problem at once", () => {
        const bad = doc();
        bad.signers[1].email = bad.signers[0].email;
        bad.signers[2].publicKey = bad.signers[0].publicKey;
        try {
            parseSigners(bad, "signers.json");
            throw new Error("expected a refusal");
        } catch (err) {
            expect((err as ValidationError).problems.map((p) => p.path)).toEqual([
                "/signers/1/email",
                "/signers/2/publicKey",
            ]);
        }
    });
});

describe("the deploy's code binding and its anchor (provenance/release.ts)", () => {
    const SIGNED = "a".repeat(40);
    const release = { tag: "v1.0.0", commit: SIGNED };
    const checkout = (over: Partial<CheckoutState> = {}): CheckoutState => ({
        head: SIGNED,
        dirty: [],
        changedSince: () => [],
        ...over,
    });
    const files = (n: number) => Array.from({ length: n }, (_, i) => `f${i}.ts`);

    it("binds a clean checkout of the signed commit", () => {
        expect(codeBindingProblems(release, checkout())).toEqual([]);
    });

    it("refuses a deploy from outside a git checkout", () => {
        expect(codeBindingProblems(release, undefined)).toEqual([
            "the deploy does not run from a git checkout, so the code cannot be bound to the commit v1.0.0 was signed at; deploy from a clone of the repository",
        ]);
    });

    it("refuses a release the ledger has no commit for", () => {
        expect(codeBindingProblems({ tag: "v1.0.0", commit: undefined }, checkout())).toEqual([
            "v1.0.0 has no signed commit in the ledger, so no code can be bound to it",
        ]);
    });

    it("refuses uncommitted files, naming at most five", () => {
        expect(codeBindingProblems(release, checkout({ dirty: files(5) }))).toEqual([
            "the working tree is dirty (f0.ts, f1.ts, f2.ts, f3.ts, f4.ts): uncommitted code is not signed code; commit or stash it",
        ]);
        expect(codeBindingProblems(release, checkout({ dirty: files(6) }))).toEqual([
            "the working tree is dirty (f0.ts, f1.ts, f2.ts, f3.ts, f4.ts, ...): uncommitted code is not signed code; commit or stash it",
        ]);
    });

    it("accepts a later HEAD that differs from the signed commit only in the ledger", () => {
        const changedSince = (c: string) => (c === SIGNED ? [...SIGNOFF_FILES] : undefined);
        expect(codeBindingProblems(release, checkout({ head: "b".repeat(40), changedSince }))).toEqual([]);
    });

    it("refuses a HEAD whose code differs from the signed commit, naming at most five files", () => {
        const head = "b".repeat(40);
        const allowed = `check out v1.0.0 (only ${SIGNOFF_FILES.join(", ")} may be newer)`;
        expect(
            codeBindingProblems(release, checkout({ head, changedSince: () => [...SIGNOFF_FILES, ...files(5)] })),
        ).toEqual([
            `HEAD ${head} is not v1.0.0's signed commit ${SIGNED}: 5 file(s) differ (f0.ts, f1.ts, f2.ts, f3.ts, f4.ts); ${allowed}`,
        ]);
        expect(codeBindingProblems(release, checkout({ head, changedSince: () => files(6) }))).toEqual([
            `HEAD ${head} is not v1.0.0's signed commit ${SIGNED}: 6 file(s) differ (f0.ts, f1.ts, f2.ts, f3.ts, f4.ts, ...); ${allowed}`,
        ]);
    });

    it("refuses a HEAD it cannot compare with the signed commit", () => {
        const head = "b".repeat(40);
        expect(codeBindingProblems(release, checkout({ head, changedSince: () => undefined }))).toEqual([
            `HEAD ${head} cannot be compared with v1.0.0's signed commit ${SIGNED} (not in this clone); fetch it`,
        ]);
    });

    it("does not diff when HEAD is the signed commit, and reports a dirty tree and a moved HEAD together", () => {
        const never = () => {
            throw new Error("HEAD is the signed commit: nothing to compare");
        };
        expect(codeBindingProblems(release, checkout({ changedSince: never }))).toEqual([]);
        const both = codeBindingProblems(
            release,
            checkout({ head: "b".repeat(40), dirty: ["x.ts"], changedSince: () => ["y.ts"] }),
        );
        expect(both.map((p) => p.split(" ")[0])).toEqual(["the", "HEAD"]);
    });

    it("reads the anchor a previous deploy recorded, and nothing else as one", () => {
        const head = "d".repeat(64);
        expect(priorLedgerHead({ provenance: { ledgerHead: head } })).toBe(head);
        for (const outputs of [
            undefined,
            {},
            { provenance: {} },
            { provenance: { ledgerHead: 1 } },
            { provenance: { ledgerHead: [head] } },
            { provenance: { ledgerHead: head.toUpperCase() } },
            { provenance: { ledgerHead: `${head}0` } },
            { provenance: { ledgerHead: ` ${head}` } },
            { provenance: { ledgerHead: GENESIS_HASH } },
        ]) {
            expect(priorLedgerHead(outputs)).toBeUndefined();
        }
    });
});

/** An SSH wire-format string: uint32 length, then the bytes. */
function sshString(b: Buffer | string): Buffer {
    const bytes = typeof b === "string" ? Buffer.from(b, "latin1") : b;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    return Buffer.concat([len, bytes]);
}
