/**
 * `npm test` (after `npm run build`): every check the repository has. jest runs at once, at normal priority, its
 * output live; beside it, at the lowest CPU priority (nice 19), the four checks that only read the tree, all at once:
 * lint (ESLint, with the boundaries), the format check (Prettier), the type check (tests included) and the data and
 * docs checks (validate, summary --check, docs --check, provenance verify). jest leaves a core idle now and then (a
 * test waiting on a server, the last files of a run), and the checks take those moments instead of half a minute of
 * their own before it; at the lowest priority they take nothing from jest's real-server tests, which time what
 * Prometheus and Alertmanager do. They run at once, not one after another, so that what is left of them when jest
 * ends has both cores (one after another, a cold lint alone on one core ended a CI run 40 s after jest). Each
 * check's output is printed whole when it ends, then a table of what ran and how long each took. Exits 1 when any
 * check failed. `--serial`: the four one after another, then jest alone.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseFlags, runMain, single, UsageError } from "./cli";
import { childrenCpuMs, childrenCpuSince } from "./childCpu";
import { repoRoot } from "../core/validation";
import { saveTestDurations, TEST_DURATIONS_FILE } from "./testDurations";

const USAGE = `usage: npm test [-- --serial] [--only CHECK ...] [--timings FILE] [--jest-json FILE] [--save-durations]
                [TEST_PATH ...]
  --serial          run the four reading checks (lint, typecheck, format, data) one after another at normal
                    priority, then jest alone, instead of all of them beside jest at low priority
  --only CHECK      run only this check (repeatable): lint, format, typecheck, data, jest
  --timings FILE    write each check's start, end, wall time and result as JSON (npm run bench reads it)
  --jest-json FILE  have jest write its results as JSON (per file and test, as \`jest --json\`) to FILE
  --save-durations  after jest, write each file's time to test/setup/testDurations.json (commit it): on a fresh
                    clone jest runs the longest files first by it
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

/** `nice`, when this machine has it: the checks beside jest yield the CPU to it. */
function niceProgram(): string | undefined {
    return ["/usr/bin/nice", "/bin/nice"].find((p) => fs.existsSync(p));
}

/**
 * Run a check's commands in turn; its output is collected, or goes straight to this process's (`live`). `lowPriority`
 * runs them under nice 19.
 */
async function runCheck(
    check: Check,
    live: boolean,
    lowPriority = false,
): Promise<{ passed: boolean; output: string }> {
    let output = "";
    const nice = lowPriority ? niceProgram() : undefined;
    for (const command of check.commands) {
        const [program, ...args] = nice ? [nice, "-n", "19", ...command] : command;
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
        { values: ["only", "timings", "jest-json"], booleans: ["serial", "help", "save-durations"], positionals: 1000 },
        USAGE,
    );
    if (flags.booleans.has("help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const saveDurations = flags.booleans.has("save-durations");
    const givenJestJson = single(flags, "jest-json", USAGE);
    // --save-durations reads jest's results: from --jest-json's file, or from one in a scratch folder removed after.
    const scratch =
        saveDurations && !givenJestJson ? fs.mkdtempSync(path.join(os.tmpdir(), "maestro-jest-")) : undefined;
    const jestJson = givenJestJson ?? (scratch ? path.join(scratch, "jest.json") : undefined);
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
    const run = async (check: Check, live: boolean, alone: boolean, lowPriority = false): Promise<boolean> => {
        const startMs = since();
        const cpu = childrenCpuMs();
        const { passed, output } = await runCheck(check, live, lowPriority);
        const endMs = since();
        const cpuMs = alone ? childrenCpuSince(cpu) : undefined;
        timings.push({ name: check.name, title: check.title, startMs, endMs, wallMs: endMs - startMs, cpuMs, passed });
        if (!live) {
            process.stdout.write(`── ${check.title}: ${passed ? "passed" : "FAILED"} in ${seconds(endMs - startMs)}\n`);
            process.stdout.write(output.endsWith("\n") || output === "" ? output : `${output}\n`);
        }
        return passed;
    };

    const reading = selected.filter((c) => c.name !== "jest");
    const jest = selected.find((c) => c.name === "jest");
    let readingPassed = true;
    const readAll = async (lowPriority: boolean) => {
        if (lowPriority) {
            const results = await Promise.all(reading.map((check) => run(check, false, false, true)));
            readingPassed = results.every((r) => r);
            return;
        }
        for (const check of reading) {
            readingPassed = (await run(check, false, serial || !jest, lowPriority)) && readingPassed;
        }
    };
    if (serial || !jest) {
        await readAll(false);
        if (jest && readingPassed) {
            process.stdout.write(`── ${jest.title}\n`);
            await run(jest, true, true);
        } else if (jest) {
            process.stdout.write(`── ${jest.title}: not run, a check above failed\n`);
        }
    } else {
        process.stdout.write(`── ${jest.title} (the other checks beside it, at low priority)\n`);
        await Promise.all([run(jest, true, reading.length === 0), readAll(true)]);
    }
    const passed = timings.every((t) => t.passed) && readingPassed;
    if (saveDurations && jestJson && fs.existsSync(jestJson)) {
        const timed = saveTestDurations(jestJson);
        process.stdout.write(
            `── ${timed} files' durations written to ${path.relative(repoRoot, TEST_DURATIONS_FILE)}\n`,
        );
    }
    if (scratch) {
        fs.rmSync(scratch, { recursive: true, force: true });
    }
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
            ` (${serial || !jest ? "one at a time, then jest" : `jest, the others beside it at low priority, on ${cores} cores`})`,
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
