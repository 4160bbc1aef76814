/**
 * Pure builders of the provenance bucket's settings: names, bucket policies, lifecycle rules, Object Lock default
 * retention. The component only hands these to the provider; tests read them without the Pulumi runtime.
 */
import { ProvenanceSettings } from "../core/stackConfig";

/** S3's minimum age for a transition to STANDARD_IA (objects younger than this cannot move there). */
export const INFREQUENT_ACCESS_AFTER_DAYS = 30;
/** GLACIER_IR bills a 90-day minimum; moving there earlier than S3's own minimum gains nothing. */
export const GLACIER_IR_AFTER_DAYS = 90;
/** Parts of an upload that never completed are garbage, not evidence. */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 1;
/** Days an expired access log (a noncurrent version) lingers before S3 removes it. */
export const EXPIRED_LOG_GRACE_DAYS = 1;
/** KMS's longest waiting period: a scheduled deletion of the evidence key can be cancelled for this long. */
export const KEY_DELETION_WINDOW_DAYS = 30;

/** Prefix of the provenance bucket's access logs in the log bucket. */
export const ACCESS_LOG_PREFIX = "s3-access/";

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** `maestro-provenance-<env>-<account>-<region>`: unique across S3's global namespace, stable across deploys. */
export function provenanceBucketName(
    environment: string,
    accountId: string,
    region: string,
    role: "evidence" | "logs",
): string {
    const name =
        role === "evidence"
            ? `maestro-provenance-${environment}-${accountId}-${region}`
            : `maestro-provenance-logs-${environment}-${accountId}-${region}`;
    if (!BUCKET_NAME.test(name) || name.includes("--")) {
        throw new Error(
            `provenance bucket name "${name}" is not a valid S3 bucket name; allowed: 3-63 characters of a-z, 0-9 and single hyphens (check the environment name)`,
        );
    }
    return name;
}

/**
 * A bucket's ARN from its name: S3 ARNs carry neither account nor region, so a bucket named up front has its ARN
 * known before it exists (a preview's policies see the bucket policy, not an unknown).
 */
export function s3BucketArn(partition: string, bucketName: string): string {
    return `arn:${partition}:s3:::${bucketName}`;
}

export function checkProvenanceSettings(settings: ProvenanceSettings, environment: string, sourceFile: string): void {
    const key = `${sourceFile}: maestro-guardrails:provenance`;
    if (settings.objectLockMode !== "GOVERNANCE" && settings.objectLockMode !== "COMPLIANCE") {
        throw new Error(`${key}.objectLockMode: "${String(settings.objectLockMode)}"; allowed: GOVERNANCE, COMPLIANCE`);
    }
    if (environment === "prod" && settings.objectLockMode !== "COMPLIANCE") {
        throw new Error(
            `${key}.objectLockMode: "${settings.objectLockMode}" lets privileged users delete prod evidence; allowed in prod: COMPLIANCE`,
        );
    }
    if (!Number.isInteger(settings.retentionDays) || settings.retentionDays < 1) {
        throw new Error(`${key}.retentionDays: ${settings.retentionDays}; allowed: a whole number of days >= 1`);
    }
}

/** Object Lock default retention: every new object version is locked in this mode for this many days. */
export function objectLockRule(settings: ProvenanceSettings): { defaultRetention: { mode: string; days: number } } {
    return { defaultRetention: { mode: settings.objectLockMode, days: settings.retentionDays } };
}

/** Statement denying any request not made over TLS (FSBP S3.5). */
function denyInsecureTransport(bucketArn: string): Record<string, unknown> {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}

/**
 * The evidence bucket's policy: TLS only, and no principal, however privileged, may delete an object, an object
 * version or the bucket. Object Lock already refuses deleting a locked version; the policy also refuses the
 * delete markers that would hide evidence, and it holds in GOVERNANCE mode against s3:BypassGovernanceRetention.
 */
export function evidenceBucketPolicy(bucketArn: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            denyInsecureTransport(bucketArn),
            {
                Sid: "DenyEvidenceDeletion",
                Effect: "Deny",
                Principal: "*",
                Action: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"],
                Resource: [bucketArn, `${bucketArn}/*`],
            },
        ],
    };
}

/**
 * The log bucket's policy: S3's log delivery may write the evidence bucket's access logs (only from that bucket,
 * in this account: the confused-deputy guards AWS documents), and TLS only.
 */
export function logBucketPolicy(
    logBucketArn: string,
    sourceBucketArn: string,
    accountId: string,
): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            denyInsecureTransport(logBucketArn),
            {
                Sid: "AllowServerAccessLogDelivery",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: `${logBucketArn}/${ACCESS_LOG_PREFIX}*`,
                Condition: {
                    ArnLike: { "aws:SourceArn": sourceBucketArn },
                    StringEquals: { "aws:SourceAccount": accountId },
                },
            },
        ],
    };
}

export interface LifecycleRuleSpec {
    readonly id: string;
    readonly status: "Enabled";
    readonly filter: Record<string, never>;
    readonly transitions: readonly { readonly days: number; readonly storageClass: string }[];
    readonly noncurrentVersionTransitions: readonly {
        readonly noncurrentDays: number;
        readonly storageClass: string;
    }[];
    readonly abortIncompleteMultipartUpload: { readonly daysAfterInitiation: number };
    readonly expiration?: { readonly days: number };
    readonly noncurrentVersionExpiration?: { readonly noncurrentDays: number };
}

function tieringTransitions(): Pick<LifecycleRuleSpec, "transitions" | "noncurrentVersionTransitions"> {
    return {
        transitions: [
            { days: INFREQUENT_ACCESS_AFTER_DAYS, storageClass: "STANDARD_IA" },
            { days: GLACIER_IR_AFTER_DAYS, storageClass: "GLACIER_IR" },
        ],
        noncurrentVersionTransitions: [
            { noncurrentDays: INFREQUENT_ACCESS_AFTER_DAYS, storageClass: "STANDARD_IA" },
            { noncurrentDays: GLACIER_IR_AFTER_DAYS, storageClass: "GLACIER_IR" },
        ],
    };
}

/**
 * Evidence moves to cheaper storage as it ages and is never expired: Object Lock decides how long it must stay,
 * and after that an auditor may still want it. Glacier Instant Retrieval keeps reads in milliseconds.
 */
export function evidenceLifecycleRules(): LifecycleRuleSpec[] {
    return [
        {
            id: "evidence-to-cheaper-storage",
            status: "Enabled",
            filter: {},
            ...tieringTransitions(),
            abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS },
        },
    ];
}

/**
 * Access logs tier the same way and are kept exactly as long as the evidence they describe must be. S3 refuses a
 * rule whose transition is not earlier than its expiration, so only the tiers reached before expiry are kept.
 */
export function logLifecycleRules(settings: ProvenanceSettings): LifecycleRuleSpec[] {
    return [
        {
            id: "access-logs-retention",
            status: "Enabled",
            filter: {},
            transitions: tieringTransitions().transitions.filter((t) => t.days < settings.retentionDays),
            // Log objects are never overwritten; a noncurrent version is an expired log, gone a day later.
            noncurrentVersionTransitions: [],
            abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS },
            expiration: { days: settings.retentionDays },
            noncurrentVersionExpiration: { noncurrentDays: EXPIRED_LOG_GRACE_DAYS },
        },
    ];
}
