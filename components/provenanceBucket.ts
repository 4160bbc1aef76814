import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { planOrRefuse } from "../core/component";
import { declareEvidence } from "../core/evidence";
import { BACKLOG_ITEM } from "../core/conventions";
import { ProvenanceSettings } from "../core/stackConfig";
import {
    KEY_DELETION_WINDOW_DAYS,
    LifecycleRuleSpec,
    checkProvenanceSettings,
    evidenceBucketPolicy,
    logBucketPolicy,
    provenanceBucketName,
    s3BucketArn,
} from "../provenance/bucketSpecs";
import { BucketRefs, BucketSettingKind, bucketInputs, bucketSettingsDesign } from "../provenance/bucketDesign";

export interface ProvenanceBucketArgs {
    /** Guardrail environment whose evidence the bucket holds; part of the bucket names. */
    readonly environment: string;
    /** Object Lock default retention (stack config `provenance`); prod must be COMPLIANCE. */
    readonly objectLock: ProvenanceSettings;
    /** The stack config file, for messages (default `Pulumi.<stack>.yaml`). */
    readonly sourceFile?: string;
}

/**
 * The write-once evidence store: an S3 bucket with versioning and Object Lock (default retention), SSE-KMS with a
 * rotating key, every public access path blocked, ACLs disabled, a policy that refuses plain HTTP and any delete,
 * lifecycle tiering, and server access logs in a second hardened bucket. Every resource here is protected and
 * retained on delete: neither `pulumi destroy` nor a removed line of code can take evidence (or the key that
 * decrypts it) away.
 */
export class ProvenanceBucket extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly logBucketName: pulumi.Output<string>;
    /**
     * Resources that must exist before evidence is written (lock, encryption, policy); uploads depend on them so
     * no object lands before the bucket is hardened.
     */
    public readonly ready: readonly pulumi.Resource[];

    /** Throws on Object Lock settings or an environment name the bucket cannot take. Registers nothing. */
    static plan(args: ProvenanceBucketArgs): void {
        checkProvenanceSettings(
            args.objectLock,
            args.environment,
            args.sourceFile ?? `Pulumi.${pulumi.getStack()}.yaml`,
        );
        // Validates the name shape early (the account and region only lengthen it by fixed-size parts).
        provenanceBucketName(args.environment, "000000000000", "us-east-1", "logs");
    }

    constructor(name: string, args: ProvenanceBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:provenance:ProvenanceBucket", name, {}, opts);
        declareEvidence(this, {
            backlogItem: BACKLOG_ITEM.provenanceBucket,
            creates: [
                "aws:kms/key:Key",
                "aws:kms/alias:Alias",
                "aws:s3/bucket:Bucket",
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                "aws:s3/bucketLogging:BucketLogging",
                "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                "aws:s3/bucketPolicy:BucketPolicy",
                "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "aws:s3/bucketVersioning:BucketVersioning",
            ],
        });
        planOrRefuse(this, () => ProvenanceBucket.plan(args));
        const keep: pulumi.CustomResourceOptions = { parent: this, protect: true, retainOnDelete: true };
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this });
        const nameFor = (role: "evidence" | "logs") =>
            pulumi
                .all([identity.accountId, region.region])
                .apply(([account, r]) => provenanceBucketName(args.environment, account, r, role));

        const key = new aws.kms.Key(
            `${name}-key`,
            {
                description: `Encrypts the Maestro ${args.environment} provenance evidence`,
                enableKeyRotation: true,
                deletionWindowInDays: KEY_DELETION_WINDOW_DAYS,
            },
            keep,
        );
        new aws.kms.Alias(
            `${name}-key-alias`,
            { name: `alias/maestro-${args.environment}-provenance`, targetKeyId: key.keyId },
            keep,
        );

        // Every setting below is provenance/bucketDesign.ts's, the same the policy pack compares with; only the
        // deploy-time references (the key's and the buckets' ARNs, the account) are filled in here.
        const evidenceDesign = bucketSettingsDesign("evidence", args.objectLock, DEPLOY_TIME_REFS);
        const logDesign = bucketSettingsDesign("logs", args.objectLock, DEPLOY_TIME_REFS);
        const bucket = new aws.s3.Bucket(
            `${name}-bucket`,
            { bucket: nameFor("evidence"), ...bucketInputs("evidence") },
            keep,
        );
        // Settings refer to a bucket by its name (S3's ID) and its ARN is built from the name: both are inputs, known
        // in a first preview, where the provider's `id` and `arn` are not. Through `bucket.bucket` each setting
        // still depends on its bucket (the pack finds settings by that dependency).
        const arnOf = (b: aws.s3.Bucket) =>
            pulumi.all([partition.partition, b.bucket]).apply(([p, n]) => s3BucketArn(p, n));
        const hardening = this.harden(`${name}-bucket`, bucket, keep, evidenceDesign, key.arn);
        const objectLock = new aws.s3.BucketObjectLockConfiguration(
            `${name}-object-lock`,
            {
                bucket: bucket.bucket,
                rule: evidenceDesign.objectLock!.rule as aws.types.input.s3.BucketObjectLockConfigurationRule,
            },
            { ...keep, dependsOn: [hardening.versioning] },
        );
        const policy = new aws.s3.BucketPolicy(
            `${name}-policy`,
            { bucket: bucket.bucket, policy: arnOf(bucket).apply((arn) => JSON.stringify(evidenceBucketPolicy(arn))) },
            { ...keep, dependsOn: [hardening.publicAccess] },
        );

        // Access logs: S3 log delivery writes only with SSE-S3 and to a bucket without default Object Lock retention.
        const logs = new aws.s3.Bucket(`${name}-logs`, { bucket: nameFor("logs"), ...bucketInputs("logs") }, keep);
        const logsHardening = this.harden(`${name}-logs`, logs, keep, logDesign);
        const logsPolicy = new aws.s3.BucketPolicy(
            `${name}-logs-policy`,
            {
                bucket: logs.bucket,
                policy: pulumi
                    .all([arnOf(logs), arnOf(bucket), identity.accountId])
                    .apply(([logArn, evidenceArn, account]) =>
                        JSON.stringify(logBucketPolicy(logArn, evidenceArn, account)),
                    ),
            },
            { ...keep, dependsOn: [logsHardening.publicAccess] },
        );
        const logging = new aws.s3.BucketLogging(
            `${name}-access-logging`,
            {
                bucket: bucket.bucket,
                targetBucket: logs.bucket,
                ...(evidenceDesign.logging as Pick<aws.s3.BucketLoggingArgs, "targetPrefix" | "targetObjectKeyFormat">),
            },
            { ...keep, dependsOn: [logsPolicy, ...Object.values(logsHardening)] },
        );

        this.bucketName = bucket.bucket;
        this.bucketArn = arnOf(bucket);
        this.kmsKeyArn = key.arn;
        this.logBucketName = logs.bucket;
        this.ready = [objectLock, policy, logging, ...Object.values(hardening)];
        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            kmsKeyArn: this.kmsKeyArn,
            logBucketName: this.logBucketName,
        });
    }

    /**
     * What both buckets get, as designed: ACLs disabled, public access blocked, versioning, default encryption (the
     * stack's KMS key when the design asks for one), lifecycle.
     */
    private harden(
        prefix: string,
        bucket: aws.s3.Bucket,
        keep: pulumi.CustomResourceOptions,
        design: Partial<Record<BucketSettingKind, Record<string, unknown>>>,
        kmsKeyArn?: pulumi.Input<string>,
    ) {
        const ownership = new aws.s3.BucketOwnershipControls(
            `${prefix}-ownership`,
            { bucket: bucket.bucket, ...(design.ownership as Pick<aws.s3.BucketOwnershipControlsArgs, "rule">) },
            keep,
        );
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${prefix}-public-access`,
            { bucket: bucket.bucket, ...(design.publicAccess as Omit<aws.s3.BucketPublicAccessBlockArgs, "bucket">) },
            keep,
        );
        const versioning = new aws.s3.BucketVersioning(
            `${prefix}-versioning`,
            {
                bucket: bucket.bucket,
                ...(design.versioning as Pick<aws.s3.BucketVersioningArgs, "versioningConfiguration">),
            },
            keep,
        );
        const rules = (design.encryption as { rules: Array<Record<string, unknown>> }).rules.map((r) => {
            const sse = r.applyServerSideEncryptionByDefault as Record<string, unknown>;
            return {
                ...r,
                applyServerSideEncryptionByDefault: {
                    ...sse,
                    ...("kmsMasterKeyId" in sse ? { kmsMasterKeyId: kmsKeyArn } : {}),
                },
            } as aws.types.input.s3.BucketServerSideEncryptionConfigurationRule;
        });
        const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
            `${prefix}-encryption`,
            { bucket: bucket.bucket, rules },
            keep,
        );
        const lifecycle = new aws.s3.BucketLifecycleConfiguration(
            `${prefix}-lifecycle`,
            {
                bucket: bucket.bucket,
                rules: (design.lifecycle as { rules: LifecycleRuleSpec[] }).rules.map((r) => ({
                    ...r,
                    transitions: r.transitions.map((t) => ({ ...t })),
                    noncurrentVersionTransitions: r.noncurrentVersionTransitions.map((t) => ({ ...t })),
                })),
            },
            // Lifecycle rules on a bucket need versioning settled first (noncurrent-version rules refer to it).
            { ...keep, dependsOn: [versioning] },
        );
        return { ownership, publicAccess, versioning, encryption, lifecycle };
    }
}

/** Stand-ins for the deploy-time references; the component passes the real outputs where the design uses them. */
const DEPLOY_TIME_REFS: BucketRefs = { kmsKeyArn: "", evidenceBucketArn: "", logBucketArn: "", accountId: "" };
