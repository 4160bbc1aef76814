/**
 * The cost dashboard and the Conductor summary's cost panels read the collector's series: the dashboard promtool
 * suite (verify/dashboardSuite.ts) fed the /metrics of a collector that answered from recorded Cost Explorer
 * responses, in place of the synthetic exporter. Every panel record must hold data; with the LLM category
 * missing, the LLM panels go empty and the suite says which.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { CostExplorerClient } from "@aws-sdk/client-cost-explorer";
import { mockClient } from "aws-sdk-client-mock";
import { CostCollector } from "../collector";
import { collectorSettings } from "../collector/plan";
import { buildDashboards, releasePlanFromGovernance } from "../dashboards";
import { loadGovernance } from "../governance";
import { COST_METRIC, dashboardUid } from "../core/conventions";
import { StackConfig } from "../core/stackConfig";
import { TelemetryScenario, dashboardPromtoolFiles, exposedCostSeries } from "../verify/dashboardSuite";
import { promtool } from "../verify/promtool";
import { accessDenied, answerQueries, byPageToken, recorded } from "./fixtures/cost-explorer/recorded";
import { guardrails, stackConfig } from "./helpers";

const scenario = yaml.load(
    fs.readFileSync(path.join(__dirname, "fixtures", "dashboards", "telemetry.yaml"), "utf8"),
) as TelemetryScenario;
const plan = releasePlanFromGovernance(loadGovernance());
const NOV_20_NOON = Date.parse("2026-11-20T12:00:00Z");

const ce = mockClient(CostExplorerClient);
afterAll(() => ce.restore());

/** The collector's /metrics after one call set against recorded answers (the LLM query denied when asked). */
async function collectorOutput(config: StackConfig, llmDenied = false): Promise<string> {
    ce.reset();
    answerQueries(
        ce,
        byPageToken([recorded("month-to-date.page1"), recorded("month-to-date.page2")]),
        llmDenied ? accessDenied("not authorized") : recorded("llm"),
    );
    const collector = new CostCollector(collectorSettings(config, guardrails), new CostExplorerClient({}), {
        now: () => NOV_20_NOON,
        sleep: () => Promise.resolve(),
        random: () => 0,
        log: () => undefined,
    });
    await collector.refreshIfDue();
    return collector.scrape();
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function runSuite(config: StackConfig, text: string) {
    const dashboards = buildDashboards(config, guardrails, plan);
    const costSeries = exposedCostSeries(text, scenario.evalMinutes, NOV_20_NOON / 1000);
    const { files, records } = dashboardPromtoolFiles(config, guardrails, dashboards, scenario, [], costSeries);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-collector-dashboards-"));
    dirs.push(dir);
    for (const [name, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(dir, name), content);
    }
    return { records, costSeries, test: promtool(["test", "rules", "test.yaml"], dir) };
}

describe.each(["dev", "staging"])("%s: dashboards fed the collector's output", (stack) => {
    const config = stackConfig(stack);

    it("every cost panel (cost dashboard, summary cost panels) and every other panel shows data", async () => {
        const { records, costSeries, test } = runSuite(config, await collectorOutput(config));
        // The cost input is the collector's, not the synthetic exporter's: its per-service categories are there.
        expect(costSeries.map((s) => s.series)).toContain(`${COST_METRIC.monthToDate}{category="Amazon Bedrock"}`);
        expect(records.filter((r) => r.dashboard === dashboardUid("cost", config.environment)).length).toBeGreaterThan(
            0,
        );
        expect(
            records.some((r) => r.dashboard === dashboardUid("summary", config.environment) && /cost/i.test(r.panel)),
        ).toBe(true);
        expect(test.stdout + test.stderr).toContain("SUCCESS");
        expect(test.status).toBe(0);
    });
});

describe("dev: dashboards fed a collector that lost a category", () => {
    it("with the LLM category missing, exactly the panels reading it are empty, and the suite names them", async () => {
        const config = stackConfig("dev");
        const { records, test } = runSuite(config, await collectorOutput(config, true));
        const out = test.stdout + test.stderr;
        expect(test.status).not.toBe(0);
        const failed = records.filter((r) => out.includes(`count(${r.record})`));
        const readsLlm = (expr: string) => expr.includes('category="llm"');
        expect(failed.map((r) => r.record).sort()).toEqual(
            records
                .filter((r) => readsLlm(r.expr))
                .map((r) => r.record)
                .sort(),
        );
        expect(failed.map((r) => r.dashboard)).toEqual(
            expect.arrayContaining([
                dashboardUid("cost", config.environment),
                dashboardUid("summary", config.environment),
            ]),
        );
    });
});
