/**
 * The pack's context (policies/context.ts) case by case beyond test/pack-context.test.ts: each refusal of an uploaded
 * sign-off (not an envelope, a key nobody holds for that role or name, another release's entry, a key that is not the
 * entry's own, a broken chain, one person in two roles), which uploads count, and what packContext builds from the
 * pack's data. Sign-offs are signed with the fixture's throwaway keys (test/fixtures/policies/stackResources.ts).
 */
import { PolicyResource } from "@pulumi/policy";
import { CADENCE_INTERVAL_KEY, RELEASE_ENVIRONMENT } from "../governance";
import { DsseEnvelope, signEnvelope } from "../provenance/dsse";
import { SignoffEntry, parseLedger, parseLine, signoffObjectKey, signoffObjects } from "../provenance/ledger";
import { KeyRing, PackData, SIGNOFF_OBJECT_TYPES, keyRing, packContext, registeredSignoffs } from "../policies/context";
import { packData } from "../policies/packData";
import { FIXTURE_SIGNERS, RELEASE, fixtureKey, ledgerText, policyResources } from "./fixtures/policies/stackResources";
import { guardrails } from "./fixtures/shipped";

const ENV = "prod";
const ROLES = ["Release Manager", "Sec Lead"];
const entries = (roles = ROLES): SignoffEntry[] =>
    parseLedger(ledgerText(guardrails, roles), "fixture-ledger.jsonl").lines.map((l) => l.entry);
/** The uploads the SignoffLedger component makes for `list`, as the pack sees them. */
function uploads(list: readonly SignoffEntry[], tag = RELEASE, type = SIGNOFF_OBJECT_TYPES[0]): PolicyResource[] {
    const objects = signoffObjects(
        list,
        { tag, environment: ENV },
        { objectLockMode: "COMPLIANCE", retentionDays: 30 },
        new Date("2026-12-01T00:00:00Z"),
    );
    return policyResources(
        objects.map((o, i) => ({
            urn: `urn:pulumi:prod::maestro-guardrails::${type}::signoff-${i}`,
            type,
            name: `signoff-${i}`,
            props: { key: o.key, content: o.content },
            protect: false,
            deps: {},
        })),
    );
}
/** Built in each test, so that the tests reading sign-offs are the ones that cover keyRing. */
const ring = (): KeyRing => keyRing(FIXTURE_SIGNERS);
const where = (r: PolicyResource) => `${r.type} "${r.name}" (${String(r.props.key)})`;
const check = (rs: PolicyResource[], r: KeyRing = ring(), tag = RELEASE) => registeredSignoffs(rs, tag, ENV, r);

describe("registeredSignoffs", () => {
    it("reads every uploaded sign-off of the release, in ledger order, under either object type", () => {
        for (const type of SIGNOFF_OBJECT_TYPES) {
            const rs = uploads(entries(), RELEASE, type).reverse();
            const got = check(rs);
            expect(got.problems).toEqual([]);
            expect(got.entries.map((e) => [e.seq, e.role])).toEqual(ROLES.map((role, i) => [i + 1, role]));
        }
    });

    it("ignores other resource types, other releases' keys and objects without a key", () => {
        const rs = uploads(entries());
        const other = rs.map((r) => ({ ...r, type: "aws:s3/bucketObjectv3:BucketObjectv3" }));
        expect(check(other)).toEqual({ entries: [], problems: [] });
        expect(check(rs, ring(), "v9.9.9")).toEqual({ entries: [], problems: [] });
        const keyless = rs.map((r) => ({ ...r, props: { content: r.props.content } }));
        expect(check(keyless)).toEqual({ entries: [], problems: [] });
    });

    it("refuses an object under the release's prefix that holds no signed sign-off, naming it", () => {
        const [r] = uploads(entries());
        for (const content of ["not json", undefined]) {
            const bad = { ...r, props: { ...r.props, content } };
            const got = check([bad]);
            expect(got.entries).toEqual([]);
            expect(got.problems).toEqual([
                expect.stringMatching(new RegExp(`^${escape(where(bad))}: not a signed sign-off: `)),
            ]);
        }
        // No content is read as empty text, not as some text standing in for it.
        const empty = { ...r, props: { key: r.props.key } };
        expect(check([empty]).problems).toEqual([
            `${where(empty)}: not a signed sign-off: not JSON (Unexpected end of JSON input); each line is one DSSE envelope`,
        ]);
    });

    it("refuses a sign-off whose key nobody listed holds, naming the keyid", () => {
        const [r] = uploads(entries(["Release Manager"]));
        const got = check([r], new Map());
        const keyid = (JSON.parse(String(r.props.content)) as { signatures: Array<{ keyid: string }> }).signatures[0]
            .keyid;
        expect(got).toEqual({
            entries: [],
            problems: [
                `${where(r)}: the envelope's signature does not verify with a key governance/signers.json lists (keyid ${keyid})`,
            ],
        });
    });

    it("refuses a sign-off whose key's holder does not hold the role, or is not the signer it names", () => {
        const [r] = uploads(entries(["Release Manager"]));
        const [entry] = entries(["Release Manager"]);
        const holder = [...ring().entries()].find(([, h]) => h.roles.includes("Release Manager"))!;
        const changed = (h: Partial<{ identity: string; roles: readonly string[] }>): KeyRing =>
            new Map([[holder[0], { ...holder[1], ...h }]]);
        const problem = (identity: string) =>
            `${where(r)}: signed by ${identity}, who does not hold "Release Manager" or is not the signer the statement names (${entry.signer})`;
        expect(check([r], changed({ roles: ["Sec Lead"] })).problems).toEqual([problem(holder[1].identity)]);
        expect(check([r], changed({ identity: "Someone Else <x@maestro.example>" })).problems).toEqual([
            problem("Someone Else <x@maestro.example>"),
        ]);
        expect(check([r], changed({})).problems).toEqual([]);
    });

    it("refuses a sign-off of another release uploaded under this one's prefix", () => {
        const [r] = uploads(entries(["Release Manager"]));
        const moved = { ...r, props: { ...r.props, key: String(r.props.key).replace(`/${RELEASE}/`, "/v9.9.9/") } };
        expect(check([moved], ring(), "v9.9.9").problems).toEqual([
            `${where(moved)}: the entry signs ${RELEASE} in ${ENV}, not v9.9.9 in ${ENV}`,
        ]);
        const staging = {
            ...r,
            props: { ...r.props, key: String(r.props.key).replace(`signoffs/${ENV}/`, "signoffs/staging/") },
        };
        expect(registeredSignoffs([staging], RELEASE, "staging", ring()).problems).toEqual([
            `${where(staging)}: the entry signs ${RELEASE} in ${ENV}, not ${RELEASE} in staging`,
        ]);
    });

    it("refuses a sign-off under a key that is not the entry's own, naming the right one", () => {
        const [r] = uploads(entries(["Release Manager"]));
        const own = String(r.props.key);
        const moved = { ...r, props: { ...r.props, key: own.replace(/\.dsse\.json$/, ".json") } };
        expect(check([moved]).problems).toEqual([`${where(moved)}: the key is not the entry's own (${own})`]);
    });

    it("refuses consecutive sign-offs that do not chain", () => {
        const [a] = entries(["Release Manager", "Sec Lead"]);
        const [, b] = entries(["Sec Lead", "Release Manager"]);
        // seq 1 of one ledger and seq 2 of another: consecutive, but the second does not follow the first.
        expect(check(uploads([a, b])).problems).toEqual([
            "sign-off seq 2 does not chain to seq 1: the ledger was rewritten",
        ]);
        expect(check(uploads([b])).problems).toEqual([]);
    });

    it("refuses one person signing two roles of the release", () => {
        const [first, second] = entries();
        const [, upload] = uploads([first, second]);
        // The second statement re-signed naming the first signer, whom the ring lets hold both roles.
        const envelope = JSON.parse(String(upload.props.content)) as DsseEnvelope;
        const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")) as {
            predicate: { signer: string };
        };
        statement.predicate.signer = first.signer;
        const content = JSON.stringify(
            signEnvelope(envelope.payloadType, Buffer.from(JSON.stringify(statement)), fixtureKey(second.role)),
        );
        const entry = parseLine(content) as SignoffEntry;
        const [firstUpload] = uploads([first]);
        const resigned = { ...upload, props: { key: signoffObjectKey(entry), content } };
        const both: KeyRing = new Map(
            [...ring().entries()].map(([id, h]) => [id, { ...h, identity: first.signer, roles: ROLES }]),
        );
        expect(check([firstUpload, resigned], both).problems).toEqual([
            `${first.signer} signed both "${first.role}" and "${second.role}" of ${RELEASE} in ${ENV}; distinct roles need distinct people`,
        ]);
    });
});

// The context is built in each test, so that the tests reading it are the ones that cover packContext.
describe("packContext", () => {
    it("takes the release environments from the cadence the guardrails set, and prod as production", () => {
        const data = packData();
        const ctx = packContext(data);
        expect(ctx.releaseEnvironments).toEqual(
            Object.keys(CADENCE_INTERVAL_KEY).filter((e) => data.guardrails.environments.includes(e)),
        );
        expect(ctx.releaseEnvironments.length).toBeGreaterThan(0);
        expect(ctx.productionEnvironments).toEqual([RELEASE_ENVIRONMENT]);
        const fewer: PackData = { ...data, guardrails: { ...data.guardrails, environments: ["dev", "prod"] } };
        expect(packContext(fewer).releaseEnvironments).toEqual(
            Object.keys(CADENCE_INTERVAL_KEY).filter((e) => e === "prod" || e === "dev"),
        );
    });

    it("holds every backlog item with its hooks, and the file they come from", () => {
        const data = packData();
        const ctx = packContext(data);
        for (const item of data.governance.items) {
            expect(ctx.backlogItems.get(item.id)).toEqual({ ...item.hooks });
        }
        expect(ctx.backlogItems.size).toBe(data.governance.items.length);
        expect(ctx.backlogFile).toBe(data.governance.files.backlog);
    });

    it("says which sign-offs a release is missing, and that none were uploaded", () => {
        const data = packData();
        const ctx = packContext(data);
        const tag = data.governance.milestones.find((m) => m.environment === RELEASE_ENVIRONMENT)!.tag;
        const got = ctx.verifyRelease(tag, RELEASE_ENVIRONMENT, []);
        expect(got.ok).toBe(false);
        expect(got.problems).toHaveLength(1);
        expect(got.problems[0]).toContain(`${tag} in ${RELEASE_ENVIRONMENT} is missing the sign-off of `);
        expect(got.problems[0]).toContain(
            `uploaded by this stack: none); record it with \`npm run provenance -- record --tag ${tag} --environment prod --role "<role>"\` and deploy with the SignoffLedger component, which uploads every sign-off of the release`,
        );
    });

    it("says when it cannot tell which sign-offs a release needs", () => {
        const data = packData();
        const ctx = packContext(data);
        const got = ctx.verifyRelease("v0.0.1", "nowhere", []);
        expect(got.ok).toBe(false);
        // That one problem only: no role stands in for the requirement it could not read.
        expect(got.problems).toEqual([
            expect.stringMatching(/^cannot tell which sign-offs v0\.0\.1 needs in nowhere: /),
        ]);
    });
});

function escape(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
