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
 * promtool's environment, each setting kept when the caller's environment has it:
 * - GOGC=400: a rule test builds its series and evaluates them in a few seconds and exits; collecting a quarter as
 *   often takes 15-20% less CPU for 2-3x the memory (about 260 MiB at most for the suites here);
 * - GOMAXPROCS=1: a rule test evaluates on one goroutine, and with a second processor Go's scheduler and collector
 *   spun on it: the whole prod suite took 15-20% less CPU on one, in the same wall time. The suites run several
 *   promtools at once (one per core) for parallelism.
 * The same evaluation and results either way.
 */
export function promtoolEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { ...env, GOGC: env.GOGC ?? "400", GOMAXPROCS: env.GOMAXPROCS ?? "1" };
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
