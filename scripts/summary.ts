/**
 * `npm run summary [-- --check]`: render the Conductor control summary (docs/conductor-summary.md and .html) from
 * the governance data and the guardrails file. With --check, write nothing and exit 1 naming each committed file
 * that differs from a fresh render. The output is a function of those files only (no clock), so CI can compare.
 */
import "../offline/useCodeCache";
import * as fs from "fs";
import * as path from "path";
import { parseFlags, runMain, single } from "./cli";
import { loadGuardrails } from "../core/guardrails";
import { displayPath } from "../core/validation";
import { loadGovernance } from "../governance";
import { SUMMARY_FILES, buildSummary, renderSummaryHtml, renderSummaryMarkdown } from "../governance/summary";

const USAGE = `usage: npm run summary [-- --check] [--out DIR]
  --check    write nothing; exit 1 naming each committed file that differs from a fresh render
  --out DIR  folder of conductor-summary.md and .html (default docs/)`;

function main(): number {
    const flags = parseFlags(process.argv.slice(2), { values: ["out"], booleans: ["check", "help"] }, USAGE);
    if (flags.booleans.has("help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const out = single(flags, "out", USAGE);
    const at = (file: string) => (out ? path.join(path.resolve(out), path.basename(file)) : file);
    const model = buildSummary(loadGovernance(), loadGuardrails());
    const rendered: Array<[string, string]> = [
        [at(SUMMARY_FILES.markdown), renderSummaryMarkdown(model)],
        [at(SUMMARY_FILES.html), renderSummaryHtml(model)],
    ];
    let stale = 0;
    for (const [file, content] of rendered) {
        const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
        if (current === content) {
            continue;
        }
        if (flags.booleans.has("check")) {
            stale++;
            process.stderr.write(
                `${displayPath(file)} is ${current === undefined ? "missing" : "out of date with the governance data and guardrails"}; run \`npm run summary\` and commit it\n`,
            );
        } else {
            fs.writeFileSync(file, content);
            process.stdout.write(`wrote ${displayPath(file)}\n`);
        }
    }
    if (flags.booleans.has("check") && stale === 0) {
        process.stdout.write(`summary: ${rendered.map(([f]) => displayPath(f)).join(" and ")} up to date\n`);
    }
    return stale ? 1 : 0;
}

runMain(main);
