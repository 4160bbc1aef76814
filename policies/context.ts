/**
 * What the policies check against: the guardrails, the governance backlog (every backlog item and its four evidence
 * hooks), the sign-offs each release needs, and how a release's sign-offs are verified. Built from PackData, which
 * the shipped pack has compiled in (policies/packData.ts, swapped at build by offline/policyPackBuild.ts), so the
 * pack reads no repository file when it runs. Policies take a PackContext instead of loading anything themselves,
 * so tests hand them small explicit fixtures.
 */
import { PolicyResource } from "@pulumi/policy";
import { CADENCE_INTERVAL_KEY, Governance, RELEASE_ENVIRONMENT, requiredSignoffs } from "../governance";
import { Guardrails } from "../core/guardrails";
import { KeyObject } from "crypto";
import { keyId, publicKeyFromText, verifySignature } from "../provenance/dsse";
import { SignoffEntry, parseLine, requiredWithFloor, signoffObjectKey, signoffPrefix } from "../provenance/ledger";
import { EvidenceHookName, describeResource } from "./resources";

export interface ReleaseCheck {
    readonly ok: boolean;
    /** One line each, naming the resource (or file) and what is missing. */
    readonly problems: readonly string[];
}

export interface PackContext {
    readonly guardrails: Guardrails;
    /** Backlog items by id, with the hooks each declares (governance/backlog.json). */
    readonly backlogItems: ReadonlyMap<string, Partial<Record<EvidenceHookName, string>>>;
    /** The file backlog items come from, for messages. */
    readonly backlogFile: string;
    /** Environments whose deploys are releases and so carry a release tag (staging cuts, prod releases). */
    readonly releaseEnvironments: readonly string[];
    /**
     * Production environments: a release there needs its sign-offs, the evidence-hook policy can be neither lowered
     * nor disabled there, and a policy that cannot decide during a preview blocks the deploy.
     */
    readonly productionEnvironments: readonly string[];
    /**
     * Whether `tag` holds every sign-off `environment` requires. The pack reads the sign-offs from the stack being
     * deployed (`resources`: the objects the SignoffLedger component uploads), never from a repository file.
     */
    readonly verifyRelease: (tag: string, environment: string, resources: readonly PolicyResource[]) => ReleaseCheck;
}

/** What the pack enforces, as plain data: compiled into the shipped pack, read from the repository by tests. */
export interface PackData {
    readonly guardrails: Guardrails;
    readonly governance: Governance;
    /** Who may sign (governance/signers.json, validated when the pack is built): public keys as PEM or OpenSSH. */
    readonly signers: readonly { name: string; email: string; roles: readonly string[]; publicKey: string }[];
}

/** A signer's key by keyid, with the identity sign-offs name and the roles the holder holds. */
export type KeyRing = ReadonlyMap<string, { identity: string; roles: readonly string[]; key: KeyObject }>;

export function keyRing(signers: PackData["signers"]): KeyRing {
    return new Map(
        signers.map((s) => {
            const key = publicKeyFromText(s.publicKey);
            return [keyId(key), { identity: `${s.name} <${s.email}>`, roles: s.roles, key }];
        }),
    );
}

/** The S3 object types a sign-off can be uploaded as (components/signoffLedger.ts uses the v2 one). */
export const SIGNOFF_OBJECT_TYPES: readonly string[] = [
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/bucketObject:BucketObject",
];

/**
 * The sign-offs a stack uploads for `tag` in `environment`: the ledger entries inside the in-toto statements of its
 * S3 objects under `signoffs/<environment>/<tag>/`, each checked against its own hash, its key and its statement,
 * and consecutive entries against their chain. The one place the pack reads sign-offs.
 */
export function registeredSignoffs(
    resources: readonly PolicyResource[],
    tag: string,
    environment: string,
    ring: KeyRing,
): { entries: SignoffEntry[]; problems: string[] } {
    const prefix = signoffPrefix(environment, tag);
    const entries: SignoffEntry[] = [];
    const problems: string[] = [];
    for (const r of resources) {
        // A missing key reads "undefined", which is under no prefix.
        if (!SIGNOFF_OBJECT_TYPES.includes(r.type) || !String(r.props.key).startsWith(prefix)) {
            continue;
        }
        const where = `${describeResource(r)} (${String(r.props.key)})`;
        // Read as parseLedger reads a ledger line (JSON.parse skips the newline the SignoffLedger component ends it with).
        const entry = parseLine(String(r.props.content ?? ""));
        if (typeof entry === "string") {
            problems.push(`${where}: not a signed sign-off: ${entry}`);
            continue;
        }
        const holder = ring.get(entry.keyid);
        if (!holder || !verifySignature(entry.envelope, entry.envelope.signatures[0], holder.key)) {
            problems.push(
                `${where}: the envelope's signature does not verify with a key governance/signers.json lists (keyid ${entry.keyid})`,
            );
        } else if (holder.identity !== entry.signer || !holder.roles.includes(entry.role)) {
            problems.push(
                `${where}: signed by ${holder.identity}, who does not hold "${entry.role}" or is not the signer the statement names (${entry.signer})`,
            );
        } else if (entry.tag !== tag || entry.environment !== environment) {
            problems.push(
                `${where}: the entry signs ${entry.tag} in ${entry.environment}, not ${tag} in ${environment}`,
            );
        } else if (signoffObjectKey(entry) !== r.props.key) {
            problems.push(`${where}: the key is not the entry's own (${signoffObjectKey(entry)})`);
        } else {
            entries.push(entry);
        }
    }
    entries.sort((a, b) => a.seq - b.seq);
    entries.forEach((e, i) => {
        const before = entries[i - 1];
        if (before && before.seq + 1 === e.seq && e.prevHash !== before.hash) {
            problems.push(`sign-off seq ${e.seq} does not chain to seq ${before.seq}: the ledger was rewritten`);
        }
    });
    const people = new Map<string, string>();
    for (const e of entries) {
        const other = people.get(e.signer);
        if (other !== undefined && other !== e.role) {
            problems.push(
                `${e.signer} signed both "${other}" and "${e.role}" of ${tag} in ${environment}; distinct roles need distinct people`,
            );
        }
        people.set(e.signer, e.role);
    }
    return { entries, problems };
}

/** The pack's context over its data (compiled in, or the repository's files in tests). */
export function packContext(data: PackData): PackContext {
    const { guardrails, governance } = data;
    const ring = keyRing(data.signers);
    return {
        guardrails,
        backlogItems: new Map(governance.items.map((item) => [item.id, { ...item.hooks }])),
        backlogFile: governance.files.backlog,
        releaseEnvironments: Object.keys(CADENCE_INTERVAL_KEY).filter((e) => guardrails.environments.includes(e)),
        productionEnvironments: [RELEASE_ENVIRONMENT],
        verifyRelease: (tag, environment, resources) => {
            const { entries, problems } = registeredSignoffs(resources, tag, environment, ring);
            let required: readonly string[] = [];
            try {
                required = requiredWithFloor(
                    guardrails,
                    (t, e) => requiredSignoffs(governance, t, e),
                    tag,
                    environment,
                );
            } catch (err) {
                problems.push(`cannot tell which sign-offs ${tag} needs in ${environment}: ${(err as Error).message}`);
            }
            const signed = [...new Set(entries.map((e) => e.role))];
            const missing = required.filter((role) => !signed.includes(role));
            if (missing.length > 0) {
                problems.push(
                    `${tag} in ${environment} is missing the sign-off of ${missing.join(", ")} (required: ${required.join(", ")};` +
                        ` uploaded by this stack: ${signed.join(", ") || "none"}); record it with` +
                        ` \`npm run provenance -- record --tag ${tag} --environment ${environment} --role "<role>"\`` +
                        " and deploy with the SignoffLedger component, which uploads every sign-off of the release",
                );
            }
            return { ok: problems.length === 0, problems };
        },
    };
}
