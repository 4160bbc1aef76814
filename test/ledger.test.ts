import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadGovernance, requiredSignoffs } from "../governance";
import {
    GENESIS_HASH,
    IN_TOTO_STATEMENT_TYPE,
    LEDGER_FILE,
    RequiredRoles,
    SignoffEntry,
    appendEntry,
    entryHash,
    serializeEntry,
    signoffObjectKey,
    signoffObjects,
    verifyLedger,
    verifyLedgerFile,
} from "../provenance/ledger";
import { repoRoot } from "../core/validation";
import { guardrails, runScript } from "./helpers";

const FIXTURES = path.join(__dirname, "fixtures", "provenance");
const FIXTURE_LEDGER = path.join(FIXTURES, "ledger.jsonl");
const FILE = "ledger.jsonl";

/** Required roles from the fixture (a stand-in for governance's milestones); unknown releases throw, as governance does. */
const fixtureRoles = JSON.parse(fs.readFileSync(path.join(FIXTURES, "required-roles.json"), "utf8")) as Record<
    string,
    Record<string, string[]>
>;
const requiredRoles: RequiredRoles = (tag, environment) => {
    const roles = fixtureRoles[tag]?.[environment];
    if (!roles) {
        throw new Error(`no milestone ships ${tag} to ${environment}`);
    }
    return roles;
};

const text = fs.readFileSync(FIXTURE_LEDGER, "utf8");
const lines = text.trimEnd().split("\n");
const entries = lines.map((l) => JSON.parse(l) as SignoffEntry);
const verify = (t: string, options: Partial<Parameters<typeof verifyLedger>[2]> = {}) =>
    verifyLedger(t, FILE, { guardrails, requiredRoles, ...options });
const join = (ls: readonly string[]) => ls.join("\n") + "\n";
/** The fixture with one line replaced by `change(entry)`, re-serialized without touching its hash. */
const edited = (index: number, change: (e: Record<string, unknown>) => void) =>
    join(
        lines.map((l, i) => {
            if (i !== index) {
                return l;
            }
            const e = JSON.parse(l) as Record<string, unknown>;
            change(e);
            return JSON.stringify(e);
        }),
    );
/** A signed entry with every derived field recomputed, as a forger who knows the format would write it. */
const reseal = (e: Omit<SignoffEntry, "hash">): SignoffEntry => ({ ...e, hash: entryHash(e) });

describe("the fixture ledger", () => {
    it("verifies: chain intact, every release complete", () => {
        const r = verify(text);
        expect(r.problems).toEqual([]);
        expect(r.ok).toBe(true);
        expect(r.head).toBe(entries[entries.length - 1].hash);
        expect(r.releases).toEqual([
            {
                tag: "v1.0.0",
                environment: "staging",
                commit: entries[0].commit,
                signed: ["Release Manager", "Dev Lead"],
                required: fixtureRoles["v1.0.0"].staging,
                missing: [],
                complete: true,
            },
            {
                tag: "v1.0.0",
                environment: "prod",
                commit: entries[0].commit,
                signed: ["Release Manager", "Sec Lead", "Product Lead"],
                required: fixtureRoles["v1.0.0"].prod,
                missing: [],
                complete: true,
            },
        ]);
    });

    it("chains each entry to the one before by sha256 over its canonical form", () => {
        expect(entries[0].prevHash).toBe(GENESIS_HASH);
        entries.forEach((e, i) => {
            expect(e.hash).toBe(entryHash(e));
            expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
            if (i > 0) {
                expect(e.prevHash).toBe(entries[i - 1].hash);
            }
            expect(serializeEntry(e)).toBe(lines[i]);
        });
    });
});

describe("record (appendEntry)", () => {
    const next = {
        tag: "v1.1.0",
        commit: "b".repeat(40),
        environment: "staging",
        role: "Release Manager",
        signer: "Rosa Reyes <rosa@maestro.example>",
        time: "2026-11-30T09:00:00Z",
    };

    it("appends an entry chained to the last one that still verifies", () => {
        const e = appendEntry(entries, next, { guardrails, requiredRoles });
        expect(e).toEqual({
            ...next,
            seq: entries.length + 1,
            prevHash: entries[entries.length - 1].hash,
            hash: entryHash(e),
        });
        const r = verify(text + serializeEntry(e) + "\n", { complete: "none" });
        expect(r.problems).toEqual([]);
        expect(r.releases.find((x) => x.tag === "v1.1.0")).toMatchObject({
            signed: ["Release Manager"],
            missing: ["Dev Lead"],
            complete: false,
        });
    });

    it("starts a new ledger at the genesis hash", () => {
        const e = appendEntry([], next, { guardrails });
        expect(e.seq).toBe(1);
        expect(e.prevHash).toBe(GENESIS_HASH);
    });

    it.each([
        [
            "a tag that is not vX.Y.Z",
            { tag: "1.1" },
            `tag: "1.1" is not a release tag; allowed: ${guardrails.cadence.tagFormat}`,
        ],
        [
            "a short commit",
            { commit: "abc1234" },
            'commit: "abc1234" is not a full commit id; allowed: 40 lowercase hex digits',
        ],
        [
            "an unknown environment",
            { environment: "qa" },
            `environment: "qa" is not a guardrail environment; allowed: ${guardrails.environments.join(", ")}`,
        ],
        [
            "a time with a zone offset",
            { time: "2026-11-30T09:00:00+01:00" },
            'time: "2026-11-30T09:00:00+01:00" is not a UTC time to the second; allowed: YYYY-MM-DDTHH:MM:SSZ',
        ],
        ["an empty signer", { signer: " " }, "signer: missing"],
        [
            "a role the release does not need",
            { role: "Docs Lead" },
            'role: "Docs Lead" does not sign off v1.1.0 in staging; allowed: Release Manager, Dev Lead',
        ],
        ["a release no milestone ships", { tag: "v9.9.9" }, "tag: no milestone ships v9.9.9 to staging"],
        [
            "a role that already signed",
            { tag: "v1.0.0", commit: entries[0].commit, role: "Dev Lead" },
            "role: Dev Lead already signed v1.0.0 in staging (seq 2",
        ],
        [
            "a tag signed before at another commit",
            { tag: "v1.0.0" },
            `commit: v1.0.0 was signed at ${entries[0].commit} (seq 1); a tag names one commit`,
        ],
        [
            "a time before the last entry",
            { time: "2026-11-01T00:00:00Z" },
            `time: 2026-11-01T00:00:00Z is before the last entry's ${entries[entries.length - 1].time}`,
        ],
    ])("refuses %s", (_what, change, message) => {
        expect(() => appendEntry(entries, { ...next, ...change }, { guardrails, requiredRoles })).toThrow(message);
    });
});

describe("verify detects tampering", () => {
    it("an edited field (hash no longer matches)", () => {
        const r = verify(edited(3, (e) => (e.signer = "Mallory <mallory@evil.example>")));
        expect(r.ok).toBe(false);
        expect(r.problems).toEqual([
            `${FILE}:4: hash does not match the entry's content: the entry was edited after it was recorded`,
        ]);
    });

    it("an edited entry whose hash was recomputed (the next entry's prevHash no longer matches)", () => {
        const forged = reseal({ ...entries[1], role: "Sec Lead" });
        const r = verify(join(lines.map((l, i) => (i === 1 ? serializeEntry(forged) : l))));
        expect(r.problems).toContain(
            `${FILE}:3: prevHash does not match the hash of the entry before it (line 2, seq 2): an entry was removed, inserted or reordered`,
        );
    });

    it("a removed entry in the middle", () => {
        const r = verify(join(lines.filter((_l, i) => i !== 2)));
        expect(r.problems).toEqual(
            expect.arrayContaining([
                `${FILE}:3: seq is 4, expected 3: an entry before it was removed or inserted, or entries were reordered`,
                `${FILE}:3: prevHash does not match the hash of the entry before it (line 2, seq 2): an entry was removed, inserted or reordered`,
            ]),
        );
    });

    it("a removed first entry", () => {
        const r = verify(join(lines.slice(1)));
        expect(r.problems).toContain(
            `${FILE}:1: prevHash of the first entry must be ${GENESIS_HASH}: entries before it were removed`,
        );
    });

    it("reordered entries", () => {
        const swapped = [...lines];
        [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
        const r = verify(join(swapped));
        expect(r.problems).toEqual(
            expect.arrayContaining([
                `${FILE}:4: seq is 5, expected 4: an entry before it was removed or inserted, or entries were reordered`,
                `${FILE}:4: prevHash does not match the hash of the entry before it (line 3, seq 3): an entry was removed, inserted or reordered`,
                `${FILE}:5: time ${entries[3].time} is before the previous entry's ${entries[4].time}: entries were reordered or back-dated`,
            ]),
        );
    });

    it("an inserted entry", () => {
        const forged = reseal({ ...entries[1], seq: 3, role: "Sec Lead", prevHash: entries[1].hash });
        const r = verify(join([...lines.slice(0, 2), serializeEntry(forged), ...lines.slice(2)]));
        expect(r.problems).toContain(
            `${FILE}:4: seq is 3, expected 4: an entry before it was removed or inserted, or entries were reordered`,
        );
        expect(r.problems).toContain(
            `${FILE}:4: prevHash does not match the hash of the entry before it (line 3, seq 3): an entry was removed, inserted or reordered`,
        );
    });

    it("a cut-off tail: by the missing required sign-off, and by the head anchor", () => {
        const r = verify(join(lines.slice(0, -1)), { head: entries[entries.length - 1].hash });
        expect(r.problems).toEqual([
            `${FILE}: the anchored head ${entries[entries.length - 1].hash} is not in the ledger: entries after it were removed or the chain was rewritten`,
            expect.stringContaining(
                `${FILE}: v1.0.0 in prod is missing the sign-off of Product Lead (required: ${fixtureRoles["v1.0.0"].prod.join(", ")}; signed: Release Manager, Sec Lead)`,
            ),
        ]);
    });

    it("entries appended after an anchor are named, and an anchor at the head passes", () => {
        expect(verify(text, { head: entries[2].hash }).problems).toEqual([
            `${FILE}: the anchored head ${entries[2].hash} is entry seq 3 (line 3), not the last entry: entries were appended after the anchor was taken; re-anchor after checking them`,
        ]);
        expect(verify(text, { head: entries[entries.length - 1].hash }).ok).toBe(true);
    });

    it("a line that is not an entry", () => {
        const r = verify(join([lines[0], "{not json", JSON.stringify({ ...entries[1], extra: 1 })]), {
            complete: "none",
        });
        expect(r.problems).toEqual(
            expect.arrayContaining([
                expect.stringMatching(new RegExp(`^${FILE}:2: not JSON \\(`)),
                `${FILE}:3: unknown key "extra"; allowed keys: seq, tag, commit, environment, role, signer, time, prevHash, hash`,
            ]),
        );
    });
});

describe("verify checks the fields and the release rules", () => {
    const resealedAt = (index: number, change: Partial<SignoffEntry>) => {
        // Rebuild the chain from scratch so only the rule under test fails.
        const out: SignoffEntry[] = [];
        entries.forEach((e, i) => {
            const body = {
                ...e,
                ...(i === index ? change : {}),
                prevHash: out.length ? out[out.length - 1].hash : GENESIS_HASH,
            };
            out.push(reseal(body));
        });
        return join(out.map(serializeEntry));
    };

    it.each([
        ["a bad tag", { tag: "release-1" }, `${FILE}:2: tag: "release-1" is not a release tag`],
        ["a bad commit", { commit: "HEAD" }, `${FILE}:2: commit: "HEAD" is not a full commit id`],
        [
            "an unknown environment",
            { environment: "qa" },
            `${FILE}:2: environment: "qa" is not a guardrail environment`,
        ],
        [
            "a time that is not ISO 8601 UTC",
            { time: "16/11/2026 10:30" },
            `${FILE}:2: time: "16/11/2026 10:30" is not a UTC time to the second`,
        ],
        [
            "a tag signed at two commits",
            { commit: "d".repeat(40) },
            `${FILE}:2: v1.0.0 is signed at commit ${"d".repeat(40)} but at ${entries[0].commit} on line 1; a tag names one commit`,
        ],
        [
            "a role signing twice",
            { role: "Release Manager" },
            `${FILE}:2: Release Manager already signed v1.0.0 in staging on line 1; one sign-off per role and release`,
        ],
    ])("flags %s", (_what, change, message) => {
        const r = verify(resealedAt(1, change), { complete: "none" });
        expect(r.ok).toBe(false);
        expect(r.problems).toEqual(expect.arrayContaining([expect.stringContaining(message)]));
    });

    it("fails on a release missing a required sign-off, naming the role and how to record it", () => {
        // A ledger in which the Sec Lead never signed prod (chain intact: built, not edited).
        const short: SignoffEntry[] = [];
        for (const e of entries.filter((x) => !(x.environment === "prod" && x.role === "Sec Lead"))) {
            short.push(
                reseal({
                    ...e,
                    seq: short.length + 1,
                    prevHash: short.length ? short[short.length - 1].hash : GENESIS_HASH,
                }),
            );
        }
        const missing = verify(join(short.map(serializeEntry)));
        expect(missing.problems).toEqual([
            `${FILE}: v1.0.0 in prod is missing the sign-off of Sec Lead (required: ${fixtureRoles["v1.0.0"].prod.join(", ")}; signed: Release Manager, Product Lead); record it with \`npm run provenance -- record --tag v1.0.0 --environment prod --role "<role>"\``,
        ]);
        expect(missing.releases.find((x) => x.environment === "prod")).toMatchObject({
            missing: ["Sec Lead"],
            complete: false,
        });
    });

    it("scopes the required sign-offs: one release (a deploy), all, or none; the chain is always checked", () => {
        const partial = appendEntry(
            entries,
            {
                tag: "v1.1.0",
                commit: "b".repeat(40),
                environment: "staging",
                role: "Release Manager",
                signer: "r",
                time: "2026-11-30T09:00:00Z",
            },
            { guardrails, requiredRoles },
        );
        const withPartial = text + serializeEntry(partial) + "\n";
        expect(verify(withPartial).ok).toBe(false);
        expect(verify(withPartial, { complete: { tag: "v1.0.0", environment: "prod" } }).ok).toBe(true);
        expect(verify(withPartial, { complete: { tag: "v1.1.0", environment: "staging" } }).problems).toEqual([
            expect.stringContaining("v1.1.0 in staging is missing the sign-off of Dev Lead"),
        ]);
        expect(verify(withPartial, { complete: "none" }).ok).toBe(true);
    });

    it("a deploy of a release nobody signed fails, listing every required role", () => {
        const r = verify(text, { complete: { tag: "v1.1.0", environment: "staging" } });
        expect(r.problems).toEqual([
            expect.stringContaining(
                "v1.1.0 in staging is missing the sign-off of Release Manager, Dev Lead (required: Release Manager, Dev Lead; signed: nobody)",
            ),
        ]);
    });

    it("a release governance knows nothing about is a problem, with governance's reason", () => {
        const r = verify(text, { complete: { tag: "v7.0.0", environment: "prod" } });
        expect(r.problems).toEqual([
            `${FILE}: v7.0.0 in prod: cannot tell which sign-offs it needs: no milestone ships v7.0.0 to prod`,
        ]);
    });

    it("reports a missing ledger file", () => {
        const r = verifyLedgerFile(path.join(os.tmpdir(), "no-such-ledger.jsonl"), requiredRoles, { guardrails });
        expect(r.ok).toBe(false);
        expect(r.problems[0]).toContain("ledger file not found");
    });
});

describe("sign-off objects for the provenance bucket", () => {
    const lock = { objectLockMode: "COMPLIANCE" as const, retentionDays: 400 };

    it("keys each entry by environment, tag and commit, in ledger order", () => {
        const objects = signoffObjects(entries, { tag: "v1.0.0", environment: "prod" }, lock);
        expect(objects.map((o) => o.key)).toEqual([
            `signoffs/prod/v1.0.0/${entries[0].commit}/000003-release-manager.json`,
            `signoffs/prod/v1.0.0/${entries[0].commit}/000004-sec-lead.json`,
            `signoffs/prod/v1.0.0/${entries[0].commit}/000005-product-lead.json`,
        ]);
        expect(signoffObjectKey(entries[0])).toBe(
            `signoffs/staging/v1.0.0/${entries[0].commit}/000001-release-manager.json`,
        );
    });

    it("locks each until its sign-off time plus the retention, deterministically", () => {
        for (const o of signoffObjects(
            entries,
            { tag: "v1.0.0", environment: "staging" },
            { objectLockMode: "GOVERNANCE", retentionDays: 90 },
        )) {
            expect(o.lockMode).toBe("GOVERNANCE");
            expect(Date.parse(o.retainUntil) - Date.parse(o.entry.time)).toBe(90 * 24 * 3600 * 1000);
            expect(o.retainUntil).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        }
    });

    it("uploads an in-toto Statement v1 whose subject is the tagged commit and whose predicate is the entry", () => {
        const [o] = signoffObjects(entries, { tag: "v1.0.0", environment: "staging" }, lock);
        const statement = JSON.parse(o.content) as { _type: string; subject: unknown[]; predicate: SignoffEntry };
        expect(statement._type).toBe(IN_TOTO_STATEMENT_TYPE);
        expect(statement.subject).toEqual([{ name: "v1.0.0", digest: { gitCommit: entries[0].commit } }]);
        expect(statement.predicate).toEqual(entries[0]);
        expect(entryHash(statement.predicate)).toBe(statement.predicate.hash);
    });

    it("refuses a retention that is not a whole number of days", () => {
        expect(() =>
            signoffObjects(entries, { tag: "v1.0.0", environment: "prod" }, { ...lock, retentionDays: 0.5 }),
        ).toThrow("provenance.retentionDays: 0.5 is not a whole number of days; allowed: an integer >= 1");
    });
});

describe("the repository's ledger (provenance/ledger.jsonl)", () => {
    const gov = loadGovernance();
    const realRoles: RequiredRoles = (tag, environment) => requiredSignoffs(gov, tag, environment);

    it("is intact and every release in it holds governance's required sign-offs", () => {
        const r = verifyLedgerFile(LEDGER_FILE, realRoles, { guardrails });
        expect(r.problems).toEqual([]);
        expect(r.ok).toBe(true);
    });

    it.each(["staging", "prod"])("ships v1.0.0 to %s with every sign-off its milestone requires", (environment) => {
        const tag = "v1.0.0";
        const r = verifyLedgerFile(LEDGER_FILE, realRoles, { guardrails, complete: { tag, environment } });
        const status = r.releases.find((x) => x.tag === tag && x.environment === environment);
        expect(status).toBeDefined();
        expect([...(status?.signed ?? [])].sort()).toEqual([...requiredSignoffs(gov, tag, environment)].sort());
    });

    it("names commits that exist in this repository", () => {
        const r = verifyLedgerFile(LEDGER_FILE, realRoles, { guardrails });
        expect(r.entries.length).toBeGreaterThan(0);
        for (const commit of new Set(r.entries.map((e) => e.commit))) {
            expect(() =>
                execFileSync("git", ["cat-file", "-e", `${commit}^{commit}`], { cwd: repoRoot, stdio: "ignore" }),
            ).not.toThrow();
        }
    });
});

describe("npm run provenance", () => {
    const tmpLedger = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-ledger-")), "ledger.jsonl");
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).trim();
    const gov = loadGovernance();

    it("verify passes on the shipped ledger", () => {
        const r = runScript("provenance", "verify");
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/provenance: provenance\/ledger\.jsonl intact, \d+ entries, head [0-9a-f]{64}/);
    });

    it("record appends sign-offs until the release is complete; verify then passes for it", () => {
        const ledger = tmpLedger();
        const [tag, environment] = ["v1.0.0", "staging"];
        const roles = requiredSignoffs(gov, tag, environment);
        roles.forEach((role, i) => {
            const r = runScript(
                "provenance",
                "record",
                "--ledger",
                ledger,
                "--tag",
                tag,
                "--environment",
                environment,
                "--role",
                role,
                "--signer",
                "Test Signer <t@maestro.example>",
                "--commit",
                commit,
                "--time",
                `2026-11-17T0${i}:00:00Z`,
            );
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toContain(`recorded seq ${i + 1}: ${role} signs ${tag}`);
        });
        expect(
            runScript("provenance", "verify", "--ledger", ledger, "--tag", tag, "--environment", environment).status,
        ).toBe(0);
        expect(fs.readFileSync(ledger, "utf8").trimEnd().split("\n")).toHaveLength(roles.length);
    });

    it("verify exits 1 naming the tampered line, and record refuses to extend a broken chain", () => {
        const ledger = tmpLedger();
        fs.writeFileSync(
            ledger,
            edited(0, (e) => (e.role = "Sec Lead")),
        );
        const v = runScript("provenance", "verify", "--ledger", ledger);
        expect(v.status).toBe(1);
        expect(v.stderr).toContain("ledger.jsonl:1: hash does not match the entry's content");
        const r = runScript(
            "provenance",
            "record",
            "--ledger",
            ledger,
            "--tag",
            "v1.0.0",
            "--environment",
            "staging",
            "--role",
            "Dev Lead",
            "--commit",
            entries[0].commit,
        );
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("is not intact; nothing recorded");
    });

    it("refuses a role governance does not require, listing the allowed ones", () => {
        const r = runScript(
            "provenance",
            "record",
            "--ledger",
            tmpLedger(),
            "--tag",
            "v1.0.0",
            "--environment",
            "staging",
            "--role",
            "Docs Lead",
            "--commit",
            commit,
        );
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(
            `role: "Docs Lead" does not sign off v1.0.0 in staging; allowed: ${requiredSignoffs(gov, "v1.0.0", "staging").join(", ")}`,
        );
    });

    it("names a bad command or flag", () => {
        expect(runScript("provenance", "sign").stderr).toContain('unknown command "sign"; allowed: record, verify');
        expect(runScript("provenance", "verify", "--role", "x").stderr).toContain(
            "--role belongs to `record`, not `verify`",
        );
        expect(runScript("provenance", "verify", "--tag", "v1.0.0").stderr).toContain(
            "give --tag and --environment together",
        );
    });
});
