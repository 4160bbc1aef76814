import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { planOrRefuse } from "../core/component";
import { declareEvidence } from "../core/evidence";
import { BACKLOG_ITEM } from "../core/conventions";
import { objectTagBudgetProblem } from "../core/evidence";
import { Guardrails } from "../core/guardrails";
import { ProvenanceSettings } from "../core/stackConfig";
import { CheckoutState } from "../provenance/git";
import {
    GitFacts,
    LEDGER_FILE,
    LedgerVerification,
    RequiredRoles,
    SignoffObject,
    roleSlug,
    signoffObjects,
    signoffPrefix,
    verifyLedgerFile,
} from "../provenance/ledger";
import { DeployMode, codeBindingProblems } from "../provenance/release";
import { Signers } from "../provenance/signers";
import { ProvenanceBucket } from "./provenanceBucket";

export interface SignoffLedgerArgs {
    /** The bucket the sign-offs are locked in; uploads wait until it is hardened. */
    readonly bucket: ProvenanceBucket;
    readonly environment: string;
    /**
     * The release this deploy ships (stack config `releaseTag`). Without one (dev) nothing is uploaded and no code is
     * bound, but the ledger is still verified whole.
     */
    readonly releaseTag?: string;
    /** Object Lock mode and retention of each uploaded sign-off (stack config `provenance`). */
    readonly objectLock: ProvenanceSettings;
    /** Roles a release needs (governance's requiredSignoffs bound to the governance data); the floor is added. */
    readonly requiredRoles: RequiredRoles;
    /** The milestone shipping a tag to an environment; each statement must name it. */
    readonly milestoneOf?: (tag: string, environment: string) => string;
    readonly guardrails: Guardrails;
    /** Who may sign; default governance/signers.json. */
    readonly signers?: Signers;
    /** The ledger; default provenance/ledger.jsonl. */
    readonly ledgerFile?: string;
    /**
     * The ledger head the stack's previous deploy recorded (its `provenance.ledgerHead` output), and where it came
     * from. The ledger must contain it. Undefined on a stack's first deploy.
     */
    readonly priorHead?: { readonly head: string; readonly source: string };
    /** Git lookups for the signed commits and tags; without them (not a checkout) they are not checked. */
    readonly git?: GitFacts;
    /** The checkout being deployed, for the code binding (undefined outside a git checkout: refused). */
    readonly checkout?: CheckoutState;
    /**
     * `update` refuses a release whose signed commit is not the deployed code; `preview` warns; `offline` (no engine,
     * nothing can deploy) reports it in `codeBinding` only.
     */
    readonly mode: DeployMode;
    /** When the deploy runs: sign-off times are checked against it and locks start from its day. */
    readonly deployedAt: Date;
    /**
     * Keys of the AWS provider's default tags (`aws:defaultTags`): S3 counts them against each sign-off object's 10
     * tags, so the evidence stamps that do not fit go to the object's metadata (core/evidence.ts fitObjectTags).
     */
    readonly defaultTagKeys?: readonly string[];
}

/** The verdict of a release deploy's code binding. */
export interface CodeBinding {
    readonly bound: boolean;
    readonly problems: readonly string[];
}

/**
 * The deploy gate and the upload of a release's sign-offs: refuses to deploy (before any resource exists) unless
 * every envelope in the ledger verifies against governance/signers.json, the chain is intact and extends the head
 * the previous deploy recorded, the release holds every sign-off governance (and the guardrails' floor) requires for
 * this environment, and, on an update, the checked-out code is the signed commit. Then uploads each of the release's
 * envelopes to `signoffs/<environment>/<tag>/<commit>/<seq>-<role>-<digest>.dsse.json`, locked from the deploy day.
 */
export class SignoffLedger extends pulumi.ComponentResource {
    /** `signoffs/<environment>/<tag>/` (empty without a release). */
    public readonly keyPrefix: string;
    /** Keys of the uploaded sign-offs, in ledger order. */
    public readonly objectKeys: readonly string[];
    /** Hash of the ledger's last entry when this deploy ran: the anchor the next deploy must extend. */
    public readonly ledgerHead: string;
    public readonly verification: LedgerVerification;
    /** Whether the deployed code is the release's signed commit (always bound without a release). */
    public readonly codeBinding: CodeBinding;

    /**
     * The deploy gate: the verified ledger, the code binding, and the sign-off objects this release uploads. Throws
     * unless the ledger verifies for the release and, in an update, the code is bound. Registers nothing.
     */
    static plan(args: Omit<SignoffLedgerArgs, "bucket">): {
        verification: LedgerVerification;
        codeBinding: CodeBinding;
        objects: SignoffObject[];
    } {
        const release = args.releaseTag ? { tag: args.releaseTag, environment: args.environment } : undefined;
        const verification = verifyLedgerFile(args.ledgerFile ?? LEDGER_FILE, args.requiredRoles, {
            guardrails: args.guardrails,
            ...(args.signers ? { signers: args.signers } : {}),
            complete: release ?? "none",
            now: args.deployedAt,
            ...(args.git ? { git: args.git } : {}),
            ...(args.milestoneOf ? { milestoneOf: args.milestoneOf } : {}),
            ...(args.priorHead ? { extends: args.priorHead } : {}),
        });
        const what = release
            ? `${release.tag} cannot ship to ${release.environment}`
            : "the sign-off ledger is not intact";
        const tagProblem = release ? objectTagBudgetProblem(args.defaultTagKeys ?? [], "aws:defaultTags") : undefined;
        const problems = [...verification.problems, ...(tagProblem ? [tagProblem] : [])];
        if (problems.length > 0) {
            throw new Error(`${what}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
        }
        const binding = release
            ? codeBindingProblems(
                  {
                      tag: release.tag,
                      commit: verification.releases.find(
                          (r) => r.tag === release.tag && r.environment === release.environment,
                      )?.commit,
                  },
                  args.checkout,
              )
            : [];
        if (binding.length > 0 && args.mode === "update") {
            throw new Error(
                `${what}: the deployed code is not the signed code:\n${binding.map((p) => `  ${p}`).join("\n")}`,
            );
        }
        return {
            verification,
            codeBinding: { bound: binding.length === 0, problems: binding },
            objects: release ? signoffObjects(verification.entries, release, args.objectLock, args.deployedAt) : [],
        };
    }

    constructor(name: string, args: SignoffLedgerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:provenance:SignoffLedger", name, {}, opts);
        declareEvidence(this, {
            backlogItem: BACKLOG_ITEM.signoffLedger,
            creates: ["aws:s3/bucketObjectv2:BucketObjectv2"],
        });
        const release = args.releaseTag ? { tag: args.releaseTag, environment: args.environment } : undefined;
        const planned = planOrRefuse(this, () => SignoffLedger.plan(args));
        ({ verification: this.verification, codeBinding: this.codeBinding } = planned);
        const objects: SignoffObject[] = planned.objects;
        if (!this.codeBinding.bound && args.mode === "preview") {
            // A preview of a pull request runs code nobody signed yet: say so, and let the update refuse it.
            void pulumi.log.warn(
                `${release?.tag} would be refused by \`pulumi up\`: ${this.codeBinding.problems.join("; ")}`,
                this,
            );
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
                // not Pulumi, are what keep them. The retain-until date is set once, at upload: a later deploy must
                // not try to move it (S3 refuses shortening a COMPLIANCE lock, and extending it is not this gate's job).
                {
                    parent: this,
                    retainOnDelete: true,
                    dependsOn: [...args.bucket.ready],
                    ignoreChanges: ["objectLockRetainUntilDate"],
                },
            );
        }
        this.keyPrefix = release ? signoffPrefix(release.environment, release.tag) : "";
        this.objectKeys = objects.map((o) => o.key);
        this.ledgerHead = this.verification.head;
        this.registerOutputs({ keyPrefix: this.keyPrefix, objectKeys: this.objectKeys, ledgerHead: this.ledgerHead });
    }
}
