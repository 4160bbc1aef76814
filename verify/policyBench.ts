import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadGuardrails } from "../core/guardrails";
import { shippedStackFile } from "../offline/shippedStacks";
import { PolicyAnalyzer, analyzeRun } from "../offline/policyAnalyzer";
import { buildPolicyPack } from "../offline/policyPackBuild";
import { spawnPolicyPack, stopPolicyPack } from "../offline/policyPackProcess";
import { synthStack } from "../offline/synth";

/** Starts of each kind, alternated so both see the same machine load; the median is reported. */
const START_RUNS = 3;

function median(xs: readonly number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

export type StartKind = "built" | "ts-node type-checking" | "ts-node cached";

/** The pack's starts, each kind's median, and the build that preceded them. */
export interface PackStarts {
    readonly runs: number;
    readonly medianMs: Readonly<Partial<Record<StartKind, number>>>;
    readonly buildMs: number;
    readonly bundleBytes: number;
}

/**
 * The pack's start (spawn to port) as the CLI runs it now, the built bundle (policies/bin/index.js), next to the
 * TypeScript sources through run-policy-pack's ts-node, how the pack ran before it was built, alternated in one
 * run. ts-node type-checks the pack unless its compile cache (in the temp folder, keyed by the sources) already
 * holds it: "type-checking" is each start on a fresh machine (CI) or after any change to the pack or the code it
 * imports, measured with an empty cache each time; "cached" is a repeat start with nothing changed (left out when
 * `kinds` does not name it). Target: the built start at most half of the type-checking one.
 */
export async function packStarts(
    runs = START_RUNS,
    kinds: readonly StartKind[] = ["built", "ts-node type-checking", "ts-node cached"],
): Promise<PackStarts> {
    const build = await buildPolicyPack();
    const starts = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Partial<Record<StartKind, number[]>>;
    const caches = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-ts-node-"));
    const warmCache = path.join(caches, "warm");
    try {
        for (let i = 0; i < runs; i++) {
            for (const kind of kinds) {
                const cache = kind === "ts-node cached" ? warmCache : path.join(caches, `cold-${i}`);
                if (kind === "ts-node cached" && i === 0) {
                    // Fill the cache first, as an earlier start on the same machine would have.
                    const fill = await spawnPolicyPack({ entry: "ts-node", env: { TS_NODE_CACHE_DIRECTORY: cache } });
                    await stopPolicyPack(fill.child);
                }
                const pack = await spawnPolicyPack(
                    kind === "built"
                        ? { entry: "built", build: false }
                        : { entry: "ts-node", env: { TS_NODE_CACHE_DIRECTORY: cache } },
                );
                starts[kind]?.push(pack.startMs);
                await stopPolicyPack(pack.child);
            }
        }
    } finally {
        fs.rmSync(caches, { recursive: true, force: true });
    }
    return {
        runs,
        medianMs: Object.fromEntries(kinds.map((k) => [k, median(starts[k] ?? [])])),
        buildMs: build.ms,
        bundleBytes: build.bytes,
    };
}

/** packStarts as `npm run bench` prints them. */
export function packStartFigures(p: PackStarts): Record<string, number | string> {
    const m = p.medianMs;
    const figures: Record<string, number | string> = {
        [`pack build (esbuild, ${Math.round(p.bundleBytes / 1024)} KiB bundle, ms)`]: Math.round(p.buildMs),
    };
    const labels: Record<StartKind, string> = {
        built: `pack start, built bin/index.js (spawn to port, median of ${p.runs}, ms)`,
        "ts-node type-checking": `pack start, ts-node index.ts type-checking (median of ${p.runs}, ms)`,
        "ts-node cached": `pack start, ts-node index.ts from its cache (median of ${p.runs}, ms)`,
    };
    for (const [kind, ms] of Object.entries(m) as Array<[StartKind, number]>) {
        figures[labels[kind]] = Math.round(ms);
    }
    if (m.built !== undefined && m["ts-node type-checking"] !== undefined) {
        figures["built / ts-node type-checking (target at most 0.50)"] = (m.built / m["ts-node type-checking"]).toFixed(
            2,
        );
    }
    if (m.built !== undefined && m["ts-node cached"] !== undefined) {
        figures["built / ts-node from its cache"] = (m.built / m["ts-node cached"]).toFixed(2);
    }
    return figures;
}

/**
 * `npm run bench` figures: the evaluation time of each shipped stack (every Analyze call plus AnalyzeStack) in one
 * built pack process, for an `up` and a first preview (the pack's start: packStarts).
 */
export async function policyBenchFigures(): Promise<Record<string, number | string>> {
    const figures: Record<string, number | string> = {};
    const analyzer = await PolicyAnalyzer.start({ build: false });
    try {
        for (const stack of loadGuardrails().environments) {
            for (const preview of [false, true]) {
                const result = await synthStack({ stack, preview });
                const config = shippedStackFile(stack);
                const report = await analyzeRun(analyzer, result.run, { config });
                figures[`${stack} ${result.run.mode}: evaluation ms (${result.run.resources.length} resources)`] =
                    Math.round(report.timings.analyzeMs + report.timings.analyzeStackMs);
                figures[`${stack} ${result.run.mode}: mandatory / advisory violations`] =
                    `${report.mandatory} / ${report.advisory}`;
            }
        }
    } finally {
        await analyzer.close();
    }
    return figures;
}
