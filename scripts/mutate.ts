/**
 * `npm run mutate [-- --group NAME ...] [--force] [--report-only]`: mutation testing of the guard code with StrykerJS,
 * one group at a time (stryker/<group>.conf.mjs: the files it mutates and the test files that exercise them
 * in-process), in incremental mode over reports/mutation/<group>.incremental.json. Then prints, per group and overall,
 * killed / survived / no coverage / timeout and the score killed / (killed + survived + no coverage), lists the
 * survivors of the groups just run, and writes every group's latest results, merged, to reports/mutation/mutation.json
 * (the mutation-testing-report schema). Exits 1 when a group just run scores under the target.
 * When to run it: docs/CONTRIBUTING.md, "Mutation testing". Not part of `npm test` or .ci/run.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseFlags, runMain, UsageError } from "./cli";
import { repoRoot } from "../core/validation";
import {
    MUTATION_TARGET,
    MutationReport,
    figures,
    figuresTable,
    formatScore,
    mergeReports,
    mutationScore,
    survivors,
} from "../verify/mutation";

const CONFIG_DIR = path.join(repoRoot, "stryker");
const REPORT_DIR = path.join(repoRoot, "reports", "mutation");
const MERGED = path.join(REPORT_DIR, "mutation.json");

/** The groups there are: one stryker/<group>.conf.mjs each. */
function allGroups(): string[] {
    return fs
        .readdirSync(CONFIG_DIR)
        .filter((f) => f.endsWith(".conf.mjs"))
        .map((f) => f.slice(0, -".conf.mjs".length))
        .sort();
}

const USAGE = `usage: npm run mutate [-- --group NAME ...] [--mutate FILE ...] [--force] [--report-only]
  --group NAME    run this group (repeatable; default: every group): ${allGroups().join(", ")}
  --mutate FILE   mutate only these of the group's files (repeatable; Stryker's --mutate, e.g. core/guardrails.ts)
  --force         re-test every mutant of the group, not only those the changes since its last run touched
  --report-only   run nothing: print the figures and write the merged report from the groups' last runs`;

const incrementalFile = (group: string) => path.join(REPORT_DIR, `${group}.incremental.json`);

function readReport(group: string): MutationReport | undefined {
    const file = incrementalFile(group);
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as MutationReport) : undefined;
}

function runGroup(group: string, force: boolean, files: readonly string[]): number {
    // The package exports no bin path; its CLI sits beside its package.json.
    const stryker = path.join(path.dirname(require.resolve("@stryker-mutator/core/package.json")), "bin", "stryker.js");
    const args = [
        stryker,
        "run",
        path.join("stryker", `${group}.conf.mjs`),
        ...(force ? ["--force"] : []),
        ...(files.length > 0 ? ["--mutate", files.join(",")] : []),
    ];
    process.stdout.write(`mutate: ${group}: stryker ${args.slice(1).join(" ")}\n`);
    const start = Date.now();
    const r = spawnSync(process.execPath, args, { cwd: repoRoot, stdio: "inherit" });
    if (r.status !== 0) {
        throw new Error(`stryker failed on group ${group} (exit ${r.status ?? r.signal}); its output is above`);
    }
    return (Date.now() - start) / 1000;
}

function main(): number {
    const flags = parseFlags(
        process.argv.slice(2),
        { values: ["group", "mutate"], booleans: ["force", "report-only", "help"] },
        USAGE,
    );
    if (flags.booleans.has("help")) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const known = allGroups();
    const chosen = flags.values.group ?? known;
    for (const g of chosen) {
        if (!known.includes(g)) {
            throw new UsageError(`unknown group "${g}"; allowed: ${known.join(", ")}`, USAGE);
        }
    }
    const reportOnly = flags.booleans.has("report-only");
    if (reportOnly && flags.booleans.has("force")) {
        throw new UsageError("--force runs the groups; --report-only runs none: give one of them", USAGE);
    }
    const files = flags.values.mutate ?? [];
    if (files.length > 0 && chosen.length !== 1) {
        throw new UsageError("--mutate narrows one group: give exactly one --group with it", USAGE);
    }
    const wall: Record<string, number> = {};
    for (const g of reportOnly ? [] : chosen) {
        wall[g] = runGroup(g, flags.booleans.has("force"), files);
    }

    const reports = known.flatMap((group) => {
        const report = readReport(group);
        return report ? [{ group, report }] : [];
    });
    if (reports.length === 0) {
        process.stderr.write(`mutate: no group has been run yet; run one with \`npm run mutate -- --group <name>\`\n`);
        return 1;
    }
    const rows = reports.map(({ group, report }) => ({ group, figures: figures(report) }));
    process.stdout.write(
        `\nmutation score = killed / (killed + survived + no coverage); target ${formatScore(MUTATION_TARGET)}\n`,
    );
    process.stdout.write(figuresTable(rows));
    for (const g of Object.keys(wall)) {
        process.stdout.write(`mutate: ${g} ran in ${Math.round(wall[g])} s\n`);
    }
    const stale = known.filter((g) => !reports.some((r) => r.group === g));
    if (stale.length > 0) {
        process.stdout.write(`mutate: not run yet (not in the overall figures): ${stale.join(", ")}\n`);
    }
    let below = false;
    for (const { group, report } of reports.filter((r) => chosen.includes(r.group))) {
        const left = survivors(report);
        if (left.length > 0) {
            process.stdout.write(
                `\n${group}: ${left.length} survived or uncovered\n${left.map((l) => `  ${l}\n`).join("")}`,
            );
        }
        const score = mutationScore(figures(report));
        if (score !== undefined && score < MUTATION_TARGET) {
            below = true;
            process.stdout.write(`mutate: ${group} scores ${formatScore(score)}, under the target\n`);
        }
    }
    fs.mkdirSync(REPORT_DIR, { recursive: true });
    fs.writeFileSync(MERGED, JSON.stringify(mergeReports(reports), null, 2) + "\n");
    process.stdout.write(
        `mutate: merged report of ${reports.map((r) => r.group).join(", ")} in ${path.relative(repoRoot, MERGED)}\n`,
    );
    return below ? 1 : 0;
}

runMain(main);
