/**
 * The rendered rules as artifacts: `promtool check rules` on the files synth writes for every stack, and
 * `promtool test rules` suites (generated from the guardrails) proving every behaviour the issue asks for.
 * promtool must be installed (Debian's prometheus package, as .ci/run installs it): without it these fail.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GuardrailRules } from "../components/prometheusRules";
import { extractArtifacts } from "../offline/artifacts";
import { runWithMocks } from "../offline/mockRuntime";
import { shippedStackConfig, shippedStackFile } from "../offline/shippedStacks";
import { StackConfig } from "../core/stackConfig";
import { repoRoot } from "../core/validation";
import { writeSuite } from "../verify/ruleBench";
import { SLO_ALERT_NAME, WORKBOOK_BURN_ALERTS } from "../rules/design";
import { inParallel, promtool, promtoolAsync, promtoolPath } from "../verify/promtool";
import { guardrails, STACKS } from "./helpers";

const PARALLEL = Math.max(1, Math.min(2, os.cpus().length));

describe("promtool", () => {
    it("is installed (the rule tests never skip)", () => {
        expect(promtoolPath()).toMatch(/promtool$/);
        expect(promtool(["--version"], repoRoot).stdout + promtool(["--version"], repoRoot).stderr).toMatch(
            /promtool, version 2\./,
        );
    });

    it("fails with a clear message when it is missing", () => {
        const saved = process.env.PATH;
        process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), "no-promtool-"));
        try {
            expect(() => promtoolPath()).toThrow(/promtool not found on PATH .*install Debian's prometheus package/);
        } finally {
            process.env.PATH = saved;
        }
    });
});

describe.each(STACKS)("promtool check rules on %s's rendered files", (stack) => {
    it("passes on every file synth writes to out/<stack>/prometheus/", async () => {
        const config: StackConfig = shippedStackConfig(stack, guardrails);
        const run = await runWithMocks({
            stack,
            config: shippedStackFile(stack),
            program: () => void new GuardrailRules("rules", { config, guardrails }),
        });
        const files = extractArtifacts(run.resources).filter((a) => a.path.startsWith("prometheus/"));
        expect(files.length).toBeGreaterThanOrEqual(config.slos.length + 2);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `maestro-check-${stack}-`));
        for (const f of files) {
            fs.writeFileSync(path.join(dir, path.basename(f.path)), f.content);
        }
        const r = promtool(["check", "rules", ...files.map((f) => path.basename(f.path))], dir);
        expect(r.stdout + r.stderr).not.toContain("FAILED");
        expect(r.status).toBe(0);
        expect((r.stdout.match(/SUCCESS/g) ?? []).length).toBe(files.length);
    });
});

describe("promtool test rules: every behaviour, every stack", () => {
    // Stacks run in order and share this set, so the days-long budget timeline runs once per objective.
    const budgetTestedObjectives = new Set<number>();

    it.each(STACKS)(
        "%s: SLO pages and tickets, telemetry gaps, cost and cadence alerts behave as specified",
        async (stack) => {
            const { dir, testFiles } = writeSuite(shippedStackConfig(stack), { budgetTestedObjectives });
            expect(testFiles).toEqual(expect.arrayContaining(["telemetry.test.yaml", "cost.test.yaml"]));
            const results = await inParallel(
                testFiles.map((f) => () => promtoolAsync(["test", "rules", f], dir)),
                PARALLEL,
            );
            const failures = results.map((r, i) => ({ file: testFiles[i], ...r })).filter((r) => r.status !== 0);
            expect(failures.map((f) => `${f.file} (in ${dir}):\n${f.stdout}${f.stderr}`)).toEqual([]);
            for (const r of results) {
                expect(r.stdout).toContain("SUCCESS");
            }
        },
        180_000,
    );

    it("rejects the SRE workbook's windows (Sloth's): the suite can fail, and says which alert was late", async () => {
        const config = shippedStackConfig("dev");
        const { dir, testFiles } = writeSuite(config, {
            design: WORKBOOK_BURN_ALERTS,
            budgetTestedObjectives: new Set(config.slos.map((s) => s.objective)),
        });
        const r = await promtoolAsync(["test", "rules", testFiles[0]], dir);
        expect(r.status).toBe(1);
        expect(r.stdout + r.stderr).toContain(`alertname: ${SLO_ALERT_NAME.page}`);
    }, 60_000);
});
