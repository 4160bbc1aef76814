/**
 * Synthetic telemetry for promtool tests: counters in promtool's expanding notation ("a+bxn"), histograms for an
 * SLI with a chosen share of slow requests, phase by phase, one sample per minute.
 */
import { LabelMatcher, Sli, leLabel, leValues } from "../core/guardrails";

/** The load profile of the SLO tests (docs/slo-alerting.md's measurements): 1000 requests per minute (a test input, not a guardrail). */
export const SYNTHETIC_REQUESTS_PER_MINUTE = 1000;

/** One stretch of a counter: `minutes` samples each adding `perMinute`, or `minutes` without samples after a stale marker. */
export type CounterPhase =
    { readonly minutes: number; readonly perMinute: number } | { readonly minutes: number; readonly gone: true };

/** promtool `values` for a counter that starts at 0 at minute 0 and then follows the phases. */
export function counterValues(phases: readonly CounterPhase[]): string {
    const parts = ["0"];
    let value = 0;
    for (const p of phases) {
        if (p.minutes <= 0) {
            continue;
        }
        if ("gone" in p) {
            parts.push("stale");
            if (p.minutes > 1) {
                parts.push(`_x${p.minutes - 1}`);
            }
            continue;
        }
        const first = value + p.perMinute;
        parts.push(p.minutes === 1 ? num(first) : `${num(first)}+${num(p.perMinute)}x${p.minutes - 1}`);
        value += p.perMinute * p.minutes;
    }
    return parts.join(" ");
}

function num(x: number): string {
    return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(15)));
}

/**
 * One stretch of traffic: `minutes` at `badShare` of requests slower than the threshold (or no telemetry at all).
 * `perMinute` overrides the series' request rate for the stretch (0: idle, counters flat; 0.25: a trickle); keep
 * it and its slow share binary-exact (quarters), or promtool's counters drift (docs: NOTES on promtool).
 */
export type TrafficPhase =
    | { readonly minutes: number; readonly badShare: number; readonly perMinute?: number }
    | { readonly minutes: number; readonly gone: true };

/** How the threshold bucket's `le` is spelled: as the client writes it (Prometheus 2) or as Prometheus 3 stores it. */
export type LeSpelling = "client" | "prometheus3";

/** The `le` value a Prometheus of that version stores for a bound (OpenMetrics float form for Prometheus 3). */
export function storedLe(seconds: number, spelling: LeSpelling): string {
    if (spelling === "client") {
        return leLabel(seconds);
    }
    const values = leValues(seconds);
    return values.find((v) => /[.e]/.test(v)) ?? `${values[0]}.0`;
}

export interface InputSeries {
    readonly series: string;
    readonly values: string;
}

/** A label value that satisfies a matcher, so synthetic series are selected by the SLI exactly as real ones. */
export function labelValueFor(m: LabelMatcher): string | undefined {
    const full = (re: string) => new RegExp(`^(?:${re})$`);
    switch (m.op) {
        case "=":
            return m.value;
        case "!=":
            if (m.value !== "") {
                return undefined;
            }
            break;
        case "=~": {
            const candidate = m.value.split("|").find((c) => /^[\w.:-]+$/.test(c) && full(m.value).test(c));
            if (candidate !== undefined) {
                return candidate;
            }
            break;
        }
        case "!~":
            if (!full(m.value).test("")) {
                return undefined;
            }
            break;
    }
    throw new Error(
        `cannot synthesize a series for matcher ${m.label}${m.op}${JSON.stringify(m.value)}; give the test an explicit label value`,
    );
}

function selector(metric: string, labels: ReadonlyArray<[string, string]>): string {
    return `${metric}{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
}

/**
 * The histogram series an SLI reads: the threshold bucket (fast requests), the +Inf bucket and `_count` (all
 * requests). `bucket: false` drops the threshold bucket, as a service exporting the wrong bounds would.
 */
export function sliHistogram(
    sli: Sli,
    phases: readonly TrafficPhase[],
    opts: { bucket?: boolean; perMinute?: number; le?: LeSpelling; labels?: Readonly<Record<string, string>> } = {},
): InputSeries[] {
    const rate = (p: { perMinute?: number }) => p.perMinute ?? opts.perMinute ?? SYNTHETIC_REQUESTS_PER_MINUTE;
    const labels: Array<[string, string]> = Object.entries(opts.labels ?? {});
    for (const m of sli.matchers) {
        const v = labelValueFor(m);
        if (v !== undefined) {
            labels.push([m.label, v]);
        }
    }
    const all = counterValues(phases.map((p) => ("gone" in p ? p : { minutes: p.minutes, perMinute: rate(p) })));
    // Fast requests per minute, to the nearest quarter: whole numbers at 1000/min, binary-exact at a trickle.
    const fast = counterValues(
        phases.map((p) =>
            "gone" in p ? p : { minutes: p.minutes, perMinute: Math.round(rate(p) * (1 - p.badShare) * 4) / 4 },
        ),
    );
    const series: InputSeries[] = [
        { series: selector(`${sli.metric}_bucket`, [...labels, ["le", "+Inf"]]), values: all },
        { series: selector(`${sli.metric}_count`, labels), values: all },
    ];
    if (opts.bucket !== false) {
        series.unshift({
            series: selector(`${sli.metric}_bucket`, [
                ...labels,
                ["le", storedLe(sli.thresholdSeconds, opts.le ?? "client")],
            ]),
            values: fast,
        });
    }
    return series;
}

/** Total minutes of a list of phases. */
export function phaseMinutes(phases: ReadonlyArray<{ minutes: number }>): number {
    return phases.reduce((s, p) => s + p.minutes, 0);
}
