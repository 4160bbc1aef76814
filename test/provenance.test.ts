import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProvenanceBucket } from "../components/provenanceBucket";
import {
    ACCESS_LOG_PREFIX,
    KEY_DELETION_WINDOW_DAYS,
    checkProvenanceSettings,
    evidenceLifecycleRules,
    logLifecycleRules,
    provenanceBucketName,
} from "../provenance/bucketSpecs";
import { SignoffLedger } from "../components/signoffLedger";
import { AWS_TAG, BACKLOG_ITEM } from "../core/conventions";
import { RegisteredResource } from "../offline/mockRuntime";
import { StackConfig } from "../core/stackConfig";
import { GENESIS_HASH, RequiredRoles, SignoffEntry, entryHash, serializeEntry } from "../provenance/ledger";
import { byName, inputs, ofType, resolveEvidence, runComponents, stackConfig } from "./fixtures/provenance/awsProgram";
import { KEY, STACKS, guardrails } from "./helpers";

const FIXTURES = path.join(__dirname, "fixtures", "provenance");
const FIXTURE_LEDGER = path.join(FIXTURES, "ledger.jsonl");
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
const fixtureEntries = fs
    .readFileSync(FIXTURE_LEDGER, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as SignoffEntry);

const S3 = {
    bucket: "aws:s3/bucket:Bucket",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    objectLock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    policy: "aws:s3/bucketPolicy:BucketPolicy",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    logging: "aws:s3/bucketLogging:BucketLogging",
    object: "aws:s3/bucketObjectv2:BucketObjectv2",
};

type Statement = {
    Sid: string;
    Effect: string;
    Principal: unknown;
    Action: unknown;
    Resource: unknown;
    Condition?: unknown;
};
const statements = (r: RegisteredResource) =>
    (JSON.parse(inputs(r).policy as string) as { Statement: Statement[] }).Statement;
const DAY_MS = 24 * 3600 * 1000;

/** Both components as index.ts wires them. */
function program(config: StackConfig, ledgerFile = FIXTURE_LEDGER) {
    return () => {
        const bucket = new ProvenanceBucket("provenance", {
            environment: config.environment,
            objectLock: config.provenance,
        });
        new SignoffLedger("signoffs", {
            bucket,
            environment: config.environment,
            releaseTag: config.releaseTag,
            objectLock: config.provenance,
            requiredRoles,
            guardrails,
            ledgerFile,
        });
    };
}

describe.each(STACKS)("the provenance bucket of %s", (stack) => {
    const config = stackConfig(stack);
    let resources: RegisteredResource[];
    let accountId: string;
    beforeAll(async () => {
        ({ resources, accountId } = await runComponents(config, program(config)));
    });
    const evidence = () => byName(resources, "provenance-bucket");
    const logs = () => byName(resources, "provenance-logs");

    it("is named for the environment, account and region, with Object Lock enabled at creation and no force-destroy", () => {
        expect(inputs(evidence())).toMatchObject({
            bucket: provenanceBucketName(stack, accountId, "us-east-1", "evidence"),
            objectLockEnabled: true,
            forceDestroy: false,
        });
        expect(inputs(logs())).toMatchObject({
            bucket: provenanceBucketName(stack, accountId, "us-east-1", "logs"),
            forceDestroy: false,
        });
    });

    it("locks every new version by default: the stack's mode (COMPLIANCE in prod) and retention days", () => {
        const lock = inputs(byName(resources, "provenance-object-lock"));
        expect(lock.rule).toEqual({
            defaultRetention: { mode: config.provenance.objectLockMode, days: config.provenance.retentionDays },
        });
        if (stack === "prod") {
            expect(config.provenance.objectLockMode).toBe("COMPLIANCE");
        }
    });

    it("versions both buckets", () => {
        for (const name of ["provenance-bucket-versioning", "provenance-logs-versioning"]) {
            expect(inputs(byName(resources, name)).versioningConfiguration).toEqual({ status: "Enabled" });
        }
    });

    it("encrypts evidence with SSE-KMS under a rotating key (bucket keys on, SSE-C refused); logs with SSE-S3 as log delivery requires", () => {
        const key = ofType(resources, "aws:kms/key:Key");
        expect(key).toHaveLength(1);
        expect(inputs(key[0])).toMatchObject({
            enableKeyRotation: true,
            deletionWindowInDays: KEY_DELETION_WINDOW_DAYS,
        });
        expect(inputs(byName(resources, "provenance-bucket-encryption")).rules).toEqual([
            {
                applyServerSideEncryptionByDefault: {
                    sseAlgorithm: "aws:kms",
                    kmsMasterKeyId: expect.stringMatching(new RegExp(`^arn:aws:kms:.*:${key[0].name}$`)),
                },
                bucketKeyEnabled: true,
                blockedEncryptionTypes: ["SSE-C"],
            },
        ]);
        expect(inputs(byName(resources, "provenance-logs-encryption")).rules).toEqual([
            {
                applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" },
                bucketKeyEnabled: false,
                blockedEncryptionTypes: ["SSE-C"],
            },
        ]);
        expect(inputs(byName(resources, "provenance-key-alias")).name).toBe(`alias/maestro-${stack}-provenance`);
    });

    it("blocks every public access path and disables ACLs on both buckets", () => {
        const blocks = ofType(resources, S3.publicAccess);
        expect(blocks).toHaveLength(2);
        for (const b of blocks) {
            expect(inputs(b)).toMatchObject({
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            });
        }
        for (const o of ofType(resources, S3.ownership)) {
            expect(inputs(o).rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
        }
        expect(ofType(resources, S3.ownership)).toHaveLength(2);
    });

    it("has a bucket policy that refuses plain HTTP and every delete, for every principal", () => {
        const policy = statements(byName(resources, "provenance-policy"));
        const arn = (policy[0].Resource as string[])[0];
        // Built from the bucket's name (an input), so it is known in a first preview.
        expect(arn).toBe(`arn:aws:s3:::${String(inputs(byName(resources, "provenance-bucket")).bucket)}`);
        expect(policy).toEqual([
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
            {
                Sid: "DenyEvidenceDeletion",
                Effect: "Deny",
                Principal: "*",
                Action: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"],
                Resource: [arn, `${arn}/*`],
            },
        ]);
        expect(byName(resources, "provenance-policy").dependsOn).toContain(
            byName(resources, "provenance-bucket-public-access").urn,
        );
    });

    it("logs every request to the evidence bucket into the log bucket, which only S3 log delivery for that bucket may write", () => {
        expect(inputs(byName(resources, "provenance-access-logging"))).toMatchObject({
            targetPrefix: ACCESS_LOG_PREFIX,
            targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
        });
        const logStatements = statements(byName(resources, "provenance-logs-policy"));
        expect(logStatements.map((s) => s.Sid)).toEqual(["DenyInsecureTransport", "AllowServerAccessLogDelivery"]);
        expect(logStatements[1]).toMatchObject({
            Effect: "Allow",
            Principal: { Service: "logging.s3.amazonaws.com" },
            Action: "s3:PutObject",
            Condition: {
                ArnLike: {
                    "aws:SourceArn": `arn:aws:s3:::${String(inputs(byName(resources, "provenance-bucket")).bucket)}`,
                },
                StringEquals: { "aws:SourceAccount": accountId },
            },
        });
    });

    it("moves evidence to cheaper storage and never expires it; logs expire with the evidence retention, tiering only before that", () => {
        const evidenceRules = inputs(byName(resources, "provenance-bucket-lifecycle")).rules as Array<
            Record<string, unknown>
        >;
        expect(evidenceRules).toEqual(evidenceLifecycleRules().map((r) => ({ ...r })));
        expect(
            evidenceRules.every((r) => r.expiration === undefined && r.noncurrentVersionExpiration === undefined),
        ).toBe(true);
        expect((evidenceRules[0].transitions as Array<{ storageClass: string }>).map((t) => t.storageClass)).toEqual([
            "STANDARD_IA",
            "GLACIER_IR",
        ]);
        const [logRule] = inputs(byName(resources, "provenance-logs-lifecycle")).rules as Array<{
            expiration: { days: number };
            transitions: Array<{ days: number }>;
        }>;
        expect(logRule.expiration).toEqual({ days: config.provenance.retentionDays });
        expect(logRule.transitions.every((t) => t.days < config.provenance.retentionDays)).toBe(true);
    });

    it("protects and retains every resource holding or guarding evidence (no `pulumi destroy` removes them)", () => {
        const custom = resources.filter((r) => r.custom && r.type.startsWith("aws:") && r.type !== S3.object);
        expect(custom.length).toBeGreaterThanOrEqual(18);
        for (const r of custom) {
            expect({ name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({
                name: r.name,
                protect: true,
                retainOnDelete: true,
            });
        }
    });

    it("tags taggable resources with the item they serve: the bucket's for bucket and key, the ledger's for sign-offs", () => {
        const check = (r: RegisteredResource, item: string) => {
            const tags = inputs(r).tags as Record<string, string>;
            const hooks = resolveEvidence(item).hooks;
            expect(tags).toMatchObject({
                [AWS_TAG.environment]: config.environment,
                [AWS_TAG.owner]: config.owner,
                [AWS_TAG.backlogItem]: item,
                [AWS_TAG.logs]: hooks.logs,
                [AWS_TAG.metrics]: hooks.metrics,
                [AWS_TAG.tests]: hooks.tests,
                [AWS_TAG.provenance]: hooks.provenance,
            });
            // S3 allows at most 10 tags on an object.
            expect(Object.keys(tags).length).toBeLessThanOrEqual(10);
        };
        for (const r of [evidence(), logs(), ...ofType(resources, "aws:kms/key:Key")]) {
            check(r, BACKLOG_ITEM.provenanceBucket);
        }
        for (const r of ofType(resources, S3.object)) {
            check(r, BACKLOG_ITEM.signoffLedger);
        }
    });

    it("uploads the release's sign-offs, locked until sign-off + retention, after the bucket is hardened", () => {
        const objects = ofType(resources, S3.object);
        const expected = config.releaseTag
            ? fixtureEntries.filter((e) => e.tag === config.releaseTag && e.environment === stack)
            : [];
        expect(objects.map((o) => inputs(o).key)).toEqual(
            expected.map(
                (e) =>
                    `signoffs/${stack}/${e.tag}/${e.commit}/${String(e.seq).padStart(6, "0")}-${e.role.toLowerCase().replace(/ /g, "-")}.json`,
            ),
        );
        const hardened = [
            "provenance-object-lock",
            "provenance-policy",
            "provenance-bucket-encryption",
            "provenance-bucket-public-access",
        ].map((n) => byName(resources, n).urn);
        objects.forEach((o, i) => {
            const v = inputs(o);
            expect(v).toMatchObject({
                objectLockMode: config.provenance.objectLockMode,
                checksumAlgorithm: "SHA256",
                contentType: "application/json",
                forceDestroy: false,
            });
            expect(Date.parse(v.objectLockRetainUntilDate as string) - Date.parse(expected[i].time)).toBe(
                config.provenance.retentionDays * DAY_MS,
            );
            expect((JSON.parse(v.content as string) as { predicate: SignoffEntry }).predicate).toEqual(expected[i]);
            expect(o.dependsOn).toEqual(expect.arrayContaining(hardened));
            // Retained, not protected: the next release's deploy drops them from the program and must only forget them.
            expect({ protect: o.protect, retainOnDelete: o.retainOnDelete }).toEqual({
                protect: false,
                retainOnDelete: true,
            });
        });
        if (stack !== "dev") {
            expect(objects.length).toBeGreaterThan(0);
        }
    });
});

describe("the deploy gate", () => {
    const tmpLedger = (entries: SignoffEntry[]) => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-gate-")), "ledger.jsonl");
        fs.writeFileSync(file, entries.map(serializeEntry).join("\n") + "\n");
        return file;
    };
    const rechain = (entries: SignoffEntry[]) => {
        const out: SignoffEntry[] = [];
        for (const e of entries) {
            const body = { ...e, seq: out.length + 1, prevHash: out.length ? out[out.length - 1].hash : GENESIS_HASH };
            out.push({ ...body, hash: entryHash(body) });
        }
        return out;
    };

    it("refuses a prod deploy whose release misses a required sign-off, before any object is uploaded", async () => {
        const config = stackConfig("prod");
        const ledger = tmpLedger(
            rechain(fixtureEntries.filter((e) => !(e.environment === "prod" && e.role === "Sec Lead"))),
        );
        const seen: RegisteredResource[] = [];
        await expect(runComponents(config, program(config, ledger), seen)).rejects.toThrow(
            `${config.releaseTag} cannot ship to prod:\n  `,
        );
        await expect(runComponents(config, program(config, ledger))).rejects.toThrow(
            "is missing the sign-off of Sec Lead",
        );
        expect(ofType(seen, S3.object)).toEqual([]);
    });

    it("refuses a deploy of a release nobody signed", async () => {
        const config = stackConfig("staging", (f) => (f[KEY("releaseTag")] = "v1.1.0"));
        await expect(runComponents(config, program(config))).rejects.toThrow(
            "v1.1.0 in staging is missing the sign-off of Release Manager, Dev Lead",
        );
    });

    it("refuses even a dev deploy when the chain is broken (but needs no sign-off there)", async () => {
        const config = stackConfig("dev");
        const tampered = fixtureEntries.map((e, i) => (i === 1 ? { ...e, signer: "Mallory" } : e));
        await expect(runComponents(config, program(config, tmpLedger(tampered)))).rejects.toThrow(
            "the sign-off ledger is not intact:\n  ",
        );
        const { resources } = await runComponents(config, program(config));
        expect(ofType(resources, S3.object)).toEqual([]);
    });
});

describe("provenance settings refusals", () => {
    it("refuses GOVERNANCE mode in prod, naming the key and the allowed value", () => {
        expect(() =>
            checkProvenanceSettings({ objectLockMode: "GOVERNANCE", retentionDays: 1 }, "prod", "Pulumi.prod.yaml"),
        ).toThrow(
            'Pulumi.prod.yaml: maestro-guardrails:provenance.objectLockMode: "GOVERNANCE" lets privileged users delete prod evidence; allowed in prod: COMPLIANCE',
        );
    });

    it("refuses a retention that is not a whole number of days", () => {
        expect(() =>
            checkProvenanceSettings({ objectLockMode: "GOVERNANCE", retentionDays: 0 }, "dev", "Pulumi.dev.yaml"),
        ).toThrow("provenance.retentionDays: 0; allowed: a whole number of days >= 1");
    });

    it("refuses a bucket name S3 would reject", () => {
        expect(() => provenanceBucketName("Dev_1", "123", "us-east-1", "evidence")).toThrow(
            'provenance bucket name "maestro-provenance-Dev_1-123-us-east-1" is not a valid S3 bucket name',
        );
    });

    it("keeps log tiering strictly before log expiry for every shipped retention", () => {
        for (const stack of STACKS) {
            const days = stackConfig(stack).provenance.retentionDays;
            const [rule] = logLifecycleRules({ objectLockMode: "GOVERNANCE", retentionDays: days });
            expect(rule.transitions.every((t) => t.days < days)).toBe(true);
        }
    });

    it("fails the component with a ResourceError before registering any AWS resource", async () => {
        const config = stackConfig("prod");
        const seen: RegisteredResource[] = [];
        await expect(
            runComponents(
                config,
                () =>
                    new ProvenanceBucket("provenance", {
                        environment: "prod",
                        objectLock: { objectLockMode: "GOVERNANCE", retentionDays: 1 },
                    }),
                seen,
            ),
        ).rejects.toThrow("allowed in prod: COMPLIANCE");
        expect(seen.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    });
});
