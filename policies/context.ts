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
import {
    IN_TOTO_STATEMENT_TYPE,
    SIGNOFF_PREDICATE_TYPE,
    SignoffEntry,
    entryHash,
    signoffObjectKey,
    signoffPrefix,
} from "../provenance/ledger";
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
): { entries: SignoffEntry[]; problems: string[] } {
    const prefix = signoffPrefix(environment, tag);
    const entries: SignoffEntry[] = [];
    const problems: string[] = [];
    for (const r of resources) {
        if (!SIGNOFF_OBJECT_TYPES.includes(r.type) || !String(r.props.key ?? "").startsWith(prefix)) {
            continue;
        }
        const where = `${describeResource(r)} (${String(r.props.key)})`;
        let statement: { _type?: unknown; predicateType?: unknown; subject?: unknown; predicate?: unknown };
        try {
            statement = JSON.parse(String(r.props.content)) as typeof statement;
        } catch {
            problems.push(`${where}: content is not an in-toto statement (not JSON)`);
            continue;
        }
        const entry = statement.predicate as SignoffEntry | undefined;
        if (
            statement._type !== IN_TOTO_STATEMENT_TYPE ||
            statement.predicateType !== SIGNOFF_PREDICATE_TYPE ||
            !entry
        ) {
            problems.push(`${where}: content is not a ${SIGNOFF_PREDICATE_TYPE} statement`);
            continue;
        }
        const subject = (Array.isArray(statement.subject) ? statement.subject : []) as Array<{
            name?: unknown;
            digest?: { gitCommit?: unknown };
        }>;
        if (entry.hash !== entryHash(entry)) {
            problems.push(`${where}: the entry's hash does not match its content: it was edited after it was recorded`);
        } else if (entry.tag !== tag || entry.environment !== environment) {
            problems.push(
                `${where}: the entry signs ${entry.tag} in ${entry.environment}, not ${tag} in ${environment}`,
            );
        } else if (!subject.some((s) => s.name === tag && s.digest?.gitCommit === entry.commit)) {
            problems.push(`${where}: the statement's subject is not ${tag} at commit ${entry.commit}`);
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
    return { entries, problems };
}

/** The pack's context over its data (compiled in, or the repository's files in tests). */
export function packContext(data: PackData): PackContext {
    const { guardrails, governance } = data;
    return {
        guardrails,
        backlogItems: new Map(governance.items.map((item) => [item.id, { ...item.hooks }])),
        backlogFile: governance.files.backlog,
        releaseEnvironments: Object.keys(CADENCE_INTERVAL_KEY).filter((e) => guardrails.environments.includes(e)),
        productionEnvironments: [RELEASE_ENVIRONMENT],
        verifyRelease: (tag, environment, resources) => {
            const { entries, problems } = registeredSignoffs(resources, tag, environment);
            let required: readonly string[] = [];
            try {
                required = requiredSignoffs(governance, tag, environment);
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
