/**
 * `npm run synth -- --stack <dev|staging|prod> [--out DIR] [--config FILE]` or `--all`: run the real program
 * under Pulumi's mock runtime and write what it would provision to out/<stack>/. Exit 0 only when every stack is
 * valid.
 */
import * as path from "path";
import { parseFlags, runMain, single, UsageError } from "../lib/cli";
import { loadGuardrails } from "../lib/guardrails";
import { displayPath, repoRoot } from "../lib/validation";

const USAGE = `usage: npm run synth -- (--stack <stack> | --all) [--out DIR] [--config FILE]
  --stack <stack>  one of the guardrail environments (dev, staging, prod)
  --all            every environment, one after the other
  --out DIR        output folder (default out/<stack>; with --all, DIR/<stack>)
  --config FILE    a stack-config file used in place of Pulumi.<stack>.yaml (only with --stack)`;

async function main(): Promise<number> {
    const flags = parseFlags(process.argv.slice(2), { values: ["stack", "out", "config"], booleans: ["all", "help"] }, USAGE);
    if (flags.booleans.has("help")) {
        process.stdout.write(USAGE + "\n");
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
    const stacks = all ? environments : [stack as string];
    // Loaded after the flags are checked: the Pulumi SDK takes a second to load, a usage error should not wait for it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { countByType, synthStack, writeSynthOutput } = require("../lib/synth") as typeof import("../lib/synth");
    let failed = 0;
    for (const s of stacks) {
        const outDir = out ? (all ? path.join(out, s) : out) : path.join(repoRoot, "out", s);
        try {
            const result = await synthStack({ stack: s, configFile: configFile ? path.resolve(configFile) : undefined });
            const files = writeSynthOutput(result, outDir);
            const lines = [`stack ${s}: ${result.run.resources.length} resources (config ${displayPath(result.configFile)})`];
            for (const [type, n] of countByType(result.run.resources)) {
                lines.push(`  ${String(n).padStart(3)}  ${type}`);
            }
            lines.push(`  wrote ${files.length} files to ${displayPath(outDir)}/ (${result.artifacts.length} rendered artifacts)`);
            process.stdout.write(lines.join("\n") + "\n");
        } catch (err) {
            failed++;
            const e = err as Error;
            process.stderr.write(`stack ${s}: FAILED\n${e.name === "ValidationError" ? e.message : (e.stack ?? String(e))}\n`);
        }
    }
    process.stdout.write(`${stacks.length - failed} of ${stacks.length} stacks synthesized${failed ? `, ${failed} failed` : ""}\n`);
    return failed ? 1 : 0;
}

runMain(main);
