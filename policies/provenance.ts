/**
 * Provenance: the evidence bucket exists, hardened (versioning, Object Lock, SSE-KMS, public access blocked, a
 * TLS-only policy) and protected; staging and prod deploys carry one vX.Y.Z release tag; a prod release holds the
 * sign-offs governance requires, in a ledger whose hash chain is intact.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { BACKLOG_ITEM } from "../core/conventions";
import { isReleaseTag } from "../core/guardrails";
import { PackContext } from "./context";
import { BUCKET_SETTING_TYPES, attachedTo, describeResource, readStamp, stackUrn, TYPE } from "./resources";
import { environmentOrReport, environmentPolicy } from "./stack";

export const BUCKET_POLICY = "provenance-bucket-hardened";
export const RELEASE_POLICY = "release-tag-and-signoffs";

const BUCKET_FIX =
    "Fix: deploy the evidence store with components/provenanceBucket.ts (ProvenanceBucket), which sets all of it.";
const LOGGING_TYPES = ["aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2"];

/**
 * The evidence buckets: buckets serving the provenance-bucket backlog item, minus the access-log bucket (the target
 * of a BucketLogging). Found through tags and property dependencies, both known during preview.
 */
export function evidenceBuckets(resources: readonly PolicyResource[]): PolicyResource[] {
    const logTargets = new Set(
        resources
            .filter((r) => LOGGING_TYPES.includes(r.type))
            .flatMap((r) => (r.propertyDependencies.targetBucket ?? []).map((d) => d.urn)),
    );
    return resources.filter(
        (r) =>
            r.type === TYPE.bucket &&
            readStamp(r.type, r.props)?.backlogItem === BACKLOG_ITEM.provenanceBucket &&
            !logTargets.has(r.urn),
    );
}

function deniesInsecureTransport(policyJson: unknown): boolean {
    let doc: { Statement?: unknown };
    try {
        doc = JSON.parse(String(policyJson)) as { Statement?: unknown };
    } catch {
        return false;
    }
    const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as Array<
        Record<string, unknown> | undefined
    >;
    return statements.some((s) => {
        const bool = ((s?.Condition ?? {}) as { Bool?: Record<string, unknown> }).Bool ?? {};
        return s?.Effect === "Deny" && String(bool["aws:SecureTransport"]) === "false";
    });
}

function bucketProblems(
    ctx: PackContext,
    env: string,
    bucket: PolicyResource,
    resources: readonly PolicyResource[],
): string[] {
    const problems: string[] = [];
    const settings = (types: readonly string[]) => attachedTo(bucket, resources, types);
    const unprotected: string[] = [];
    const requireProtect = (r: PolicyResource) => {
        if (!r.opts.protect) {
            unprotected.push(describeResource(r));
        }
    };
    requireProtect(bucket);
    if (bucket.props.objectLockEnabled !== true) {
        problems.push("objectLockEnabled is not true (Object Lock can only be enabled when the bucket is created)");
    }
    const versioning = settings(BUCKET_SETTING_TYPES.versioning);
    versioning.forEach(requireProtect);
    if (
        !versioning.some(
            (v) => (v.props.versioningConfiguration as { status?: string } | undefined)?.status === "Enabled",
        )
    ) {
        problems.push(`no ${BUCKET_SETTING_TYPES.versioning[0]} with versioningConfiguration.status "Enabled"`);
    }
    const lock = settings(BUCKET_SETTING_TYPES.objectLock);
    lock.forEach(requireProtect);
    const retention = lock.map(
        (l) =>
            (l.props.rule as { defaultRetention?: { mode?: string; days?: number; years?: number } } | undefined)
                ?.defaultRetention,
    );
    const wantedMode = ctx.productionEnvironments.includes(env) ? ["COMPLIANCE"] : ["GOVERNANCE", "COMPLIANCE"];
    if (
        !retention.some(
            (r) => r !== undefined && wantedMode.includes(r.mode ?? "") && ((r.days ?? 0) > 0 || (r.years ?? 0) > 0),
        )
    ) {
        problems.push(
            `no ${BUCKET_SETTING_TYPES.objectLock[0]} with a default retention in mode ${wantedMode.join(" or ")} (allowed in ${env})`,
        );
    }
    const encryption = settings(BUCKET_SETTING_TYPES.encryption);
    encryption.forEach(requireProtect);
    const kms = encryption.some((e) =>
        ((e.props.rules ?? []) as Array<{ applyServerSideEncryptionByDefault?: Record<string, unknown> }>).some(
            (rule) => {
                const d = rule.applyServerSideEncryptionByDefault ?? {};
                return (d.sseAlgorithm === "aws:kms" || d.sseAlgorithm === "aws:kms:dsse") && "kmsMasterKeyId" in d;
            },
        ),
    );
    if (!kms) {
        problems.push(
            `no ${BUCKET_SETTING_TYPES.encryption[0]} encrypting with KMS (sseAlgorithm "aws:kms" and a kmsMasterKeyId)`,
        );
    }
    const blocks = settings(BUCKET_SETTING_TYPES.publicAccessBlock);
    blocks.forEach(requireProtect);
    const flags = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
    if (!blocks.some((b) => flags.every((f) => b.props[f] === true))) {
        problems.push(`no ${BUCKET_SETTING_TYPES.publicAccessBlock[0]} setting ${flags.join(", ")} all to true`);
    }
    const policies = settings(BUCKET_SETTING_TYPES.policy);
    policies.forEach(requireProtect);
    if (!policies.some((p) => deniesInsecureTransport(p.props.policy))) {
        problems.push(
            `no ${BUCKET_SETTING_TYPES.policy[0]} denying requests with aws:SecureTransport "false" (TLS only)`,
        );
    }
    if (unprotected.length > 0) {
        problems.push(`not protected (set \`protect: true\`): ${unprotected.join(", ")}`);
    }
    return problems;
}

export function provenanceBucketPolicy(ctx: PackContext): StackValidationPolicy {
    return environmentPolicy(
        ctx,
        BUCKET_POLICY,
        "The provenance bucket exists with versioning, Object Lock, SSE-KMS, public access blocked, a TLS-only policy, and protect.",
        (env, args, reportViolation) => {
            const buckets = evidenceBuckets(args.resources);
            if (buckets.length === 0) {
                reportViolation(
                    `the ${env} stack has no provenance bucket (no ${TYPE.bucket} serving ${BACKLOG_ITEM.provenanceBucket}). ${BUCKET_FIX}`,
                    stackUrn(args.resources),
                );
            }
            for (const b of buckets) {
                const problems = bucketProblems(ctx, env, b, args.resources);
                if (problems.length > 0) {
                    reportViolation(
                        `provenance bucket ${describeResource(b)}: ${problems.join("; ")}. ${BUCKET_FIX}`,
                        b.urn,
                    );
                }
            }
        },
    );
}

export function releasePolicy(ctx: PackContext): StackValidationPolicy {
    return {
        name: RELEASE_POLICY,
        description:
            "Staging and prod deploys carry one vX.Y.Z release tag; a prod release holds its required sign-offs in an intact ledger.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            const env = environmentOrReport(ctx, args.resources, reportViolation, RELEASE_POLICY);
            if (env === undefined || !ctx.releaseEnvironments.includes(env)) {
                return;
            }
            const urn = stackUrn(args.resources);
            const fix = `Fix: set the release with \`pulumi config set maestro-guardrails:releaseTag vX.Y.Z\` (format ${ctx.guardrails.cadence.tagFormat}).`;
            const stamped = args.resources
                .map((r) => ({ r, stamp: readStamp(r.type, r.props) }))
                .filter((x) => x.stamp !== undefined);
            const untagged = stamped.filter((x) => !x.stamp?.release);
            if (untagged.length > 0) {
                const examples = untagged.slice(0, 3).map((x) => `${describeResource(x.r)} (${x.stamp?.keys.release})`);
                reportViolation(
                    `a ${env} deploy is a release, but ${untagged.length} resource(s) carry no release tag, e.g. ${examples.join(", ")}. ${fix}`,
                    untagged.length === stamped.length ? urn : untagged[0].r.urn,
                );
            }
            const tags = [...new Set(stamped.map((x) => x.stamp?.release).filter((t): t is string => !!t))].sort();
            if (tags.length > 1) {
                reportViolation(
                    `resources name several releases (${tags.join(", ")}); a deploy ships exactly one. ${fix}`,
                    urn,
                );
                return;
            }
            if (tags.length === 0 || untagged.length > 0) {
                return;
            }
            const tag = tags[0];
            if (!isReleaseTag(ctx.guardrails, tag)) {
                reportViolation(
                    `release tag "${tag}" is not ${ctx.guardrails.cadence.tagFormat} (pattern ${ctx.guardrails.cadence.tagPattern}). ${fix}`,
                    urn,
                );
                return;
            }
            if (ctx.productionEnvironments.includes(env)) {
                const check = ctx.verifyRelease(tag, env, args.resources);
                if (!check.ok) {
                    reportViolation(
                        `${tag} cannot ship to ${env}: the sign-off ledger does not clear it:\n${check.problems.map((p) => `  ${p}`).join("\n")}`,
                        urn,
                    );
                }
            }
        },
    };
}
