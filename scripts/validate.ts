/**
 * `npm run validate [-- --dir DIR] [-- --guardrails FILE] [-- --stacks DIR]`: validate the governance data (backlog,
 * RACI, risks, milestones) against their JSON Schemas, then the cross-reference rules against the guardrails file,
 * then every `Pulumi.<stack>.yaml` together: each valid, and no two whose rules one Prometheus evaluates sharing a
 * rule object, a series or SLI traffic (rules/placement.ts). Prints each problem as `file: /json/path: message` and
 * exits 1 when there is any.
 */
import "../offline/useCodeCache";
import * as path from "path";
import { parseFlags, runMain, single } from "./cli";
import { GUARDRAILS_FILE, loadGuardrails } from "../core/guardrails";
import { loadStackConfigs } from "../core/stackFile";
import { formatProblem, displayPath, repoRoot } from "../core/validation";
import { stacksApart } from "../rules";
import { GOVERNANCE_DIR, loadGovernance, validateGovernance } from "../governance";

const USAGE = `usage: npm run validate [-- --dir DIR] [--guardrails FILE] [--stacks DIR]
  --dir DIR          folder holding backlog.json, raci.json, risks.json, milestones.json (default governance/)
  --guardrails FILE  guardrails file the data is checked against (default guardrails/guardrails.yaml)
  --stacks DIR       folder holding the Pulumi.<stack>.yaml files checked together (default: the project's)`;

function main(): number {
    const flags = parseFlags(
        process.argv.slice(2),
        { values: ["dir", "guardrails", "stacks"], booleans: ["help"] },
        USAGE,
    );
    if (flags.booleans.has("help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const dir = path.resolve(single(flags, "dir", USAGE) ?? GOVERNANCE_DIR);
    const guardrailsFile = path.resolve(single(flags, "guardrails", USAGE) ?? GUARDRAILS_FILE);
    const guardrails = loadGuardrails(guardrailsFile);
    const problems = validateGovernance(dir, guardrails);
    const stacksDir = path.resolve(single(flags, "stacks", USAGE) ?? repoRoot);
    const stacks = loadStackConfigs(stacksDir, guardrails);
    const stackProblems = [...stacks.invalid.flatMap((e) => e.problems), ...stacksApart(stacks.configs, guardrails)];
    if (stackProblems.length > 0) {
        process.stderr.write(stackProblems.map((p) => formatProblem(p) + "\n").join(""));
        process.stderr.write(
            `stacks: ${stackProblems.length} problem${stackProblems.length === 1 ? "" : "s"} in the stack files of ${displayPath(stacksDir)}/\n`,
        );
    }
    if (problems.length > 0) {
        process.stderr.write(problems.map((p) => formatProblem(p) + "\n").join(""));
        process.stderr.write(
            `governance: ${problems.length} problem${problems.length === 1 ? "" : "s"} in ${displayPath(dir)}/\n`,
        );
        return 1;
    }
    if (stackProblems.length > 0) {
        return 1;
    }
    const gov = loadGovernance(dir);
    process.stdout.write(
        `governance: ${displayPath(dir)}/ valid against its schemas and ${displayPath(guardrailsFile)} ` +
            `(${gov.items.length} backlog items, ${gov.milestones.length} milestones, ${gov.raci.length} RACI rows, ${gov.risks.length} risks)\n`,
    );
    process.stdout.write(
        `stacks: ${stacks.configs.map((c) => c.stack).join(", ")} valid, and no two whose rules share a Prometheus share a rule object, a series or SLI traffic\n`,
    );
    return 0;
}

runMain(main);
