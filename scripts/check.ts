/**
 * `npm test` (after `npm run build`): every check the repository has, in two steps. First the four that only read
 * the tree, side by side on the machine's cores: lint (ESLint, with the boundaries), the format check (Prettier),
 * the type check (tests included) and the data and docs checks (validate, summary --check, docs --check, provenance
 * verify). Then, when all four passed, jest, alone: its real-server tests time what Prometheus and Alertmanager do,
 * and the checks' CPU would only crowd them. Each check's output is printed whole when it ends (jest's as it runs),
 * then a table of what ran and how long each took. Exits 1 when any check failed.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseFlags, runMain, single, UsageError } from "./cli";
import { childrenCpuMs, childrenCpuSince } from "./childCpu";
import { repoRoot } from "../core/validation";

const USAGE = `usage: npm test [-- --serial] [--only CHECK ...] [--timings FILE] [--jest-json FILE] [TEST_PATH ...]
  --serial          run the first four checks one after another (lint, typecheck, format, data), not side by side
  --only CHECK      run only this check (repeatable): lint, format, typecheck, data, jest
  --timings FILE    write each check's start, end, wall time and result as JSON (npm run bench reads it)
  --jest-json FILE  have jest write its results as JSON (per file and test, as \`jest --json\`) to FILE
  TEST_PATH         passed to jest: run only the test files matching it`;

interface Check {
    readonly name: string;
    readonly title: string;
    /** Each command is a program and its arguments; a check's commands run one after another. */
    readonly commands: ReadonlyArray<readonly string[]>;
}

export interface CheckTiming {
    readonly name: string;
    readonly title: string;
    /** Milliseconds since the run started. */
    readonly startMs: number;
    readonly endMs: number;
    readonly wallMs: number;
    /** CPU of the check's processes (ms; Linux), known only when nothing else ran beside it (--serial, or jest). */
    readonly cpuMs?: number;
    readonly passed: boolean;
}

export interface CheckTimings {
    readonly serial: boolean;
    readonly cores: number;
    readonly checks: readonly CheckTiming[];
    readonly totalMs: number;
    /** CPU of every check's processes together (ms; Linux). */
    readonly cpuMs?: number;
    readonly passed: boolean;
}

/** npm, as the npm running this script (npm sets npm_execpath), else the one on PATH. */
function npm(...args: string[]): string[] {
    const cli = process.env.npm_execpath;
    return cli && /\.[cm]?js$/.test(cli) ? [process.execPath, cli, ...args] : ["npm", ...args];
}

const script = (name: string, ...args: string[]) => [process.execPath, path.join(__dirname, `${name}.js`), ...args];

function checks(jestArgs: readonly string[]): Check[] {
    return [
        { name: "lint", title: "lint (ESLint, cached)", commands: [npm("run", "-s", "lint")] },
        { name: "typecheck", title: "type check (tsc -b, tests included)", commands: [npm("run", "-s", "typecheck")] },
        { name: "format", title: "format check (Prettier, cached)", commands: [npm("run", "-s", "format:check")] },
        {
            name: "data",
            title: "data and docs checks",
            commands: [
                script("validate"),
                script("summary", "--check"),
                script("docs", "--check"),
                script("provenance", "verify"),
            ],
        },
        {
            name: "jest",
            title: "jest",
            // A larger young generation (64 MiB semi-spaces; jest's workers inherit the flag): the program runs
            // allocate many short-lived objects, and fewer scavenges took 15% less CPU on those files.
            commands: [[process.execPath, "--max-semi-space-size=64", require.resolve("jest/bin/jest"), ...jestArgs]],
        },
    ];
}

/** Run a check's commands in turn; its output is collected, or goes straight to this process's (`live`). */
async function runCheck(check: Check, live: boolean): Promise<{ passed: boolean; output: string }> {
    let output = "";
    for (const [program, ...args] of check.commands) {
        const child: ChildProcess = spawn(program, args, {
            cwd: repoRoot,
            stdio: live ? "inherit" : ["ignore", "pipe", "pipe"],
        });
        child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
        const code = await new Promise<number | null>((resolve) => {
            child.on("error", (err) => {
                output += `${program}: ${err.message}\n`;
                resolve(null);
            });
            child.on("close", (c) => resolve(c));
        });
        if (code !== 0) {
            return { passed: false, output };
        }
    }
    return { passed: true, output };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
    const flags = parseFlags(
        process.argv.slice(2),
        { values: ["only", "timings", "jest-json"], booleans: ["serial", "help"], positionals: 1000 },
        USAGE,
    );
    if (flags.booleans.has("help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const jestJson = single(flags, "jest-json", USAGE);
    const jestArgs = [...(jestJson ? ["--json", "--outputFile", path.resolve(jestJson)] : []), ...flags.positionals];
    const all = checks(jestArgs);
    const only = flags.values.only ?? [];
    for (const name of only) {
        if (!all.some((c) => c.name === name)) {
            throw new UsageError(
                `unknown check "${name}" for --only; allowed: ${all.map((c) => c.name).join(", ")}`,
                USAGE,
            );
        }
    }
    const selected = all.filter((c) => only.length === 0 || only.includes(c.name));
    const serial = flags.booleans.has("serial");
    const cores = Math.max(1, os.cpus().length);
    const started = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - started) / 1e6;
    const timings: CheckTiming[] = [];

    const cpuAtStart = childrenCpuMs();
    const run = async (check: Check, live: boolean, alone: boolean): Promise<boolean> => {
        const startMs = since();
        const cpu = childrenCpuMs();
        const { passed, output } = await runCheck(check, live);
        const endMs = since();
        const cpuMs = alone ? childrenCpuSince(cpu) : undefined;
        timings.push({ name: check.name, title: check.title, startMs, endMs, wallMs: endMs - startMs, cpuMs, passed });
        if (!live) {
            process.stdout.write(`── ${check.title}: ${passed ? "passed" : "FAILED"} in ${seconds(endMs - startMs)}\n`);
            process.stdout.write(output.endsWith("\n") || output === "" ? output : `${output}\n`);
        }
        return passed;
    };

    // The reading checks, longest first, as many at a time as there are cores (one at a time with --serial).
    const first = selected.filter((c) => c.name !== "jest");
    let next = 0;
    let firstPassed = true;
    const slot = async () => {
        while (next < first.length) {
            const check = first[next++];
            firstPassed = (await run(check, false, serial)) && firstPassed;
        }
    };
    await Promise.all(Array.from({ length: serial ? 1 : Math.min(cores, first.length) }, slot));

    const jest = selected.find((c) => c.name === "jest");
    if (jest && firstPassed) {
        process.stdout.write(`── ${jest.title}\n`);
        await run(jest, true, true);
    } else if (jest) {
        process.stdout.write(`── ${jest.title}: not run, a check above failed\n`);
    }

    const passed = timings.every((t) => t.passed) && (firstPassed || !jest);
    const totalMs = since();
    const totalCpuMs = childrenCpuSince(cpuAtStart);
    const cpu = (ms: number | undefined) => (ms === undefined ? "" : `  ${seconds(ms).padStart(8)} CPU`);
    const width = Math.max(...timings.map((t) => t.title.length));
    const lines = timings.map(
        (t) =>
            `${t.title.padEnd(width)}  ${seconds(t.wallMs).padStart(8)}  ${t.passed ? "passed" : "FAILED"}${cpu(t.cpuMs)}`,
    );
    lines.push(
        `${"total".padEnd(width)}  ${seconds(totalMs).padStart(8)}  ${passed ? "passed" : "FAILED"}${cpu(totalCpuMs)}` +
            ` (${serial ? "one at a time" : `side by side on ${cores} cores`}, then jest)`,
    );
    process.stdout.write(`\n${lines.join("\n")}\n`);
    const timingsFile = single(flags, "timings", USAGE);
    if (timingsFile) {
        const doc: CheckTimings = { serial, cores, checks: timings, totalMs, cpuMs: totalCpuMs, passed };
        fs.writeFileSync(path.resolve(timingsFile), JSON.stringify(doc, null, 2) + "\n");
    }
    return passed ? 0 : 1;
}

runMain(main);
