/**
 * Provenance: the evidence bucket exists, hardened (versioning, Object Lock, SSE-KMS, public access blocked, a
 * TLS-only policy) and protected; staging and prod deploys carry one vX.Y.Z release tag; a prod release holds the
 * sign-offs governance requires, in a ledger whose hash chain is intact.
 */
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, UnknownValueError } from "@pulumi/policy";
import { BACKLOG_ITEM } from "../core/conventions";
import { isReleaseTag } from "../core/guardrails";
import { PackContext } from "./context";
import { sortKeys } from "../core/stableJson";
import {
    BUCKET_SETTING_KINDS,
    BucketRole,
    BucketSettingKind,
    BUCKET_OWN_INPUTS,
    SETTING_INPUT_DEFAULTS,
    SETTING_INPUTS,
    bucketInputs,
    bucketSettingsDesign,
} from "../provenance/bucketDesign";
import { describeResource, jsonOrUndefined, readStamp, stackUrn, TYPE } from "./resources";
import { environmentOrReport, environmentPolicy } from "./stack";

export const BUCKET_POLICY = "provenance-bucket-hardened";
export const BUCKET_INPUTS_POLICY = "provenance-bucket-no-inline-settings";
export const RELEASE_POLICY = "release-tag-and-signoffs";

const BUCKET_FIX =
    "Fix: deploy the evidence store with components/provenanceBucket.ts (ProvenanceBucket) alone; it sets each setting once, as provenance/bucketDesign.ts says.";
const DESIGN_AT = "provenance/bucketDesign.ts";
const COMPONENT_TYPE = "maestro:provenance:ProvenanceBucket";
/** The one component whose resources may write into the evidence bucket (the sign-off objects). */
const LEDGER_TYPE = "maestro:provenance:SignoffLedger";
const SIGNOFF_OBJECT_TYPES = ["aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"];

/**
 * The evidence buckets: buckets serving the provenance-bucket backlog item, minus the access-log bucket (the target
 * of a BucketLogging). Found through tags and property dependencies, both known during preview.
 */
export function evidenceBuckets(resources: readonly PolicyResource[]): PolicyResource[] {
    const logTargets = new Set(logBuckets(resources).map((r) => r.urn));
    return resources.filter(
        (r) =>
            r.type === TYPE.bucket &&
            readStamp(r.type, r.props)?.backlogItem === BACKLOG_ITEM.provenanceBucket &&
            !logTargets.has(r.urn),
    );
}

/** Buckets that receive access logs (the `targetBucket` of a BucketLogging). */
function logBuckets(resources: readonly PolicyResource[]): PolicyResource[] {
    const targets = new Set(
        resources
            .filter((r) => (BUCKET_SETTING_KINDS.logging as readonly string[]).includes(r.type))
            .flatMap(
                // Stryker disable next-line ArrayDeclaration: equivalent; a string in place of the empty list has no urn, so it matches no resource either
                (r) => (r.propertyDependencies.targetBucket ?? []).map((d) => d.urn),
            ),
    );
    return resources.filter((r) => r.type === TYPE.bucket && targets.has(r.urn));
}

/** Every string inside a value (deep). */
function strings(v: unknown, out: string[] = []): string[] {
    if (typeof v === "string") {
        out.push(v);
    } else if (Array.isArray(v)) {
        v.forEach((x) => strings(x, out));
    } else if (v !== null && typeof v === "object") {
        Object.values(v).forEach((x) => strings(x, out));
    }
    return out;
}

/** An IAM policy glob (`*`, `?`, case-sensitive as IAM matches resources) as a RegExp over the whole value. */
function iamGlob(pattern: string, ignoreCase = false): RegExp {
    const body = pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
    return new RegExp(`^${body}$`, ignoreCase ? "i" : "");
}

/** S3 actions that change or read what the evidence bucket holds; a statement granting any of them reaches it. */
const S3_ACTIONS_AT_STAKE = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutBucketPolicy",
    "s3:PutObjectRetention",
    "s3:BypassGovernanceRetention",
    "s3:PutLifecycleConfiguration",
];

// A missing value becomes [undefined]: no statement (no Effect) and no pattern (not a string) is read from it.
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/**
 * Whether a policy document (any JSON object text) allows an S3 action on `name`, literally, through a wildcard or
 * a NotResource/NotAction: `arn:aws:s3:::maestro-provenance-*` names no bucket literally, yet reaches this one.
 */
function grantsByPattern(text: string, name: string): boolean {
    // Not JSON: undefined, which holds no statement.
    const doc = jsonOrUndefined(text);
    const arns = [`arn:aws:s3:::${name}`, `arn:aws:s3:::${name}/any-key`];
    const statements = asList((doc as { Statement?: unknown } | null)?.Statement);
    return statements.some((raw) => {
        const st = (raw ?? {}) as Record<string, unknown>;
        if (st.Effect !== "Allow") {
            return false;
        }
        const patterns = (v: unknown) => asList(v).filter((x): x is string => typeof x === "string");
        const actions =
            st.NotAction !== undefined
                ? S3_ACTIONS_AT_STAKE.some((a) => !patterns(st.NotAction).some((p) => iamGlob(p, true).test(a)))
                : S3_ACTIONS_AT_STAKE.some((a) => patterns(st.Action).some((p) => iamGlob(p, true).test(a)));
        const resources =
            st.NotResource !== undefined
                ? arns.some((arn) => !patterns(st.NotResource).some((p) => iamGlob(p).test(arn)))
                : arns.some((arn) => patterns(st.Resource).some((p) => iamGlob(p).test(arn)));
        return actions && resources;
    });
}

/** Whether `r` refers to `bucket`: a property dependency on it, its literal name, its ARN, or a grant reaching it. */
function targets(r: PolicyResource, bucket: PolicyResource): boolean {
    if (Object.values(r.propertyDependencies).some((deps) => deps.some((d) => d.urn === bucket.urn))) {
        return true;
    }
    const name = typeof bucket.props.bucket === "string" ? bucket.props.bucket : undefined;
    if (name === undefined) {
        return false;
    }
    // The name as a whole token: alone, in its ARN (`arn:aws:s3:::<name>/*`), in a URL or inside a JSON document.
    const token = new RegExp(`(^|[^a-z0-9.-])${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^a-z0-9.-])`);
    // A value unknown during preview comes from another resource's outputs, which a property dependency names. Any
    // JSON object is read as a policy document: its keys and values may be spelled with escapes (`\u0053tatement`,
    // `maestro\u002dprovenance`), which no text search of the document sees.
    return strings(knownCopy(() => r.props)).some(
        // Stryker disable next-line StringLiteral: the check only spares JSON.parse text that is no object, which holds no statement either way
        (s) => token.test(s) || (s.trimStart().startsWith("{") && grantsByPattern(s, name)),
    );
}

/** Whether the `bucket` input of a settings resource is `bucket` (by dependency or literal name). */
function settingOf(r: PolicyResource, bucket: PolicyResource): boolean {
    // Stryker disable next-line ArrayDeclaration: equivalent; a string in place of the empty list has no urn, so it matches no resource either
    if ((r.propertyDependencies.bucket ?? []).some((d) => d.urn === bucket.urn)) {
        return true;
    }
    return typeof r.props.bucket === "string" && r.props.bucket === bucket.props.bucket;
}

/** Whether an ARN a policy names is `bucket`'s: its literal ARN, or a value derived from the bucket's outputs. */
function arnOf(arn: string, bucket: PolicyResource, derivedFrom: readonly string[]): boolean {
    if (arn.startsWith("arn:aws:s3:::")) {
        return arn === `arn:aws:s3:::${String(bucket.props.bucket)}`;
    }
    return derivedFrom.includes(bucket.urn);
}

/** A string value, or "" when the input is anything else (unknown in preview, absent, not a string). */
function text(v: unknown): string {
    return typeof v === "string" ? v : "";
}

function same(a: unknown, b: unknown): boolean {
    return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

/** What a value the preview cannot know yet (an output of a resource it would create) reads as in a comparison. */
const UNKNOWN_AT_PREVIEW = "(unknown during preview)";

/**
 * A deep copy of what `read` returns, in which each value the preview cannot know reads as UNKNOWN_AT_PREVIEW
 * instead of throwing. The KMS key's ARN is one: its design value is then the same mark, and the encryption's
 * property dependency on the stack's own key (checked apart) says whose key it will be.
 */
function knownCopy(read: () => unknown): unknown {
    let v: unknown;
    try {
        v = read();
    } catch (err) {
        if (err instanceof UnknownValueError) {
            return UNKNOWN_AT_PREVIEW;
        }
        throw err;
    }
    if (Array.isArray(v)) {
        const items = v as unknown[];
        // By index: Array.prototype.map would read each element outside the guard.
        return Array.from({ length: items.length }, (_, i) => knownCopy(() => items[i]));
    }
    if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        return Object.fromEntries(Object.keys(o).map((k) => [k, knownCopy(() => o[k])]));
    }
    return v;
}

/** A value without its empty parts (null, "", [], {}): the engine's outputs spell "unset" any of these ways. */
function withoutEmpty(v: unknown): unknown {
    if (Array.isArray(v)) {
        const items = v.map(withoutEmpty).filter((x) => x !== undefined);
        return items.length === 0 ? undefined : items;
    }
    if (v !== null && typeof v === "object") {
        const entries = Object.entries(v as Record<string, unknown>)
            .map(([k, x]) => [k, withoutEmpty(x)] as const)
            .filter(([, x]) => x !== undefined);
        return entries.length === 0 ? undefined : Object.fromEntries(entries);
    }
    return v === null || v === "" ? undefined : v;
}

/**
 * The inputs of a `kind` setting that differ from the design, each with the designed value. Only the type's input
 * names count (its computed outputs are not settings); an input at its provider default equals it unset.
 */
function fieldDiffs(
    kind: BucketSettingKind,
    actual: Record<string, unknown>,
    designed: Record<string, unknown>,
): string[] {
    const defaults = SETTING_INPUT_DEFAULTS[kind] ?? {};
    const keys = new Set([...SETTING_INPUTS[kind], ...Object.keys(designed)]);
    keys.delete("bucket");
    const diffs: string[] = [];
    // Stryker disable next-line MethodExpression: equivalent; the keys come in order already (each SETTING_INPUTS list is sorted and holds every designed input)
    for (const k of [...keys].sort()) {
        const value = !(k in designed) && same(actual[k], defaults[k]) ? undefined : actual[k];
        if (!same(withoutEmpty(value), withoutEmpty(designed[k]))) {
            diffs.push(
                `${k} is ${JSON.stringify(value) ?? "unset"}; allowed: ${JSON.stringify(designed[k]) ?? "unset"}`,
            );
        }
    }
    return diffs;
}

interface PolicyDoc {
    Statement?: unknown;
}

/** A bucket policy compared with the designed one statement by statement (by Sid), each difference named. */
function statementDiffs(actualJson: unknown, designedJson: string): string[] {
    let actual: PolicyDoc;
    try {
        actual = JSON.parse(String(actualJson)) as PolicyDoc;
    } catch {
        return [`policy is not JSON; allowed: ${designedJson}`];
    }
    if (actual === null || typeof actual !== "object") {
        return [`policy is not a JSON object; allowed: ${designedJson}`];
    }
    const designed = JSON.parse(designedJson) as { Version: string; Statement: Array<{ Sid: string }> };
    const have = (Array.isArray(actual.Statement) ? actual.Statement : [actual.Statement]) as Array<
        Record<string, unknown> | undefined
    >;
    const diffs: string[] = [];
    if ((actual as { Version?: unknown }).Version !== designed.Version) {
        diffs.push(
            `policy Version is ${JSON.stringify((actual as { Version?: unknown }).Version)}; allowed: "${designed.Version}"`,
        );
    }
    designed.Statement.forEach((want) => {
        const got = have.filter((st) => st?.Sid === want.Sid);
        if (got.length !== 1 || !same(got[0], want)) {
            diffs.push(
                `policy statement ${want.Sid} is ${got.length === 0 ? "missing" : JSON.stringify(got)}; allowed: ${JSON.stringify(want)}`,
            );
        }
    });
    for (const st of have.filter((x) => !designed.Statement.some((w) => w.Sid === x?.Sid))) {
        diffs.push(
            `policy statement ${JSON.stringify(st)} is not in the design; allowed: only ${designed.Statement.map((w) => w.Sid).join(", ")}`,
        );
    }
    return diffs;
}

interface Finding {
    readonly urn: string;
    readonly message: string;
}

/** Everything wrong with one provenance bucket (`role`) and whatever targets it. */
function bucketFindings(
    ctx: PackContext,
    env: string,
    role: BucketRole,
    bucket: PolicyResource,
    evidence: PolicyResource | undefined,
    logs: PolicyResource | undefined,
    resources: readonly PolicyResource[],
): { findings: Finding[]; accepted: Set<string>; lockDays?: number } {
    const findings: Finding[] = [];
    const accepted = new Set<string>();
    const what = `${role === "evidence" ? "provenance bucket" : "provenance access-log bucket"} ${describeResource(bucket)}`;
    const problems: string[] = [];
    const unprotected: string[] = [];
    const requireProtect = (r: PolicyResource) => {
        if (!r.opts.protect) {
            unprotected.push(describeResource(r));
        }
    };
    requireProtect(bucket);
    for (const [k, v] of Object.entries(bucketInputs(role))) {
        if (!same(bucket.props[k], v)) {
            problems.push(`${k} is ${JSON.stringify(bucket.props[k]) ?? "unset"}; allowed: ${JSON.stringify(v)}`);
        }
    }
    const onThis = (types: readonly string[]) =>
        resources.filter((r) => types.includes(r.type) && settingOf(r, bucket));
    // Deploy-time values, read from the resources and then checked to be the stack's own.
    const lock = evidence
        ? resources.filter(
              (r) => (BUCKET_SETTING_KINDS.objectLock as readonly string[]).includes(r.type) && settingOf(r, evidence),
          )
        : [];
    const retention = (lock[0]?.props.rule as { defaultRetention?: { mode?: unknown; days?: unknown } } | undefined)
        ?.defaultRetention;
    const production = ctx.productionEnvironments.includes(env);
    const modes = production ? ["COMPLIANCE"] : ["GOVERNANCE", "COMPLIANCE"];
    const mode = typeof retention?.mode === "string" && modes.includes(retention.mode) ? retention.mode : modes[0];
    const days =
        // Stryker disable next-line EqualityOperator: `> 1` sends a retention of 1 to the fallback, which is also 1
        typeof retention?.days === "number" && Number.isInteger(retention.days) && retention.days >= 1
            ? retention.days
            : 1;
    const settings = { objectLockMode: mode as "GOVERNANCE" | "COMPLIANCE", retentionDays: days };
    const encryption = onThis(BUCKET_SETTING_KINDS.encryption)[0];
    const kmsKeyArn = text(
        ((knownCopy(() => encryption?.props.rules) as
            Array<{ applyServerSideEncryptionByDefault?: { kmsMasterKeyId?: unknown } }> | undefined) ?? [])[0]
            ?.applyServerSideEncryptionByDefault?.kmsMasterKeyId,
    );
    const policy = onThis(BUCKET_SETTING_KINDS.policy)[0];
    // Not JSON, or JSON that is no document (null, a number): reported below as a statement difference.
    const doc = (jsonOrUndefined(String(policy?.props.policy)) ?? {}) as { Statement?: unknown };
    // A lone statement (not in a list) is read as statementDiffs reads it.
    const statements = (Array.isArray(doc.Statement) ? (doc.Statement as unknown[]) : [doc.Statement]).filter(
        (st): st is Record<string, unknown> => st !== null && typeof st === "object",
    );
    const bySid = (sid: string) => statements.find((st) => st.Sid === sid);
    const firstResource = (st: Record<string, unknown> | undefined) =>
        Array.isArray(st?.Resource) ? (st?.Resource as unknown[])[0] : st?.Resource;
    const delivery = bySid("AllowServerAccessLogDelivery")?.Condition as
        { ArnLike?: Record<string, unknown>; StringEquals?: Record<string, unknown> } | undefined;
    const refs = {
        kmsKeyArn,
        evidenceBucketArn: String(
            role === "evidence" ? firstResource(bySid("DenyInsecureTransport")) : delivery?.ArnLike?.["aws:SourceArn"],
        ),
        // Read for either bucket; the evidence bucket's design names no log bucket.
        logBucketArn: String(firstResource(bySid("DenyInsecureTransport"))),
        accountId: text(delivery?.StringEquals?.["aws:SourceAccount"]),
    };
    // Stryker disable next-line ArrayDeclaration: equivalent; a string in place of the empty list has no urn, so it matches no resource either
    const policyDeps = (policy?.propertyDependencies.policy ?? []).map((d) => d.urn);
    if (policy !== undefined) {
        if (role === "evidence" && !arnOf(refs.evidenceBucketArn, bucket, policyDeps)) {
            problems.push(
                `its policy names ${refs.evidenceBucketArn}, not this bucket's ARN; allowed: the bucket's own ARN`,
            );
        }
        if (role === "logs") {
            if (!arnOf(refs.logBucketArn, bucket, policyDeps)) {
                problems.push(
                    `its policy names ${refs.logBucketArn}, not this bucket's ARN; allowed: the bucket's own ARN`,
                );
            }
            if (evidence === undefined || !arnOf(refs.evidenceBucketArn, evidence, policyDeps)) {
                problems.push(
                    `its policy lets logs arrive from ${refs.evidenceBucketArn}; allowed: only the provenance bucket's ARN`,
                );
            }
            if (!/^[0-9]{12}$/.test(refs.accountId)) {
                problems.push(
                    `its policy's aws:SourceAccount is "${refs.accountId}"; allowed: a 12-digit AWS account id`,
                );
            }
        }
    }
    if (role === "evidence" && encryption !== undefined) {
        // Stryker disable next-line ArrayDeclaration: equivalent; a string in place of the empty list has no type, so it is no key either
        const keyDeps = (encryption.propertyDependencies.rules ?? []).filter((d) => d.type === "aws:kms/key:Key");
        // No key id is S3's own aws/s3 key, whatever the rules depend on.
        if (keyDeps.length === 0 || kmsKeyArn === "") {
            problems.push(
                `its encryption names ${kmsKeyArn === "" ? "no KMS key (S3's aws/s3 key)" : `KMS key "${kmsKeyArn}"`}, not the stack's own key; allowed: the ProvenanceBucket's aws:kms/key:Key`,
            );
        }
    }
    if (role === "evidence" && !modes.includes(String(retention?.mode))) {
        problems.push(
            `Object Lock default retention mode is ${JSON.stringify(retention?.mode)}; allowed in ${env}: ${modes.join(" or ")}`,
        );
    }
    if (role === "evidence" && retention !== undefined && days !== retention.days) {
        problems.push(
            `Object Lock default retention is ${JSON.stringify(retention.days)} days; allowed: a whole number >= 1`,
        );
    }
    const design = bucketSettingsDesign(role, settings, refs);
    for (const [kind, designed] of Object.entries(design) as Array<[BucketSettingKind, Record<string, unknown>]>) {
        const types = BUCKET_SETTING_KINDS[kind] as readonly string[];
        const found = onThis(types);
        found.forEach((r) => accepted.add(r.urn));
        if (found.length !== 1) {
            problems.push(
                `${found.length === 0 ? "no" : found.length} ${types[0]} (${found.map((r) => `"${r.name}"`).join(", ") || "none"}); allowed: exactly one, as designed (${DESIGN_AT} ${kind})`,
            );
        }
        for (const r of found) {
            requireProtect(r);
            if (r.parent !== undefined && r.parent.type !== COMPONENT_TYPE) {
                problems.push(
                    `${describeResource(r)} is not the ProvenanceBucket's own (its parent is ${r.parent.type})`,
                );
            }
            const diffs =
                kind === "policy"
                    ? statementDiffs(r.props.policy, designed.policy as string)
                    : fieldDiffs(
                          kind,
                          Object.fromEntries(
                              // Only a logging setting has a targetBucket, checked by dependency below.
                              Object.entries(knownCopy(() => r.props) as Record<string, unknown>).filter(
                                  ([k]) => k !== "targetBucket",
                              ),
                          ),
                          designed,
                      );
            for (const d of diffs) {
                problems.push(`${describeResource(r)}: ${d}`);
            }
            if (
                kind === "logging" &&
                // Stryker disable next-line ArrayDeclaration: equivalent; a string in place of the empty list has no urn, so it matches no resource either
                !(logs !== undefined && (r.propertyDependencies.targetBucket ?? []).some((d) => d.urn === logs.urn))
            ) {
                problems.push(`${describeResource(r)}: targetBucket is not the provenance access-log bucket`);
            }
        }
    }
    if (unprotected.length > 0) {
        problems.push(`not protected (set \`protect: true\`): ${unprotected.join(", ")}`);
    }
    if (problems.length > 0) {
        findings.push({ urn: bucket.urn, message: `${what}: ${problems.join("; ")}. ${BUCKET_FIX}` });
    }
    return { findings, accepted, lockDays: retention?.days as number | undefined };
}

/**
 * The provenance buckets carry no inline setting. Judged per resource, on the inputs the program gave: the engine's
 * whole-stack view holds the bucket's outputs, where the provider reports the separate settings resources' effect
 * in the same fields (`versioning`, `policy`, ...), so only the inputs tell an inline setting apart.
 */
export function provenanceBucketInputsPolicy(): ResourceValidationPolicy {
    return {
        name: BUCKET_INPUTS_POLICY,
        description:
            "The provenance buckets set nothing inline (versioning, policy, encryption, ...): each setting is its own resource, once.",
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            if (
                args.type !== TYPE.bucket ||
                readStamp(args.type, args.props)?.backlogItem !== BACKLOG_ITEM.provenanceBucket
            ) {
                return;
            }
            const inline = Object.keys(args.props)
                .filter((k) => !BUCKET_OWN_INPUTS.includes(k))
                .sort();
            if (inline.length > 0) {
                reportViolation(
                    `${args.type} "${args.name}" (a provenance bucket) sets ${inline.join(", ")} on the bucket itself; allowed: only ${BUCKET_OWN_INPUTS.join(", ")} (each setting is its own resource, once). ${BUCKET_FIX}`,
                );
            }
        },
    };
}

export function provenanceBucketPolicy(ctx: PackContext): StackValidationPolicy {
    return environmentPolicy(
        ctx,
        BUCKET_POLICY,
        "The provenance bucket and its log bucket have each setting exactly once, exactly as designed (versioning, Object Lock, SSE-KMS, public access blocked, the designed policy statements, logs), protected; nothing else targets them.",
        (env, args, reportViolation) => {
            const buckets = evidenceBuckets(args.resources);
            const logs = logBuckets(args.resources);
            if (buckets.length === 0) {
                reportViolation(
                    `the ${env} stack has no provenance bucket (no ${TYPE.bucket} serving ${BACKLOG_ITEM.provenanceBucket}). ${BUCKET_FIX}`,
                    stackUrn(args.resources),
                );
                return;
            }
            if (buckets.length > 1 || logs.length !== 1) {
                reportViolation(
                    `the ${env} stack has ${buckets.length} provenance bucket(s) (${buckets.map((b) => `"${b.name}"`).join(", ")}) and ${logs.length} access-log bucket(s) (${logs.map((b) => `"${b.name}"`).join(", ") || "none"}); allowed: exactly one of each. ${BUCKET_FIX}`,
                    stackUrn(args.resources),
                );
            }
            const accepted = new Set<string>();
            const all: Array<{ role: BucketRole; bucket: PolicyResource }> = [
                ...buckets.map((bucket) => ({ role: "evidence" as const, bucket })),
                ...logs.map((bucket) => ({ role: "logs" as const, bucket })),
            ];
            for (const { role, bucket } of all) {
                const result = bucketFindings(ctx, env, role, bucket, buckets[0], logs[0], args.resources);
                result.findings.forEach((f) => reportViolation(f.message, f.urn));
                result.accepted.forEach((u) => accepted.add(u));
            }
            // Anything else that refers to either bucket, by output, literal name or ARN, goes around the design.
            for (const r of args.resources) {
                if (accepted.has(r.urn) || all.some((x) => x.bucket.urn === r.urn)) {
                    continue;
                }
                const hit = all.find((x) => targets(r, x.bucket));
                if (hit === undefined) {
                    continue;
                }
                if (
                    hit.role === "evidence" &&
                    SIGNOFF_OBJECT_TYPES.includes(r.type) &&
                    r.parent?.type === LEDGER_TYPE
                ) {
                    continue;
                }
                reportViolation(
                    `${describeResource(r)} targets the provenance ${hit.role === "evidence" ? "" : "access-log "}bucket ${describeResource(hit.bucket)} ` +
                        `(by output, name or ARN); allowed: only the ProvenanceBucket component's own settings${hit.role === "evidence" ? ` and the SignoffLedger's sign-off objects` : ""}. ${BUCKET_FIX}`,
                    r.urn,
                );
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
