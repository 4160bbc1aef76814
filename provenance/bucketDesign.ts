/**
 * The provenance buckets as designed, setting by setting: what each settings resource of the evidence bucket and
 * of its access-log bucket holds (every input but `bucket`). The component builds its resources from this, and the
 * policy pack compares what the engine sends with it, so "the setting is exactly this" has one definition.
 * Values only known at deploy time (the KMS key's ARN, the buckets' ARNs, the account) are parameters.
 */
import { ProvenanceSettings } from "../core/stackConfig";
import {
    ACCESS_LOG_PREFIX,
    evidenceBucketPolicy,
    evidenceLifecycleRules,
    logBucketPolicy,
    logLifecycleRules,
    objectLockRule,
} from "./bucketSpecs";

export type BucketRole = "evidence" | "logs";

/** Each kind of bucket setting, with the resource types that set it (the V2 tokens are the v6 names). */
export const BUCKET_SETTING_KINDS = {
    ownership: ["aws:s3/bucketOwnershipControls:BucketOwnershipControls"],
    publicAccess: ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
    versioning: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
    encryption: [
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    ],
    lifecycle: [
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
    ],
    objectLock: [
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
    ],
    policy: ["aws:s3/bucketPolicy:BucketPolicy"],
    logging: ["aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"],
} as const;

export type BucketSettingKind = keyof typeof BUCKET_SETTING_KINDS;

/** The inputs of the bucket resource itself, besides `bucket` (its name) and the evidence tags. */
export function bucketInputs(role: BucketRole): Record<string, unknown> {
    return role === "evidence" ? { objectLockEnabled: true, forceDestroy: false } : { forceDestroy: false };
}

/** Inputs of the bucket resource itself: its name, the evidence tags, and the designed ones; any other is a setting. */
export const BUCKET_OWN_INPUTS: readonly string[] = ["bucket", "tags", ...Object.keys(bucketInputs("evidence"))];

/**
 * The input names of each setting's resource (aws 7.x `Bucket<Kind>Args`; test/provenance.test.ts reads them from
 * @pulumi/aws, so a provider upgrade that adds one fails there). The engine's whole-stack view carries outputs, where
 * computed attributes (`id`, `arn`, ...) sit beside these; only the inputs say what the setting is. `region` is not
 * among them: a bucket name is global, so a setting sent to another region cannot reach this bucket, and the region
 * a stack deploys to is checked by the aws-account-pinned policy.
 */
export const SETTING_INPUTS: Readonly<Record<BucketSettingKind, readonly string[]>> = {
    ownership: ["bucket", "rule"],
    publicAccess: [
        "bucket",
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
        "skipDestroy",
    ],
    versioning: ["bucket", "expectedBucketOwner", "mfa", "versioningConfiguration"],
    encryption: ["bucket", "expectedBucketOwner", "rules"],
    lifecycle: ["bucket", "expectedBucketOwner", "rules", "timeouts", "transitionDefaultMinimumObjectSize"],
    objectLock: ["bucket", "expectedBucketOwner", "objectLockEnabled", "rule", "token"],
    policy: ["bucket", "policy"],
    logging: ["bucket", "expectedBucketOwner", "targetBucket", "targetGrants", "targetObjectKeyFormat", "targetPrefix"],
};

/** Inputs the provider fills in when unset (their documented defaults): set to that value or unset is one setting. */
export const SETTING_INPUT_DEFAULTS: Readonly<Partial<Record<BucketSettingKind, Readonly<Record<string, unknown>>>>> = {
    publicAccess: { skipDestroy: false },
    lifecycle: { transitionDefaultMinimumObjectSize: "all_storage_classes_128K" },
    objectLock: { objectLockEnabled: "Enabled" },
};

/** Deploy-time values the design refers to. */
export interface BucketRefs {
    /** ARN of the stack's own KMS key (evidence bucket encryption). */
    readonly kmsKeyArn: string;
    readonly evidenceBucketArn: string;
    readonly logBucketArn: string;
    readonly accountId: string;
}

/** Every setting a bucket of `role` has, exactly once, as designed (inputs without `bucket`). */
export function bucketSettingsDesign(
    role: BucketRole,
    settings: ProvenanceSettings,
    refs: BucketRefs,
): Partial<Record<BucketSettingKind, Record<string, unknown>>> {
    const sse =
        role === "evidence" ? { sseAlgorithm: "aws:kms", kmsMasterKeyId: refs.kmsKeyArn } : { sseAlgorithm: "AES256" };
    const common = {
        ownership: { rule: { objectOwnership: "BucketOwnerEnforced" } },
        publicAccess: {
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        },
        versioning: { versioningConfiguration: { status: "Enabled" } },
        encryption: {
            rules: [
                {
                    applyServerSideEncryptionByDefault: sse,
                    // S3 Bucket Keys cut KMS requests (and their cost) by up to 99%; no effect under SSE-S3.
                    bucketKeyEnabled: sse.sseAlgorithm === "aws:kms",
                    blockedEncryptionTypes: ["SSE-C"],
                },
            ],
        },
    };
    if (role === "evidence") {
        return {
            ...common,
            lifecycle: { rules: evidenceLifecycleRules() },
            objectLock: { rule: objectLockRule(settings) },
            policy: { policy: JSON.stringify(evidenceBucketPolicy(refs.evidenceBucketArn)) },
            logging: {
                targetPrefix: ACCESS_LOG_PREFIX,
                targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
            },
        };
    }
    return {
        ...common,
        lifecycle: { rules: logLifecycleRules(settings) },
        policy: {
            policy: JSON.stringify(logBucketPolicy(refs.logBucketArn, refs.evidenceBucketArn, refs.accountId)),
        },
    };
}
