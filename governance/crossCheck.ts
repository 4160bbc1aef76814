import * as fs from "fs";
import * as path from "path";
import { AWS_TAG_VALUE } from "../core/conventions";
import { Guardrails, signoffFloor } from "../core/guardrails";
import { Problem, repoRoot } from "../core/validation";
import { guardrailCatalog } from "./guardrailCatalog";
import { COLLECTION_AT, Governance } from "./model";

/** Which cadence interval (a key of guardrails.yaml /cadence) paces the milestones of an environment. */
export const CADENCE_INTERVAL_KEY: Readonly<Record<string, "stagingCutIntervalDays" | "prodReleaseIntervalDays">> = {
    staging: "stagingCutIntervalDays",
    prod: "prodReleaseIntervalDays",
};
/** The environment whose milestone ends a release (its go/no-go). */
export const RELEASE_ENVIRONMENT = "prod";

export interface CrossCheckOptions {
    /** Folder test-file hooks are resolved against; the repository root by default. */
    readonly root?: string;
}

type Report = (collection: keyof typeof COLLECTION_AT, index: number, subPath: string, message: string) => void;

/**
 * The rules a JSON Schema cannot express, across the four governance files and the guardrails file. Returns every
 * problem (empty when the data is consistent), each naming the file and the JSON path.
 */
export function crossCheck(gov: Governance, guardrails: Guardrails, options: CrossCheckOptions = {}): Problem[] {
    const problems: Problem[] = [];
    const report: Report = (collection, index, subPath, message) => {
        const at = COLLECTION_AT[collection];
        problems.push({
            file: gov.files[at.file],
            path: `${at.pointer}/${index}${subPath}`,
            message,
        });
    };
    checkUniqueIds(gov, report);
    checkReferences(gov, report);
    checkRiskMitigations(gov, report);
    checkAccountability(gov, report);
    checkHooks(gov, guardrails, options.root ?? repoRoot, report);
    checkGuardrailCoverage(gov, guardrails, report);
    checkCadence(gov, guardrails, report);
    checkSignoffFloor(gov, guardrails, report);
    return problems;
}

/** Ids are unique within each file and across items, milestones and risks (they share one namespace in messages and tags). */
export function checkUniqueIds(gov: Governance, report: Report): void {
    const seen = new Map<string, string>();
    const visit = (collection: keyof typeof COLLECTION_AT, ids: readonly string[], key: string) => {
        const local = new Set<string>();
        ids.forEach((id, i) => {
            if (local.has(id)) {
                report(collection, i, `/${key}`, `duplicate id "${id}"; ids must be unique`);
            } else if (seen.has(id)) {
                report(
                    collection,
                    i,
                    `/${key}`,
                    `id "${id}" is already used by ${seen.get(id)}; ids must be unique across backlog, milestones and risks`,
                );
            }
            local.add(id);
            seen.set(
                id,
                seen.get(id) ??
                    `${gov.files[COLLECTION_AT[collection].file]} ${COLLECTION_AT[collection].pointer}/${i}`,
            );
        });
    };
    visit(
        "items",
        gov.items.map((x) => x.id),
        "id",
    );
    visit(
        "milestones",
        gov.milestones.map((x) => x.id),
        "id",
    );
    visit(
        "risks",
        gov.risks.map((x) => x.id),
        "id",
    );
    const releases = new Set<string>();
    gov.releases.forEach((r, i) => {
        if (releases.has(r.id)) {
            report("releases", i, "/id", `duplicate release id "${r.id}"; ids must be unique`);
        }
        releases.add(r.id);
    });
    const roles = new Set<string>();
    gov.roles.forEach((r, i) => {
        if (roles.has(r.name)) {
            report("roles", i, "/name", `duplicate role "${r.name}"; role names must be unique`);
        }
        roles.add(r.name);
    });
}

/** Every role, release, milestone and item named anywhere exists. */
export function checkReferences(gov: Governance, report: Report): void {
    const roles = gov.roles.map((r) => r.name);
    const releases = gov.releases.map((r) => r.id);
    const milestones = new Map(gov.milestones.map((m) => [m.id, m]));
    const items = new Set(gov.items.map((x) => x.id));
    const role = (collection: keyof typeof COLLECTION_AT, i: number, at: string, name: string) => {
        if (!roles.includes(name)) {
            report(
                collection,
                i,
                at,
                `unknown role "${name}"; allowed (governance/raci.json /roles): ${roles.join(", ")}`,
            );
        }
    };
    gov.items.forEach((item, i) => {
        if (!releases.includes(item.release)) {
            report("items", i, "/release", `unknown release "${item.release}"; allowed: ${releases.join(", ")}`);
        } else if (!item.id.startsWith(`${item.release}-`)) {
            report(
                "items",
                i,
                "/id",
                `"${item.id}" belongs to ${item.release}; its id must start with "${item.release}-"`,
            );
        }
        role("items", i, "/owner", item.owner);
        const m = milestones.get(item.milestone);
        if (!m) {
            report(
                "items",
                i,
                "/milestone",
                `unknown milestone "${item.milestone}"; allowed: ${[...milestones.keys()].join(", ")}`,
            );
        } else if (m.release !== item.release) {
            report(
                "items",
                i,
                "/milestone",
                `milestone "${m.id}" is in ${m.release}, item is in ${item.release}; allowed: ${gov.milestones
                    .filter((x) => x.release === item.release)
                    .map((x) => x.id)
                    .join(", ")}`,
            );
        }
    });
    gov.risks.forEach((risk, i) => role("risks", i, "/owner", risk.owner));
    gov.milestones.forEach((m, i) => {
        if (!releases.includes(m.release)) {
            report("milestones", i, "/release", `unknown release "${m.release}"; allowed: ${releases.join(", ")}`);
        }
        m.signoffs.forEach((s, j) => role("milestones", i, `/signoffs/${j}`, s));
        if (!items.has(m.statusDashboard)) {
            report(
                "milestones",
                i,
                "/statusDashboard",
                `unknown backlog item "${m.statusDashboard}"; name the dashboard's backlog item`,
            );
        }
    });
    gov.raci.forEach((entry, i) => {
        if (!milestones.has(entry.milestone)) {
            report(
                "raci",
                i,
                "/milestone",
                `unknown milestone "${entry.milestone}"; allowed: ${[...milestones.keys()].join(", ")}`,
            );
        }
        for (const name of Object.keys(entry.assignments)) {
            role("raci", i, `/assignments/${escapePointer(name)}`, name);
        }
    });
}

/** Every risk's mitigation is tracked by backlog items that exist. */
export function checkRiskMitigations(gov: Governance, report: Report): void {
    const items = new Set(gov.items.map((x) => x.id));
    gov.risks.forEach((risk, i) => {
        risk.mitigatedBy.forEach((id, j) => {
            if (!items.has(id)) {
                report(
                    "risks",
                    i,
                    `/mitigatedBy/${j}`,
                    `mitigation of "${risk.id}" points to unknown backlog item "${id}"; it must name an item of governance/backlog.json`,
                );
            }
        });
    });
}

/** Every milestone has one RACI row with exactly one Accountable, at least one Responsible, and the Accountable signs off. */
export function checkAccountability(gov: Governance, report: Report): void {
    gov.milestones.forEach((m, mi) => {
        const rows = gov.raci.map((entry, i) => ({ entry, i })).filter((r) => r.entry.milestone === m.id);
        if (rows.length === 0) {
            report(
                "milestones",
                mi,
                "/id",
                `milestone "${m.id}" has no RACI row (governance/raci.json /matrix); it needs exactly one Accountable`,
            );
            return;
        }
        for (const extra of rows.slice(1)) {
            report(
                "raci",
                extra.i,
                "/milestone",
                `second RACI row for milestone "${m.id}" (first at /matrix/${rows[0].i}); merge them so the milestone has exactly one Accountable`,
            );
        }
        const { entry, i } = rows[0];
        const letters = Object.entries(entry.assignments);
        const accountable = letters.filter(([, l]) => l === "A").map(([r]) => r);
        if (accountable.length !== 1) {
            report(
                "raci",
                i,
                "/assignments",
                `milestone "${m.id}" has ${accountable.length} Accountable roles${accountable.length ? ` (${accountable.join(", ")})` : ""}; exactly one role must be "A"`,
            );
        }
        if (!letters.some(([, l]) => l === "R")) {
            report(
                "raci",
                i,
                "/assignments",
                `milestone "${m.id}" has no Responsible role; at least one role must be "R"`,
            );
        }
        if (accountable.length === 1 && !m.signoffs.includes(accountable[0])) {
            report(
                "milestones",
                mi,
                "/signoffs",
                `the Accountable role "${accountable[0]}" must sign off "${m.id}"; add it to signoffs`,
            );
        }
    });
}

/** Every item has every hook the guardrails file requires, each a concrete reference that resolves. */
export function checkHooks(gov: Governance, guardrails: Guardrails, root: string, report: Report): void {
    const milestones = gov.milestones;
    gov.items.forEach((item, i) => {
        const hooks = (item.hooks ?? {}) as Readonly<Record<string, string | undefined>>;
        for (const hook of guardrails.evidence.hooks) {
            const value = hooks[hook];
            if (value === undefined || value.trim() === "") {
                report(
                    "items",
                    i,
                    `/hooks/${hook}`,
                    `"${item.id}" has no ${hook} hook; every item needs all of ${guardrails.evidence.hooks.join(", ")} (guardrails.yaml /evidence/hooks)`,
                );
                continue;
            }
            if (!AWS_TAG_VALUE.test(value)) {
                report(
                    "items",
                    i,
                    `/hooks/${hook}`,
                    `"${value}" cannot be an AWS tag value; allowed: at most 256 letters, digits, spaces and _ . : / = + - @`,
                );
            }
        }
        const tests = hooks.tests;
        if (tests && !fs.existsSync(path.join(root, tests))) {
            report(
                "items",
                i,
                "/hooks/tests",
                `test file "${tests}" does not exist; name the test file that verifies "${item.id}"`,
            );
        }
        const provenance = hooks.provenance ?? "";
        // The two references a provenance hook may be, each the whole hook. Written here, not as module constants: a
        // test that loads this module inside its body would otherwise count as the one test covering them (Stryker's
        // "hybrid" static mutants run against their per-test coverage only).
        const ledger = /^provenance\/ledger\.jsonl:item=(.+)$/.exec(provenance);
        const signoff = /^provenance-bucket:signoffs\/([^/]+)\/([^/]+)\/$/.exec(provenance);
        if (ledger && ledger[1] !== item.id) {
            report(
                "items",
                i,
                "/hooks/provenance",
                `ledger breadcrumb names "${ledger[1]}"; allowed: provenance/ledger.jsonl:item=${item.id}`,
            );
        } else if (
            signoff &&
            !milestones.some((m) => m.release === item.release && m.environment === signoff[1] && m.tag === signoff[2])
        ) {
            const allowed = milestones
                .filter((m) => m.release === item.release)
                .map((m) => `provenance-bucket:signoffs/${m.environment}/${m.tag}/`);
            report(
                "items",
                i,
                "/hooks/provenance",
                `no ${item.release} milestone ships ${signoff[2]} to ${signoff[1]}; allowed: ${allowed.join(", ")}`,
            );
        } else if (provenance && !ledger && !signoff) {
            report(
                "items",
                i,
                "/hooks/provenance",
                `"${provenance}" is not a ledger or sign-off reference; allowed: provenance/ledger.jsonl:item=${item.id} or provenance-bucket:signoffs/<env>/<tag>/`,
            );
        }
    });
}

/** Every guardrail of the guardrails file is served, with a verification procedure, by an item of every release. */
export function checkGuardrailCoverage(gov: Governance, guardrails: Guardrails, report: Report): void {
    const catalog = guardrailCatalog(guardrails);
    const known = catalog.map((g) => g.id);
    gov.items.forEach((item, i) => {
        item.guardrails.forEach((id, j) => {
            if (!known.includes(id)) {
                report("items", i, `/guardrails/${j}`, `unknown guardrail "${id}"; allowed: ${known.join(", ")}`);
            }
        });
    });
    gov.releases.forEach((release, ri) => {
        for (const g of catalog) {
            const serving = gov.items.filter(
                (x) => x.release === release.id && x.guardrails.includes(g.id) && x.verification.trim() !== "",
            );
            if (serving.length === 0) {
                report(
                    "releases",
                    ri,
                    "",
                    `guardrail "${g.id}" (${g.title}: ${g.target}) is served by no ${release.id} backlog item with a verification procedure; add it to an item's guardrails`,
                );
            }
        }
    });
}

/**
 * Dates follow the cadence of the guardrails file: per environment, consecutive milestones are exactly the
 * interval apart; tags have the guardrail's shape and increase with time; each release ends in one production
 * release that promotes a tag cut to staging earlier in the same release; statuses do not run ahead of time.
 */
export function checkCadence(gov: Governance, guardrails: Guardrails, report: Report): void {
    const tagPattern = new RegExp(guardrails.cadence.tagPattern);
    const indexed = gov.milestones.map((m, i) => ({ m, i, day: dayNumber(m.date) }));
    for (const { m, i, day } of indexed) {
        if (!tagPattern.test(m.tag)) {
            report(
                "milestones",
                i,
                "/tag",
                `"${m.tag}" is not a release tag; allowed: ${guardrails.cadence.tagFormat} (guardrails.yaml /cadence/tagPattern ${guardrails.cadence.tagPattern})`,
            );
        }
        if (Number.isNaN(day)) {
            report("milestones", i, "/date", `"${m.date}" is not a date; allowed: YYYY-MM-DD`);
        }
        if (!CADENCE_INTERVAL_KEY[m.environment] || !guardrails.environments.includes(m.environment)) {
            const allowed = Object.keys(CADENCE_INTERVAL_KEY).filter((e) => guardrails.environments.includes(e));
            report(
                "milestones",
                i,
                "/environment",
                `"${m.environment}" has no release cadence; allowed: ${allowed.join(", ")}`,
            );
        }
    }
    for (const [env, key] of Object.entries(CADENCE_INTERVAL_KEY)) {
        const interval = guardrails.cadence[key];
        const timeline = indexed
            .filter((x) => x.m.environment === env && !Number.isNaN(x.day))
            .sort((a, b) => a.day - b.day);
        for (let k = 1; k < timeline.length; k++) {
            const prev = timeline[k - 1];
            const cur = timeline[k];
            if (cur.day - prev.day !== interval) {
                report(
                    "milestones",
                    cur.i,
                    "/date",
                    `${cur.m.date} is ${cur.day - prev.day} days after ${prev.m.id} (${prev.m.date}); ${env} milestones follow every ${interval} days (guardrails.yaml /cadence/${key}): expected ${dateOf(prev.day + interval)}`,
                );
            }
            if (tagPattern.test(prev.m.tag) && tagPattern.test(cur.m.tag) && compareTags(cur.m.tag, prev.m.tag) <= 0) {
                report(
                    "milestones",
                    cur.i,
                    "/tag",
                    `${cur.m.tag} does not come after ${prev.m.tag} (${prev.m.id}, earlier); ${env} tags must increase with time`,
                );
            }
        }
    }
    gov.releases.forEach((release, ri) => {
        const own = indexed.filter((x) => x.m.release === release.id);
        const prod = own.filter((x) => x.m.environment === RELEASE_ENVIRONMENT);
        const cuts = own.filter((x) => x.m.environment !== RELEASE_ENVIRONMENT);
        if (prod.length !== 1) {
            report(
                "releases",
                ri,
                "",
                `${release.id} has ${prod.length} ${RELEASE_ENVIRONMENT} milestones; a release ends in exactly one go/no-go`,
            );
        }
        for (const p of prod) {
            const promoted = cuts.find((c) => c.m.tag === p.m.tag && c.day < p.day);
            if (!promoted) {
                const earlier = cuts.filter((c) => c.day < p.day).map((c) => `${c.m.tag} (${c.m.id})`);
                report(
                    "milestones",
                    p.i,
                    "/tag",
                    `${p.m.tag} was not cut to staging in ${release.id} before ${p.m.date}; a production release promotes an earlier cut; allowed: ${earlier.join(", ") || "(no earlier cut)"}`,
                );
            }
        }
    });
    const byDate = [...indexed].filter((x) => !Number.isNaN(x.day)).sort((a, b) => a.day - b.day);
    const firstPlanned = byDate.find((x) => x.m.status === "planned");
    if (firstPlanned) {
        for (const x of byDate.filter((y) => y.day > firstPlanned.day && y.m.status !== "planned")) {
            report(
                "milestones",
                x.i,
                "/status",
                `"${x.m.status}" after ${firstPlanned.m.id} (${firstPlanned.m.date}) which is still planned; allowed: "planned"`,
            );
        }
    }
}

/** Days since the epoch of a YYYY-MM-DD date (UTC), NaN when it is not one. */
export function dayNumber(date: string): number {
    // Stryker disable next-line Regex: equivalent; dropping ^ or $ matches a date inside longer text, which the round trip through dateOf() below still refuses (it writes exactly YYYY-MM-DD)
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (!m) {
        return NaN;
    }
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return dateOf(ms / 86_400_000) === date ? ms / 86_400_000 : NaN;
}

function dateOf(day: number): string {
    return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Compare vX.Y.Z tags numerically. */
export function compareTags(a: string, b: string): number {
    const pa = a.slice(1).split(".").map(Number);
    const pb = b.slice(1).split(".").map(Number);
    // Stryker disable next-line EqualityOperator: equivalent; a fourth part is undefined in both tags, so `k <= 3` compares undefined !== undefined (false) and still returns 0
    for (let k = 0; k < 3; k++) {
        if (pa[k] !== pb[k]) {
            return pa[k] - pb[k];
        }
    }
    return 0;
}

function escapePointer(s: string): string {
    return s.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * A milestone never asks for fewer sign-offs than the guardrails' floor for its environment (guardrails.yaml
 * /signoffs/floor), and every environment with a floor ships only through milestones that name it exactly: a
 * milestone cannot slip under the floor by cutting roles or by naming an environment the floor does not cover.
 */
export function checkSignoffFloor(gov: Governance, guardrails: Guardrails, report: Report): void {
    gov.milestones.forEach((m, i) => {
        const floor = signoffFloor(guardrails, m.environment);
        const missing = floor.filter((role) => !m.signoffs.includes(role));
        if (missing.length > 0) {
            report(
                "milestones",
                i,
                "/signoffs",
                `milestone "${m.id}" drops the ${m.environment} sign-off floor role${missing.length > 1 ? "s" : ""} ${missing.map((r) => `"${r}"`).join(", ")} (guardrails.yaml /signoffs/floor/${m.environment}); allowed: signoffs including ${floor.join(", ")}`,
            );
        }
        if (floor.length === 0 && Object.keys(guardrails.signoffs.floor).length > 0) {
            report(
                "milestones",
                i,
                "/environment",
                `"${m.environment}" has no sign-off floor, so milestone "${m.id}" would ship unguarded; allowed: ${Object.keys(guardrails.signoffs.floor).join(", ")}`,
            );
        }
    });
}
