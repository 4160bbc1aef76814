/**
 * Figures for `npm run bench`: rules per SLO (recording and alerting), rule files per stack, and the wall time
 * of the whole promtool suite (check + test of every stack), run the way the jest test runs it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadGuardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";
import { shippedStackConfig } from "../offline/shippedStacks";
import { buildRuleSets } from "../rules/index";
import { inParallel, promtoolAsync, PromtoolResult } from "./promtool";
import { buildPromtoolSuite, SuiteOptions } from "./ruleSuite";
import { isAlertingRule } from "../rules/types";

const STACKS = ["dev", "staging", "prod"] as const;

/** Write a stack's suite to a fresh temp folder; returns the folder and the suite. */
export function writeSuite(
    config: StackConfig,
    opts: SuiteOptions = {},
): { dir: string; ruleFiles: readonly string[]; testFiles: readonly string[] } {
    const suite = buildPromtoolSuite(config, loadGuardrails(), opts);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `maestro-promtool-${config.stack}-`));
    for (const [name, content] of Object.entries(suite.files)) {
        fs.writeFileSync(path.join(dir, name), content);
    }
    return { dir, ruleFiles: suite.ruleFiles, testFiles: suite.testFiles };
}

export async function rulesBenchFigures(): Promise<Record<string, number | string>> {
    const g = loadGuardrails();
    const figures: Record<string, number | string> = {};
    const prod = shippedStackConfig("prod");
    for (const set of buildRuleSets(prod, g).filter((s) => s.backlogItem === "sloRules")) {
        const rules = set.groups.flatMap((x) => x.rules);
        const alerts = rules.filter(isAlertingRule).length;
        figures[`rules for ${set.name} (recording + alerting)`] =
            `${rules.length} (${rules.length - alerts} + ${alerts})`;
    }
    const start = process.hrtime.bigint();
    const runs: Array<() => Promise<PromtoolResult>> = [];
    const dirs: string[] = [];
    const budgetTestedObjectives = new Set<number>();
    for (const [i, stack] of STACKS.entries()) {
        const config = shippedStackConfig(stack);
        // As the jest test runs it: the shared-Prometheus suite pairs each stack with the next.
        const neighbour = shippedStackConfig(STACKS[(i + 1) % STACKS.length]);
        figures[`rules in stack ${stack}`] = buildRuleSets(config, g).reduce(
            (n, s) => n + s.groups.reduce((m, x) => m + x.rules.length, 0),
            0,
        );
        const { dir, ruleFiles, testFiles } = writeSuite(config, { budgetTestedObjectives, neighbour });
        figures[`promtool test files in stack ${stack}`] = testFiles.length;
        dirs.push(dir);
        runs.push(() => promtoolAsync(["check", "rules", ...ruleFiles], dir));
        runs.push(...testFiles.map((f) => () => promtoolAsync(["test", "rules", f], dir)));
    }
    const results = await inParallel(runs, Math.max(1, Math.min(2, os.cpus().length)));
    const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
    for (const d of dirs) {
        fs.rmSync(d, { recursive: true, force: true });
    }
    const failed = results.filter((r) => r.status !== 0).length;
    figures["promtool runs (check + test, 3 stacks)"] =
        `${results.length}${failed > 0 ? `, ${failed} FAILED` : ", all passed"}`;
    figures["promtool suite wall time (2 in parallel)"] = `${(wallMs / 1000).toFixed(2)} s`;
    figures["promtool CPU-serial time (sum of runs)"] =
        `${(results.reduce((s, r) => s + r.ms, 0) / 1000).toFixed(2)} s`;
    return figures;
}
