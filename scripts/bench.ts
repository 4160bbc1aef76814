/**
 * `npm run bench`: every figure the speed targets are stated in, measured on this machine in one run, each next to
 * its target and the ratio, then all of them again in one table:
 * - synth per stack and with --all: wall time and peak memory against the floor (a bare node process loading
 *   exactly the node_modules files synth loads; also shown through the code cache synth uses, offline/codeCache.ts),
 *   the cases interleaved run by run so each sees the same load.
 *   Targets: --all within 2x of the floor and under 5 s, a single stack within 1.8x (time and memory alike);
 * - the policy pack's start (spawn to port), built, against its TypeScript sources through ts-node: at most half;
 * - how synth --all grows with the number of SLOs: guardrails files of 5 (the shipped objectives), 20 and 80 (the
 *   shipped ones repeated, each copy on its own `shard` label), each in a copy of the tree. The repository root is
 *   where the code sits (core/validation.ts repoRoot), so a copy holding another guardrails/guardrails.yaml is how
 *   synth reads another guardrails file; the program has no override a deploy could be pointed with. Target: no
 *   worse than linear: the cost per SLO added from 20 to 80 at most 1.10x the average from 5 to 80 (a linear cost
 *   gives 1.00, one growing with the square of the SLOs 1.18);
 * - the test suite as `npm test` runs it (scripts/check.ts): each check alone from empty caches as CI starts, and
 *   again with the caches filled, then npm test whole from empty caches (jest, the four beside it at low priority),
 *   jest's files in groups
 *   (which processes they start). Target: under 60 s. This empties `.cache/` first and leaves it filled;
 * - unless --quick: the rules' promtool suite, the pack's evaluation of each stack, the real-server phases.
 * The load average is printed before and after: on a busy machine every wall time is inflated, so the CPU time of
 * each run (its processes' user + system time, on Linux) is printed beside it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { parseFlags, runMain, single, UsageError } from "./cli";
import { childrenCpuMs, childrenCpuSince } from "./childCpu";
import type { CheckTiming, CheckTimings } from "./check";
import { copyOfTree } from "../verify/treeCopy";
import type { JestResults } from "./testDurations";
import { repoRoot } from "../core/validation";
import { bundleCollector } from "../offline/collectorBundle";
// The code cache's hook (offline/useCodeCache.ts), which synth and its pack load first.
import { CODE_CACHE_HOOK } from "../offline/policyPackProcess";

const USAGE = `usage: npm run bench [-- --runs N] [--quick] [--no-tests]
  --runs N     repetitions per measurement, the median is reported (default 3; 1 with --quick)
  --quick      one run each, the pack's start built and type-checking only, without the figures that have no
               target (promtool suite, pack evaluation, real-server phases)
  --no-tests   skip timing the test suite (npm test's checks and jest)`;

interface Sample {
    readonly wallMs: number;
    /** CPU of the process and its children (synth's includes the pack's); undefined off Linux. */
    readonly cpuMs?: number;
    readonly maxRssMiB: number;
    readonly modules: string[];
    readonly stdout: string;
}

interface Median {
    readonly wallMs: number;
    readonly cpuMs?: number;
    readonly maxRssMiB: number;
    readonly stdout: string;
}

/** One row of the closing table: a figure, its target, the ratio to it, and whether it is met. */
interface Target {
    readonly figure: string;
    readonly value: string;
    readonly target: string;
    readonly ratio: number;
    readonly limit: number;
}

const PROBE = path.join(__dirname, "benchProbe.js");
const SYNTH = path.join(__dirname, "synth.js");
const CHECK = path.join(__dirname, "check.js");

function measure(args: string[], opts: { modules?: boolean; cwd?: string } = {}): Sample {
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-")), "report.json");
    const env = {
        ...process.env,
        MAESTRO_BENCH_REPORT: report,
        ...(opts.modules ? { MAESTRO_BENCH_MODULES: "1" } : {}),
    };
    const start = process.hrtime.bigint();
    const cpu = childrenCpuMs();
    const r = spawnSync(process.execPath, ["--require", PROBE, ...args], {
        cwd: opts.cwd ?? repoRoot,
        env,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    const cpuMs = childrenCpuSince(cpu);
    if (r.status !== 0) {
        throw new Error(`benchmark run failed: node ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
    }
    const { maxRssKiB, modules } = JSON.parse(fs.readFileSync(report, "utf8")) as {
        maxRssKiB: number;
        modules: string[];
    };
    fs.rmSync(path.dirname(report), { recursive: true, force: true });
    return { wallMs, cpuMs, maxRssMiB: maxRssKiB / 1024, modules, stdout: r.stdout };
}

function median(xs: readonly number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

function medianOf(samples: readonly Sample[]): Median {
    const cpu = samples.flatMap((s) => (s.cpuMs === undefined ? [] : [s.cpuMs]));
    return {
        wallMs: median(samples.map((s) => s.wallMs)),
        cpuMs: cpu.length === samples.length ? median(cpu) : undefined,
        maxRssMiB: median(samples.map((s) => s.maxRssMiB)),
        stdout: samples[0].stdout,
    };
}

/** Run every case once per round, `runs` rounds, so the cases share the machine's load; medians per case. */
function interleaved(runs: number, cases: ReadonlyArray<readonly [string, () => Sample]>): Map<string, Median> {
    const samples = new Map<string, Sample[]>(cases.map(([label]) => [label, []]));
    for (let i = 0; i < runs; i++) {
        for (const [label, run] of cases) {
            samples.get(label)?.push(run());
        }
    }
    return new Map([...samples].map(([label, s]) => [label, medianOf(s)]));
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const cpuText = (ms: number | undefined) => (ms === undefined ? "-" : secs(ms));
const mib = (m: number) => `${m.toFixed(0)} MiB`;
const x = (r: number) => `${r.toFixed(2)}x`;

function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    return rows
        .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "))
        .join("\n");
}

function load(): string {
    return os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(", ");
}

/** The shipped objectives repeated to `n`, each repeat on its own `shard` label so every SLI stays distinct. */
function scaledGuardrails(text: string, n: number): string {
    const doc = yaml.load(text) as { slo: { objectives: Array<Record<string, unknown>> } };
    const base = doc.slo.objectives;
    doc.slo.objectives = Array.from({ length: n }, (_, i) => {
        const o = base[i % base.length] as { id: string; title: string; sli: { matchers: unknown[] } };
        const k = Math.floor(i / base.length);
        return k === 0
            ? o
            : {
                  ...o,
                  id: `${o.id}-${k}`,
                  title: `${o.title} (${k})`,
                  sli: { ...o.sli, matchers: [...o.sli.matchers, { label: "shard", op: "=", value: String(k) }] },
              };
    });
    return yaml.dump(doc, { lineWidth: -1 });
}

/** A copy of the tree (verify/treeCopy.ts) whose guardrails file holds `objectives` SLOs. */
function treeWithObjectives(objectives: number): string {
    const dir = copyOfTree(`maestro-bench-slo${objectives}-`);
    const file = path.join(dir, "guardrails", "guardrails.yaml");
    fs.writeFileSync(file, scaledGuardrails(fs.readFileSync(file, "utf8"), objectives));
    return dir;
}

/** Resources registered over all stacks, from synth's summary lines ("stack dev: 60 resources ..."). */
function resourcesIn(stdout: string): number {
    return [...stdout.matchAll(/^stack \S+: (\d+) resources/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/** Which processes a test file starts, by what its source uses; the first group that matches. */
const JEST_GROUPS: ReadonlyArray<readonly [string, RegExp]> = [
    [
        "real servers and tools (promtool, Prometheus, Alertmanager, Pushgateway, Python, npm pack)",
        /verify\/(promtool|alerting|servers|loopbackServers|dashboardSuite|ruleBench)"|PYTHON|spawnSync\("npm"|promtoolPath/,
    ],
    [
        "policy pack process and synth command",
        /sharedPolicyPack|packAnalyzer\(|spawnPolicyPack|runScript\(\s*"synth"|synthInProcess/,
    ],
    [
        "program runs in-process (Pulumi mock runtime)",
        /runWithMocks|synthStack|runComponents|guardRun|runPackInProcess/,
    ],
    ["other command lines (bin/scripts, git, ssh-keygen)", /runScript\(|execFileSync\(|spawnSync\(/],
    ["unit (nothing but this process)", /.*/],
];

function jestGroup(file: string): string {
    const source = fs.readFileSync(file, "utf8");
    return (JEST_GROUPS.find(([, re]) => re.test(source)) ?? JEST_GROUPS[JEST_GROUPS.length - 1])[0];
}

/** Run scripts/check.js; returns its timings, and prints its output when it failed. */
function runChecks(args: string[], label: string): CheckTimings {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-check-"));
    const timings = path.join(scratch, "timings.json");
    const r = spawnSync(process.execPath, [CHECK, ...args, "--timings", timings], {
        cwd: repoRoot,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
    });
    const written = fs.existsSync(timings) ? fs.readFileSync(timings, "utf8") : undefined;
    fs.rmSync(scratch, { recursive: true, force: true });
    if (written === undefined) {
        throw new Error(`${label}: scripts/check.js wrote no timings (exit ${r.status})\n${r.stdout}\n${r.stderr}`);
    }
    const doc = JSON.parse(written) as CheckTimings;
    if (!doc.passed) {
        // check.js prints a failed check's output whole on its stdout, but jest's own report (which test failed, and
        // why) goes to stderr: both tails, or a failed run names no test.
        process.stdout.write(
            `${label}: a check FAILED (its wall time is still reported)\n${r.stdout.slice(-4000)}\n` +
                `${r.stderr.slice(-12000)}\n`,
        );
    }
    return doc;
}

/** npm, as the npm running this script (npm sets npm_execpath), else the one on PATH. */
function npm(...args: string[]): string[] {
    const cli = process.env.npm_execpath;
    return cli && /\.[cm]?js$/.test(cli) ? [process.execPath, cli, ...args] : ["npm", ...args];
}

/** Wall time of a command run in the repository; throws when it fails. */
function timed([program, ...args]: readonly string[]): { wallMs: number; cpuMs?: number } {
    const start = process.hrtime.bigint();
    const cpu = childrenCpuMs();
    const r = spawnSync(program, args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) {
        throw new Error(`${program} ${args.join(" ")} failed (exit ${r.status})\n${r.stdout}\n${r.stderr}`);
    }
    return { wallMs: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: childrenCpuSince(cpu) };
}

const READING_CHECKS = ["lint", "typecheck", "format", "data"].flatMap((c) => ["--only", c]);

function emptyCaches(): void {
    fs.rmSync(path.join(repoRoot, ".cache"), { recursive: true, force: true });
}

async function main(): Promise<number> {
    const flags = parseFlags(process.argv.slice(2), { values: ["runs"], booleans: ["no-tests", "quick"] }, USAGE);
    const quick = flags.booleans.has("quick");
    const runs = Number(single(flags, "runs", USAGE) ?? (quick ? "1" : "3"));
    if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
        throw new UsageError("--runs takes a whole number from 1 to 20", USAGE);
    }
    const cores = os.cpus().length;
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-bench-out-"));
    const startLoad = os.loadavg()[0];
    process.stdout.write(
        `maestro guardrails benchmark: ${cores} cores, node ${process.version}, median of ${runs} run(s)\n` +
            `load average at start: ${load()}${startLoad > cores ? ` (busy: above ${cores}, every wall time below is inflated; compare the CPU columns)` : ""}\n\n`,
    );
    const targets: Target[] = [];
    const judge = (figure: string, value: string, target: string, ratio: number, limit: number) =>
        targets.push({ figure, value, target, ratio, limit });
    // synth renders the collector's bundle into its ConfigMap: the file `npm run build` writes.
    bundleCollector();

    // 1. synth against the floor, which loads exactly what an --all synth loads from node_modules and does nothing else.
    const loaded = measure([SYNTH, "--all", "--out", path.join(out, "probe")], { modules: true }).modules;
    const floorScript = path.join(out, "floor.js");
    fs.writeFileSync(floorScript, loaded.map((m) => `require(${JSON.stringify(m)});`).join("\n"));
    const synthCases: Array<[string, string[], number]> = [
        ...["dev", "staging", "prod"].map((s): [string, string[], number] => [
            `--stack ${s}`,
            ["--stack", s, "--out", path.join(out, s)],
            1.8,
        ]),
        ["--all", ["--all", "--out", path.join(out, "all")], 2.0],
    ];
    const synth = interleaved(runs, [
        ["floor", () => measure([floorScript])],
        // The same load through the code cache synth uses (warmed by the probe run above): what a bare load costs once
        // nothing compiles, the part of synth's time no work of its own can remove.
        ["floor, code cache", () => measure(["--require", CODE_CACHE_HOOK, floorScript])],
        ...synthCases.map(([label, args]): [string, () => Sample] => [label, () => measure([SYNTH, ...args])]),
    ]);
    const floor = synth.get("floor") as Median;
    const cachedFloor = synth.get("floor, code cache") as Median;
    const synthRows = [
        [
            "synth",
            "wall",
            "x floor",
            "target",
            "x cached floor",
            "peak RSS",
            "x floor",
            "target",
            "CPU (with the pack)",
        ],
    ];
    for (const [label, m] of [
        ["floor", floor],
        ["floor, code cache", cachedFloor],
    ] as const) {
        synthRows.push([
            label,
            secs(m.wallMs),
            x(m.wallMs / floor.wallMs),
            "",
            x(m.wallMs / cachedFloor.wallMs),
            mib(m.maxRssMiB),
            x(m.maxRssMiB / floor.maxRssMiB),
            "",
            cpuText(m.cpuMs),
        ]);
    }
    for (const [label, , limit] of synthCases) {
        const m = synth.get(label) as Median;
        const [t, r] = [m.wallMs / floor.wallMs, m.maxRssMiB / floor.maxRssMiB];
        synthRows.push([
            label,
            secs(m.wallMs),
            x(t),
            `<= ${x(limit)}`,
            x(m.wallMs / cachedFloor.wallMs),
            mib(m.maxRssMiB),
            x(r),
            `<= ${x(limit)}`,
            cpuText(m.cpuMs),
        ]);
        judge(`synth ${label}: wall vs floor`, `${secs(m.wallMs)} / ${secs(floor.wallMs)}`, `<= ${x(limit)}`, t, limit);
        judge(
            `synth ${label}: peak RSS vs floor`,
            `${mib(m.maxRssMiB)} / ${mib(floor.maxRssMiB)}`,
            `<= ${x(limit)}`,
            r,
            limit,
        );
    }
    const all = synth.get("--all") as Median;
    judge("synth --all: wall", secs(all.wallMs), "< 5.00 s", all.wallMs / 5000, 1);
    process.stdout.write(
        `1. synth against the floor (node loading the same ${loaded.length} node_modules files and nothing else)\n` +
            `${table(synthRows)}\n` +
            `(synth after one unmeasured run, as every synth after the first meets it: the pack's bundle on disk is the\n` +
            ` current build, the schemas' compiled validators are kept and the packages' compiled code is in .cache/v8/;\n` +
            ` a first run after a change rebuilds or compiles them. The targets are against the bare floor, which compiles\n` +
            ` every module; "x cached floor" is against the same load through the code cache synth uses)\n\n`,
    );

    // 2. The policy pack's start.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const policyBench = require("../verify/policyBench") as typeof import("../verify/policyBench");
    const starts = await policyBench.packStarts(
        runs,
        quick ? ["built", "ts-node type-checking"] : ["built", "ts-node type-checking", "ts-node cached"],
    );
    const built = starts.medianMs.built as number;
    const typeChecked = starts.medianMs["ts-node type-checking"] as number;
    judge(
        "policy pack start: built vs ts-node type-checking",
        `${Math.round(built)} ms / ${Math.round(typeChecked)} ms`,
        "<= 0.50x",
        built / typeChecked,
        0.5,
    );
    const packFigures = policyBench.packStartFigures(starts);
    process.stdout.write(
        `2. policy pack start\n${table([["figure", "value"], ...Object.entries(packFigures).map(([k, v]) => [k, String(v)])])}\n\n`,
    );

    // 3. synth --all as the SLOs grow.
    const sizes = [5, 20, 80];
    const trees = new Map(sizes.map((n) => [n, treeWithObjectives(n)]));
    const synthIn = (tree: string) => [
        path.join(tree, "bin", "scripts", "synth.js"),
        "--all",
        "--out",
        path.join(tree, "out"),
    ];
    try {
        // Each copy once before it is measured, as the checkout is by the probe above: its pack bundle and compiled
        // schemas then exist (a copy starts without either), so every size is measured as a synth run again.
        for (const tree of trees.values()) {
            measure(synthIn(tree), { cwd: tree });
        }
        const growth = interleaved(
            runs,
            sizes.map((n): [string, () => Sample] => [
                String(n),
                () => {
                    const tree = trees.get(n) as string;
                    return measure(synthIn(tree), { cwd: tree });
                },
            ]),
        );
        const g = (n: number) => growth.get(String(n)) as Median;
        const perSlo = (a: number, b: number, f: (m: Median) => number) => (f(g(b)) - f(g(a))) / (b - a);
        const metrics: Array<[string, (m: Median) => number | undefined, (v: number) => string]> = [
            ["wall", (m) => m.wallMs, (v) => `${v.toFixed(1)} ms`],
            ["CPU (with the pack)", (m) => m.cpuMs, (v) => `${v.toFixed(1)} ms`],
            ["peak RSS", (m) => m.maxRssMiB, (v) => `${v.toFixed(2)} MiB`],
        ];
        const measured = metrics.filter(([, f]) => sizes.every((n) => f(g(n)) !== undefined)) as Array<
            [string, (m: Median) => number, (v: number) => string]
        >;
        const rows = [["SLOs", "resources", ...measured.flatMap(([name]) => [name, "per SLO added"])]];
        sizes.forEach((n, i) => {
            const prev = sizes[i - 1];
            rows.push([
                String(n),
                String(resourcesIn(g(n).stdout)),
                ...measured.flatMap(([name, f, unit]) => [
                    name === "peak RSS" ? mib(f(g(n))) : secs(f(g(n))),
                    prev === undefined ? "" : unit(perSlo(prev, n, f)),
                ]),
            ]);
        });
        // Linear growth costs as much per SLO from 20 to 80 as on average from 5 to 80 (1.00); a cost growing with
        // the square of the SLOs 1.18. Both spans are wide, so the ratio holds still where the 15 SLOs from 5 to 20
        // add too little to measure on their own.
        const growths = measured.map(([name, f, unit]): [string, number] => {
            const [late, whole] = [perSlo(20, 80, f), perSlo(5, 80, f)];
            const ratio = late / Math.max(whole, 1e-9);
            judge(
                `synth --all per SLO added, 20->80 vs 5->80: ${name}`,
                `${unit(late)} / ${unit(whole)}`,
                "<= 1.10x (linear: 1.00, square: 1.18)",
                ratio,
                1.1,
            );
            return [name, ratio];
        });
        process.stdout.write(
            `3. synth --all as the SLOs grow (each size in a copy of the tree with its own guardrails file)\n${table(rows)}\n` +
                `per SLO added from 20 to 80 / on average from 5 to 80: ${growths.map(([n, r]) => `${n} ${x(r)}`).join(", ")} (linear 1.00x, square 1.18x; target at most 1.10x)\n\n`,
        );
    } finally {
        for (const tree of trees.values()) {
            fs.rmSync(tree, { recursive: true, force: true });
        }
    }

    // 4. The test suite, as npm test runs it.
    if (!flags.booleans.has("no-tests")) {
        const build = timed(npm("run", "-s", "build"));
        const rows = [["npm test, by check", "alone, empty caches", "CPU", "alone, caches filled", "CPU"]];
        let serial: readonly CheckTiming[] = [];
        if (!quick) {
            emptyCaches();
            serial = runChecks(["--serial", ...READING_CHECKS], "checks one at a time, empty caches").checks;
        }
        // npm test as CI meets it: empty caches, jest with the four reading checks beside it at low priority.
        emptyCaches();
        const jestJson = path.join(out, "jest.json");
        const whole = runChecks(["--jest-json", jestJson], "npm test, empty caches");
        // Right after a run from empty caches, so "filled" is what an unchanged tree meets.
        const warm = runChecks(["--serial", ...READING_CHECKS], "checks one at a time, caches filled").checks;
        rows.push([
            "build (tsc -b; bin/ up to date, as after npm ci)",
            secs(build.wallMs),
            cpuText(build.cpuMs),
            "",
            "",
        ]);
        for (const t of whole.checks.filter((c) => c.name !== "jest")) {
            const alone = serial.find((c) => c.name === t.name);
            const again = warm.find((c) => c.name === t.name);
            rows.push([
                t.title,
                alone ? secs(alone.wallMs) : `${secs(t.wallMs)} (beside jest)`,
                alone ? cpuText(alone.cpuMs) : "",
                again ? secs(again.wallMs) : "",
                again ? cpuText(again.cpuMs) : "",
            ]);
        }
        const jestRun = whole.checks.find((t) => t.name === "jest");
        const jestWall = jestRun?.wallMs ?? whole.totalMs;
        rows.push([
            `jest (${jestRun?.passed ? "passed" : "FAILED"}; the four checks beside it at low priority)`,
            secs(jestWall),
            "",
            "",
            "",
        ]);
        const total = build.wallMs + whole.totalMs;
        const totalCpu = build.cpuMs !== undefined && whole.cpuMs !== undefined ? build.cpuMs + whole.cpuMs : undefined;
        rows.push([
            `npm test total (build, then jest and the four checks from empty caches, on ${cores} cores)`,
            secs(total),
            cpuText(totalCpu),
            "",
            "",
        ]);
        judge("npm test: wall (build, checks from empty caches, jest)", secs(total), "< 60.00 s", total / 60000, 1);
        process.stdout.write(`4. the test suite (npm test)\n${table(rows)}\n\n`);

        if (fs.existsSync(jestJson)) {
            const results = JSON.parse(fs.readFileSync(jestJson, "utf8")) as JestResults;
            const groups = new Map<string, { files: number; tests: number; ms: number; slowest: [string, number] }>();
            let sum = 0;
            for (const r of results.testResults) {
                const ms = r.endTime - r.startTime;
                sum += ms;
                const name = jestGroup(r.name);
                const g = groups.get(name) ?? { files: 0, tests: 0, ms: 0, slowest: ["", 0] };
                g.files++;
                g.tests += r.assertionResults.length;
                g.ms += ms;
                if (ms > g.slowest[1]) {
                    g.slowest = [path.basename(r.name), ms];
                }
                groups.set(name, g);
            }
            const jestRows = [
                [
                    "jest files, by the processes they start",
                    "files",
                    "tests",
                    "file time",
                    "~ jest wall",
                    "slowest file",
                ],
            ];
            for (const [name] of JEST_GROUPS) {
                const g = groups.get(name);
                if (g) {
                    jestRows.push([
                        name,
                        String(g.files),
                        String(g.tests),
                        secs(g.ms),
                        secs((g.ms / sum) * jestWall),
                        `${g.slowest[0]} ${secs(g.slowest[1])}`,
                    ]);
                }
            }
            // jest's own setting (jest.config.js), not a copy of its arithmetic.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const workers = (require(path.join(repoRoot, "jest.config.js")) as { maxWorkers: number }).maxWorkers;
            process.stdout.write(
                `${table(jestRows)}\n(file time: each file's own wall, summed; ${workers} workers run files at once, so a group's share of jest's wall is about its share of the summed time)\n\n`,
            );
        }
    }

    // 5. Figures without a target of their own.
    if (!quick) {
        for (const [title, figures] of await capabilityFigures()) {
            process.stdout.write(
                `${title}\n${table([["figure", "value"], ...Object.entries(figures).map(([k, v]) => [k, String(v)])])}\n\n`,
            );
        }
    }

    const summary = [["target", "value", "target", "ratio", ""]];
    for (const t of targets) {
        summary.push([t.figure, t.value, t.target, x(t.ratio), t.ratio <= t.limit ? "met" : "MISSED"]);
    }
    process.stdout.write(
        `every target\n${table(summary)}\n${targets.filter((t) => t.ratio <= t.limit).length} of ${targets.length} met; load average at the end: ${load()}\n`,
    );
    fs.rmSync(out, { recursive: true, force: true });
    return 0;
}

/** Figures other capabilities contribute (rules: promtool suite time; policies: evaluation time; real servers). */
async function capabilityFigures(): Promise<Array<[string, Record<string, number | string>]>> {
    const sources: Array<[string, string, string]> = [
        ["Prometheus rules", "../verify/ruleBench", "rulesBenchFigures"],
        ["Policy pack evaluation", "../verify/policyBench", "policyBenchFigures"],
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

runMain(main);
