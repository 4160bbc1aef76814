/**
 * Starting the policy pack the way the engine does: `run-policy-pack` from the pack's own @pulumi/pulumi, with the
 * runtime options of PulumiPolicy.yaml, printing its port on stdout. By default the built pack (policies/bin/
 * index.js, the `main` the CLI runs, checked against a rebuild from the sources and data: offline/policyPackBuild.ts);
 * `entry: "ts-node"`
 * starts the TypeScript sources instead, as the pack ran before it was built (ts-node type-checks them), which the
 * bench measures side by side. Kept apart from the analyzer client (offline/policyAnalyzer.ts), which loads the
 * SDK's gRPC stubs: synth spawns the pack first, so its start overlaps with loading the SDK and synthesizing.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { PROJECT } from "../core/conventions";
import { ValidationError, displayPath, repoRoot } from "../core/validation";
import { codeCacheEnabled } from "./codeCache";
import { SHORT_RUN_V8_FLAGS } from "./shortRunFlags";

/** The repository's policy pack (what `pulumi preview --policy-pack policies` runs). */
export const POLICY_PACK_DIR = path.join(repoRoot, "policies");

/** The built entry, relative to the pack's folder (policies/package.json `main`; built by offline/policyPackBuild.ts). */
export const BUILT_ENTRY = "bin/index.js";

/**
 * The engine address run-policy-pack receives as its first argument. run-policy-pack drops it (`argv._.shift()`)
 * and the pack never logs through the engine, so nothing listens here.
 */
const NO_ENGINE_ADDRESS = "127.0.0.1:0";

export interface StartOptions {
    /** The pack's folder (default policies/). */
    readonly packDir?: string;
    /** Project name passed as PULUMI_PROJECT / PULUMI_NODEJS_PROJECT, as the CLI does. */
    readonly project?: string;
    /** How long the pack may take to print its port (ts-node type-checks the pack first). */
    readonly startTimeoutMs?: number;
    /** Aborting kills a pack still starting (synth starts it early and may not need it after all). */
    readonly signal?: AbortSignal;
    /**
     * What runs: the pack's `main` as the CLI runs it ("built", the default; the repository's pack is rebuilt
     * first), or its index.ts through run-policy-pack's ts-node ("ts-node", the pack's start before it was built).
     */
    readonly entry?: "built" | "ts-node";
    /**
     * Run only the build of the current sources and data (default: for the repository's own pack, in "built" mode):
     * the bundle on disk is checked against a rebuild and replaced when it differs (spawnPolicyPack).
     */
    readonly build?: boolean;
    /** More environment for the pack process (the bench points ts-node's compile cache at an empty folder). */
    readonly env?: Readonly<Record<string, string>>;
    /**
     * Compile the packages the pack loads through the repository's code cache (offline/codeCache.ts: the same code
     * runs, deserialized rather than parsed). Default: for the repository's own pack, unless MAESTRO_CODE_CACHE=off;
     * a pack installed elsewhere runs as the CLI starts it, reading nothing of the repository.
     */
    readonly codeCache?: boolean;
    /**
     * A pack for one short command (synth's): it runs with V8's settings for a short run (offline/shortRunFlags.ts),
     * as synth's own process does. The code it runs is the same; the packs the tests share keep V8's defaults.
     */
    readonly shortRun?: boolean;
}

/** The compiled hook a process preloads to use the code cache (absent before the first build). */
export const CODE_CACHE_HOOK = path.join(repoRoot, "bin", "offline", "useCodeCache.js");

/** `-key=value` arguments from PulumiPolicy.yaml's runtime options, as the CLI appends them. */
export function runtimeOptionArgs(packDir: string): string[] {
    const file = path.join(packDir, "PulumiPolicy.yaml");
    if (!fs.existsSync(file)) {
        throw new ValidationError([
            {
                file: displayPath(file),
                path: "",
                message: "missing; a policy pack needs PulumiPolicy.yaml (runtime: nodejs)",
            },
        ]);
    }
    const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as {
        runtime?: string | { name?: string; options?: Record<string, unknown> };
    };
    const runtime = typeof doc.runtime === "string" ? { name: doc.runtime } : (doc.runtime ?? {});
    if (runtime.name !== "nodejs") {
        throw new ValidationError([
            {
                file: displayPath(file),
                path: "/runtime",
                message: `"${String(runtime.name)}"; this harness runs Node.js packs; allowed: nodejs`,
            },
        ]);
    }
    return Object.entries((runtime as { options?: Record<string, unknown> }).options ?? {})
        .filter(([, v]) => String(v) !== "")
        .map(([k, v]) => `-${k}=${String(v)}`);
}

/** A started pack process and the port its analyzer serves on. */
export interface PolicyPackProcess {
    readonly child: ChildProcess;
    readonly port: number;
    /** Time from spawning the pack to its port being printed, in ms. */
    readonly startMs: number;
    readonly output: { stdout: string; stderr: string };
    /**
     * How the repository's pack was found to be the build of the current sources and data: its build manifest held
     * ("manifest"), or esbuild rebuilt it ("rebuilt"); absent for a pack started without the check.
     */
    readonly bundleCheck?: "manifest" | "rebuilt";
}

/**
 * Spawn the pack and resolve with its port; rejects (and kills it) on a timeout, an early exit or an abort.
 *
 * Only a pack running the build of the current sources and data is handed back. The bundle on disk is git-ignored,
 * so its build manifest (policyPackBuild.ts) says whether it still is: every file bundled, what decides how their
 * imports resolve, the data and the build's settings, unchanged. Then it starts as it is. Otherwise (or with no
 * manifest) the bundle on disk is started at once and rebuilt in memory beside it (esbuild in its own process; its
 * builds are deterministic). Identical, byte for byte: that pack is the one, and the manifest is written. Different
 * (the sources or data changed, or the bundle was edited) or absent: it is stopped, the new build is written, and the
 * pack is started from it.
 */
export async function spawnPolicyPack(opts: StartOptions = {}): Promise<PolicyPackProcess> {
    const packDir = opts.packDir ?? POLICY_PACK_DIR;
    const args = runtimeOptionArgs(packDir);
    const entry = opts.entry ?? "built";
    if (entry !== "built" || !(opts.build ?? path.resolve(packDir) === POLICY_PACK_DIR)) {
        return launchPolicyPack(packDir, entry, args, opts);
    }
    const file = path.join(packDir, BUILT_ENTRY);
    const onDisk = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    const notThis = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, notThis.signal]) : notThis.signal;
    // Spawned before the bundle is checked, and before the build's modules load: the check reads the data and the
    // sources while the pack boots.
    const candidate = onDisk ? launchPolicyPack(packDir, entry, args, { ...opts, signal }) : undefined;
    candidate?.catch(() => undefined);
    // Loaded here, not at the top: esbuild is a build tool the pack's users never load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const build = require("./policyPackBuild") as typeof import("./policyPackBuild");
    const stopCandidate = async () => {
        notThis.abort();
        await candidate?.then((p) => stopPolicyPack(p.child)).catch(() => undefined);
    };
    let fresh: import("./policyPackBuild").Bundle;
    try {
        // Reading the data may fail (invalid guardrails): the pack already spawned is stopped with it.
        if (candidate && onDisk && build.bundleProblem(packDir, onDisk) === undefined) {
            return { ...(await candidate), bundleCheck: "manifest" };
        }
        fresh = await build.bundlePolicyPack({ packDir });
    } catch (err) {
        await stopCandidate();
        throw err;
    }
    if (candidate && onDisk && Buffer.compare(onDisk, Buffer.from(fresh.contents)) === 0) {
        build.writeManifest(packDir, fresh);
        return { ...(await candidate), bundleCheck: "rebuilt" };
    }
    await stopCandidate();
    build.writePolicyPack(packDir, fresh);
    return {
        ...(await launchPolicyPack(packDir, entry, args, opts)),
        bundleCheck: "rebuilt",
    };
}

/**
 * What the offline path puts before run-policy-pack on node's command line: the code cache's hook and V8's flags for
 * a short run. Neither changes the code that runs; `pulumi preview --policy-pack` passes none of them.
 */
export function packNodeOptions(codeCache: boolean, opts: Pick<StartOptions, "shortRun">): string[] {
    return [...(codeCache ? ["--require", CODE_CACHE_HOOK] : []), ...(opts.shortRun ? SHORT_RUN_V8_FLAGS : [])];
}

/** Start the pack as the CLI does and wait for its port. */
async function launchPolicyPack(
    packDir: string,
    entry: "built" | "ts-node",
    args: readonly string[],
    opts: StartOptions,
): Promise<PolicyPackProcess> {
    // The CLI resolves run-policy-pack from the pack's folder, so the pack's own @pulumi/pulumi runs it.
    const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
    const project = opts.project ?? PROJECT;
    const started = process.hrtime.bigint();
    // "." is what the CLI passes (the pack's package.json `main`); index.ts makes run-policy-pack's ts-node compile it.
    const program = entry === "built" ? "." : "index.ts";
    const codeCache =
        (opts.codeCache ?? (path.resolve(packDir) === POLICY_PACK_DIR && codeCacheEnabled())) &&
        fs.existsSync(CODE_CACHE_HOOK);
    const child = spawn(
        process.execPath,
        [...packNodeOptions(codeCache, opts), runner, NO_ENGINE_ADDRESS, program, ...args],
        {
            cwd: packDir,
            env: { ...process.env, ...opts.env, PULUMI_PROJECT: project, PULUMI_NODEJS_PROJECT: project },
            stdio: ["ignore", "pipe", "pipe"],
        },
    );
    if (opts.signal?.aborted) {
        // Aborted while it was being built: an abort event that already fired would never stop it.
        child.kill();
    }
    const output = { stdout: "", stderr: "" };
    child.stderr?.on("data", (d: Buffer) => (output.stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill();
            reject(
                new Error(
                    `policy pack in ${displayPath(packDir)} printed no port within ${opts.startTimeoutMs ?? 120000} ms\n${output.stderr}`,
                ),
            );
        }, opts.startTimeoutMs ?? 120000);
        child.stdout?.on("data", (d: Buffer) => {
            output.stdout += d.toString();
            const newline = output.stdout.indexOf("\n");
            if (newline >= 0) {
                clearTimeout(timer);
                const first = output.stdout.slice(0, newline).trim();
                const n = Number(first);
                if (Number.isInteger(n) && n > 0) {
                    resolve(n);
                } else {
                    child.kill();
                    reject(
                        new Error(
                            `policy pack in ${displayPath(packDir)} printed "${first}" where the engine expects its port\n${output.stderr}`,
                        ),
                    );
                }
            }
        });
        child.on("exit", (code) => {
            clearTimeout(timer);
            reject(
                new Error(
                    `policy pack in ${displayPath(packDir)} exited (code ${code}) before printing its port\n${output.stderr}`,
                ),
            );
        });
        opts.signal?.addEventListener("abort", () => child.kill(), { once: true });
    });
    const startMs = Number(process.hrtime.bigint() - started) / 1e6;
    return { child, port, startMs, output };
}

/** Stop a pack process and wait until it has exited (at once when it already has). */
export async function stopPolicyPack(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) {
        return;
    }
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await exited;
}
