/**
 * Measures, with promtool, when each SLO alert design fires and resolves under the traffic shapes the alerting goals name
 * (1-minute evaluation, 1000 requests/min), for this stack's design and for the SRE workbook's windows that Sloth
 * generates. Each figure comes from a probe expression whose result promtool prints (the probe's expectation is
 * impossible on purpose, so promtool reports what it got). docs/slo-alerting.md tabulates the output.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { URGENCY } from "../core/conventions";
import { Guardrails, loadGuardrails, SloObjective } from "../core/guardrails";
import { shippedStackConfig } from "../offline/shippedStacks";
import { StackConfig } from "../core/stackConfig";
import { BurnRateAlert, durationSeconds, longestWindow, SLO_BURN_ALERTS, WORKBOOK_BURN_ALERTS } from "../rules/design";
import { renderRuleFile } from "../rules/index";
import { inParallel, promtoolAsync } from "./promtool";
import { buildSloGroup, percent } from "../rules/slo";
import { sliHistogram, TrafficPhase } from "./synthetic";

export interface MeasureScenario {
    /** Row label; `{share}` becomes the share of slow requests at the measured objective. */
    readonly name: string;
    /** Share of requests slower than the threshold, as a multiple of the budget (1 - objective); "max" = all. */
    readonly burn: number | "max";
    /** How long the bad traffic lasts (minutes); then healthy until the horizon. */
    readonly badMinutes: number;
    /** How long after the start to look (minutes). */
    readonly horizonMinutes: number;
    /** Needs the full history of every window (ticket figures), not just the page's. */
    readonly ticket?: boolean;
    /** Requests per minute around the bad traffic (default: the synthetic 1000/min; 0.25 is a trickle, 0 idle). */
    readonly baseRate?: number;
    /** Instead of a share: this many slow requests in one minute (`burn` and `badMinutes` are then ignored). */
    readonly burst?: number | "gate" | "gate+1";
}

/** The rows of the docs table: the alerting goals' traffic plus a 6x burn (where the workbook's 6x page gives up). */
export const MEASURE_SCENARIOS: readonly MeasureScenario[] = [
    { name: "every request slow", burn: "max", badMinutes: 8 * 60, horizonMinutes: 8 * 60 },
    { name: "{share} slow (7x)", burn: 7, badMinutes: 8 * 60, horizonMinutes: 8 * 60 },
    { name: "{share} slow (6x)", burn: 6, badMinutes: 8 * 60, horizonMinutes: 8 * 60 },
    { name: "{share} slow (2x)", burn: 2, badMinutes: 2 * 24 * 60, horizonMinutes: 2 * 24 * 60, ticket: true },
    { name: "{share} slow (0.6x)", burn: 0.6, badMinutes: 2 * 24 * 60, horizonMinutes: 2 * 24 * 60, ticket: true },
    { name: "every request slow for 3m", burn: "max", badMinutes: 3, horizonMinutes: 8 * 60 },
    { name: "every request slow for 1h, then healthy", burn: "max", badMinutes: 60, horizonMinutes: 8 * 60 },
    // Low traffic: the minimum-traffic gate (guardrails slo.maxSlowRequestsWithoutAlert, shown as N).
    {
        name: "trickle (1 request / 4 min), a burst of N slow",
        burn: "max",
        badMinutes: 1,
        horizonMinutes: 2 * 24 * 60,
        ticket: true,
        baseRate: 0.25,
        burst: "gate",
    },
    {
        name: "trickle (1 request / 4 min), a burst of N+1 slow",
        burn: "max",
        badMinutes: 1,
        horizonMinutes: 2 * 24 * 60,
        ticket: true,
        baseRate: 0.25,
        burst: "gate+1",
    },
    {
        name: "no other traffic, a burst of N slow",
        burn: "max",
        badMinutes: 1,
        horizonMinutes: 2 * 24 * 60,
        ticket: true,
        baseRate: 0,
        burst: "gate",
    },
    {
        name: "trickle (1 request / 4 min), every request slow",
        burn: "max",
        badMinutes: 8 * 60,
        horizonMinutes: 8 * 60,
        baseRate: 0.25,
    },
];

export interface Measurement {
    readonly design: string;
    readonly scenario: string;
    /** Minutes from the first slow request to the first firing page / ticket; undefined = never within the horizon. */
    readonly pageAfterMinutes?: number;
    readonly ticketAfterMinutes?: number;
    /** Minutes from the end of the bad traffic until the page stopped firing (when it fired). */
    readonly pageResolvedAfterMinutes?: number;
    readonly horizonMinutes: number;
}

const PROBE_SENTINEL = -1;

function probe(expr: string, evalMinutes: number) {
    return { expr, eval_time: `${evalMinutes}m`, exp_samples: [{ labels: "{}", value: PROBE_SENTINEL }] };
}

/** Parse promtool's failure report: expr -> the value it got (undefined for an empty result). */
export function parseProbeResults(output: string): Map<string, number | undefined> {
    const results = new Map<string, number | undefined>();
    const re = /expr: ("(?:[^"\\]|\\.)*"), time: [^\n]*\n\s+exp: [^\n]*\n\s+got: ([^\n]*)/g;
    for (let m = re.exec(output); m; m = re.exec(output)) {
        const expr = JSON.parse(m[1]) as string;
        const got = m[2].trim();
        results.set(expr, got === "nil" ? undefined : Number(got.split(" ").pop()));
    }
    return results;
}

async function measureOne(
    dir: string,
    designName: string,
    design: readonly BurnRateAlert[],
    config: StackConfig,
    guardrails: Guardrails,
    slo: SloObjective,
    s: MeasureScenario,
): Promise<Measurement> {
    const budget = 1 - slo.objective;
    const warmup =
        durationSeconds(
            s.ticket ? longestWindow(design) : longestWindow(design.filter((a) => a.urgency === URGENCY.page)),
        ) / 60;
    const badShare = s.burn === "max" ? 1 : s.burn * budget;
    const maxSlow = guardrails.slo.maxSlowRequestsWithoutAlert;
    const burst = s.burst === "gate" ? maxSlow : s.burst === "gate+1" ? maxSlow + 1 : s.burst;
    const perMinute = s.baseRate;
    const phases: TrafficPhase[] = [
        { minutes: warmup, badShare: 0, perMinute },
        burst === undefined
            ? { minutes: s.badMinutes, badShare, perMinute }
            : { minutes: 1, badShare: 1, perMinute: burst },
        { minutes: s.horizonMinutes - s.badMinutes, badShare: 0, perMinute },
    ];
    const end = warmup + s.horizonMinutes;
    const range = `[${s.horizonMinutes}m:1m]`;
    const ts = (urgency: string) => `timestamp(ALERTS{alertstate="firing",urgency="${urgency}"})`;
    const exprs = {
        page: `min(min_over_time(${ts(URGENCY.page)}${range})) - ${warmup * 60}`,
        ticket: `min(min_over_time(${ts(URGENCY.ticket)}${range})) - ${warmup * 60}`,
        lastPage: `max(max_over_time(${ts(URGENCY.page)}${range})) - ${(warmup + s.badMinutes) * 60}`,
    };
    const base = `${designName}-${MEASURE_SCENARIOS.indexOf(s)}`;
    const group = buildSloGroup(config, guardrails, slo, design);
    fs.writeFileSync(path.join(dir, `${base}.rules.yaml`), renderRuleFile([group]));
    fs.writeFileSync(
        path.join(dir, `${base}.test.yaml`),
        yaml.dump(
            {
                rule_files: [`${base}.rules.yaml`],
                evaluation_interval: "1m",
                group_eval_order: [group.name],
                tests: [
                    {
                        interval: "1m",
                        input_series: sliHistogram(slo.sli, phases),
                        promql_expr_test: Object.values(exprs).map((e) => probe(e, end)),
                    },
                ],
            },
            { lineWidth: -1 },
        ),
    );
    const r = await promtoolAsync(["test", "rules", `${base}.test.yaml`], dir);
    const got = parseProbeResults(r.stdout + r.stderr);
    if (got.size !== Object.keys(exprs).length) {
        throw new Error(`promtool did not report every probe for ${designName} / ${s.name}:\n${r.stdout}${r.stderr}`);
    }
    const mins = (e: string, plus = 0) => {
        const v = got.get(e);
        return v === undefined ? undefined : v / 60 + plus;
    };
    const page = mins(exprs.page);
    return {
        design: designName,
        scenario: s.name
            .replace("{share}", percent(badShare))
            .replace("N+1", String(maxSlow + 1))
            .replace(/\bN\b/, String(maxSlow)),
        pageAfterMinutes: page,
        // Without the full history of the ticket's windows its figure would be an artefact of the warm-up.
        ticketAfterMinutes: s.ticket ? mins(exprs.ticket) : undefined,
        // The last firing evaluation, plus the one after it that found the condition false.
        pageResolvedAfterMinutes:
            page === undefined || s.badMinutes >= s.horizonMinutes ? undefined : mins(exprs.lastPage, 1),
        horizonMinutes: s.horizonMinutes,
    };
}

/** Measure this stack's design and the workbook's for one SLO (the first of the stack by default). */
export async function measureDesigns(
    config: StackConfig,
    guardrails: Guardrails,
    slo: SloObjective = config.slos[0],
): Promise<Measurement[]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-measure-"));
    try {
        const designs: Array<[string, readonly BurnRateAlert[]]> = [
            ["maestro", SLO_BURN_ALERTS],
            ["sloth", WORKBOOK_BURN_ALERTS],
        ];
        const tasks = designs.flatMap(([name, d]) =>
            MEASURE_SCENARIOS.map((s) => () => measureOne(dir, name, d, config, guardrails, slo, s)),
        );
        return await inParallel(tasks, Math.max(1, Math.min(2, os.cpus().length)));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** "1h05m", or "none in 2d" when the alert never fired within the horizon. */
export function formatMinutes(m: number | undefined, horizonMinutes: number): string {
    if (m === undefined) {
        return `none in ${horizonMinutes % 1440 === 0 ? `${horizonMinutes / 1440}d` : `${horizonMinutes / 60}h`}`;
    }
    const h = Math.floor(m / 60);
    const rest = Math.round(m - h * 60);
    return h > 0 ? `${h}h${String(rest).padStart(2, "0")}m` : `${rest}m`;
}

/** The markdown table in docs/slo-alerting.md. */
export function measurementTable(ms: readonly Measurement[]): string {
    const rows = [
        "| traffic | page (maestro) | page (Sloth) | ticket (maestro) | ticket (Sloth) | page resolves after the end (maestro) | (Sloth) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ];
    const byDesign = (design: string) => ms.filter((m) => m.design === design);
    for (const [i, s] of MEASURE_SCENARIOS.entries()) {
        const of = (design: string): Measurement | undefined => byDesign(design)[i];
        const [a, b] = [of("maestro"), of("sloth")];
        if (!a || !b) {
            continue;
        }
        const ticket = (m: Measurement) => (s.ticket ? formatMinutes(m.ticketAfterMinutes, m.horizonMinutes) : "-");
        const res = (m: Measurement) =>
            m.pageResolvedAfterMinutes === undefined
                ? "-"
                : formatMinutes(m.pageResolvedAfterMinutes, m.horizonMinutes);
        rows.push(
            `| ${a.scenario} | ${formatMinutes(a.pageAfterMinutes, a.horizonMinutes)} | ${formatMinutes(b.pageAfterMinutes, b.horizonMinutes)} | ` +
                `${ticket(a)} | ${ticket(b)} | ${res(a)} | ${res(b)} |`,
        );
    }
    return rows.join("\n");
}

/** `node bin/verify/measure.js [stack]`: print the table for docs/slo-alerting.md. */
if (require.main === module) {
    void (async () => {
        const stack = process.argv[2] ?? "prod";
        const g = loadGuardrails();
        const config = shippedStackConfig(stack, g);
        process.stdout.write(`${measurementTable(await measureDesigns(config, g))}\n`);
    })().catch((err: unknown) => {
        process.stderr.write(`${String(err)}\n`);
        process.exitCode = 1;
    });
}
