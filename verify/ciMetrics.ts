/**
 * The three evidence-hook metrics that no service exports because CI produces them: policy violations per stack
 * (synth), sign-offs per release (provenance verify), broken documentation links (docs --check). Written in the
 * Prometheus text exposition format, to a file a CI job pushes to a Pushgateway or drops in node_exporter's
 * textfile collector directory (docs/metrics.md). `promtool check metrics` accepts what this writes.
 */
import { writeFileAtomically } from "../core/atomicFile";
import { CADENCE_METRIC, CI_METRIC } from "../core/conventions";
import type { ReleaseCut } from "../rules";
import type { PolicyReport } from "../offline/policyAnalyzer";
import type { ReleaseStatus } from "../provenance/ledger";
import type { Problem } from "../core/validation";

export interface MetricSample {
    readonly labels: Readonly<Record<string, string>>;
    readonly value: number;
}

export interface MetricFamily {
    readonly name: string;
    readonly help: string;
    readonly type: "gauge";
    readonly samples: readonly MetricSample[];
}

function escapeLabel(v: string): string {
    return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Text exposition format 0.0.4: HELP and TYPE once per family, then one line per sample. */
export function renderMetrics(families: readonly MetricFamily[]): string {
    return families
        .map((f) => {
            const lines = [
                `# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
                `# TYPE ${f.name} ${f.type}`,
            ];
            for (const s of f.samples) {
                const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
                lines.push(`${f.name}${labels.length > 0 ? `{${labels.join(",")}}` : ""} ${s.value}`);
            }
            return lines.join("\n") + "\n";
        })
        .join("");
}

/**
 * Write a metrics file atomically (a temp file renamed into place), as node_exporter's textfile collector requires:
 * it must never read half a file.
 */
export function writeMetricsFile(file: string, families: readonly MetricFamily[]): void {
    writeFileAtomically(file, renderMetrics(families));
}

/** Violations per policy and level for one stack; every policy the pack ran appears, at 0 when clean. */
export function policyViolationMetrics(report: PolicyReport): MetricFamily {
    const samples: MetricSample[] = [];
    for (const [policy, level] of Object.entries(report.enforcement).sort(([a], [b]) => a.localeCompare(b))) {
        if (level === "disabled") {
            continue;
        }
        const count = report.violations.filter((v) => v.policyName === policy).length;
        samples.push({ labels: { stack: report.stack, policy, enforcement_level: level }, value: count });
    }
    return {
        name: CI_METRIC.policyViolations,
        help: "Policy pack violations of the last synth or preview of a stack, per policy.",
        type: "gauge",
        samples,
    };
}

/** Required sign-offs per release and environment, signed and missing. */
export function releaseSignoffMetrics(releases: readonly ReleaseStatus[]): MetricFamily {
    const samples = releases.flatMap((r) => [
        {
            labels: { tag: r.tag, environment: r.environment, state: "signed" },
            value: r.signed.filter((role) => r.required.includes(role)).length,
        },
        { labels: { tag: r.tag, environment: r.environment, state: "missing" }, value: r.missing.length },
    ]);
    return {
        name: CI_METRIC.releaseSignoffs,
        help: "Required release sign-offs in the provenance ledger, signed and missing, per release and environment.",
        type: "gauge",
        samples,
    };
}

/**
 * The last cut per cadence target (rules lastReleaseCuts over the sign-off ledger), what the cadence alerts read:
 * one series per target, labelled with the tag that was cut.
 */
export function releaseCutMetrics(cuts: readonly ReleaseCut[]): MetricFamily {
    return {
        name: CADENCE_METRIC.lastCut,
        help: "Unix time of the last cut per release target (the Release Manager's sign-off in the ledger).",
        type: "gauge",
        samples: cuts.map((c) => ({ labels: { target: c.target, tag: c.tag }, value: c.timestampSeconds })),
    };
}

/** Broken relative links per reviewed document (0 for a clean one). */
export function brokenLinkMetrics(reviewed: readonly string[], problems: readonly Problem[]): MetricFamily {
    const samples = reviewed.map((file) => ({
        labels: { file },
        value: problems.filter((p) => p.file === file && /link target/.test(p.message)).length,
    }));
    return {
        name: CI_METRIC.docsBrokenLinks,
        help: "Relative links in README.md and docs/*.md whose target does not exist.",
        type: "gauge",
        samples,
    };
}
