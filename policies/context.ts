/**
 * What the policies check against, loaded once when the pack starts: the guardrails file, the governance backlog
 * (every backlog item and its four evidence hooks), the sign-offs each release needs, and the sign-off ledger.
 * Policies take a PackContext instead of loading files themselves, so tests hand them small explicit fixtures.
 */
import { CADENCE_INTERVAL_KEY, RELEASE_ENVIRONMENT, loadGovernance, requiredSignoffs } from "../governance";
import { Guardrails, loadGuardrails } from "../core/guardrails";
import { LEDGER_FILE, verifyLedgerFile } from "../provenance/ledger";
import { EvidenceHookName } from "./resources";

export interface ReleaseCheck {
    readonly ok: boolean;
    /** One line each, naming the file and what is missing. */
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
     * Production environments: a release there needs its sign-offs in the ledger, and the evidence-hook policy can
     * be neither lowered nor disabled there.
     */
    readonly productionEnvironments: readonly string[];
    /** Verify the ledger's chain and that `tag` holds every sign-off `environment` requires. */
    readonly verifyRelease: (tag: string, environment: string) => ReleaseCheck;
}

/** The shipped data: guardrails/guardrails.yaml, governance/*.json, provenance/ledger.jsonl. */
export function loadPackContext(): PackContext {
    const guardrails = loadGuardrails();
    const governance = loadGovernance();
    return {
        guardrails,
        backlogItems: new Map(governance.items.map((item) => [item.id, { ...item.hooks }])),
        backlogFile: governance.files.backlog,
        releaseEnvironments: Object.keys(CADENCE_INTERVAL_KEY).filter((e) => guardrails.environments.includes(e)),
        productionEnvironments: [RELEASE_ENVIRONMENT],
        verifyRelease: (tag, environment) =>
            verifyLedgerFile(LEDGER_FILE, (t, e) => requiredSignoffs(governance, t, e), {
                guardrails,
                complete: { tag, environment },
            }),
    };
}
