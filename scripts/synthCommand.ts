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
import { CommandOutput, parseFlags, single, UsageError } from "./cli";
import { loadGuardrails } from "../core/guardrails";
import { displayPath, repoRoot } from "../core/validation";
import { outDirProblem } from "../offline/outDir";
import type { PolicyAnalyzer } from "../offline/policyAnalyzer";

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
    const preview = flags.booleans.has("preview");
    const priorDir = single(flags, "prior", USAGE);
    const stacks = all ? environments : [stack as string];
    // Every prior state is read before anything is written: --prior may name the folder this run writes to.
    const priorFile = (s: string, name: string): string => {
        const own = path.resolve(priorDir as string, name);
        return !all && fs.existsSync(own) ? own : path.resolve(priorDir as string, s, name);
    };
    const priorFiles = new Map<string, string>();
    const priorOutputs = new Map<string, Record<string, unknown>>();
    if (priorDir !== undefined) {
        for (const s of stacks) {
            if (preview) {
                priorFiles.set(s, priorFile(s, "resources.json"));
            }
            const outputs = priorFile(s, "outputs.json");
            if (!fs.existsSync(outputs)) {
                throw new UsageError(
                    `--prior ${priorDir}: ${displayPath(outputs)} not found; allowed: a previous synth's output folder`,
                    USAGE,
                );
            }
            priorOutputs.set(s, JSON.parse(fs.readFileSync(outputs, "utf8")) as Record<string, unknown>);
        }
    }
    const outDirOf = (s: string) => (out ? (all ? path.join(out, s) : out) : path.join(repoRoot, "out", s));
    // Before anything runs: synth empties its output folder, so it writes only where it wrote before.
    for (const s of out ? stacks : []) {
        const problem = outDirProblem(outDirOf(s));
        if (problem !== undefined) {
            throw new UsageError(`--out: ${displayPath(outDirOf(s))} ${problem}`, USAGE);
        }
    }
    // The pack starts first, before the SDK loads here: it is rebuilt from its sources (esbuild, in its own process)
    // and started as the CLI starts it, and its start-up (loading @pulumi/pulumi) runs on the other core while this
    // process loads the SDK and synthesizes. A pack the caller hands over is used as it is, and left serving.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const packProcess = require("../offline/policyPackProcess") as typeof import("../offline/policyPackProcess");
    const { spawnPolicyPack, stopPolicyPack } = packProcess;
    const stopStarting = new AbortController();
    const spawning = opts.analyzer ? undefined : spawnPolicyPack({ signal: stopStarting.signal });
    spawning?.catch(() => undefined);
    let connected: Promise<PolicyAnalyzer> | undefined;
    let analyzer: PolicyAnalyzer | undefined;
    let failed = 0;
    const fail = (s: string, err: unknown) => {
        failed++;
        const e = err as Error;
        // Refusals (config, preflight) carry Pulumi's RunError flag: their message is the whole story.
        const refusal = (e as { __pulumiRunError?: boolean }).__pulumiRunError === true;
        io.stderr.write(`stack ${s}: FAILED\n${refusal ? e.message : (e.stack ?? String(e))}\n`);
    };
    // Reports print in stack order; each stack's analysis runs in the pack's process while the next stack synthesizes.
    let reported: Promise<void> = Promise.resolve();
    try {
        // Loaded after the flags are checked: the Pulumi SDK takes a second to load, a usage error should not wait for it.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const synth = require("../offline/synth") as typeof import("../offline/synth");
        const { countByType, readPriorState, synthStack, writePolicyMetrics, writePolicyReport, writeSynthOutput } =
            synth;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { readStackFile } = require("../offline/mockRuntime") as typeof import("../offline/mockRuntime");
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const policy = require("../offline/policyAnalyzer") as typeof import("../offline/policyAnalyzer");
        const priors = new Map([...priorFiles].map(([s, file]) => [s, readPriorState(file, s)]));
        const policyConfigFile = single(flags, "policy-config", USAGE);
        const policyConfig = policyConfigFile ? policy.loadPolicyConfig(path.resolve(policyConfigFile)) : undefined;
        const client = spawning
            ? spawning.then((p) => policy.PolicyAnalyzer.connect(p))
            : Promise.resolve(opts.analyzer as PolicyAnalyzer);
        client.catch(() => undefined);
        connected = client;
        for (const s of stacks) {
            const outDir = outDirOf(s);
            let result: import("../offline/synth").SynthResult;
            let files: string[];
            try {
                result = await synthStack({
                    stack: s,
                    configFile: configFile ? path.resolve(configFile) : undefined,
                    preview,
                    prior: priors.get(s),
                    priorOutputs: priorOutputs.get(s),
                });
                files = writeSynthOutput(result, outDir, { ownFolder: out === undefined });
            } catch (err) {
                reported = reported.then(() => fail(s, err));
                continue;
            }
            const analysis = client.then((a) => {
                analyzer = a;
                return policy.analyzeRun(a, result.run, {
                    config: readStackFile(result.configFile),
                    policyConfig,
                    policyConfigFile: policyConfigFile ? displayPath(policyConfigFile) : undefined,
                });
            });
            analysis.catch(() => undefined);
            reported = reported.then(async () => {
                try {
                    const report = await analysis;
                    const reportFile = writePolicyReport(report, outDir);
                    files.push(reportFile, writePolicyMetrics(report, outDir));
                    const lines = [
                        `stack ${s}: ${result.run.resources.length} resources (${result.run.mode}, config ${displayPath(result.configFile)})`,
                    ];
                    for (const [type, n] of countByType(result.run.resources)) {
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
                        lines.push(`  ${policy.formatViolation(v).split("\n").join("\n  ")}`);
                    }
                    io.stdout.write(lines.join("\n") + "\n");
                    if (report.mandatory > 0) {
                        failed++;
                        io.stderr.write(
                            `stack ${s}: FAILED: ${report.mandatory} mandatory policy violation(s); see ${displayPath(path.join(outDir, reportFile))}\n`,
                        );
                    }
                } catch (err) {
                    fail(s, err);
                }
            });
        }
        await reported;
    } finally {
        if (!spawning) {
            // The caller's pack: it serves on after this command.
        } else if (analyzer) {
            await analyzer.close();
        } else {
            // No stack got as far as the pack: do not make a refusal wait for the pack to finish starting. The abort
            // kills a pack still starting; a client already connected is closed, a pack never connected stopped.
            stopStarting.abort();
            await connected?.then((a) => a.close()).catch(() => undefined);
            await spawning.then((p) => stopPolicyPack(p.child)).catch(() => undefined);
        }
    }
    io.stdout.write(
        `${stacks.length - failed} of ${stacks.length} stacks synthesized and passed the policy pack${failed ? `, ${failed} failed` : ""}\n`,
    );
    return failed ? 1 : 0;
}
