/**
 * `npm run validate [-- --dir DIR] [-- --guardrails FILE]`: validate the governance data (backlog, RACI, risks,
 * milestones) against their JSON Schemas, then the cross-reference rules against the guardrails file. Prints each
 * problem as `file: /json/path: message` and exits 1 when there is any.
 */
import * as path from "path";
import { parseFlags, runMain, single } from "./cli";
import { GUARDRAILS_FILE, loadGuardrails } from "../core/guardrails";
import { formatProblem, displayPath } from "../core/validation";
import { GOVERNANCE_DIR, loadGovernance, validateGovernance } from "../governance";

const USAGE = `usage: npm run validate [-- --dir DIR] [--guardrails FILE]
  --dir DIR          folder holding backlog.json, raci.json, risks.json, milestones.json (default governance/)
  --guardrails FILE  guardrails file the data is checked against (default guardrails/guardrails.yaml)`;

function main(): number {
    const flags = parseFlags(process.argv.slice(2), { values: ["dir", "guardrails"], booleans: ["help"] }, USAGE);
    if (flags.booleans.has("help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const dir = path.resolve(single(flags, "dir", USAGE) ?? GOVERNANCE_DIR);
    const guardrailsFile = path.resolve(single(flags, "guardrails", USAGE) ?? GUARDRAILS_FILE);
    const problems = validateGovernance(dir, loadGuardrails(guardrailsFile));
    if (problems.length > 0) {
        process.stderr.write(problems.map((p) => formatProblem(p) + "\n").join(""));
        process.stderr.write(
            `governance: ${problems.length} problem${problems.length === 1 ? "" : "s"} in ${displayPath(dir)}/\n`,
        );
        return 1;
    }
    const gov = loadGovernance(dir);
    process.stdout.write(
        `governance: ${displayPath(dir)}/ valid against its schemas and ${displayPath(guardrailsFile)} ` +
            `(${gov.items.length} backlog items, ${gov.milestones.length} milestones, ${gov.raci.length} RACI rows, ${gov.risks.length} risks)\n`,
    );
    return 0;
}

runMain(main);
