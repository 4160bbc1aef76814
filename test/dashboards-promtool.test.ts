import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    BuiltDashboard,
    DashboardJson,
    STATUS,
    allPanels,
    buildDashboards,
    releasePlanFromGovernance,
} from "../dashboards";
import { panelQueries, substitute } from "../dashboards/check";
import { ExtraExprTest, TelemetryScenario, dashboardPromtoolFiles, panelRecords } from "../verify/dashboardSuite";
import { loadGovernance } from "../governance";
import { StackConfig } from "../core/stackConfig";
import { cadenceTargets } from "../rules";
import { PromtoolResult, inParallel, promtool, promtoolAsync } from "../verify/promtool";
import { STACKS, guardrails, stackConfig } from "./helpers";

const plan = releasePlanFromGovernance(loadGovernance());
const scenario = yaml.load(
    fs.readFileSync(path.join(__dirname, "fixtures", "dashboards", "telemetry.yaml"), "utf8"),
) as TelemetryScenario;

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function writeFiles(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-dashboards-"));
    tempDirs.push(dir);
    for (const [name, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, name), content);
    }
    return dir;
}

/** A summary target's expression with $env substituted, found by panel title and legend. */
function summaryExpr(d: BuiltDashboard, config: StackConfig, title: string, legend: string): string {
    const p = allPanels(d.model).find((x) => x.title === title)!;
    const t = p.targets!.find((x) => x.legendFormat === legend)!;
    return substitute(t.expr, { env: config.environment });
}

/**
 * What the fixture's scenario means for the summary's status panels (see the comments in telemetry.yaml): every SLO
 * OK, the environment budget AT RISK (forecast over the cap), the LLM budget in BREACH, staging OK, production BREACH.
 */
function expectedStatuses(config: StackConfig, summary: BuiltDashboard): ExtraExprTest[] {
    const status = (legend: string, title: string) => summaryExpr(summary, config, title, legend);
    const [staging, production] = cadenceTargets(guardrails).map((t) => t.target);
    return [
        {
            expr: status("{{slo}}", "SLO guardrails"),
            samples: config.slos.map((s) => ({ labels: `{slo="${s.id}"}`, value: STATUS.ok })),
        },
        { expr: status("total", "Cost guardrails"), samples: [{ labels: "{}", value: STATUS.atRisk }] },
        { expr: status("llm", "Cost guardrails"), samples: [{ labels: "{}", value: STATUS.breach }] },
        { expr: status(staging, "Release cadence"), samples: [{ labels: `{target="${staging}"}`, value: STATUS.ok }] },
        {
            expr: status(production, "Release cadence"),
            samples: [{ labels: `{target="${production}"}`, value: STATUS.breach }],
        },
    ];
}

interface StackRun {
    readonly stack: string;
    readonly records: number;
    readonly queries: number;
    readonly check: PromtoolResult;
    readonly test: PromtoolResult;
}

let runs: StackRun[] = [];

beforeAll(async () => {
    // promtool is required: promtoolPath() throws (and so fails every test here) when it is missing.
    runs = await inParallel(
        STACKS.map((stack) => async (): Promise<StackRun> => {
            const config = stackConfig(stack);
            const dashboards = buildDashboards(config, guardrails, plan);
            const summary = dashboards.find((d) => d.kind === "summary")!;
            const { files, records } = dashboardPromtoolFiles(
                config,
                guardrails,
                dashboards,
                scenario,
                expectedStatuses(config, summary),
            );
            const dir = writeFiles(files);
            const check = await promtoolAsync(["check", "rules", "panels.yaml"], dir);
            const test = await promtoolAsync(["test", "rules", "test.yaml"], dir);
            return {
                stack,
                records: records.length,
                queries: dashboards.flatMap((d) => panelQueries(d.model)).length,
                check,
                test,
            };
        }),
        2,
    );
}, 300000);

describe("dashboard queries under promtool", () => {
    it.each(STACKS)(
        "%s: promtool parses every panel expression (one recording rule per expression and variable value)",
        (stack) => {
            const r = runs.find((x) => x.stack === stack)!;
            expect(r.check.stderr).toBe("");
            expect(r.check.status).toBe(0);
            expect(r.check.stdout).toContain(`SUCCESS: ${r.records} rules found`);
            expect(r.records).toBeGreaterThan(r.queries);
        },
    );

    it.each(STACKS)(
        "%s: every panel query returns data from the stack's rules and the synthetic telemetry, and the statuses read as the scenario says",
        (stack) => {
            const r = runs.find((x) => x.stack === stack)!;
            expect(r.test.stdout + r.test.stderr).toContain("SUCCESS");
            expect(r.test.status).toBe(0);
        },
    );

    it("fails, naming what is wrong, when a panel uses a label the rules do not write or a status reads the wrong colour", () => {
        const config = stackConfig("dev");
        const dashboards = buildDashboards(config, guardrails, plan).map((d) => ({
            ...d,
            model: JSON.parse(JSON.stringify(d.model)) as DashboardJson,
        }));
        const cost = dashboards.find((d) => d.kind === "cost")!;
        const target = cost.model.panels[0].targets![1];
        target.expr = target.expr.replace("budget=", "cap=");
        const broken = panelRecords(dashboards).find((x) => x.expr.includes("cap="))!;
        const summary = dashboards.find((d) => d.kind === "summary")!;
        // The scenario puts the LLM budget in BREACH; claiming OK must fail.
        const wrong: ExtraExprTest = {
            expr: summaryExpr(summary, config, "Cost guardrails", "llm"),
            samples: [{ labels: "{}", value: STATUS.ok }],
        };
        const { files } = dashboardPromtoolFiles(config, guardrails, dashboards, scenario, [wrong]);
        const result = promtool(["test", "rules", "test.yaml"], writeFiles(files));
        const out = result.stdout + result.stderr;
        expect(result.status).not.toBe(0);
        expect(out).toContain(`expr: "clamp_max(count(${broken.record}), 1)"`);
        expect(out).toContain(`got: {} ${STATUS.breach}E+00`);
        // Nothing else fails: the two changes are the only problems.
        expect(out.match(/expr: /g)).toHaveLength(2);
    });
});
