/**
 * `npm run docs [-- --check]`: render the documents derived from the guardrails file (docs/instrumentation.md).
 * With --check, exit non-zero naming each committed document that differs from a fresh render.
 */
import * as fs from "fs";
import * as path from "path";
import { parseFlags, runMain } from "../lib/cli";
import { loadGuardrails } from "../lib/guardrails";
import { renderInstrumentationDoc } from "../lib/instrumentation";
import { displayPath, repoRoot } from "../lib/validation";

const USAGE = "usage: npm run docs [-- --check]";

async function main(): Promise<number> {
    const flags = parseFlags(process.argv.slice(2), { booleans: ["check"] }, USAGE);
    const docs: Array<[string, string]> = [[path.join(repoRoot, "docs", "instrumentation.md"), renderInstrumentationDoc(loadGuardrails())]];
    let stale = 0;
    for (const [file, content] of docs) {
        const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
        if (flags.booleans.has("check")) {
            if (current !== content) {
                stale++;
                process.stderr.write(`${displayPath(file)} is out of date with guardrails/guardrails.yaml; run \`npm run docs\` and commit it\n`);
            }
        } else if (current !== content) {
            fs.writeFileSync(file, content);
            process.stdout.write(`wrote ${displayPath(file)}\n`);
        }
    }
    return stale ? 1 : 0;
}

runMain(main);
