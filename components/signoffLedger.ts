import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { declareEvidence } from "../core/evidence";
import { BACKLOG_ITEM } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { ProvenanceSettings } from "../core/stackConfig";
import {
    LEDGER_FILE,
    LedgerVerification,
    RequiredRoles,
    SignoffObject,
    roleSlug,
    signoffObjects,
    signoffPrefix,
    verifyLedgerFile,
} from "../provenance/ledger";
import { ProvenanceBucket } from "./provenanceBucket";

export interface SignoffLedgerArgs {
    /** The bucket the sign-offs are locked in; uploads wait until it is hardened. */
    readonly bucket: ProvenanceBucket;
    readonly environment: string;
    /**
     * The release this deploy ships (stack config `releaseTag`). Without one (dev) nothing is uploaded, but the
     * ledger's chain is still verified.
     */
    readonly releaseTag?: string;
    /** Object Lock mode and retention of each uploaded sign-off (stack config `provenance`). */
    readonly objectLock: ProvenanceSettings;
    /** Roles a release needs (governance's requiredSignoffs bound to the governance data). */
    readonly requiredRoles: RequiredRoles;
    readonly guardrails: Guardrails;
    /** The ledger; default provenance/ledger.jsonl. */
    readonly ledgerFile?: string;
}

/**
 * The deploy gate and the upload of a release's sign-offs: refuses to deploy (before any resource exists) unless
 * the ledger's hash chain is intact and the release holds every sign-off governance requires for this
 * environment, then uploads each of its entries, as an in-toto statement, to
 * `signoffs/<environment>/<tag>/<commit>/<seq>-<role>.json`, locked until sign-off time + retention.
 */
export class SignoffLedger extends pulumi.ComponentResource {
    /** `signoffs/<environment>/<tag>/` (empty without a release). */
    public readonly keyPrefix: string;
    /** Keys of the uploaded sign-offs, in ledger order. */
    public readonly objectKeys: readonly string[];
    /** Hash of the ledger's last entry when this deploy ran: an anchor for later verification (`--head`). */
    public readonly ledgerHead: string;
    public readonly verification: LedgerVerification;

    /**
     * The deploy gate: the verified ledger and the sign-off objects this release uploads. Throws unless the chain is
     * intact and the release holds every required sign-off. Registers nothing.
     */
    static plan(args: Omit<SignoffLedgerArgs, "bucket">): {
        verification: LedgerVerification;
        objects: SignoffObject[];
    } {
        const release = args.releaseTag ? { tag: args.releaseTag, environment: args.environment } : undefined;
        const verification = verifyLedgerFile(args.ledgerFile ?? LEDGER_FILE, args.requiredRoles, {
            guardrails: args.guardrails,
            complete: release ?? "none",
        });
        if (!verification.ok) {
            const what = release
                ? `${release.tag} cannot ship to ${release.environment}`
                : "the sign-off ledger is not intact";
            throw new Error(`${what}:\n${verification.problems.map((p) => `  ${p}`).join("\n")}`);
        }
        return { verification, objects: release ? signoffObjects(verification.entries, release, args.objectLock) : [] };
    }

    constructor(name: string, args: SignoffLedgerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:provenance:SignoffLedger", name, {}, opts);
        declareEvidence(this, {
            backlogItem: BACKLOG_ITEM.signoffLedger,
            creates: ["aws:s3/bucketObjectv2:BucketObjectv2"],
        });
        const release = args.releaseTag ? { tag: args.releaseTag, environment: args.environment } : undefined;
        let objects: SignoffObject[];
        try {
            ({ verification: this.verification, objects } = SignoffLedger.plan(args));
        } catch (err) {
            throw new pulumi.ResourceError((err as Error).message, this);
        }
        for (const o of objects) {
            new aws.s3.BucketObjectv2(
                `${name}-${String(o.entry.seq).padStart(6, "0")}-${roleSlug(o.entry.role)}`,
                {
                    bucket: args.bucket.bucketName,
                    key: o.key,
                    content: o.content,
                    contentType: "application/json",
                    // S3 refuses a PUT with Object Lock parameters unless it carries a checksum.
                    checksumAlgorithm: "SHA256",
                    objectLockMode: o.lockMode,
                    objectLockRetainUntilDate: o.retainUntil,
                    forceDestroy: false,
                },
                // retainOnDelete, not protect: the next release's deploy drops these objects from the program, which
                // must only forget them (protect would fail every such update). Object Lock and the bucket policy,
                // not Pulumi, are what keep them: no principal can delete a locked version.
                { parent: this, retainOnDelete: true, dependsOn: [...args.bucket.ready] },
            );
        }
        this.keyPrefix = release ? signoffPrefix(release.environment, release.tag) : "";
        this.objectKeys = objects.map((o) => o.key);
        this.ledgerHead = this.verification.head;
        this.registerOutputs({ keyPrefix: this.keyPrefix, objectKeys: this.objectKeys, ledgerHead: this.ledgerHead });
    }
}
