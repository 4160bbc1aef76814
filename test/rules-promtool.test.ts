/**
 * The rendered rules as artifacts: `promtool check rules` on the files synth writes for every stack, and
 * `promtool test rules` suites (generated from the guardrails) proving every alerting goal docs/slo-alerting.md sets.
 * promtool must be installed (Debian's prometheus package, as .ci/run installs it): without it these fail.
 */
import { createHash } from "crypto";
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
import * as yaml from "js-yaml";
import { SLO_RECORD } from "../core/conventions";
import { SLO_ALERT_NAME, WORKBOOK_BURN_ALERTS } from "../rules/design";
import { sloPeriodWindow } from "../rules/slo";
import { RuleGroup, isRecordingRule } from "../rules/types";
import { PromtoolResult, inParallel, promtool, promtoolAsync, promtoolEnv, promtoolPath } from "../verify/promtool";
import { guardrails, STACKS } from "./helpers";

const PARALLEL = Math.max(1, Math.min(2, os.cpus().length));

/**
 * `promtool test rules` on a suite file, once per content: a file and the rule files it names, byte for byte the same
 * as a run before in this file, get that run's result (promtool's clock and input are the file's, so the verdict is
 * too). The real-traffic suites below first show the unchanged files pass, as the stacks' run above already showed.
 */
const verdicts = new Map<string, Promise<PromtoolResult>>();
function testRules(dir: string, file: string): Promise<PromtoolResult> {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    const { rule_files: ruleFiles = [] } = yaml.load(text) as { rule_files?: string[] };
    const hash = createHash("sha256").update(text);
    for (const rules of ruleFiles) {
        hash.update(`\0${rules}\0`).update(fs.readFileSync(path.join(dir, rules)));
    }
    const key = hash.digest("hex");
    const known = verdicts.get(key) ?? promtoolAsync(["test", "rules", file], dir);
    verdicts.set(key, known);
    return known;
}

describe("promtool", () => {
    it("is installed (the rule tests never skip)", () => {
        expect(promtoolPath()).toMatch(/promtool$/);
        expect(promtool(["--version"], repoRoot).stdout + promtool(["--version"], repoRoot).stderr).toMatch(
            /promtool, version 2\./,
        );
    });

    it("runs with Go's collector and scheduler set for short single-threaded runs, unless the caller set them", () => {
        expect(promtoolEnv({ PATH: "/bin" })).toEqual({ PATH: "/bin", GOGC: "400", GOMAXPROCS: "1" });
        expect(promtoolEnv({ GOGC: "100", GOMAXPROCS: "4" })).toEqual({ GOGC: "100", GOMAXPROCS: "4" });
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
        "%s: SLO pages and tickets (idle, trickle, integer threshold, shared Prometheus too), telemetry gaps, cost and cadence alerts behave as specified",
        async (stack) => {
            // The shared-Prometheus suite pairs each stack with the next one, both scoped by sliMatchers.
            const neighbour = shippedStackConfig(STACKS[(STACKS.indexOf(stack) + 1) % STACKS.length]);
            const { dir, testFiles } = writeSuite(shippedStackConfig(stack), { budgetTestedObjectives, neighbour });
            expect(testFiles).toEqual(
                expect.arrayContaining([
                    "telemetry.test.yaml",
                    "cost.test.yaml",
                    "slo-idle.test.yaml",
                    "slo-trickle.test.yaml",
                    "integer-threshold.test.yaml",
                    "shared-prometheus.test.yaml",
                ]),
            );
            const results = await inParallel(
                testFiles.map((f) => () => testRules(dir, f)),
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

/**
 * The real-traffic suites (idle stretches, a trickle with bursts, an integer threshold in both `le` spellings, two
 * environments in one Prometheus) can fail: each is run against the rule files with the one thing it guards undone,
 * and promtool must report the behaviour it guards.
 */
describe("promtool test rules: the real-traffic suites fail without what they guard", () => {
    const config = shippedStackConfig("prod");
    const [first] = config.slos;
    const suite = () => writeSuite(config, { budgetTestedObjectives: new Set(config.slos.map((s) => s.objective)) });
    const edit = (dir: string, file: string, change: (text: string) => string) => {
        const full = path.join(dir, file);
        const before = fs.readFileSync(full, "utf8");
        const after = change(before);
        expect(after).not.toBe(before);
        fs.writeFileSync(full, after);
    };
    const run = async (dir: string, file: string) => {
        const r = await testRules(dir, file);
        return { status: r.status, out: r.stdout + r.stderr };
    };

    it("idle stretches: an average of 5m ratios (unweighted, NaN when idle) fails the period figures", async () => {
        const { dir } = suite();
        expect((await run(dir, "slo-idle.test.yaml")).status).toBe(0);
        const file = `maestro-slo-${first.id}-prod.yaml`;
        edit(dir, file, (text) => {
            const doc = yaml.load(text) as { groups: RuleGroup[] };
            const period = SLO_RECORD.errorRatio(sloPeriodWindow(guardrails));
            const rules = doc.groups[0].rules.map((r) =>
                isRecordingRule(r) && r.record === period
                    ? {
                          ...r,
                          expr: `avg_over_time(${SLO_RECORD.errorRatio("5m")}{slo="${first.id}",env="prod",service=""}[30d])`,
                      }
                    : r,
            );
            return yaml.dump({ groups: [{ ...doc.groups[0], rules }] }, { lineWidth: -1 });
        });
        const r = await run(dir, "slo-idle.test.yaml");
        expect(r.status).toBe(1);
        expect(r.out).toContain(`abs(${SLO_RECORD.errorRatio(sloPeriodWindow(guardrails))}`);
    });

    it("a trickle: without the minimum-traffic gate a burst of the allowed slow requests pages", async () => {
        const { dir } = suite();
        expect((await run(dir, "slo-trickle.test.yaml")).status).toBe(0);
        edit(dir, `maestro-slo-${first.id}-prod.yaml`, (text) =>
            text.replace(/\n\s*and on \(\)\n\s*sum\(increase[^\n]*/g, ""),
        );
        const r = await run(dir, "slo-trickle.test.yaml");
        expect(r.status).toBe(1);
        expect(r.out).toContain("count_over_time(ALERTS{");
        expect(r.out).toContain(`{alertname="${SLO_ALERT_NAME.page}", alertstate="firing"`);
    });

    it("an integer threshold: an le matcher with one spelling misses Prometheus 3's bucket", async () => {
        const { dir, testFiles } = suite();
        expect(testFiles).toContain("integer-threshold.test.yaml");
        expect((await run(dir, "integer-threshold.test.yaml")).status).toBe(0);
        edit(dir, "integer-threshold.rules.yaml", (text) => text.replace(/le=~"(\d+)\|\d+\\\\\.0"/g, 'le="$1"'));
        const r = await run(dir, "integer-threshold.test.yaml");
        expect(r.status).toBe(1);
        expect(r.out).toContain(`alertname: ${SLO_ALERT_NAME.page}`);
    });

    it("two environments in one Prometheus: an unscoped SLI reads the other environment's slow traffic", async () => {
        const { dir } = suite();
        expect((await run(dir, "shared-prometheus.test.yaml")).status).toBe(0);
        edit(dir, "shared-other.rules.yaml", (text) => text.replace(/,namespace="[^"]*"/g, ""));
        const r = await run(dir, "shared-prometheus.test.yaml");
        expect(r.status).toBe(1);
        expect(r.out).toContain(SLO_RECORD.errorRatio("5m"));
    });
});
