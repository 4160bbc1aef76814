/**
 * Governance data of the Maestro Conductor: release backlog, RACI, risks and milestones (JSON files validated by
 * the JSON Schemas beside them), the cross-reference rules across them and the guardrails file, and the lookups
 * the stack, the sign-off ledger and the policy pack need.
 */
import { Guardrails, loadGuardrails } from "../core/guardrails";
import { EvidenceItem, EvidenceResolver } from "../core/evidence";
import { Problem, ValidationError } from "../core/validation";
import { crossCheck } from "./crossCheck";
import { GOVERNANCE_DIR, Governance, Milestone, loadGovernance } from "./model";

export * from "./model";
export { crossCheck, CADENCE_INTERVAL_KEY, RELEASE_ENVIRONMENT, compareTags, dayNumber } from "./crossCheck";
export { guardrailCatalog, formatNumber, usd } from "./guardrailCatalog";
export type { GuardrailEntry, GuardrailKind } from "./guardrailCatalog";

/**
 * The resolver core/evidence.ts's stack transformation calls for each component's backlog item: the item's id and
 * its four hooks. An unknown id is a programming error in a component, so it throws naming the known ids.
 */
export function evidenceResolver(gov: Governance): EvidenceResolver {
    const byId = new Map<string, EvidenceItem>(
        gov.items.map((item) => [item.id, { id: item.id, hooks: { ...item.hooks } }]),
    );
    return (id: string) => {
        const item = byId.get(id);
        if (!item) {
            throw new ValidationError([
                {
                    file: gov.files.backlog,
                    path: "/items",
                    message: `no backlog item "${id}"; a component's backlogItem must be one of: ${[...byId.keys()].join(", ")}`,
                },
            ]);
        }
        return item;
    };
}

/** The milestone that ships `releaseTag` to `environment`; throws naming the planned ones when there is none. */
export function milestoneFor(gov: Governance, releaseTag: string, environment: string): Milestone {
    const m = gov.milestones.find((x) => x.tag === releaseTag && x.environment === environment);
    if (!m) {
        const planned = gov.milestones.filter((x) => x.environment === environment).map((x) => `${x.tag} (${x.id})`);
        throw new ValidationError([
            {
                file: gov.files.milestones,
                path: "/milestones",
                message: `no milestone ships ${releaseTag} to ${environment}; planned for ${environment}: ${planned.join(", ") || "(none)"}`,
            },
        ]);
    }
    return m;
}

/** The roles whose sign-off must be in the ledger before `releaseTag` ships to `environment`. */
export function requiredSignoffs(gov: Governance, releaseTag: string, environment: string): string[] {
    return [...milestoneFor(gov, releaseTag, environment).signoffs];
}

/**
 * Everything `npm run validate` checks: the four files against their schemas, then the cross-reference rules.
 * Returns the problems (empty when valid) instead of throwing, so a caller can print them all.
 */
export function validateGovernance(
    dir: string = GOVERNANCE_DIR,
    guardrails: Guardrails = loadGuardrails(),
    options: { root?: string } = {},
): Problem[] {
    let gov: Governance;
    try {
        gov = loadGovernance(dir);
    } catch (err) {
        if (err instanceof ValidationError) {
            return [...err.problems];
        }
        throw err;
    }
    return crossCheck(gov, guardrails, options);
}
