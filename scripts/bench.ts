/**
 * `npm run bench`: prints the speed and memory figures the targets are stated in, measured on this machine:
 * synth wall time and peak memory per stack and for --all, next to the floor (a bare node process loading exactly
 * the node_modules files synth loads) as a ratio; the rules' size and promtool suite time; the policy pack's
 * evaluation time; each real-server alerting phase's time (Prometheus, Alertmanager, Pushgateway); and the jest
 * suite's wall time (skip it with --no-tests).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseFlags, runMain, single, UsageError } from "./cli";
import { repoRoot } from "../core/validation";

const USAGE = `usage: npm run bench [-- --runs N] [--no-tests]
  --runs N     repetitions per measurement, the median is reported (default 3)
  --no-tests   skip timing the jest suite`;

interface Sample {
    readonly wallMs: number;
    readonly maxRssMiB: number;
    readonly modules: string[];
}

const PROBE = path.join(__dirname, "benchProbe.js");
const SYNTH = path.join(__dirname, "synth.js");

function measure(args: string[], opts: { modules?: boolean } = {}): Sample {
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-")), "report.json");
    const env = {
        ...process.env,
        MAESTRO_BENCH_REPORT: report,
        ...(opts.modules ? { MAESTRO_BENCH_MODULES: "1" } : {}),
    };
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["--require", PROBE, ...args], { cwd: repoRoot, env, encoding: "utf8" });
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) {
        throw new Error(`benchmark run failed: node ${args.join(" ")}\n${r.stderr}`);
    }
    const { maxRssKiB, modules } = JSON.parse(fs.readFileSync(report, "utf8")) as {
        maxRssKiB: number;
        modules: string[];
    };
    return { wallMs, maxRssMiB: maxRssKiB / 1024, modules };
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

function repeat(runs: number, f: () => Sample): { wallMs: number; maxRssMiB: number } {
    const samples = Array.from({ length: runs }, f);
    return { wallMs: median(samples.map((s) => s.wallMs)), maxRssMiB: median(samples.map((s) => s.maxRssMiB)) };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (m: number) => `${m.toFixed(0)} MiB`;

async function main(): Promise<number> {
    const flags = parseFlags(process.argv.slice(2), { values: ["runs"], booleans: ["no-tests"] }, USAGE);
    const runs = Number(single(flags, "runs", USAGE) ?? "3");
    if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
        throw new UsageError("--runs takes a whole number from 1 to 20", USAGE);
    }
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-out-"));
    process.stdout.write(
        `maestro guardrails benchmark: ${os.cpus().length} cores, node ${process.version}, median of ${runs} runs\n\n`,
    );

    // The floor loads exactly what an --all synth loads from node_modules, and does nothing else.
    const loaded = measure([SYNTH, "--all", "--out", out], { modules: true }).modules;
    const floorScript = path.join(out, "floor.js");
    fs.writeFileSync(floorScript, loaded.map((m) => `require(${JSON.stringify(m)});`).join("\n"));
    const floor = repeat(runs, () => measure([floorScript]));
    process.stdout.write(
        `floor (node loading the same ${loaded.length} node_modules files): ${fmt(floor.wallMs)}, peak ${mib(floor.maxRssMiB)}\n\n`,
    );

    const rows: string[][] = [["synth", "wall", "x floor", "peak RSS", "x floor"]];
    const cases: Array<[string, string[]]> = [
        ...["dev", "staging", "prod"].map((s): [string, string[]] => [
            `--stack ${s}`,
            ["--stack", s, "--out", path.join(out, s)],
        ]),
        ["--all", ["--all", "--out", out]],
    ];
    for (const [label, args] of cases) {
        const m = repeat(runs, () => measure([SYNTH, ...args]));
        rows.push([
            label,
            fmt(m.wallMs),
            (m.wallMs / floor.wallMs).toFixed(2),
            mib(m.maxRssMiB),
            (m.maxRssMiB / floor.maxRssMiB).toFixed(2),
        ]);
    }
    process.stdout.write(table(rows) + "\n");
    process.stdout.write("targets: --all under 5 s and within 2x of the floor\n\n");

    for (const [title, figures] of await capabilityFigures()) {
        process.stdout.write(
            `${title}\n${table([["figure", "value"], ...Object.entries(figures).map(([k, v]) => [k, String(v)])])}\n\n`,
        );
    }

    if (!flags.booleans.has("no-tests")) {
        const start = process.hrtime.bigint();
        const r = spawnSync(
            process.execPath,
            [path.join(repoRoot, "node_modules", "jest", "bin", "jest.js"), "--silent"],
            { cwd: repoRoot, encoding: "utf8" },
        );
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        process.stdout.write(`jest suite: ${fmt(ms)} (${r.status === 0 ? "passed" : "FAILED"}; target under 60 s)\n`);
    }
    return 0;
}

/** Figures other capabilities contribute (rules: promtool suite time; policies: evaluation time). */
async function capabilityFigures(): Promise<Array<[string, Record<string, number | string>]>> {
    const sources: Array<[string, string, string]> = [
        ["Prometheus rules", "../verify/ruleBench", "rulesBenchFigures"],
        ["Policy pack", "../verify/policyBench", "policyBenchFigures"],
        [
            "Alerting on real servers (Prometheus, Alertmanager, Pushgateway)",
            "../verify/alerting",
            "alertingBenchFigures",
        ],
    ];
    const result: Array<[string, Record<string, number | string>]> = [];
    for (const [title, mod, fn] of sources) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const m = require(mod) as Record<string, () => Promise<Record<string, number | string>>>;
        result.push([title, await m[fn]()]);
    }
    return result;
}

function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows
        .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "))
        .join("\n");
}

runMain(main);
