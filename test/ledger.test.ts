import { execFileSync } from "child_process";
import { createPublicKey, generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadGovernance, milestoneFor, requiredSignoffs } from "../governance";
import { keyId, pae, privateKeyFromText, publicKeyFromText, rawPublicKey, verifySignature } from "../provenance/dsse";
import { gitFacts } from "../provenance/git";
import {
    IN_TOTO_PAYLOAD_TYPE,
    IN_TOTO_STATEMENT_TYPE,
    LEDGER_FILE,
    RequiredRoles,
    SignoffEntry,
    envelopeHash,
    SIGNOFF_PREDICATE_TYPE,
    signSignoff,
    signoffObjectKey,
    signoffObjects,
    verifyLedger,
    verifyLedgerFile,
} from "../provenance/ledger";
import { SIGNERS_FILE, loadSigners, parseSigners } from "../provenance/signers";
import { repoRoot } from "../core/validation";
import { guardrails, runScript } from "./helpers";
import {
    COMMIT,
    GENESIS_HASH,
    NOW,
    STANDARD_TEAM,
    Team,
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
    text = signSteps(team, releaseSteps());
    ls = lines(text);
    entries = verify(text).entries;
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
            { tag: "v1.1.0", commit: "b".repeat(40) },
        );
        const r = verify(text + line + "\n", { complete: "none" });
        expect(r.problems).toContain(
            `${FILE}:${ls.length + 1}: seq ${ls.length + 1} (SRE Lead, v1.1.0 staging): impersonated role: ${devLead.name} <${devLead.email}>'s key signs for Dev Lead (signers.json), not SRE Lead`,
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
        const line = forgeLine(
            rosa.privateKey,
            {
                ...predicateOf(last),
                seq: last.seq + 1,
                prevHash: last.hash,
                role: "Sec Lead",
                time: steps[steps.length - 1].time,
                signer: `${rosa.name} <${rosa.email}>`,
            },
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

    it("a time in the future (beyond the allowed skew), while a time within the skew passes", () => {
        const skew = guardrails.signoffs.maxClockSkewSeconds;
        const at = (s: number) => new Date(NOW.getTime() + s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
        const step = { tag: "v1.1.0", commit: "b".repeat(40), environment: "staging", role: "Release Manager" };
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
        const grown = signSteps(
            team,
            [
                {
                    tag: "v1.1.0",
                    commit: "b".repeat(40),
                    environment: "staging",
                    role: "Release Manager",
                    time: "2026-11-30T09:00:00Z",
                },
            ],
            text,
        );
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
        const step = { tag: "v1.1.0", commit: "b".repeat(40), environment: "staging", time: "2026-11-30T09:00:00Z" };
        expect(() => signSteps(team, [{ ...step, role: "Docs Lead" }], text)).toThrow(
            `role Docs Lead does not sign off v1.1.0 in staging; allowed: ${[...new Set([...requiredRoles("v1.1.0", "staging"), ...floor.staging])].join(", ")}`,
        );
        expect(() => signSteps(team, [{ ...step, tag: "v9.9.9", role: "Release Manager" }], text)).toThrow(
            "no milestone ships v9.9.9 to staging",
        );
        const rm = team.holder("Release Manager");
        const last = entries[entries.length - 1];
        const wrong = forgeLine(
            rm.privateKey,
            {
                ...predicateOf(last),
                seq: last.seq + 1,
                prevHash: last.hash,
                environment: "staging",
                role: "Release Manager",
                milestone: "R9-ELSEWHERE",
                signer: `${rm.name} <${rm.email}>`,
                time: step.time,
            },
            { tag: "v1.1.0", commit: "b".repeat(40) },
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
        expect(() =>
            signSteps(
                team,
                [
                    {
                        tag: "v1.1.0",
                        commit: "b".repeat(40),
                        environment: "staging",
                        role: "Release Manager",
                        time: "2026-11-01T00:00:00Z",
                    },
                ],
                text,
            ),
        ).toThrow(`time 2026-11-01T00:00:00Z is before the previous entry's ${entries[entries.length - 1].time}`);
    });

    it("a key signers.json does not list cannot record", () => {
        expect(() =>
            signSignoff(
                text,
                {
                    tag: "v1.1.0",
                    commit: "b".repeat(40),
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
        const withKeys = [...tracked, ...untracked].filter((f) => {
            const file = path.join(repoRoot, f);
            return (
                fs.existsSync(file) &&
                fs.statSync(file).isFile() &&
                /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(fs.readFileSync(file, "latin1"))
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

    it("keygen, record (PEM and OpenSSH keys) until complete, verify: the README's flow with throwaway keys", () => {
        const dir = work();
        const signers = path.join(dir, "signers.json");
        const ledger = path.join(dir, "ledger.jsonl");
        fs.writeFileSync(signers, JSON.stringify({ signers: [] }));
        // An empty list fails the schema (minItems 1): keygen validates the file as it will be, with the new key.
        stagingRoles.forEach((role, i) => {
            const key = path.join(dir, `key-${i}`);
            if (i === 0) {
                const k = runScript(
                    "provenance",
                    "keygen",
                    "--signers",
                    signers,
                    "--out",
                    key,
                    "--name",
                    `Person ${i}`,
                    "--email",
                    `p${i}@maestro.example`,
                    "--role",
                    role,
                );
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
            const r = runScript(
                "provenance",
                "record",
                "--signers",
                signers,
                "--ledger",
                ledger,
                "--tag",
                "v1.0.0",
                "--environment",
                "staging",
                "--role",
                role,
                "--key",
                key,
                "--commit",
                commit,
                "--time",
                `2026-11-17T0${i}:00:00Z`,
            );
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toContain(`recorded seq ${i + 1}: Person ${i} <p${i}@maestro.example> signs v1.0.0`);
        });
        const v = runScript(
            "provenance",
            "verify",
            "--signers",
            signers,
            "--ledger",
            ledger,
            "--tag",
            "v1.0.0",
            "--environment",
            "staging",
        );
        expect(v.stderr).toBe("");
        expect(v.status).toBe(0);
        // A different person's key cannot record for a role they do not hold.
        const other = path.join(dir, "other");
        runScript(
            "provenance",
            "keygen",
            "--signers",
            signers,
            "--out",
            other,
            "--name",
            "Other",
            "--email",
            "o@maestro.example",
            "--role",
            "Docs Lead",
        );
        const refused = runScript(
            "provenance",
            "record",
            "--signers",
            signers,
            "--ledger",
            ledger,
            "--tag",
            "v1.0.0",
            "--environment",
            "prod",
            "--role",
            "Sec Lead",
            "--key",
            other,
            "--commit",
            commit,
            "--time",
            "2026-11-18T00:00:00Z",
        );
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain("impersonated role: Other <o@maestro.example>'s key signs for Docs Lead");
    });

    it("record refuses a commit git does not have, and verify exits 1 naming a tampered line", () => {
        const dir = work();
        const ledger = path.join(dir, "ledger.jsonl");
        const key = path.join(dir, "k");
        const signers = path.join(dir, "signers.json");
        fs.writeFileSync(signers, JSON.stringify(team.doc));
        fs.writeFileSync(key, team.holder("Release Manager").privateKey.export({ type: "pkcs8", format: "pem" }));
        const r = runScript(
            "provenance",
            "record",
            "--signers",
            signers,
            "--ledger",
            ledger,
            "--tag",
            "v1.0.0",
            "--environment",
            "staging",
            "--role",
            "Release Manager",
            "--key",
            key,
            "--commit",
            "f".repeat(40),
            "--time",
            "2026-11-17T00:00:00Z",
        );
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(`commit ${"f".repeat(40)} is not in this repository`);
        fs.writeFileSync(ledger, text.replace(/"sig":"[A-Za-z0-9+/]{4}/, '"sig":"AAAA'));
        const v = runScript("provenance", "verify", "--signers", signers, "--ledger", ledger);
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
