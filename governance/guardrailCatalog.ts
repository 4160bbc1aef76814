import { Guardrails } from "../core/guardrails";

export type GuardrailKind = "slo" | "cost" | "cadence" | "evidence";

/** One guardrail of the guardrails file, as backlog items name it and the summary shows it. */
export interface GuardrailEntry {
    /** e.g. `slo:api-read-latency`, `cost:prod:llm`, `cadence:staging-cut`. */
    readonly id: string;
    readonly kind: GuardrailKind;
    readonly title: string;
    /** The target in words, rendered from the guardrails file (never typed elsewhere). */
    readonly target: string;
    /** JSON pointer of the guardrail in guardrails.yaml. */
    readonly source: string;
}

/**
 * Every guardrail of the guardrails file with a stable id, so backlog items can say which ones they serve and the
 * cross-check can prove each is served in every release. Adding an SLO or an environment to the file adds a
 * guardrail here, which then needs a serving item.
 */
export function guardrailCatalog(g: Guardrails): GuardrailEntry[] {
    const entries: GuardrailEntry[] = g.slo.objectives.map((o, i) => ({
        id: `slo:${o.id}`,
        kind: "slo",
        title: o.title,
        target: `p${formatNumber(o.objective * 100)} ≤ ${formatNumber(o.sli.thresholdSeconds * 1000)} ms`,
        source: `/slo/objectives/${i}`,
    }));
    for (const env of g.environments) {
        const cap = g.cost.caps[env];
        if (!cap) {
            continue;
        }
        entries.push({
            id: `cost:${env}`,
            kind: "cost",
            title: `${env} monthly cost`,
            target: `≤ ${usd(cap.monthlyUsd)}/mo`,
            source: `/cost/caps/${env}/monthlyUsd`,
        });
        if (cap.llmMonthlyUsd !== undefined) {
            entries.push({
                id: `cost:${env}:llm`,
                kind: "cost",
                title: `${env} LLM spend`,
                target: `≤ ${usd(cap.llmMonthlyUsd)}/mo`,
                source: `/cost/caps/${env}/llmMonthlyUsd`,
            });
        }
    }
    entries.push(
        {
            id: "cost:alert-threshold",
            kind: "cost",
            title: "Cost alert threshold",
            target: `alert at ${formatNumber(g.cost.alertThreshold * 100)}% of each cap`,
            source: "/cost/alertThreshold",
        },
        {
            id: "cadence:staging-cut",
            kind: "cadence",
            title: `Staging cut (${g.cadence.branching})`,
            target: `every ${g.cadence.stagingCutIntervalDays} days`,
            source: "/cadence/stagingCutIntervalDays",
        },
        {
            id: "cadence:prod-release",
            kind: "cadence",
            title: "Production release",
            target: `every ${g.cadence.prodReleaseIntervalDays} days`,
            source: "/cadence/prodReleaseIntervalDays",
        },
        {
            id: "cadence:tag-format",
            kind: "cadence",
            title: "Release tags",
            target: g.cadence.tagFormat,
            source: "/cadence/tagFormat",
        },
        {
            id: "evidence:hooks",
            kind: "evidence",
            title: "Evidence hooks on every item",
            target: g.evidence.hooks.join(", "),
            source: "/evidence/hooks",
        },
    );
    return entries;
}

/** Rounds away binary noise (0.1 * 3 = 0.30000000000000004) without hiding real decimals. */
export function formatNumber(n: number): string {
    return String(Number(n.toFixed(6)));
}

/** $18,000 style, independent of the machine's locale so renders are byte-stable. */
export function usd(n: number): string {
    const [whole, frac] = formatNumber(n).split(".");
    return `$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}${frac ? `.${frac}` : ""}`;
}
