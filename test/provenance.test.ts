import { execFileSync } from "child_process";
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
import { SignoffLedger, SignoffLedgerArgs } from "../components/signoffLedger";
import { deployMode } from "../components/deployFacts";
import { AWS_TAG, BACKLOG_ITEM } from "../core/conventions";
import { S3_OBJECT_MAX_TAGS, fitObjectTags, objectMetadataKey, objectTagBudgetProblem } from "../core/evidence";
import { RegisteredResource, runWithMocks } from "../offline/mockRuntime";
import { stackProgram } from "../offline/synth";
import { StackConfig } from "../core/stackConfig";
import { changedPaths, checkoutState, gitFacts, headCommit, openGitSnapshot } from "../provenance/git";
import { SignoffEntry, verifyLedger } from "../provenance/ledger";
import { byName, inputs, ofType, resolveEvidence, runComponents } from "./fixtures/provenance/awsProgram";
import {
    NEXT_RELEASE_FIRST_SIGNOFF,
    NOW,
    STANDARD_TEAM,
    join,
    lines,
    makeTeam,
    milestoneOf,
    optionsFor,
    releaseSteps,
    requiredRoles,
    signSteps,
} from "./fixtures/provenance/signedLedger";
import { KEY, STACKS, flatConfig, guardrails, stackConfig, synthInProcess } from "./helpers";

const team = makeTeam(STANDARD_TEAM);
const ledgerText = signSteps(team, releaseSteps());
const fixtureEntries: readonly SignoffEntry[] = verifyLedger(ledgerText, "ledger.jsonl", optionsFor(team)).entries;
const tmpFile = (content: string) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-gate-")), "ledger.jsonl");
    fs.writeFileSync(file, content);
    return file;
};
const FIXTURE_LEDGER = tmpFile(ledgerText);

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

/** Both components as index.ts wires them (an offline render: the code binding reports, the tests below enforce it). */
function program(config: StackConfig, ledgerFile = FIXTURE_LEDGER, extra: Partial<SignoffLedgerArgs> = {}) {
    return () => {
        const bucket = new ProvenanceBucket("provenance", {
            environment: config.environment,
            objectLock: config.provenance,
        });
        return new SignoffLedger("signoffs", {
            bucket,
            environment: config.environment,
            releaseTag: config.releaseTag,
            objectLock: config.provenance,
            requiredRoles,
            milestoneOf,
            guardrails,
            signers: team.signers,
            ledgerFile,
            mode: "offline",
            deployedAt: NOW,
            ...extra,
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

    it("uploads the release's signed envelopes, locked from the deploy day for the retention, after the bucket is hardened", () => {
        const objects = ofType(resources, S3.object);
        const expected = config.releaseTag
            ? fixtureEntries.filter((e) => e.tag === config.releaseTag && e.environment === stack)
            : [];
        expect(objects.map((o) => inputs(o).key)).toEqual(
            expected.map(
                (e) =>
                    `signoffs/${stack}/${e.tag}/${e.commit}/${String(e.seq).padStart(6, "0")}-${e.role.toLowerCase().replace(/ /g, "-")}-${e.hash}.dsse.json`,
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
            // Counted from the deploy (NOW), not the sign-off: a release shipped months later still uploads.
            const until = Date.parse(v.objectLockRetainUntilDate as string);
            expect(until).toBeGreaterThanOrEqual(NOW.getTime() + config.provenance.retentionDays * DAY_MS);
            expect(until).toBeLessThanOrEqual(NOW.getTime() + (config.provenance.retentionDays + 1) * DAY_MS);
            expect(o.ignoreChanges).toEqual(["objectLockRetainUntilDate"]);
            // The object is the envelope exactly as the ledger holds it: it verifies on its own.
            expect(v.content).toBe(lines(ledgerText)[expected[i].seq - 1] + "\n");
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
    it("refuses a prod deploy whose release misses a required sign-off, before any object is uploaded", async () => {
        const config = stackConfig("prod");
        const short = signSteps(
            team,
            releaseSteps().filter((s) => !(s.environment === "prod" && s.role === "Sec Lead")),
        );
        const seen: RegisteredResource[] = [];
        await expect(runComponents(config, program(config, tmpFile(short)), seen)).rejects.toThrow(
            "ledger.jsonl: v1.0.0 in prod is missing the sign-off of Sec Lead (required: ",
        );
        expect(ofType(seen, S3.object)).toEqual([]);
    });

    it("refuses a deploy of a release nobody signed", async () => {
        const config = stackConfig("staging", (f) => (f[KEY("releaseTag")] = "v1.1.0"));
        await expect(runComponents(config, program(config))).rejects.toThrow(
            `v1.1.0 in staging is missing the sign-off of ${[...new Set([...requiredRoles("v1.1.0", "staging"), ...guardrails.signoffs.floor.staging])].join(", ")}`,
        );
    });

    it("refuses even a dev deploy when an envelope does not verify (but needs no sign-off there)", async () => {
        const config = stackConfig("dev");
        const tampered = ledgerText.replace(/"sig":"[A-Za-z0-9+/]{4}/, '"sig":"AAAA');
        await expect(runComponents(config, program(config, tmpFile(tampered)))).rejects.toThrow(
            "ledger.jsonl:1: seq 1 (Release Manager, v1.0.0 staging): signature does not verify",
        );
        const { resources } = await runComponents(config, program(config));
        expect(ofType(resources, S3.object)).toEqual([]);
    });
});

describe("the anchor: a deploy's ledger must extend the head its previous deploy recorded", () => {
    const head = fixtureEntries[fixtureEntries.length - 1].hash;
    const prior = { head, source: "the previous deploy of prod (fixture)" };

    it.each(["dev", "prod"])(
        "refuses a %s ledger cut back after the previous deploy, before any sign-off is uploaded",
        async (stack) => {
            const config = stackConfig(stack);
            const cut = tmpFile(join(lines(ledgerText).slice(0, -1)));
            const seen: RegisteredResource[] = [];
            await expect(runComponents(config, program(config, cut, { priorHead: prior }), seen)).rejects.toThrow(
                `does not extend the head ${head} that the previous deploy of prod (fixture) recorded: the ledger was truncated or its chain rewritten since that deploy`,
            );
            expect(ofType(seen, S3.object)).toEqual([]);
        },
    );

    it("accepts the same ledger, and one that grew since", async () => {
        const config = stackConfig("prod");
        await runComponents(config, program(config, FIXTURE_LEDGER, { priorHead: prior }));
        const grown = signSteps(team, [NEXT_RELEASE_FIRST_SIGNOFF], ledgerText);
        await runComponents(config, program(config, tmpFile(grown), { priorHead: prior }));
    });

    it("reads the anchor from the stack's own last outputs: the whole program refuses a ledger that does not extend them", async () => {
        // The shipped program under mocks, the prior deploy's outputs played by the mock state backend.
        const seen: RegisteredResource[] = [];
        const run = (priorOutputs: Record<string, unknown>) =>
            runWithMocks({
                stack: "prod",
                config: flatConfig("prod"),
                program: stackProgram(),
                priorOutputs,
                record: seen,
            });
        const first = await run({});
        const recorded = (first.outputs.provenance as { ledgerHead: string }).ledgerHead;
        expect(recorded).toMatch(/^[0-9a-f]{64}$/);
        await run({ provenance: { ledgerHead: recorded } });
        const elsewhere = "a".repeat(64);
        seen.length = 0;
        await expect(run({ provenance: { ledgerHead: elsewhere } })).rejects.toThrow(
            `does not extend the head ${elsewhere} that the previous deploy of prod (stack output provenance.ledgerHead) recorded`,
        );
        // Refused before any resource is created (the stack reference is a read).
        expect(seen.filter((r) => r.custom)).toEqual([]);
    });
});

describe("a deploy binds code: an update ships only the signed commit", () => {
    /** A throwaway repository: the signed commit, with the stack's files standing in for the code. */
    const repo = () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-repo-"));
        const git = (...args: string[]) =>
            execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@maestro.example", ...args], {
                cwd: dir,
                encoding: "utf8",
            }).trim();
        git("init", "-q");
        fs.mkdirSync(path.join(dir, "provenance"));
        fs.writeFileSync(path.join(dir, "index.ts"), "export = {};\n");
        fs.writeFileSync(path.join(dir, "provenance", "ledger.jsonl"), "");
        // Its own content: two repositories made in the same second would otherwise share the commit hash.
        fs.writeFileSync(path.join(dir, "README.md"), `${path.basename(dir)}\n`);
        git("add", "-A");
        git("commit", "-q", "-m", "release");
        return { dir, git, commit: git("rev-parse", "HEAD") };
    };
    /** The fixture release signed at `commit`, written into the repository's ledger. */
    const signAt = (r: ReturnType<typeof repo>) => {
        const text = signSteps(team, releaseSteps("v1.0.0", r.commit));
        const file = path.join(r.dir, "provenance", "ledger.jsonl");
        fs.writeFileSync(file, text);
        return file;
    };
    const update = (r: ReturnType<typeof repo>, ledger: string): Partial<SignoffLedgerArgs> => ({
        mode: "update",
        checkout: checkoutState(r.dir),
        git: gitFacts(r.dir),
        ledgerFile: ledger,
    });
    const prod = stackConfig("prod");

    it("deploys the signed commit with only the ledger added after it", async () => {
        const r = repo();
        const ledger = signAt(r);
        r.git("commit", "-q", "-am", "sign-offs");
        const { resources } = await runComponents(prod, program(prod, ledger, update(r, ledger)));
        expect(ofType(resources, S3.object).length).toBe(guardrails.signoffs.floor.prod.length);
        // And the signed commit itself, with the ledger's lines still uncommitted: dirty, refused.
        const signed = fs.readFileSync(ledger);
        r.git("checkout", "-q", r.commit);
        fs.writeFileSync(ledger, signed);
        await expect(runComponents(prod, program(prod, ledger, update(r, ledger)))).rejects.toThrow(
            "the working tree is dirty (provenance/ledger.jsonl)",
        );
    });

    it("refuses a commit whose code differs from the signed one, naming the files", async () => {
        const r = repo();
        const ledger = signAt(r);
        fs.writeFileSync(path.join(r.dir, "index.ts"), "export = { unsigned: true };\n");
        r.git("commit", "-q", "-am", "sign-offs and a change nobody signed");
        const head = r.git("rev-parse", "HEAD");
        const seen: RegisteredResource[] = [];
        await expect(runComponents(prod, program(prod, ledger, update(r, ledger)), seen)).rejects.toThrow(
            `v1.0.0 cannot ship to prod: the deployed code is not the signed code:\n  HEAD ${head} is not v1.0.0's signed commit ${r.commit}: 1 file(s) differ (index.ts)`,
        );
        expect(ofType(seen, S3.object)).toEqual([]);
    });

    it("refuses uncommitted code", async () => {
        const r = repo();
        const ledger = signAt(r);
        r.git("commit", "-q", "-am", "sign-offs");
        fs.writeFileSync(path.join(r.dir, "extra.ts"), "export const x = 1;\n");
        await expect(runComponents(prod, program(prod, ledger, update(r, ledger)))).rejects.toThrow(
            "the working tree is dirty (extra.ts): uncommitted code is not signed code",
        );
    });

    it("refuses a deploy from outside a git checkout", async () => {
        const r = repo();
        const ledger = signAt(r);
        r.git("commit", "-q", "-am", "sign-offs");
        await expect(
            runComponents(prod, program(prod, ledger, { ...update(r, ledger), checkout: undefined })),
        ).rejects.toThrow("the deploy does not run from a git checkout");
    });

    it("refuses a tag moved away from the signed commit", async () => {
        const r = repo();
        const ledger = signAt(r);
        r.git("commit", "-q", "-am", "sign-offs");
        r.git("tag", "v1.0.0");
        await expect(runComponents(prod, program(prod, ledger, update(r, ledger)))).rejects.toThrow(
            `tag moved: git tag v1.0.0 points at ${r.git("rev-parse", "HEAD")}, not the signed commit ${r.commit}`,
        );
    });

    it("refuses a signed commit git does not have", async () => {
        const r = repo();
        const ledger = signAt(r);
        const other = repo();
        await expect(runComponents(prod, program(prod, ledger, update(other, ledger)))).rejects.toThrow(
            `commit ${r.commit} is not in this repository`,
        );
    });

    it("a preview (or an offline render) reports unbound code without failing, so pull requests preview", async () => {
        const r = repo();
        const ledger = signAt(r);
        fs.writeFileSync(path.join(r.dir, "index.ts"), "export = { pullRequest: true };\n");
        r.git("commit", "-q", "-am", "a pull request");
        let component: SignoffLedger | undefined;
        await runComponents(prod, () => {
            component = program(prod, ledger, { ...update(r, ledger), mode: "preview" })();
        });
        expect(component?.codeBinding.bound).toBe(false);
        expect(component?.codeBinding.problems).toEqual([expect.stringContaining("1 file(s) differ (index.ts)")]);
    });

    it("reads what git says of tags and commits: lightweight, annotated and nested tags; none that names no commit", () => {
        const r = repo();
        r.git("tag", "v1.0.0");
        r.git("tag", "-a", "-m", "annotated", "v1.1.0");
        r.git("tag", "-a", "-m", "a tag of a tag", "v1.2.0", "v1.1.0");
        r.git("tag", "release/v2.0.0");
        r.git("tag", "tree", `${r.commit}^{tree}`);
        r.git("tag", "-a", "-m", "of a tree", "annotated-tree", `${r.commit}^{tree}`);
        const facts = gitFacts(r.dir)!;
        for (const tag of ["v1.0.0", "v1.1.0", "v1.2.0", "release/v2.0.0"]) {
            expect(facts.tagCommit(tag)).toBe(r.commit);
        }
        for (const tag of ["tree", "annotated-tree", "v9.9.9", "v1.0"]) {
            expect(facts.tagCommit(tag)).toBeUndefined();
        }
        expect(facts.commitExists(r.commit)).toBe(true);
        expect(facts.commitExists(r.commit)).toBe(true);
        expect(facts.commitExists("0".repeat(40))).toBe(false);
        // The tree is an object git has, but not a commit.
        expect(facts.commitExists(r.git("rev-parse", `${r.commit}^{tree}`))).toBe(false);
        // A commit missing at first is asked again, and found once it is there.
        const other = repo();
        const before = gitFacts(other.dir)!;
        expect(before.commitExists(r.commit)).toBe(false);
        other.git("fetch", "-q", r.dir, "HEAD");
        expect(before.commitExists(r.commit)).toBe(true);
        // A moved tag is seen by the next verification's facts.
        fs.writeFileSync(path.join(r.dir, "README.md"), "moved\n");
        r.git("commit", "-q", "-am", "after");
        r.git("tag", "-f", "v1.0.0");
        expect(gitFacts(r.dir)!.tagCommit("v1.0.0")).toBe(r.git("rev-parse", "HEAD"));
    });

    it("diffs each commit against HEAD once per checkout state, and tells a commit git lacks", () => {
        const r = repo();
        fs.writeFileSync(path.join(r.dir, "index.ts"), "export = { changed: true };\n");
        r.git("commit", "-q", "-am", "changed");
        const state = checkoutState(r.dir)!;
        expect(state.head).toBe(r.git("rev-parse", "HEAD"));
        expect(state.dirty).toEqual([]);
        expect(state.changedSince(r.commit)).toEqual(["index.ts"]);
        expect(state.changedSince(r.commit)).toEqual(["index.ts"]);
        expect(state.changedSince(state.head)).toEqual([]);
        expect(state.changedSince("0".repeat(40))).toBeUndefined();
    });

    it("reads HEAD and every kind of uncommitted change in one status, and nothing where there is no commit", () => {
        const r = repo();
        expect(headCommit(r.dir)).toBe(r.commit);
        expect(checkoutState(r.dir)!.dirty).toEqual([]);
        fs.writeFileSync(path.join(r.dir, "index.ts"), "export = { edited: true };\n");
        fs.writeFileSync(path.join(r.dir, "staged.ts"), "export = {};\n");
        r.git("add", "staged.ts");
        r.git("mv", "README.md", "NOTES.md");
        fs.writeFileSync(path.join(r.dir, "with space.ts"), "export = {};\n");
        fs.writeFileSync(path.join(r.dir, "untracked.ts"), "export = {};\n");
        // Hidden in a new folder, or under a name git quotes: still changes.
        fs.mkdirSync(path.join(r.dir, "new", "deep"), { recursive: true });
        fs.writeFileSync(path.join(r.dir, "new", "deep", "code.ts"), "export = {};\n");
        fs.writeFileSync(path.join(r.dir, "café.ts"), "export = {};\n");
        const state = checkoutState(r.dir)!;
        expect(state.head).toBe(r.commit);
        // git quotes the non-ASCII name unless core.quotePath is off on this machine: either way it is listed.
        const quoted = state.dirty.filter((f) => /^"?caf/.test(f));
        expect(quoted).toHaveLength(1);
        expect(state.dirty.filter((f) => !quoted.includes(f)).sort()).toEqual(
            ["README.md -> NOTES.md", "index.ts", "new/", "staged.ts", "untracked.ts", "with space.ts"].sort(),
        );
        // A merge conflict is a change too.
        const conflicted = repo();
        conflicted.git("checkout", "-q", "-b", "other");
        fs.writeFileSync(path.join(conflicted.dir, "index.ts"), "export = { other: true };\n");
        conflicted.git("commit", "-q", "-am", "other");
        conflicted.git("checkout", "-q", "-");
        fs.writeFileSync(path.join(conflicted.dir, "index.ts"), "export = { mine: true };\n");
        conflicted.git("commit", "-q", "-am", "mine");
        expect(() => conflicted.git("merge", "-q", "other")).toThrow();
        expect(checkoutState(conflicted.dir)!.dirty).toEqual(["index.ts"]);
        // An entry of a shape git may print one day still counts as a change (fails closed); headers do not.
        expect(changedPaths(["# branch.oid " + r.commit, "# branch.head main", "", "3 new-kind x.ts"])).toEqual([
            "3 new-kind x.ts",
        ]);
        // Inside .git, in a repository without a commit, and outside any: no HEAD, no state.
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-repo-"));
        execFileSync("git", ["init", "-q"], { cwd: empty });
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-norepo-"));
        for (const dir of [path.join(r.dir, ".git"), empty, outside]) {
            expect(headCommit(dir)).toBeUndefined();
            expect(checkoutState(dir)).toBeUndefined();
        }
    });

    it("in a snapshot (synth's command), answers as git does, once, until it is closed; other checkouts ask git", async () => {
        const r = repo();
        r.git("tag", "v1.0.0");
        fs.writeFileSync(path.join(r.dir, "index.ts"), "export = { edited: true };\n");
        const other = repo();
        const direct = { state: checkoutState(r.dir)!, tag: gitFacts(r.dir)!.tagCommit("v1.0.0") };
        const snapshot = openGitSnapshot(r.dir);
        try {
            await snapshot.ready;
            // The answers asked ahead are git's own: the same state and facts as asked one by one.
            const state = checkoutState(r.dir)!;
            expect([state.head, state.dirty]).toEqual([direct.state.head, direct.state.dirty]);
            expect(gitFacts(r.dir)!.tagCommit("v1.0.0")).toBe(direct.tag);
            expect(direct.tag).toBe(r.commit);
            // Every stack reads the same repository state while it is open.
            fs.writeFileSync(path.join(r.dir, "later.ts"), "export = {};\n");
            r.git("tag", "v2.0.0");
            expect(checkoutState(r.dir)!.dirty).toEqual(["index.ts"]);
            expect(gitFacts(r.dir)!.tagCommit("v2.0.0")).toBeUndefined();
            // Another checkout is not in the snapshot.
            fs.writeFileSync(path.join(other.dir, "index.ts"), "export = { other: true };\n");
            expect(checkoutState(other.dir)!.dirty).toEqual(["index.ts"]);
        } finally {
            snapshot.close();
        }
        expect([...checkoutState(r.dir)!.dirty].sort()).toEqual(["index.ts", "later.ts"]);
        expect(gitFacts(r.dir)!.tagCommit("v2.0.0")).toBe(r.commit);
    });

    it("a snapshot outside any checkout says so, as git does", async () => {
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-norepo-"));
        const snapshot = openGitSnapshot(outside);
        try {
            await snapshot.ready;
            expect(checkoutState(outside)).toBeUndefined();
            expect(gitFacts(outside)).toBeUndefined();
        } finally {
            snapshot.close();
        }
    });

    it("is an update only when the engine applies changes", () => {
        expect(deployMode({ dryRun: false, engine: true })).toBe("update");
        expect(deployMode({ dryRun: true, engine: true })).toBe("preview");
        expect(deployMode({ dryRun: false, engine: false })).toBe("offline");
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

describe("sign-off objects stay within S3's 10 tags per object, whatever the provider's default tags add", () => {
    const stamps = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`team:default-${i}`, "x"]));
    const withDefaults = (tags: Record<string, string>) => {
        const flat = flatConfig("prod");
        return { ...flat, values: { ...flat.values, "aws:defaultTags": JSON.stringify({ tags }) } };
    };
    const runProd = (tags: Record<string, string>, record: RegisteredResource[] = []) =>
        runWithMocks({ stack: "prod", config: withDefaults(tags), program: stackProgram(), record });

    it.each([0, 3, 5, S3_OBJECT_MAX_TAGS - 3])(
        "with %i default tags: tags + defaults <= 10, identity kept as tags, every stamp in metadata",
        async (n) => {
            const { resources } = await runProd(stamps(n));
            const objects = ofType(resources, S3.object);
            expect(objects.length).toBe(guardrails.signoffs.floor.prod.length);
            for (const o of objects) {
                const { tags, metadata } = inputs(o) as {
                    tags: Record<string, string>;
                    metadata: Record<string, string>;
                };
                expect(Object.keys(tags).length + n).toBeLessThanOrEqual(S3_OBJECT_MAX_TAGS);
                expect(tags).toMatchObject({
                    [AWS_TAG.backlogItem]: BACKLOG_ITEM.signoffLedger,
                    [AWS_TAG.environment]: "prod",
                    [AWS_TAG.release]: "v1.0.0",
                });
                for (const key of Object.values(AWS_TAG)) {
                    expect(metadata[objectMetadataKey(key)]).toBeDefined();
                }
                expect(Object.keys(metadata).every((k) => /^[a-z0-9-]+$/.test(k))).toBe(true);
            }
            // Other AWS resources are not objects: they keep every stamp as a tag.
            expect(Object.keys(inputs(byName([...resources], "provenance-bucket")).tags as object).length).toBe(
                Object.keys(AWS_TAG).length,
            );
        },
    );

    it("refuses, before any resource, default tags that leave no room for the identity, naming aws:defaultTags", async () => {
        const seen: RegisteredResource[] = [];
        await expect(runProd(stamps(S3_OBJECT_MAX_TAGS - 2), seen)).rejects.toThrow(
            `aws:defaultTags: ${S3_OBJECT_MAX_TAGS - 2} default tags leave 2 of S3's ${S3_OBJECT_MAX_TAGS} tags per object for the evidence identity`,
        );
        expect(seen.filter((r) => r.custom)).toEqual([]);
    });

    it("counts a default tag that repeats a stamp once, and an explicit tag on the object against the same budget", () => {
        const base = { [AWS_TAG.backlogItem]: "I", [AWS_TAG.environment]: "prod", [AWS_TAG.release]: "v1.0.0" };
        const all = { ...base, [AWS_TAG.logs]: "l", [AWS_TAG.owner]: "o", "team:explicit": "e" };
        // The repeated key is one tag on the object; the other default takes one slot.
        const fitted = fitObjectTags(all, [AWS_TAG.owner, ...Object.keys(stamps(S3_OBJECT_MAX_TAGS - 5))]);
        expect(Object.keys(fitted.tags).length + (S3_OBJECT_MAX_TAGS - 5)).toBeLessThanOrEqual(S3_OBJECT_MAX_TAGS);
        expect(Object.keys(fitted.metadata).sort()).toEqual(Object.keys(all).map(objectMetadataKey).sort());
        expect(objectTagBudgetProblem(Object.keys(stamps(S3_OBJECT_MAX_TAGS - 3)), "aws:defaultTags")).toBeUndefined();
    });
});

describe("npm run synth -- --prior: a previous render played as the previous deploy", () => {
    // The command in-process, against the jest worker's shared pack (the script's own process: test/synth.test.ts).
    it("passes when the ledger extends the head the prior render recorded, and refuses when it does not", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-prior-"));
        const first = await synthInProcess("--stack", "prod", "--out", path.join(dir, "first"));
        expect(first.status).toBe(0);
        const prior = path.join(dir, "first");
        const again = await synthInProcess("--stack", "prod", "--out", path.join(dir, "again"), "--prior", prior);
        expect(again.stderr).toBe("");
        expect(again.status).toBe(0);
        const outputs = JSON.parse(fs.readFileSync(path.join(prior, "outputs.json"), "utf8")) as {
            provenance: { ledgerHead: string };
        };
        const forged = path.join(dir, "forged");
        fs.mkdirSync(forged);
        fs.writeFileSync(
            path.join(forged, "outputs.json"),
            JSON.stringify({ provenance: { ...outputs.provenance, ledgerHead: "b".repeat(64) } }),
        );
        const refused = await synthInProcess("--stack", "prod", "--out", path.join(dir, "refused"), "--prior", forged);
        expect(refused.status).toBe(1);
        expect(refused.stderr).toContain(`does not extend the head ${"b".repeat(64)}`);
        // A folder without a previous render's outputs is refused by name, not taken as a fresh stack.
        const empty = path.join(dir, "empty");
        fs.mkdirSync(empty);
        const missing = await synthInProcess("--stack", "prod", "--out", path.join(dir, "missing"), "--prior", empty);
        expect(missing.status).toBe(2);
        expect(missing.stderr).toContain("outputs.json not found; allowed: a previous synth's output folder");
    });
});
