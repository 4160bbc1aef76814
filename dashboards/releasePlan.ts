/**
 * What the summary dashboard's release panel needs from the governance data: the releases, their milestones and
 * who is accountable for each. A narrow interface, so the dashboard does not depend on the whole governance model;
 * releasePlanFromGovernance() derives it from governance/ (milestones.json + raci.json).
 */
import { Governance, Milestone } from "../governance";

/** A milestone as governance/milestones.json has it (status widened: a plan built by hand may use any), with its RACI. */
export interface PlannedMilestone extends Pick<Milestone, "id" | "release" | "title" | "environment" | "date" | "tag"> {
    readonly status: string;
    /** The RACI "A" role. */
    readonly accountable: string;
    /** The RACI "R" roles. */
    readonly responsible: readonly string[];
}

export interface ReleasePlan {
    readonly releases: ReadonlyArray<{ readonly id: string; readonly title: string }>;
    readonly milestones: readonly PlannedMilestone[];
}

/**
 * The release plan from the governance files. Throws naming the file and milestone when a milestone has no single
 * accountable role (governance's cross-checks refuse that too; the summary cannot show a milestone without one).
 */
export function releasePlanFromGovernance(gov: Governance): ReleasePlan {
    const milestones = gov.milestones.map((m, i): PlannedMilestone => {
        const entry = gov.raci.find((r) => r.milestone === m.id);
        const roles = (letter: string) =>
            Object.entries(entry?.assignments ?? {})
                .filter(([, l]) => l === letter)
                .map(([role]) => role);
        const accountable = roles("A");
        if (accountable.length !== 1) {
            throw new Error(
                `${gov.files.raci}: /matrix: milestone ${m.id} (${gov.files.milestones} /milestones/${i}) has ${accountable.length} accountable roles; allowed: exactly one "A"`,
            );
        }
        return {
            id: m.id,
            release: m.release,
            title: m.title,
            environment: m.environment,
            date: m.date,
            tag: m.tag,
            status: m.status,
            accountable: accountable[0],
            responsible: roles("R"),
        };
    });
    return { releases: gov.releases.map((r) => ({ id: r.id, title: r.title })), milestones };
}

/** Markdown lines of the release panel: one table per release, a row per milestone. */
export function releasePlanMarkdown(plan: ReleasePlan): string {
    const lines: string[] = [];
    for (const r of plan.releases) {
        const ms = plan.milestones
            .filter((m) => m.release === r.id)
            .sort((a, b) => a.date.localeCompare(b.date) || a.id.localeCompare(b.id));
        lines.push(
            `**${r.title}**`,
            "",
            "| Date | Milestone | Tag | Status | Accountable | Responsible |",
            "| --- | --- | --- | --- | --- | --- |",
        );
        for (const m of ms) {
            lines.push(
                `| ${m.date} | ${m.title} | ${m.tag} → ${m.environment} | ${m.status} | ${m.accountable} | ${m.responsible.join(", ")} |`,
            );
        }
        lines.push("");
    }
    const orphans = plan.milestones.filter((m) => !plan.releases.some((r) => r.id === m.release));
    if (orphans.length > 0) {
        throw new Error(
            `release plan: milestones ${orphans.map((m) => m.id).join(", ")} name no listed release; allowed releases: ${plan.releases.map((r) => r.id).join(", ")}`,
        );
    }
    return lines.join("\n").trimEnd();
}
