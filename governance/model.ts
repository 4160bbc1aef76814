import * as fs from "fs";
import * as path from "path";
import { EvidenceHookName } from "../core/evidence";
import type { Problem } from "../core/validation";
import { ValidationError, displayPath, readDataFile, repoRoot, validateAgainstSchema } from "../core/validation";

/** The shipped governance data. */
export const GOVERNANCE_DIR = path.join(repoRoot, "governance");

/** The four data files, each validated against the schema of the same name beside the shipped data. */
export const GOVERNANCE_FILES = ["backlog", "raci", "risks", "milestones"] as const;
export type GovernanceFileName = (typeof GOVERNANCE_FILES)[number];

export function schemaFile(name: GovernanceFileName): string {
    return path.join(GOVERNANCE_DIR, `${name}.schema.json`);
}

export type ItemStatus = "planned" | "in-progress" | "done" | "blocked";
export type MilestoneStatus = "planned" | "in-progress" | "done";
export type Impact = "High" | "Medium" | "Low";
export type RaciLetter = "R" | "A" | "C" | "I";

export interface WorkstreamDependency {
    /** Downstream workstream, 2-8. */
    readonly workstream: number;
    /** consumes: this item needs something from the workstream; feeds: the workstream builds on this item. */
    readonly direction: "consumes" | "feeds";
    readonly interface: string;
}

export interface BacklogItem {
    /** e.g. R1-SLO-RULES; resources serving the item carry it as `maestro:backlog-item`. */
    readonly id: string;
    readonly title: string;
    /** Release id (R1, R2) from milestones.json. */
    readonly release: string;
    /** Role from raci.json. */
    readonly owner: string;
    readonly status: ItemStatus;
    /** The milestone whose sign-off needs this item done. */
    readonly milestone: string;
    /** Guardrail ids (see guardrailCatalog) this item serves. */
    readonly guardrails: readonly string[];
    readonly workstreams: readonly WorkstreamDependency[];
    /** How the item is verified before its milestone's sign-off. */
    readonly verification: string;
    readonly hooks: Readonly<Record<EvidenceHookName, string>>;
}

export interface Role {
    readonly name: string;
    readonly scope: string;
}

export interface RaciEntry {
    readonly milestone: string;
    /** Role name -> letter. */
    readonly assignments: Readonly<Record<string, RaciLetter>>;
}

export interface Risk {
    readonly id: string;
    readonly title: string;
    readonly impact: Impact;
    /** Role from raci.json. */
    readonly owner: string;
    readonly mitigation: string;
    /** Backlog items that carry out the mitigation. */
    readonly mitigatedBy: readonly string[];
}

export interface Release {
    readonly id: string;
    readonly title: string;
    readonly goal: string;
}

export interface Milestone {
    readonly id: string;
    readonly release: string;
    readonly title: string;
    /** staging for a weekly cut, prod for a production release. */
    readonly environment: string;
    /** YYYY-MM-DD. */
    readonly date: string;
    /** vX.Y.Z. */
    readonly tag: string;
    readonly status: MilestoneStatus;
    /** Roles whose sign-off the ledger must hold before the milestone ships. */
    readonly signoffs: readonly string[];
    /** Backlog item of the dashboard showing the milestone's status. */
    readonly statusDashboard: string;
}

/** All four files, validated against their schemas, with the names of the files they came from (for problems). */
export interface Governance {
    /** Display path of each file, as problems name it. */
    readonly files: Readonly<Record<GovernanceFileName, string>>;
    readonly items: readonly BacklogItem[];
    readonly roles: readonly Role[];
    readonly raci: readonly RaciEntry[];
    readonly risks: readonly Risk[];
    readonly releases: readonly Release[];
    readonly milestones: readonly Milestone[];
}

interface BacklogDoc {
    readonly items: BacklogItem[];
}
interface RaciDoc {
    readonly roles: Role[];
    readonly matrix: RaciEntry[];
}
interface RisksDoc {
    readonly risks: Risk[];
}
interface MilestonesDoc {
    readonly releases: Release[];
    readonly milestones: Milestone[];
}

/**
 * Load the four governance files from `dir` and validate each against its schema (the schemas always come from
 * the shipped governance/ folder, so a fixture folder holds data only). Every file is checked before throwing,
 * so one run lists every schema problem. Cross-references are checked separately by crossCheck().
 */
export function loadGovernance(dir: string = GOVERNANCE_DIR): Governance {
    const problems: Problem[] = [];
    const files = Object.fromEntries(
        GOVERNANCE_FILES.map((n) => [n, displayPath(path.join(dir, `${n}.json`))]),
    ) as Record<GovernanceFileName, string>;
    const load = <T>(name: GovernanceFileName): T | undefined => {
        const file = path.join(dir, `${name}.json`);
        if (!fs.existsSync(file)) {
            problems.push({
                file: files[name],
                path: "",
                message: `missing; the governance folder needs ${GOVERNANCE_FILES.map((n) => `${n}.json`).join(", ")}`,
            });
            return undefined;
        }
        try {
            return validateAgainstSchema<T>(readDataFile(file), schemaFile(name), files[name]);
        } catch (err) {
            if (err instanceof ValidationError) {
                problems.push(...err.problems);
                return undefined;
            }
            throw err;
        }
    };
    const backlog = load<BacklogDoc>("backlog");
    const raci = load<RaciDoc>("raci");
    const risks = load<RisksDoc>("risks");
    const milestones = load<MilestonesDoc>("milestones");
    if (!backlog || !raci || !risks || !milestones) {
        throw new ValidationError(problems);
    }
    return {
        files,
        items: backlog.items,
        roles: raci.roles,
        raci: raci.matrix,
        risks: risks.risks,
        releases: milestones.releases,
        milestones: milestones.milestones,
    };
}

/** JSON pointer of each collection inside its file, so checks can name where a problem is. */
export const COLLECTION_AT = {
    items: { file: "backlog", pointer: "/items" },
    roles: { file: "raci", pointer: "/roles" },
    raci: { file: "raci", pointer: "/matrix" },
    risks: { file: "risks", pointer: "/risks" },
    releases: { file: "milestones", pointer: "/releases" },
    milestones: { file: "milestones", pointer: "/milestones" },
} as const satisfies Record<string, { file: GovernanceFileName; pointer: string }>;
