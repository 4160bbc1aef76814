import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface PromtoolResult {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

const INSTALL_HINT =
    "install Debian's prometheus package (`apt-get install prometheus`, as .ci/run does); the rule tests are never skipped";

/** The promtool binary on PATH (or $PROMTOOL); throws a clear error when there is none. */
export function promtoolPath(): string {
    const explicit = process.env.PROMTOOL;
    if (explicit) {
        if (!fs.existsSync(explicit)) {
            throw new Error(`PROMTOOL=${explicit} does not exist; ${INSTALL_HINT}`);
        }
        return explicit;
    }
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const candidate = path.join(dir, "promtool");
        if (dir && fs.existsSync(candidate)) {
            return candidate;
        }
    }
    throw new Error(`promtool not found on PATH (${process.env.PATH ?? ""}); ${INSTALL_HINT}`);
}

/**
 * promtool's environment: Go's collector at GOGC=400 unless GOGC is set. A rule test builds its series and
 * evaluates them in a few seconds and exits; collecting a quarter as often takes 15-20% less CPU for 2-3x the memory
 * (about 260 MiB at most for the suites here), the same evaluation and results.
 */
export function promtoolEnv(): NodeJS.ProcessEnv {
    return { ...process.env, GOGC: process.env.GOGC ?? "400" };
}

/** Run promtool synchronously in `cwd`. */
export function promtool(args: readonly string[], cwd: string): PromtoolResult {
    const start = process.hrtime.bigint();
    const r = spawnSync(promtoolPath(), args, { cwd, encoding: "utf8", env: promtoolEnv() });
    if (r.error) {
        throw r.error;
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

/** Run promtool without blocking the event loop, so several runs share the machine's cores. */
export function promtoolAsync(args: readonly string[], cwd: string): Promise<PromtoolResult> {
    const bin = promtoolPath();
    const start = process.hrtime.bigint();
    return new Promise((resolve, reject) => {
        const child = spawn(bin, args, { cwd, env: promtoolEnv() });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (status) =>
            resolve({ status, stdout, stderr, ms: Number(process.hrtime.bigint() - start) / 1e6 }),
        );
    });
}

/** Run tasks at most `limit` at a time, results in input order. */
export async function inParallel<T>(tasks: ReadonlyArray<() => Promise<T>>, limit: number): Promise<T[]> {
    const results: T[] = new Array<T>(tasks.length);
    let next = 0;
    const worker = async () => {
        while (next < tasks.length) {
            const i = next++;
            results[i] = await tasks[i]();
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
    return results;
}
