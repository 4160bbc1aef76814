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

type StartKind = "built" | "ts-node type-checking" | "ts-node cached";

/**
 * The pack's start (spawn to port) as the CLI runs it now, the built bundle (policies/bin/index.js), next to the
 * TypeScript sources through run-policy-pack's ts-node, how the pack ran before it was built, alternated in one
 * run. ts-node type-checks the pack unless its compile cache (in the temp folder, keyed by the sources) already
 * holds it: "type-checking" is each start on a fresh machine (CI) or after any change to the pack or the code it
 * imports, measured with an empty cache each time; "cached" is a repeat start with nothing changed. Target: the
 * built start at most half of the type-checking one.
 */
export async function packStartFigures(runs = START_RUNS): Promise<Record<string, number | string>> {
    const build = await buildPolicyPack();
    const starts: Record<StartKind, number[]> = { built: [], "ts-node type-checking": [], "ts-node cached": [] };
    const caches = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-ts-node-"));
    const warmCache = path.join(caches, "warm");
    try {
        for (let i = 0; i < runs; i++) {
            for (const kind of Object.keys(starts) as StartKind[]) {
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
                starts[kind].push(pack.startMs);
                await stopPolicyPack(pack.child);
            }
        }
    } finally {
        fs.rmSync(caches, { recursive: true, force: true });
    }
    const m = (k: StartKind) => median(starts[k]);
    return {
        [`pack build (esbuild, ${Math.round(build.bytes / 1024)} KiB bundle, ms)`]: Math.round(build.ms),
        [`pack start, built bin/index.js (spawn to port, median of ${runs}, ms)`]: Math.round(m("built")),
        [`pack start, ts-node index.ts type-checking (median of ${runs}, ms)`]: Math.round(m("ts-node type-checking")),
        [`pack start, ts-node index.ts from its cache (median of ${runs}, ms)`]: Math.round(m("ts-node cached")),
        "built / ts-node type-checking (target at most 0.50)": (m("built") / m("ts-node type-checking")).toFixed(2),
        "built / ts-node from its cache": (m("built") / m("ts-node cached")).toFixed(2),
    };
}

/**
 * `npm run bench` figures: the pack's start-up, built and through ts-node, and the evaluation time of each shipped
 * stack (every Analyze call plus AnalyzeStack) in one built pack process, for an `up` and a first preview.
 */
export async function policyBenchFigures(): Promise<Record<string, number | string>> {
    const figures: Record<string, number | string> = await packStartFigures();
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
