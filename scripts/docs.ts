/**
 * `npm run docs [-- --check] [--metrics FILE]`: render the documents derived from the guardrails file
 * (docs/instrumentation.md). With --check, exit non-zero naming each committed document that differs from a fresh
 * render, and each broken relative link or missing title in README.md and docs/*.md (the automated docs review).
 * --metrics writes maestro_docs_broken_links per document for CI to push (docs/metrics.md).
 */
import "../offline/useCodeCache";
import * as fs from "fs";
import * as path from "path";
import { brokenLinkMetrics, writeMetricsFile } from "../verify/ciMetrics";
import { parseFlags, runMain, single } from "./cli";
import { reviewMarkdown, reviewedDocuments } from "../governance/docsReview";
import { loadGuardrails } from "../core/guardrails";
import { renderInstrumentationDoc } from "../core/instrumentation";
import { displayPath, formatProblem, repoRoot } from "../core/validation";

const USAGE = "usage: npm run docs [-- --check] [--metrics FILE]";

function main(): number {
    const flags = parseFlags(process.argv.slice(2), { booleans: ["check"], values: ["metrics"] }, USAGE);
    const docs: Array<[string, string]> = [
        [path.join(repoRoot, "docs", "instrumentation.md"), renderInstrumentationDoc(loadGuardrails())],
    ];
    let stale = 0;
    for (const [file, content] of docs) {
        const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
        if (flags.booleans.has("check")) {
            if (current !== content) {
                stale++;
                process.stderr.write(
                    `${displayPath(file)} is out of date with guardrails/guardrails.yaml; run \`npm run docs\` and commit it\n`,
                );
            }
        } else if (current !== content) {
            fs.writeFileSync(file, content);
            process.stdout.write(`wrote ${displayPath(file)}\n`);
        }
    }
    const reviewed = reviewedDocuments();
    const problems = reviewMarkdown(reviewed);
    if (flags.booleans.has("check")) {
        process.stderr.write(problems.map((p) => `${formatProblem(p)}\n`).join(""));
    }
    const metrics = single(flags, "metrics", USAGE);
    if (metrics) {
        writeMetricsFile(metrics, [brokenLinkMetrics(reviewed.map(displayPath), problems)]);
    }
    return stale || (flags.booleans.has("check") && problems.length > 0) ? 1 : 0;
}

runMain(main);
