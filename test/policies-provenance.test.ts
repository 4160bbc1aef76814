/**
 * provenance-bucket-hardened, provenance-bucket-no-inline-settings and release-tag-and-signoffs, condition by
 * condition: each setting of either bucket on both sides of its design, the bucket policy statement by statement, the
 * Object Lock mode and retention at their boundaries, what may refer to the buckets, a value a preview leaves unknown,
 * and the release tag and sign-offs per environment. The happy-path stack (test/fixtures/policies/stackResources.ts)
 * changes one thing per test.
 */
import * as path from "path";
import { AWS_TAG, BACKLOG_ITEM } from "../core/conventions";
import { repoRoot } from "../core/validation";
import { BUCKET_SETTING_KINDS, BucketSettingKind } from "../provenance/bucketDesign";
import {
    BUCKET_INPUTS_POLICY,
    BUCKET_POLICY,
    RELEASE_POLICY,
    evidenceBuckets,
    provenanceBucketInputsPolicy,
    provenanceBucketPolicy,
    releasePolicy,
} from "../policies/provenance";
import { PackContext } from "../policies/context";
import {
    FixtureResource,
    FixtureStack,
    RELEASE,
    fixtureContext,
    happyStack,
    policyResources,
    unreadableProp,
} from "./fixtures/policies/stackResources";
import { runResource, runStack, runStackOn } from "./fixtures/policies/run";
import { guardrails, STACKS } from "./fixtures/shipped";

// The @pulumi/policy the pack's modules load (policies/node_modules when present), so its UnknownValueError is theirs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require(require.resolve("@pulumi/policy/proxy", { paths: [path.join(repoRoot, "policies")] })) as {
    unknownCheckingProxy: (v: unknown) => Record<string, unknown>;
};
/** The sentinel the engine sends for a string unknown during preview (docs/policies.md, Previews). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const ctx = fixtureContext(guardrails);
const BUCKET = "aws:s3/bucket:Bucket";
const BUCKET_FIX =
    "Fix: deploy the evidence store with components/provenanceBucket.ts (ProvenanceBucket) alone; it sets each setting once, as provenance/bucketDesign.ts says.";
const KINDS = Object.keys(BUCKET_SETTING_KINDS) as BucketSettingKind[];
const LOG_KINDS = KINDS.filter((k) => k !== "objectLock" && k !== "logging");

const reported = (s: FixtureStack) => runStack(provenanceBucketPolicy(ctx), s.resources);
const messages = (s: FixtureStack) => reported(s).map((v) => v.message);
/** The policy over a stack as a preview hands it over: each value unknown until deploy throws when read. */
const previewed = (s: FixtureStack) =>
    runStackOn(
        provenanceBucketPolicy(ctx),
        policyResources(s.resources).map((r) => ({ ...r, props: proxy.unknownCheckingProxy(r.props) })),
    );

/** The fixture's name of a bucket's setting resource (`prov-bucket-object-lock`). */
const settingName = (bucket: string, kind: BucketSettingKind) =>
    `${bucket}-${kind === "objectLock" ? "object-lock" : kind === "publicAccess" ? "public-access" : kind}`;
/** The one finding on a bucket: what it is, every problem, how to fix it. */
const finding = (role: "evidence" | "logs", problems: string) =>
    `${role === "evidence" ? "provenance bucket" : "provenance access-log bucket"} ${BUCKET} "${role === "evidence" ? "prov-bucket" : "prov-logs"}": ${problems}. ${BUCKET_FIX}`;
const describe_ = (s: FixtureStack, name: string) => `${s.byName(name).type} "${name}"`;

function remove(s: FixtureStack, name: string): void {
    s.resources.splice(s.resources.indexOf(s.byName(name)), 1);
}

/** A copy of a resource under another name (and URN). */
function copyOf(s: FixtureStack, name: string, as: string, change: Partial<FixtureResource> = {}): FixtureResource {
    const r = s.byName(name);
    const copy: FixtureResource = {
        ...r,
        name: as,
        urn: r.urn.replace(`::${name}`, `::${as}`),
        props: JSON.parse(JSON.stringify(r.props)) as Record<string, unknown>,
        deps: { ...r.deps },
        ...change,
    };
    s.resources.push(copy);
    return copy;
}

type Statement = Record<string, unknown>;
/** The bucket policy document of a fixture stack's bucket, to edit and write back. */
function policyDoc(s: FixtureStack, bucket: string): { Version: string; Statement: Statement[] } {
    return JSON.parse(s.byName(settingName(bucket, "policy")).props.policy as string) as {
        Version: string;
        Statement: Statement[];
    };
}
function setPolicy(s: FixtureStack, bucket: string, doc: unknown): void {
    s.byName(settingName(bucket, "policy")).props.policy = JSON.stringify(doc);
}
const retentionOf = (s: FixtureStack) =>
    (s.byName("prov-bucket-object-lock").props.rule as { defaultRetention: Record<string, unknown> }).defaultRetention;
type Rule = { applyServerSideEncryptionByDefault: Record<string, unknown>; bucketKeyEnabled?: boolean };
const sseOf = (s: FixtureStack, bucket = "prov-bucket") =>
    (s.byName(settingName(bucket, "encryption")).props.rules as Rule[])[0];

describe(`${BUCKET_POLICY}: the buckets`, () => {
    it.each(STACKS)("passes the %s buckets as designed", (env) => {
        expect(reported(happyStack(guardrails, env))).toEqual([]);
    });

    it.each(STACKS)("refuses a %s stack without an evidence bucket, on the stack", (env) => {
        const s = happyStack(guardrails, env);
        remove(s, "prov-bucket");
        expect(reported(s)).toEqual([
            {
                message: `the ${env} stack has no provenance bucket (no ${BUCKET} serving ${BACKLOG_ITEM.provenanceBucket}). ${BUCKET_FIX}`,
                urn: s.byName(`maestro-guardrails-${env}`).urn,
            },
        ]);
    });

    it("finds the evidence bucket by its evidence item, not by its type alone, and not the access-log target", () => {
        const s = happyStack(guardrails, "dev");
        const [bucket, logs, other] = policyResources([
            s.byName("prov-bucket"),
            s.byName("prov-logs"),
            { ...s.byName("prov-bucket"), name: "other", urn: `${s.byName("prov-bucket").urn}-other`, props: {} },
        ]);
        const logging = policyResources([
            s.byName("prov-bucket"),
            s.byName("prov-logs"),
            s.byName("prov-bucket-logging"),
        ]);
        expect(evidenceBuckets([bucket, logs, other]).map((r) => r.name)).toEqual(["prov-bucket", "prov-logs"]);
        expect(evidenceBuckets(logging).map((r) => r.name)).toEqual(["prov-bucket"]);
        const topic = { ...bucket, type: "aws:sns/topic:Topic" };
        expect(evidenceBuckets([topic])).toEqual([]);
    });

    it("refuses a second evidence bucket, naming both and the log bucket", () => {
        const s = happyStack(guardrails, "dev");
        copyOf(s, "prov-bucket", "prov-copy", { props: { ...s.byName("prov-bucket").props, bucket: "copy" } });
        expect(messages(s)[0]).toBe(
            `the dev stack has 2 provenance bucket(s) ("prov-bucket", "prov-copy") and 1 access-log bucket(s) ("prov-logs"); allowed: exactly one of each. ${BUCKET_FIX}`,
        );
    });

    it("refuses a stack whose evidence bucket logs nowhere: its log bucket is then one more evidence bucket", () => {
        const s = happyStack(guardrails, "dev");
        remove(s, "prov-bucket-logging");
        expect(messages(s)[0]).toBe(
            `the dev stack has 2 provenance bucket(s) ("prov-bucket", "prov-logs") and 0 access-log bucket(s) (none); allowed: exactly one of each. ${BUCKET_FIX}`,
        );
    });

    it("takes as the access-log bucket only a bucket a logging setting writes to, not another resource it depends on", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket-logging").deps.targetBucket = [s.byName("prov-key").urn];
        expect(messages(s)[0]).toBe(
            `the dev stack has 2 provenance bucket(s) ("prov-bucket", "prov-logs") and 0 access-log bucket(s) (none); allowed: exactly one of each. ${BUCKET_FIX}`,
        );
    });

    it("refuses a second logging of the evidence bucket into another bucket: two access-log buckets, named, and a target that is not the provenance one", () => {
        const s = happyStack(guardrails, "dev");
        const other = copyOf(s, "prov-logs", "other-logs", { props: { bucket: "other-logs" }, parent: undefined });
        copyOf(s, "prov-bucket-logging", "second", {
            deps: { bucket: [s.byName("prov-bucket").urn], targetBucket: [other.urn] },
        });
        const found = messages(s);
        expect(found[0]).toBe(
            `the dev stack has 1 provenance bucket(s) ("prov-bucket") and 2 access-log bucket(s) ("prov-logs", "other-logs"); allowed: exactly one of each. ${BUCKET_FIX}`,
        );
        expect(found[1]).toContain(`${describe_(s, "second")}: targetBucket is not the provenance access-log bucket`);
    });

    it("refuses a bucket resource whose own inputs differ from the design", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket").props.forceDestroy = true;
        delete s.byName("prov-logs").props.forceDestroy;
        expect(messages(s)).toEqual([
            finding("evidence", "forceDestroy is true; allowed: false"),
            finding("logs", "forceDestroy is unset; allowed: false"),
        ]);
    });

    it("refuses either bucket without protect, each on its own URN", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-logs").protect = false;
        expect(reported(s)).toEqual([
            {
                message: finding("logs", `not protected (set \`protect: true\`): ${BUCKET} "prov-logs"`),
                urn: s.byName("prov-logs").urn,
            },
        ]);
    });

    it("names every resource of a bucket that is not protected, in one problem", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket").protect = false;
        s.byName("prov-bucket-versioning").protect = false;
        expect(messages(s)).toEqual([
            finding(
                "evidence",
                `not protected (set \`protect: true\`): ${BUCKET} "prov-bucket", ${describe_(s, "prov-bucket-versioning")}`,
            ),
        ]);
    });
});

describe(`${BUCKET_POLICY}: each setting exactly once, exactly as designed`, () => {
    const cases = [
        ...KINDS.map((kind) => ({ role: "evidence" as const, bucket: "prov-bucket", kind })),
        ...LOG_KINDS.map((kind) => ({ role: "logs" as const, bucket: "prov-logs", kind })),
    ];

    it.each(cases)("refuses the $role bucket without its $kind", ({ role, bucket, kind }) => {
        const s = happyStack(guardrails, "dev");
        remove(s, settingName(bucket, kind));
        const type = BUCKET_SETTING_KINDS[kind][0];
        const [first] = messages(s).filter((m) =>
            m.startsWith(
                `${role === "evidence" ? "provenance bucket" : "provenance access-log bucket"} ${BUCKET} "${bucket}": `,
            ),
        );
        expect(first).toContain(
            `no ${type} (none); allowed: exactly one, as designed (provenance/bucketDesign.ts ${kind})`,
        );
    });

    it.each(cases)("refuses a second $kind on the $role bucket, naming both", ({ role, bucket, kind }) => {
        const s = happyStack(guardrails, "dev");
        copyOf(s, settingName(bucket, kind), "second");
        const type = BUCKET_SETTING_KINDS[kind][0];
        expect(messages(s)).toEqual([
            finding(
                role,
                `2 ${type} ("${settingName(bucket, kind)}", "second"); allowed: exactly one, as designed (provenance/bucketDesign.ts ${kind})`,
            ),
        ]);
    });

    it.each(KINDS.filter((k) => BUCKET_SETTING_KINDS[k].length > 1))(
        "takes the %s setting under its other type token",
        (kind) => {
            const s = happyStack(guardrails, "dev");
            s.byName(settingName("prov-bucket", kind)).type = (BUCKET_SETTING_KINDS[kind] as readonly string[])[1];
            expect(reported(s)).toEqual([]);
        },
    );

    it("takes a setting that names its bucket by literal name instead of a dependency, and not one that names neither", () => {
        const s = happyStack(guardrails, "dev");
        const versioning = s.byName("prov-bucket-versioning");
        versioning.deps = {};
        versioning.props.bucket = s.byName("prov-bucket").props.bucket;
        expect(reported(s)).toEqual([]);
        versioning.props.bucket = "maestro-provenance-elsewhere";
        expect(messages(s)[0]).toContain("no aws:s3/bucketVersioning:BucketVersioning (none)");
    });

    it("refuses a setting not protected, or whose parent is another component, and takes one without a parent", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket-versioning").protect = false;
        expect(messages(s)).toEqual([
            finding("evidence", `not protected (set \`protect: true\`): ${describe_(s, "prov-bucket-versioning")}`),
        ]);
        const t = happyStack(guardrails, "dev");
        const other = copyOf(t, "prov", "other-component", { type: "maestro:budgets:CostBudgets" });
        t.byName("prov-logs-ownership").parent = other.urn;
        expect(messages(t)).toEqual([
            finding(
                "logs",
                `${describe_(t, "prov-logs-ownership")} is not the ProvenanceBucket's own (its parent is maestro:budgets:CostBudgets)`,
            ),
        ]);
        const u = happyStack(guardrails, "dev");
        delete u.byName("prov-logs-ownership").parent;
        expect(reported(u)).toEqual([]);
    });

    it("names each input that differs, with the designed value, and reads an unset one as unset", () => {
        const s = happyStack(guardrails, "dev");
        const access = s.byName("prov-bucket-public-access").props;
        access.blockPublicAcls = false;
        delete access.ignorePublicAcls;
        expect(messages(s)).toEqual([
            finding(
                "evidence",
                `${describe_(s, "prov-bucket-public-access")}: blockPublicAcls is false; allowed: true; ${describe_(s, "prov-bucket-public-access")}: ignorePublicAcls is unset; allowed: true`,
            ),
        ]);
    });

    it("refuses an input the design leaves unset when it is set (expectedBucketOwner, mfa)", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket-versioning").props.mfa = "123456 serial";
        expect(messages(s)).toEqual([
            finding("evidence", `${describe_(s, "prov-bucket-versioning")}: mfa is "123456 serial"; allowed: unset`),
        ]);
    });

    it("ignores computed outputs beside the inputs, and the bucket input itself", () => {
        const s = happyStack(guardrails, "dev");
        Object.assign(s.byName("prov-bucket-versioning").props, {
            id: "x",
            arn: "arn:x",
            urn: "u",
            bucket: "whatever",
        });
        expect(reported(s)).toEqual([]);
    });

    it('reads empty values (null, "", [], {}) as unset', () => {
        const s = happyStack(guardrails, "dev");
        Object.assign(s.byName("prov-bucket-versioning").props, { mfa: "", expectedBucketOwner: null });
        Object.assign(s.byName("prov-bucket-lifecycle").props, { timeouts: {}, expectedBucketOwner: [] });
        expect(reported(s)).toEqual([]);
    });

    it("reads empty parts inside a value as unset too: a field, an object of them, an item of a list", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket-versioning").props.versioningConfiguration = { status: "Enabled", mfaDelete: "" };
        s.byName("prov-bucket-lifecycle").props.timeouts = { create: null, update: "" };
        // The log bucket's SSE-S3 rule as the provider reports it: no key id, and an unset item first in a list.
        const rule = sseOf(s, "prov-logs") as Rule & { blockedEncryptionTypes: unknown[] };
        rule.applyServerSideEncryptionByDefault.kmsMasterKeyId = "";
        rule.blockedEncryptionTypes = [null, ...rule.blockedEncryptionTypes];
        expect(reported(s)).toEqual([]);
    });

    it("reads an input at its provider default as unset, and refuses it set to anything else", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket-public-access").props.skipDestroy = false;
        s.byName("prov-bucket-object-lock").props.objectLockEnabled = "Enabled";
        expect(reported(s)).toEqual([]);
        s.byName("prov-bucket-public-access").props.skipDestroy = true;
        expect(messages(s)).toEqual([
            finding("evidence", `${describe_(s, "prov-bucket-public-access")}: skipDestroy is true; allowed: unset`),
        ]);
    });

    it("checks the log delivery's target by dependency, not by the targetBucket value", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket-logging").props.targetBucket = "anything";
        expect(reported(s)).toEqual([]);
        // Logging that names its target by value only: no bucket is the access-log bucket then.
        delete s.byName("prov-bucket-logging").deps.targetBucket;
        expect(messages(s).join("\n")).toContain(
            `${describe_(s, "prov-bucket-logging")}: targetBucket is not the provenance access-log bucket`,
        );
    });

    it("takes a log target derived from the access-log bucket's outputs together with others'", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket-logging").deps.targetBucket = [s.byName("prov-logs").urn, s.byName("prov-key").urn];
        expect(reported(s)).toEqual([]);
    });
});

describe(`${BUCKET_POLICY}: encryption`, () => {
    it("refuses SSE-S3 (AES256) on the evidence bucket, even with a key id", () => {
        const s = happyStack(guardrails, "prod");
        sseOf(s).applyServerSideEncryptionByDefault.sseAlgorithm = "AES256";
        expect(messages(s)[0]).toContain(`${describe_(s, "prov-bucket-encryption")}: rules is [{`);
        expect(messages(s)[0]).toContain(`"sseAlgorithm":"AES256"`);
        expect(messages(s)[0]).toContain(`allowed: [{"applyServerSideEncryptionByDefault":{"sseAlgorithm":"aws:kms"`);
    });

    it("refuses SSE-KMS on the evidence bucket without a key id (the AWS-managed key), even depending on the key", () => {
        const s = happyStack(guardrails, "prod");
        delete sseOf(s).applyServerSideEncryptionByDefault.kmsMasterKeyId;
        expect(messages(s)).toEqual([
            finding(
                "evidence",
                `its encryption names no KMS key (S3's aws/s3 key), not the stack's own key; allowed: the ProvenanceBucket's aws:kms/key:Key`,
            ),
        ]);
    });

    it("refuses a key that is not the stack's own (no dependency on an aws:kms/key:Key)", () => {
        const s = happyStack(guardrails, "prod");
        const encryption = s.byName("prov-bucket-encryption");
        sseOf(s).applyServerSideEncryptionByDefault.kmsMasterKeyId = "arn:aws:kms:us-east-1:999999999999:key/theirs";
        encryption.deps = { bucket: encryption.deps.bucket, rules: [s.byName("budgets-alerts").urn] };
        expect(messages(s)).toEqual([
            finding(
                "evidence",
                `its encryption names KMS key "arn:aws:kms:us-east-1:999999999999:key/theirs", not the stack's own key; allowed: the ProvenanceBucket's aws:kms/key:Key`,
            ),
        ]);
    });

    it("takes the key id as whatever the stack's own key resolves to", () => {
        const s = happyStack(guardrails, "prod");
        sseOf(s).applyServerSideEncryptionByDefault.kmsMasterKeyId = "arn:aws:kms:us-east-1:123456789012:key/other-id";
        expect(reported(s)).toEqual([]);
    });

    it("takes the stack's own key while its ARN is unknown during preview", () => {
        const s = happyStack(guardrails, "prod");
        sseOf(s).applyServerSideEncryptionByDefault.kmsMasterKeyId = UNKNOWN;
        expect(previewed(s)).toEqual([]);
    });

    it("fails on a value that cannot be read for any other reason, rather than read it as unknown", () => {
        const s = happyStack(guardrails, "prod");
        const r = copyOf(s, "budgets-alerts-policy", "broken", { parent: undefined });
        unreadableProp(r.props, "policy");
        expect(() => previewed(s)).toThrow("broken read");
    });

    it("refuses SSE-KMS on the log bucket (S3's log delivery writes with SSE-S3 only)", () => {
        const s = happyStack(guardrails, "prod");
        Object.assign(sseOf(s, "prov-logs"), {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "k" },
            bucketKeyEnabled: true,
        });
        expect(messages(s)[0]).toContain(`${describe_(s, "prov-logs-encryption")}: rules is`);
    });
});

describe(`${BUCKET_POLICY}: Object Lock`, () => {
    const modeProblem = (mode: unknown, env: string, allowed: string) =>
        `Object Lock default retention mode is ${JSON.stringify(mode)}; allowed in ${env}: ${allowed}`;

    it.each(["dev", "staging"])("takes GOVERNANCE and COMPLIANCE in %s", (env) => {
        for (const mode of ["GOVERNANCE", "COMPLIANCE"]) {
            const s = happyStack(guardrails, env);
            retentionOf(s).mode = mode;
            expect(reported(s)).toEqual([]);
        }
    });

    it.each(["dev", "staging"])("refuses any other mode in %s", (env) => {
        const s = happyStack(guardrails, env);
        retentionOf(s).mode = "NONE";
        expect(messages(s)[0]).toContain(modeProblem("NONE", env, "GOVERNANCE or COMPLIANCE"));
    });

    it("takes only COMPLIANCE in prod", () => {
        const s = happyStack(guardrails, "prod");
        retentionOf(s).mode = "GOVERNANCE";
        expect(messages(s)[0]).toContain(modeProblem("GOVERNANCE", "prod", "COMPLIANCE"));
        delete retentionOf(s).mode;
        expect(messages(s)[0]).toContain(modeProblem(undefined, "prod", "COMPLIANCE"));
    });

    it("takes a retention of one day and refuses zero, a fraction, a string or none", () => {
        const s = happyStack(guardrails, "dev");
        retentionOf(s).days = 1;
        // The access logs are kept exactly as long: their expiry follows.
        const logRules = s.byName("prov-logs-lifecycle").props.rules as Array<Record<string, unknown>>;
        logRules[0].expiration = { days: 1 };
        logRules[0].transitions = [];
        expect(reported(s)).toEqual([]);
        for (const days of [0, 1.5, "30", undefined]) {
            const t = happyStack(guardrails, "dev");
            retentionOf(t).days = days;
            expect(messages(t)[0]).toContain(
                `Object Lock default retention is ${JSON.stringify(days)} days; allowed: a whole number >= 1`,
            );
        }
    });

    it("reports a retention out of bounds on the evidence bucket, not again on the log bucket", () => {
        const s = happyStack(guardrails, "dev");
        retentionOf(s).days = 0;
        const found = messages(s);
        expect(found).toHaveLength(2);
        expect(found[0]).toContain("Object Lock default retention is 0 days; allowed: a whole number >= 1");
        // The log bucket's expiry follows the retention the design falls back to (1 day), nothing more.
        expect(found[1]).toMatch(/^provenance access-log bucket /);
        expect(found[1]).toContain(`${describe_(s, "prov-logs-lifecycle")}: rules is`);
        expect(found[1]).not.toContain("Object Lock");
    });

    it("refuses a retention in years (the design counts days)", () => {
        const s = happyStack(guardrails, "prod");
        delete retentionOf(s).days;
        retentionOf(s).years = 1;
        const text = messages(s)[0];
        expect(text).toContain("Object Lock default retention is undefined days; allowed: a whole number >= 1");
        expect(text).toContain(`"years":1`);
    });

    it("keeps the access logs exactly as long as the evidence is locked", () => {
        const s = happyStack(guardrails, "dev");
        retentionOf(s).days = (retentionOf(s).days as number) * 2;
        expect(messages(s)).toEqual([expect.stringContaining(`${describe_(s, "prov-logs-lifecycle")}: rules is`)]);
    });
});

describe(`${BUCKET_POLICY}: the bucket policies, statement by statement`, () => {
    const sids = (s: FixtureStack, bucket: string) =>
        policyDoc(s, bucket)
            .Statement.map((x) => x.Sid)
            .join(", ");

    it("refuses the TLS-only statement turned into an Allow, or its condition turned around", () => {
        for (const change of [{ Effect: "Allow" }, { Condition: { Bool: { "aws:SecureTransport": "true" } } }]) {
            const s = happyStack(guardrails, "prod");
            const doc = policyDoc(s, "prov-bucket");
            const want = doc.Statement[0];
            const got = { ...want, ...change };
            doc.Statement[0] = got;
            setPolicy(s, "prov-bucket", doc);
            expect(messages(s)).toEqual([
                finding(
                    "evidence",
                    `${describe_(s, "prov-bucket-policy")}: policy statement DenyInsecureTransport is ${JSON.stringify([got])}; allowed: ${JSON.stringify(want)}`,
                ),
            ]);
        }
    });

    it("refuses a designed statement given twice", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-logs");
        doc.Statement.push(doc.Statement[1]);
        setPolicy(s, "prov-logs", doc);
        expect(messages(s)[0]).toContain(
            `policy statement AllowServerAccessLogDelivery is ${JSON.stringify([doc.Statement[1], doc.Statement[1]])}`,
        );
    });

    it("takes the statements in any order and their keys in any order", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-bucket");
        setPolicy(s, "prov-bucket", {
            Statement: doc.Statement.reverse().map((st) => Object.fromEntries(Object.entries(st).reverse())),
            Version: doc.Version,
        });
        expect(reported(s)).toEqual([]);
    });

    it("refuses a statement not in the design, naming the designed ones", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-bucket");
        const designed = sids(s, "prov-bucket");
        const extra = { Sid: "AllowPartner", Effect: "Allow", Principal: { AWS: "999999999999" }, Action: "s3:*" };
        doc.Statement.push(extra);
        setPolicy(s, "prov-bucket", doc);
        expect(messages(s)).toEqual([
            finding(
                "evidence",
                `${describe_(s, "prov-bucket-policy")}: policy statement ${JSON.stringify(extra)} is not in the design; allowed: only ${designed}`,
            ),
        ]);
    });

    it("refuses another policy Version, and one without", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-bucket");
        setPolicy(s, "prov-bucket", { ...doc, Version: "2008-10-17" });
        expect(messages(s)[0]).toContain(`policy Version is "2008-10-17"; allowed: "${doc.Version}"`);
        setPolicy(s, "prov-bucket", { Statement: doc.Statement });
        expect(messages(s)[0]).toContain(`policy Version is undefined; allowed: "${doc.Version}"`);
    });

    it("reads a lone statement (not in a list) as the one statement", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-bucket");
        setPolicy(s, "prov-bucket", { ...doc, Statement: doc.Statement[0] });
        expect(messages(s)).toEqual([
            finding(
                "evidence",
                `${describe_(s, "prov-bucket-policy")}: policy statement DenyEvidenceDeletion is missing; allowed: ${JSON.stringify(doc.Statement[1])}`,
            ),
        ]);
    });

    it("reads a null statement as one not in the design, without failing", () => {
        const s = happyStack(guardrails, "dev");
        const designed = sids(s, "prov-bucket");
        const doc = policyDoc(s, "prov-bucket");
        setPolicy(s, "prov-bucket", { ...doc, Statement: [null, ...doc.Statement] });
        expect(messages(s)).toEqual([
            finding(
                "evidence",
                `${describe_(s, "prov-bucket-policy")}: policy statement null is not in the design; allowed: only ${designed}`,
            ),
        ]);
    });

    it.each(["evidence", "logs"] as const)(
        "refuses the %s bucket without a policy for that alone, not for naming another ARN",
        (role) => {
            const s = happyStack(guardrails, "dev");
            remove(s, settingName(role === "evidence" ? "prov-bucket" : "prov-logs", "policy"));
            expect(messages(s)).toEqual([
                finding(
                    role,
                    "no aws:s3/bucketPolicy:BucketPolicy (none); allowed: exactly one, as designed (provenance/bucketDesign.ts policy)",
                ),
            ]);
        },
    );

    it("refuses a policy that is not JSON, naming the designed one", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket-policy").props.policy = "{not json";
        expect(messages(s)[0]).toContain(
            `${describe_(s, "prov-bucket-policy")}: policy is not JSON; allowed: {"Version":"2012-10-17","Statement":[`,
        );
    });

    it("refuses a policy that is JSON but not a document (null, a number), without failing", () => {
        for (const policy of ["null", "5"]) {
            const s = happyStack(guardrails, "dev");
            s.byName("prov-bucket-policy").props.policy = policy;
            expect(messages(s)[0]).toContain(
                `${describe_(s, "prov-bucket-policy")}: policy is not a JSON object; allowed: {"Version":"2012-10-17","Statement":[`,
            );
        }
    });

    it("refuses an evidence policy about another bucket's ARN", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-bucket");
        const other = "arn:aws:s3:::someone-elses-bucket";
        doc.Statement.forEach((st) => (st.Resource = [other, `${other}/*`]));
        setPolicy(s, "prov-bucket", doc);
        expect(messages(s)[0]).toMatch(
            new RegExp(
                `^provenance bucket ${BUCKET} "prov-bucket": its policy names ${other}, not this bucket's ARN; allowed: the bucket's own ARN\\. Fix:`,
            ),
        );
    });

    it("refuses an evidence policy about a bucket whose name only starts with this one's", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-bucket");
        const other = `arn:aws:s3:::${String(s.byName("prov-bucket").props.bucket)}-copy`;
        doc.Statement.forEach((st) => (st.Resource = [other, `${other}/*`]));
        setPolicy(s, "prov-bucket", doc);
        expect(messages(s)[0]).toContain(
            `its policy names ${other}, not this bucket's ARN; allowed: the bucket's own ARN`,
        );
    });

    it("takes an ARN the policy derives from the bucket's outputs (its dependency), and refuses one from elsewhere", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-bucket");
        const derived = "04da6b54-arn-from-output";
        doc.Statement.forEach((st) => (st.Resource = [derived, `${derived}/*`]));
        setPolicy(s, "prov-bucket", doc);
        const policy = s.byName("prov-bucket-policy");
        policy.deps = { ...policy.deps, policy: [s.byName("prov-bucket").urn] };
        expect(messages(s).join("\n")).not.toContain("its policy names");
        policy.deps = { ...policy.deps, policy: [s.byName("prov-logs").urn] };
        expect(messages(s)[0]).toContain(`its policy names ${derived}, not this bucket's ARN`);
    });

    it("refuses a log policy about another log bucket, another source bucket or a malformed account", () => {
        const change = (edit: (doc: { Statement: Statement[] }) => void) => {
            const s = happyStack(guardrails, "dev");
            const doc = policyDoc(s, "prov-logs");
            edit(doc);
            setPolicy(s, "prov-logs", doc);
            return messages(s)[0];
        };
        const other = "arn:aws:s3:::someone-elses-bucket";
        expect(change((d) => (d.Statement[0].Resource = [other, `${other}/*`]))).toContain(
            `provenance access-log bucket ${BUCKET} "prov-logs": its policy names ${other}, not this bucket's ARN; allowed: the bucket's own ARN`,
        );
        const delivery = (d: { Statement: Statement[] }) =>
            d.Statement[1].Condition as { ArnLike: Record<string, string>; StringEquals: Record<string, string> };
        expect(change((d) => (delivery(d).ArnLike["aws:SourceArn"] = other))).toContain(
            `its policy lets logs arrive from ${other}; allowed: only the provenance bucket's ARN`,
        );
        for (const account of ["12345678901", "1234567890123", "12345678901x"]) {
            expect(change((d) => (delivery(d).StringEquals["aws:SourceAccount"] = account))).toContain(
                `its policy's aws:SourceAccount is "${account}"; allowed: a 12-digit AWS account id`,
            );
        }
    });

    it("takes the policy's own ARN as a plain string Resource", () => {
        const s = happyStack(guardrails, "dev");
        const doc = policyDoc(s, "prov-logs");
        const arn = (doc.Statement[0].Resource as string[])[0];
        doc.Statement[0].Resource = arn;
        setPolicy(s, "prov-logs", doc);
        // The statement now differs from the design (one resource, not two), but names the right bucket.
        const text = messages(s)[0];
        expect(text).not.toContain("its policy names");
        expect(text).toContain("policy statement DenyInsecureTransport is");
    });
});

describe(`${BUCKET_POLICY}: nothing else refers to the buckets`, () => {
    const foreign = (s: FixtureStack, props: Record<string, unknown>, deps: Record<string, string[]> = {}) =>
        copyOf(s, "budgets-alerts-policy", "foreign", { props, deps, parent: undefined });
    const targetsMessage = (s: FixtureStack, role: "evidence" | "logs") =>
        `${describe_(s, "foreign")} targets the provenance ${role === "evidence" ? "" : "access-log "}bucket ${BUCKET} "${role === "evidence" ? "prov-bucket" : "prov-logs"}" (by output, name or ARN); allowed: only the ProvenanceBucket component's own settings${role === "evidence" ? " and the SignoffLedger's sign-off objects" : ""}. ${BUCKET_FIX}`;

    it("refuses a resource that depends on a bucket's outputs, on its own URN", () => {
        const s = happyStack(guardrails, "dev");
        const r = foreign(s, { policy: "{}" }, { arn: [s.byName("prov-logs").urn] });
        expect(reported(s)).toEqual([{ message: targetsMessage(s, "logs"), urn: r.urn }]);
    });

    it("refuses a resource that depends on a bucket's outputs in one input among others", () => {
        const s = happyStack(guardrails, "dev");
        const r = foreign(
            s,
            { policy: "{}", arn: "x" },
            { policy: [s.byName("budgets-alerts").urn], arn: [s.byName("prov-bucket").urn] },
        );
        expect(reported(s)).toEqual([{ message: targetsMessage(s, "evidence"), urn: r.urn }]);
    });

    it("refuses a resource whose one input depends on the bucket's outputs and another resource's", () => {
        const s = happyStack(guardrails, "dev");
        const r = foreign(
            s,
            { policy: "{}" },
            { policy: [s.byName("budgets-alerts").urn, s.byName("prov-bucket").urn] },
        );
        expect(reported(s)).toEqual([{ message: targetsMessage(s, "evidence"), urn: r.urn }]);
    });

    it("refuses a resource of another type whose targetBucket is the evidence bucket, which stays the evidence bucket", () => {
        const s = happyStack(guardrails, "dev");
        const r = foreign(s, { targetBucket: "x" }, { targetBucket: [s.byName("prov-bucket").urn] });
        expect(reported(s)).toEqual([{ message: targetsMessage(s, "evidence"), urn: r.urn }]);
    });

    it.each([
        ["unset", undefined],
        ["null", null],
    ])("judges a bucket whose name is %s by dependencies alone", (_what, name) => {
        const s = happyStack(guardrails, "dev");
        const bucket = s.byName("prov-bucket");
        bucket.props.bucket = name;
        // A versioning that names no bucket is none of this bucket's settings, nor does it refer to it.
        copyOf(s, "prov-bucket-versioning", "stray", {
            props: { versioningConfiguration: { status: "Enabled" } },
            deps: {},
            parent: undefined,
        });
        const r = foreign(s, { policy: "{}" }, { policy: [bucket.urn] });
        const arn = "arn:aws:s3:::maestro-provenance-dev";
        expect(reported(s)).toEqual([
            {
                message: finding(
                    "evidence",
                    `its policy names ${arn}, not this bucket's ARN; allowed: the bucket's own ARN`,
                ),
                urn: bucket.urn,
            },
            {
                message: finding(
                    "logs",
                    `its policy lets logs arrive from ${arn}; allowed: only the provenance bucket's ARN`,
                ),
                urn: s.byName("prov-logs").urn,
            },
            { message: targetsMessage(s, "evidence"), urn: r.urn },
        ]);
    });

    it.each([
        ["the bare name", (b: string) => b],
        ["an object ARN", (b: string) => `arn:aws:s3:::${b}/*`],
        ["a path-style URL", (b: string) => `https://s3.amazonaws.com/${b}/x`],
        ["a JSON document", (b: string) => JSON.stringify({ Resource: `arn:aws:s3:::${b}` })],
    ])("refuses a resource naming the evidence bucket in %s", (_what, spell) => {
        const s = happyStack(guardrails, "dev");
        foreign(s, { nested: [{ deep: spell(s.byName("prov-bucket").props.bucket as string) }] });
        expect(messages(s)).toEqual([targetsMessage(s, "evidence")]);
    });

    it("does not mistake a longer bucket name that starts with the evidence bucket's for it", () => {
        const s = happyStack(guardrails, "dev");
        const name = s.byName("prov-bucket").props.bucket as string;
        foreign(s, { a: `${name}-copy`, b: `${name}.backup`, c: `copy-of-${name}0`, d: `x${name}` });
        expect(reported(s)).toEqual([]);
    });

    it("reads a bucket name with dots literally", () => {
        const s = happyStack(guardrails, "dev");
        const bucket = s.byName("prov-bucket");
        bucket.props.bucket = "maestro.provenance.dev";
        foreign(s, { a: "maestroxprovenancexdev" });
        expect(messages(s).join("\n")).not.toContain("targets the provenance");
        foreign(s, { a: "arn:aws:s3:::maestro.provenance.dev" });
        expect(messages(s).join("\n")).toContain("targets the provenance bucket");
    });

    it("matches a three-letter bucket name (the shortest S3 allows) as a whole token only", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("prov-bucket").props.bucket = "was";
        foreign(s, { a: "wasp", b: "a-was", c: "was.old", d: "It Was" });
        expect(messages(s).join("\n")).not.toContain("targets the provenance");
        foreign(s, { a: "s3://was/evidence" });
        expect(messages(s).join("\n")).toContain("targets the provenance bucket");
    });

    it("reads the dots of a grant's resource pattern literally", () => {
        const grant = (resource: string) =>
            JSON.stringify({ Statement: [{ Effect: "Allow", Action: "s3:*", Resource: resource }] });
        const s = happyStack(guardrails, "dev");
        foreign(s, { policy: grant("arn:aws:s3:::maestro.provenance.d*") });
        expect(reported(s)).toEqual([]);
        s.byName("prov-bucket").props.bucket = "maestro.provenance.dev";
        expect(messages(s).join("\n")).toContain(`${describe_(s, "foreign")} targets the provenance bucket`);
    });

    it("lets through a text that mentions a Statement but is no JSON document", () => {
        const s = happyStack(guardrails, "dev");
        foreign(s, { description: "Statement: allow s3:* on *" });
        expect(reported(s)).toEqual([]);
    });

    it("lets the SignoffLedger's sign-off objects into the evidence bucket only", () => {
        const s = happyStack(guardrails, "dev");
        const ledger = copyOf(s, "prov", "ledger", { type: "maestro:provenance:SignoffLedger" });
        for (const type of ["aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"]) {
            const t = happyStack(guardrails, "dev");
            t.resources.push(ledger);
            copyOf(t, "budgets-alerts-policy", "signoff", {
                type,
                parent: ledger.urn,
                props: { key: "signoffs/x" },
                deps: { bucket: [t.byName("prov-bucket").urn] },
            });
            expect(reported(t)).toEqual([]);
        }
        s.resources.push(ledger);
        const intoLogs = copyOf(s, "budgets-alerts-policy", "foreign", {
            type: "aws:s3/bucketObjectv2:BucketObjectv2",
            parent: ledger.urn,
            props: {},
            deps: { bucket: [s.byName("prov-logs").urn] },
        });
        expect(reported(s)).toEqual([{ message: targetsMessage(s, "logs"), urn: intoLogs.urn }]);
    });

    /** A foreign IAM-style document of `statements`; whether the bucket policy refuses it as reaching the evidence bucket. */
    const grantRefused = (statements: unknown) => {
        const s = happyStack(guardrails, "dev");
        foreign(s, { policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) });
        const found = messages(s);
        expect(found.filter((m) => m !== targetsMessage(s, "evidence"))).toEqual([]);
        return found.length === 1;
    };
    const bucketName = () => happyStack(guardrails, "dev").byName("prov-bucket").props.bucket as string;
    const prefix = () => bucketName().slice(0, 8);

    it.each([
        [
            "a wildcard bucket ARN",
            { Effect: "Allow", Action: "s3:DeleteObject", Resource: `arn:aws:s3:::${prefix()}*` },
        ],
        [
            "an object wildcard",
            { Effect: "Allow", Action: ["s3:PutObject"], Resource: [`arn:aws:s3:::${prefix()}*/*`] },
        ],
        ["any resource", { Effect: "Allow", Action: "s3:*", Resource: "*" }],
        ["an action glob in another case", { Effect: "Allow", Action: "S3:Put*", Resource: "*" }],
        ["an action glob with ?", { Effect: "Allow", Action: "s3:?etObject", Resource: "*" }],
        [
            "NotResource naming another bucket",
            { Effect: "Allow", Action: "s3:GetObject", NotResource: "arn:aws:s3:::other/*" },
        ],
        ["NotAction of other services", { Effect: "Allow", NotAction: ["iam:*", "ec2:*"], Resource: "*" }],
        ["NotAction sparing some S3 actions", { Effect: "Allow", NotAction: "s3:Get*", Resource: "*" }],
        [
            "NotResource sparing the bucket but not its objects",
            {
                Effect: "Allow",
                Action: "s3:PutObject",
                NotResource: `arn:aws:s3:::${prefix()}${"?".repeat(bucketName().length - 8)}`,
            },
        ],
        [
            "a wildcard among other resources",
            { Effect: "Allow", Action: "s3:GetObject", Resource: ["arn:aws:s3:::other", `arn:aws:s3:::${prefix()}*`] },
        ],
        ["a lone statement, not a list", { Effect: "Allow", Action: "s3:PutObjectRetention", Resource: "*" }],
    ])("refuses a grant reaching the evidence bucket through %s", (_what, statement) => {
        expect(grantRefused(_what.startsWith("a lone") ? statement : [statement])).toBe(true);
    });

    it.each([
        ["a Deny", [{ Effect: "Deny", Action: "s3:*", Resource: "*" }]],
        ["another bucket's pattern", [{ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::reports-*" }]],
        [
            "a pattern longer than the name",
            [{ Effect: "Allow", Action: "s3:*", Resource: `arn:aws:s3:::${prefix()}?x-*` }],
        ],
        ["a non-S3 action", [{ Effect: "Allow", Action: "ce:GetCostAndUsage", Resource: "*" }]],
        [
            "a shorter name without a wildcard",
            [{ Effect: "Allow", Action: "s3:*", Resource: `arn:aws:s3:::${prefix()}` }],
        ],
        [
            "an S3 action that neither reads nor changes objects",
            [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }],
        ],
        ["NotAction sparing every S3 action at stake", [{ Effect: "Allow", NotAction: "s3:*", Resource: "*" }]],
        [
            "NotResource covering the bucket",
            [{ Effect: "Allow", Action: "s3:*", NotResource: `arn:aws:s3:::${prefix()}*` }],
        ],
        [
            "NotResource covering the bucket among others",
            [{ Effect: "Allow", Action: "s3:*", NotResource: ["arn:aws:s3:::other", `arn:aws:s3:::${prefix()}*`] }],
        ],
        [
            "NotAction sparing S3 among other services",
            [{ Effect: "Allow", NotAction: ["iam:*", "s3:*"], Resource: "*" }],
        ],
        ["NotAction sparing S3 in another case", [{ Effect: "Allow", NotAction: "S3:*", Resource: "*" }]],
        [
            "a resource pattern in another case (S3 ARNs are case-sensitive)",
            [{ Effect: "Allow", Action: "s3:*", Resource: `arn:aws:s3:::${prefix().toUpperCase()}*` }],
        ],
        [
            "a resource that is no string (a template's function)",
            [{ Effect: "Allow", Action: "s3:*", Resource: { "Fn::GetAtt": ["EvidenceBucket", "Arn"] } }],
        ],
        ["no actions", [{ Effect: "Allow", Resource: "*" }]],
        ["a Statement that is text, not statements", "Statement: {"],
        ["no statements", []],
    ])("lets a grant through that cannot reach the bucket: %s", (_what, statements) => {
        expect(grantRefused(statements)).toBe(false);
    });

    it("refuses a grant in a document that spells its keys or the bucket's name with JSON escapes", () => {
        const escaped = (text: string) =>
            text.replace(/[SR-]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
        for (const document of [
            `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
            `{"Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::${bucketName()}/*"}]}`,
        ]) {
            for (const text of [escaped(document), `\n  ${escaped(document)}`]) {
                expect(text).not.toContain("Statement");
                expect(text).not.toContain(bucketName());
                const s = happyStack(guardrails, "dev");
                foreign(s, { policy: text });
                expect([text, messages(s)]).toEqual([text, [targetsMessage(s, "evidence")]]);
            }
        }
        // Text that is no JSON object is no document: an array, a string, a broken object.
        for (const text of [`[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]`, `"s3:*"`, `{"Statement":[`]) {
            const s = happyStack(guardrails, "dev");
            foreign(s, { policy: text });
            expect([text, messages(s)]).toEqual([text, []]);
        }
    });

    it("refuses a sign-off object type outside the ledger, or another type inside it", () => {
        const s = happyStack(guardrails, "dev");
        const ledger = copyOf(s, "prov", "ledger", { type: "maestro:provenance:SignoffLedger" });
        const object = foreign(s, {}, { bucket: [s.byName("prov-bucket").urn] });
        object.type = "aws:s3/bucketObjectv2:BucketObjectv2";
        expect(messages(s)).toEqual([targetsMessage(s, "evidence")]);
        object.type = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration";
        object.parent = ledger.urn;
        expect(messages(s)).toEqual([targetsMessage(s, "evidence")]);
    });
});

describe(BUCKET_INPUTS_POLICY, () => {
    const inline = (name: string, props: Record<string, unknown>, change: Partial<FixtureResource> = {}) => {
        const r = happyStack(guardrails, "prod").byName(name);
        return runResource(provenanceBucketInputsPolicy(), { ...r, ...change, props: { ...r.props, ...props } });
    };

    it("names every inline input, sorted, with what is allowed", () => {
        expect(inline("prov-bucket", { versioning: {}, acl: "private", region: "eu-west-1" })).toEqual([
            {
                message: `${BUCKET} "prov-bucket" (a provenance bucket) sets acl, region, versioning on the bucket itself; allowed: only bucket, tags, objectLockEnabled, forceDestroy (each setting is its own resource, once). ${BUCKET_FIX}`,
                urn: undefined,
            },
        ]);
    });

    it("takes the bucket's own inputs only", () => {
        expect(inline("prov-logs", { objectLockEnabled: false, forceDestroy: false })).toEqual([]);
    });

    it("judges buckets serving the provenance item only", () => {
        const other = awsTagsFor(BACKLOG_ITEM.costBudgets);
        expect(inline("prov-bucket", { versioning: {}, tags: other })).toEqual([]);
        expect(inline("prov-bucket", { versioning: {} }, { type: "aws:s3/bucketV2:BucketV2" })).toEqual([]);
    });
});

/** The fixture bucket's tags, serving another backlog item. */
function awsTagsFor(item: string): Record<string, string> {
    const tags = { ...(happyStack(guardrails, "prod").byName("prov-bucket").props.tags as Record<string, string>) };
    tags[AWS_TAG.backlogItem] = item;
    return tags;
}

describe(RELEASE_POLICY, () => {
    const FIX = `Fix: set the release with \`pulumi config set maestro-guardrails:releaseTag vX.Y.Z\` (format ${guardrails.cadence.tagFormat}).`;
    const tagged = (s: FixtureStack) => s.resources.filter((r) => r.props.tags !== undefined);
    const tagsOf = (r: FixtureResource) => r.props.tags as Record<string, string>;
    /** Only the stack and its AWS-tagged resources (their release tag is the one edited). */
    const awsOnly = (s: FixtureStack) =>
        s.resources.filter((r) => r.props.tags !== undefined || r.type === "pulumi:pulumi:Stack");
    const release = (s: FixtureStack, c: PackContext = ctx, rs = s.resources) => runStack(releasePolicy(c), rs);
    const refusing: PackContext = {
        ...ctx,
        verifyRelease: () => ({ ok: false, problems: ["first problem", "second problem"] }),
    };

    it.each(STACKS)("passes the %s stack as designed", (env) => {
        expect(release(happyStack(guardrails, env))).toEqual([]);
    });

    it("lets dev deploy without a release tag and without sign-offs", () => {
        const s = happyStack(guardrails, "dev");
        tagged(s).forEach((r) => delete tagsOf(r)[AWS_TAG.release]);
        expect(release(s, refusing)).toEqual([]);
    });

    it("asks staging for a release tag but not for sign-offs", () => {
        expect(release(happyStack(guardrails, "staging"), refusing)).toEqual([]);
    });

    it("has no tag to check and no release to clear in a release stack where nothing is stamped", () => {
        const s = happyStack(guardrails, "prod");
        expect(release(s, refusing, [s.byName("maestro-guardrails-prod")])).toEqual([]);
    });

    it("refuses a prod release the ledger does not clear, listing each problem", () => {
        const s = happyStack(guardrails, "prod");
        expect(release(s, refusing)).toEqual([
            {
                message: `${RELEASE} cannot ship to prod: the sign-off ledger does not clear it:\n  first problem\n  second problem`,
                urn: s.byName("maestro-guardrails-prod").urn,
            },
        ]);
    });

    it("refuses a release with every resource untagged, on the stack, naming three of them and where the tag goes", () => {
        const s = happyStack(guardrails, "staging");
        const rs = awsOnly(s);
        rs.forEach((r) => r.props.tags && delete tagsOf(r)[AWS_TAG.release]);
        const untagged = rs.filter((r) => r.props.tags !== undefined);
        const examples = untagged
            .slice(0, 3)
            .map((r) => `${r.type} "${r.name}" (${AWS_TAG.release})`)
            .join(", ");
        expect(release(s, ctx, rs)).toEqual([
            {
                message: `a staging deploy is a release, but ${untagged.length} resource(s) carry no release tag, e.g. ${examples}. ${FIX}`,
                urn: s.byName("maestro-guardrails-staging").urn,
            },
        ]);
    });

    it("refuses one untagged resource among tagged ones, on that resource", () => {
        const s = happyStack(guardrails, "prod");
        const r = s.byName("budgets-llm");
        delete tagsOf(r)[AWS_TAG.release];
        expect(release(s, refusing)).toEqual([
            {
                message: `a prod deploy is a release, but 1 resource(s) carry no release tag, e.g. ${r.type} "${r.name}" (${AWS_TAG.release}). ${FIX}`,
                urn: r.urn,
            },
        ]);
    });

    it("refuses two releases in one deploy, sorted, and checks no sign-off then", () => {
        const s = happyStack(guardrails, "prod");
        tagsOf(s.byName("budgets-total"))[AWS_TAG.release] = "v0.9.0";
        expect(release(s, refusing)).toEqual([
            {
                message: `resources name several releases (v0.9.0, ${RELEASE}); a deploy ships exactly one. ${FIX}`,
                urn: s.byName("maestro-guardrails-prod").urn,
            },
        ]);
    });

    it("refuses a tag that is not the guardrails' format, naming format and pattern, and checks no sign-off then", () => {
        const s = happyStack(guardrails, "prod");
        const rs = awsOnly(s);
        rs.forEach((r) => r.props.tags && (tagsOf(r)[AWS_TAG.release] = "v1.0"));
        expect(release(s, refusing, rs)).toEqual([
            {
                message: `release tag "v1.0" is not ${guardrails.cadence.tagFormat} (pattern ${guardrails.cadence.tagPattern}). ${FIX}`,
                urn: s.byName("maestro-guardrails-prod").urn,
            },
        ]);
    });

    it("reads the environment from the stack's name, and reports a stack bound to none", () => {
        const s = happyStack(guardrails, "prod");
        const renamed = s.resources.map((r) => ({
            ...r,
            urn: r.urn.replace("urn:pulumi:prod::", "urn:pulumi:prod-eu::"),
        }));
        expect(runStack(releasePolicy(refusing), renamed)[0].message).toContain(`${RELEASE} cannot ship to prod`);
        const unbound = s.resources.map((r) => ({
            ...r,
            urn: r.urn.replace("urn:pulumi:prod::", "urn:pulumi:sandbox::"),
        }));
        expect(runStack(releasePolicy(refusing), unbound).map((v) => v.message)).toEqual([
            expect.stringContaining(`${RELEASE_POLICY} cannot tell the stack's environment: the stack "sandbox"`),
        ]);
    });
});
