/**
 * The synth command (scripts/synth.ts runs it with the process's arguments and streams):
 * `npm run synth -- --stack <dev|staging|prod> [--out DIR] [--config FILE] [--policy-config FILE] [--preview]
 * [--prior DIR]` or `--all`: run the real program under Pulumi's mock runtime, as `pulumi up` or (`--preview`) as
 * `pulumi preview` runs it, write what it would provision to out/<stack>/, and run the policy pack over it as the
 * engine would (out/<stack>/policy-report.json). Exit 0 only when every stack is valid and has no mandatory policy
 * violation.
 *
 * A function apart from its script, so the tests run the command in-process (flags, refusals, files written, what it
 * prints, its exit code) against a pack process they share, where starting the command's own process and pack is not
 * what they test; test/synth.test.ts runs the script itself.
 */
import * as fs from "fs";
import * as path from "path";
import { CommandOutput, ParsedFlags, parseFlags, single, UsageError } from "./cli";
import { loadGuardrails } from "../core/guardrails";
import { displayPath, repoRoot } from "../core/validation";
import { outDirProblem } from "../offline/outDir";
import { openGitSnapshot } from "../provenance/git";
import type { Worker } from "worker_threads";
import type { MockRunResult, PriorResource, RegisteredResource } from "../offline/mockRuntime";
import type { AnalysisTarget, AnalyzeRunOptions, PolicyAnalyzer, PolicyReport } from "../offline/policyAnalyzer";
import { AnalysisReply, AnalysisRequest, revivedError } from "../offline/analysisMessages";
import type { SynthOptions, SynthResult } from "../offline/synth";

export const USAGE = `usage: npm run synth -- (--stack <stack> | --all) [--out DIR] [--config FILE] [--policy-config FILE]
                         [--preview] [--prior DIR]
  --stack <stack>        one of the guardrail environments (dev, staging, prod)
  --all                  every environment, one after the other
  --out DIR              output folder (default out/<stack>; with --all, DIR/<stack>)
  --config FILE          a stack-config file used in place of Pulumi.<stack>.yaml (only with --stack)
  --policy-config FILE   policy pack config, as \`pulumi up --policy-pack-config FILE\` takes it (see docs/policies.md)
  --preview              run as \`pulumi preview\`: resources not yet created have unknown IDs and computed outputs
  --prior DIR            a previous synth's output (DIR/<file> with --stack, else DIR/<stack>/<file>), played as the
                         deployed stack: its outputs.json is the previous deploy's (the sign-off ledger must extend
                         the head it recorded), and with --preview its resources.json is the state the preview updates`;

/**
 * What the release gate said about this render: the ledger head it records (the next render's anchor) and whether
 * the checked-out code is the release's signed commit (an offline render reports it; `pulumi up` refuses it).
 */
function releaseLine(outputs: Record<string, unknown>): string {
    const p = outputs.provenance as
        | { ledgerHead?: string; codeBinding?: { bound: boolean; problems: string[] }; signoffKeyPrefix?: string }
        | undefined;
    if (!p?.signoffKeyPrefix) {
        return `release: none (ledger head ${p?.ledgerHead ?? "-"})`;
    }
    const binding = p.codeBinding?.bound
        ? "code is the signed commit"
        : `code NOT the signed commit, \`pulumi up\` would refuse: ${(p.codeBinding?.problems ?? []).join("; ")}`;
    return `release ${p.signoffKeyPrefix}: ledger head ${p.ledgerHead ?? "-"}; ${binding}`;
}

/** What the command line asks for, checked: which stacks, where each one's output goes, what they are played as. */
interface SynthRun {
    readonly stacks: readonly string[];
    readonly all: boolean;
    readonly out?: string;
    readonly configFile?: string;
    readonly preview: boolean;
    readonly priorDir?: string;
}

/** A previous synth's output, as --prior names it: per stack its outputs, and with --preview its resources file. */
interface Priors {
    readonly resourceFiles: ReadonlyMap<string, string>;
    readonly outputs: ReadonlyMap<string, Record<string, unknown>>;
}

/** The modules loaded once the flags are checked (the Pulumi SDK takes a second to load). */
interface Engine {
    readonly synth: typeof import("../offline/synth");
    readonly readStackFile: typeof import("../offline/mockRuntime").readStackFile;
    readonly runMode: typeof import("../offline/mockRuntime").runMode;
    readonly policy: typeof import("../offline/policyAnalyzer");
}

/** One stack rendered and written: what the pack analyzes and the report lists. */
interface Rendered {
    readonly result: SynthResult;
    readonly files: string[];
    readonly outDir: string;
}

/** The stacks and settings the flags name; a usage error names the flag and what is allowed. */
function synthRun(flags: ParsedFlags): SynthRun {
    const environments = loadGuardrails().environments;
    const stack = single(flags, "stack", USAGE);
    const all = flags.booleans.has("all");
    const configFile = single(flags, "config", USAGE);
    const out = single(flags, "out", USAGE);
    if (all === (stack !== undefined)) {
        throw new UsageError("give exactly one of --stack <stack> or --all", USAGE);
    }
    if (stack !== undefined && !environments.includes(stack)) {
        throw new UsageError(`unknown stack "${stack}" for --stack; allowed: ${environments.join(", ")}`, USAGE);
    }
    if (all && configFile) {
        throw new UsageError("--config names one stack's file; use it with --stack, not --all", USAGE);
    }
    return {
        stacks: all ? environments : [stack as string],
        all,
        out,
        configFile,
        preview: flags.booleans.has("preview"),
        priorDir: single(flags, "prior", USAGE),
    };
}

/** Every prior state is read before anything is written: --prior may name the folder this run writes to. */
function readPriors(run: SynthRun): Priors {
    const resourceFiles = new Map<string, string>();
    const outputs = new Map<string, Record<string, unknown>>();
    const priorDir = run.priorDir;
    if (priorDir === undefined) {
        return { resourceFiles, outputs };
    }
    const priorFile = (s: string, name: string): string => {
        const own = path.resolve(priorDir, name);
        return !run.all && fs.existsSync(own) ? own : path.resolve(priorDir, s, name);
    };
    for (const s of run.stacks) {
        if (run.preview) {
            resourceFiles.set(s, priorFile(s, "resources.json"));
        }
        const file = priorFile(s, "outputs.json");
        if (!fs.existsSync(file)) {
            throw new UsageError(
                `--prior ${priorDir}: ${displayPath(file)} not found; allowed: a previous synth's output folder`,
                USAGE,
            );
        }
        outputs.set(s, JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>);
    }
    return { resourceFiles, outputs };
}

/** Where a stack's output goes: --out (DIR/<stack> with --all), else out/<stack>. */
function outDirOf(run: SynthRun, stack: string): string {
    return run.out ? (run.all ? path.join(run.out, stack) : run.out) : path.join(repoRoot, "out", stack);
}

/** Before anything runs: synth empties its output folders, so --out may name only folders synth wrote before. */
function checkOutDirs(run: SynthRun): void {
    for (const s of run.out ? run.stacks : []) {
        const problem = outDirProblem(outDirOf(run, s));
        if (problem !== undefined) {
            throw new UsageError(`--out: ${displayPath(outDirOf(run, s))} ${problem}`, USAGE);
        }
    }
}

/**
 * The policy pack, started first, before the SDK loads here: the build of its current sources and data (checked by
 * its build manifest or a rebuild: spawnPolicyPack), started as the CLI starts it by the client's own thread, so its
 * start-up (loading @pulumi/pulumi) runs on the other core while this process loads the SDK and synthesizes. A pack
 * the caller hands over is used as it is, and left serving.
 */
class PackSession {
    /** The pack's client, on its own thread (offline/analysisWorker.ts), for a pack of this command's own. */
    private readonly thread: AnalysisThread | undefined;

    constructor(private readonly given?: PolicyAnalyzer) {
        this.thread = given ? undefined : new AnalysisThread();
    }

    /**
     * One stack's analysis, begun now (the pack is sent the stack's config as soon as it serves): in this process
     * with a pack the caller handed over, else on the client's own thread.
     */
    analysis(policy: Engine["policy"], target: AnalysisTarget, opts: AnalyzeRunOptions): Analysis {
        if (!this.thread) {
            return new policy.StackAnalysis(this.given as PolicyAnalyzer, target, opts);
        }
        return this.thread.begin(target, opts);
    }

    async close(): Promise<void> {
        // The caller's pack serves on after this command; the thread stops its own (a refusal does not wait for the
        // pack to finish starting: it is killed while it starts).
        await this.thread?.close();
    }
}

/** One stack's analysis as synthesizeAll drives it (StackAnalysis, here or on the client's thread). */
interface Analysis {
    resource(r: RegisteredResource): void;
    finish(run: MockRunResult): Promise<PolicyReport>;
    abandon(): void;
}

/**
 * The main thread's side of offline/analysisWorker.ts: the thread starts the pack, is posted each stack's resources
 * as they register and its run at the end, and each stack's report resolves as the thread posts it. A thread that
 * fails fails every analysis waiting.
 */
class AnalysisThread {
    private readonly worker: Worker;
    private readonly waiting = new Map<number, { resolve: (r: PolicyReport) => void; reject: (e: Error) => void }>();
    private nextId = 0;
    private readonly exited: Promise<void>;
    /** Why the thread is gone (it failed or exited): an analysis finishing after that fails with it. */
    private gone: Error | undefined;

    constructor() {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Worker: WorkerThread } = require("worker_threads") as typeof import("worker_threads");
        this.worker = new WorkerThread(path.join(__dirname, "..", "offline", "analysisWorker.js"));
        this.worker.on("message", (m: AnalysisReply) => this.reply(m));
        this.worker.on("error", (err) => this.failAll(err));
        this.exited = new Promise<void>((resolve) =>
            this.worker.on("exit", (code) => {
                this.failAll(new Error(`the policy pack's client thread exited (code ${code})`));
                resolve();
            }),
        );
    }

    begin(target: AnalysisTarget, opts: AnalyzeRunOptions): Analysis {
        const id = this.nextId++;
        this.post({ kind: "begin", id, target, opts });
        return {
            resource: (resource) => this.post({ kind: "resource", id, resource }),
            abandon: () => this.post({ kind: "abandon", id }),
            // A pack that failed to start fails the analysis with its own error, from the thread.
            finish: (run) =>
                new Promise<PolicyReport>((resolve, reject) => {
                    if (this.gone) {
                        reject(this.gone);
                        return;
                    }
                    this.waiting.set(id, { resolve, reject });
                    this.post({ kind: "finish", id, run });
                }),
        };
    }

    async close(): Promise<void> {
        this.post({ kind: "close" });
        await this.exited;
    }

    private post(m: AnalysisRequest): void {
        this.worker.postMessage(m);
    }

    private reply(m: AnalysisReply): void {
        const waiting = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.kind === "report") {
            waiting?.resolve(m.report);
        } else {
            waiting?.reject(revivedError(m.error));
        }
    }

    private failAll(err: Error): void {
        this.gone ??= err;
        for (const w of this.waiting.values()) {
            w.reject(err);
        }
        this.waiting.clear();
    }
}

/** Loaded after the flags are checked: the Pulumi SDK takes a second to load, a usage error should not wait for it. */
function loadEngine(): Engine {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const mocks = require("../offline/mockRuntime") as typeof import("../offline/mockRuntime");
    return {
        synth: require("../offline/synth") as typeof import("../offline/synth"),
        readStackFile: mocks.readStackFile,
        runMode: mocks.runMode,
        policy: require("../offline/policyAnalyzer") as typeof import("../offline/policyAnalyzer"),
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * Synthesizes every stack and reports each in stack order; each stack's analysis runs in the pack's process while
 * the next stack synthesizes. Returns how many stacks failed.
 */
async function synthesizeAll(
    run: SynthRun,
    priors: Priors,
    flags: ParsedFlags,
    pack: PackSession,
    io: CommandOutput,
    gitAnswered: Promise<void>,
): Promise<number> {
    const engine = loadEngine();
    await gitAnswered;
    const priorStates = new Map(
        [...priors.resourceFiles].map(([s, file]) => [s, engine.synth.readPriorState(file, s)]),
    );
    const policyConfigFile = single(flags, "policy-config", USAGE);
    const policyConfig = policyConfigFile ? engine.policy.loadPolicyConfig(path.resolve(policyConfigFile)) : undefined;
    let failed = 0;
    let reported: Promise<void> = Promise.resolve();
    for (const s of run.stacks) {
        let rendered: Rendered;
        let analysis: Promise<PolicyReport>;
        try {
            // The pack analyzes each resource as it registers, as the engine does, while the program runs on;
            // AnalyzeStack follows the run, while this thread extracts and writes its artifacts.
            const stream = pack.analysis(
                engine.policy,
                { stack: s, mode: engine.runMode(run.preview, priorStates.has(s)) },
                {
                    config: engine.readStackFile(engine.synth.synthConfigFile(stackFiles(run, s))),
                    policyConfig,
                    policyConfigFile: policyConfigFile ? displayPath(policyConfigFile) : undefined,
                },
            );
            let finished: Promise<PolicyReport> | undefined;
            try {
                rendered = await renderStack(engine, run, s, priorStates.get(s), priors.outputs.get(s), {
                    onRegistered: (r) => stream.resource(r),
                    onRun: (ran) => {
                        finished = stream.finish(ran);
                        // A stack whose files then fail to be written reports that failure, not its analysis.
                        finished.catch(() => undefined);
                    },
                });
            } catch (err) {
                if (!finished) {
                    stream.abandon();
                }
                throw err;
            }
            analysis = finished ?? stream.finish(rendered.result.run);
        } catch (err) {
            reported = reported.then(() => {
                failed++;
                printFailure(io, s, err);
            });
            continue;
        }
        analysis.catch(() => undefined);
        const done = rendered;
        const verdict = analysis;
        reported = reported.then(async () => {
            try {
                if (!reportStack(engine, io, s, done, await verdict)) {
                    failed++;
                }
            } catch (err) {
                failed++;
                printFailure(io, s, err);
            }
        });
    }
    await reported;
    return failed;
}

/** The stack and config file a stack's synth reads (--config, or the stack's own file). */
function stackFiles(run: SynthRun, stack: string): { stack: string; configFile?: string } {
    return { stack, configFile: run.configFile ? path.resolve(run.configFile) : undefined };
}

/** One stack under the mock runtime, its artifacts written to its output folder. */
async function renderStack(
    engine: Engine,
    run: SynthRun,
    stack: string,
    prior: ReadonlyMap<string, PriorResource> | undefined,
    priorOutputs: Record<string, unknown> | undefined,
    stream: Pick<SynthOptions, "onRegistered" | "onRun">,
): Promise<Rendered> {
    const outDir = outDirOf(run, stack);
    const result = await engine.synth.synthStack({
        ...stackFiles(run, stack),
        preview: run.preview,
        prior,
        priorOutputs,
        ...stream,
    });
    // The default out/<stack> (git-ignored, documented as synth's) is synth's own even before it held a marker.
    const files = engine.synth.writeSynthOutput(result, outDir, { ownFolder: run.out === undefined });
    return { result, files, outDir };
}

/**
 * Writes the stack's policy report and metrics and prints what it provisions and what the pack said; false when a
 * mandatory violation fails the stack.
 */
function reportStack(
    engine: Engine,
    io: CommandOutput,
    stack: string,
    rendered: Rendered,
    report: PolicyReport,
): boolean {
    const { result, files, outDir } = rendered;
    const reportFile = engine.synth.writePolicyReport(report, outDir);
    files.push(reportFile, engine.synth.writePolicyMetrics(report, outDir));
    const lines = [
        `stack ${stack}: ${result.run.resources.length} resources (${result.run.mode}, config ${displayPath(result.configFile)})`,
    ];
    for (const [type, n] of engine.synth.countByType(result.run.resources)) {
        lines.push(`  ${String(n).padStart(3)}  ${type}`);
    }
    lines.push(
        `  wrote ${files.length} files to ${displayPath(outDir)}/ (${result.artifacts.length} rendered artifacts)`,
    );
    lines.push(`  ${releaseLine(result.run.outputs)}`);
    lines.push(
        `  policy pack ${report.policyPack.name}@${report.policyPack.version}: ${report.mandatory} mandatory, ${report.advisory} advisory violation(s)` +
            ` (${Math.round(report.timings.analyzeMs + report.timings.analyzeStackMs)} ms)`,
    );
    for (const v of report.violations) {
        lines.push(`  ${engine.policy.formatViolation(v).split("\n").join("\n  ")}`);
    }
    io.stdout.write(lines.join("\n") + "\n");
    if (report.mandatory > 0) {
        io.stderr.write(
            `stack ${stack}: FAILED: ${report.mandatory} mandatory policy violation(s); see ${displayPath(path.join(outDir, reportFile))}\n`,
        );
        return false;
    }
    return true;
}

/**
 * A stack that failed. Refusals (config, preflight) carry Pulumi's RunError flag: their message is the whole story;
 * anything else prints with its stack trace.
 */
function printFailure(io: CommandOutput, stack: string, err: unknown): void {
    const e = err as Error;
    const refusal = (e as { __pulumiRunError?: boolean }).__pulumiRunError === true;
    io.stderr.write(`stack ${stack}: FAILED\n${refusal ? e.message : (e.stack ?? String(e))}\n`);
}

export interface SynthCommandOptions {
    /**
     * A pack already serving to analyze with, instead of starting the pack's own process (the command leaves it
     * running). Only the tests pass one.
     */
    readonly analyzer?: PolicyAnalyzer;
}

/** Run the command; resolves with its exit code, throws a UsageError (exit 2) for bad flags. */
export async function synthCommand(
    argv: readonly string[],
    io: CommandOutput = process,
    opts: SynthCommandOptions = {},
): Promise<number> {
    const flags = parseFlags(
        argv,
        { values: ["stack", "out", "config", "policy-config", "prior"], booleans: ["all", "help", "preview"] },
        USAGE,
    );
    if (flags.booleans.has("help")) {
        io.stdout.write(USAGE + "\n");
        return 0;
    }
    const run = synthRun(flags);
    const priors = readPriors(run);
    checkOutDirs(run);
    const pack = new PackSession(opts.analyzer);
    // The git questions every stack's program asks, asked now in the background while the SDK loads; until the
    // command ends every stack reads that same repository state (each git process a program started itself blocked
    // this thread for ~10 ms, more beside the pack).
    const git = openGitSnapshot(repoRoot);
    let failed: number;
    try {
        failed = await synthesizeAll(run, priors, flags, pack, io, git.ready);
    } finally {
        git.close();
        await pack.close();
    }
    const total = run.stacks.length;
    io.stdout.write(
        `${total - failed} of ${total} stacks synthesized and passed the policy pack${failed ? `, ${failed} failed` : ""}\n`,
    );
    return failed ? 1 : 0;
}
