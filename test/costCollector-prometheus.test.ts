/**
 * End to end on loopback with the real servers: the cost collector (fed recorded Cost Explorer answers, re-dated to
 * today) is scraped by a real Prometheus that loads the staging stack's rules; the ledger-derived release-cut
 * metric is pushed to a real Pushgateway, as .ci/run pushes it, and scraped with honor_labels. The cost and
 * cadence alerts then behave as docs/slo-alerting.md says: the threshold ticket is pending (it holds for an hour)
 * once spend passes the alert line, a missing category or data older than the limit makes the telemetry alert
 * pending, an overdue staging cut fires at once, a recent one is quiet. The month-end forecast depends on the
 * day of the real month, so it is left to the promtool suites (test/rules-promtool.test.ts), which fix the clock.
 */
import {
    CostExplorerClient,
    CostExplorerServiceException,
    GetCostAndUsageResponse,
} from "@aws-sdk/client-cost-explorer";
import { mockClient } from "aws-sdk-client-mock";
import * as yaml from "js-yaml";
import { CollectorSettings, CostCollector, RunningServer, isoDay, queryWindow, serveCollector } from "../collector";
import { collectorSettings } from "../collector/plan";
import { COST_METRIC, CADENCE_METRIC, GUARDRAIL_LABEL } from "../core/conventions";
import { StackConfig } from "../core/stackConfig";
import { shippedStackConfig } from "../offline/shippedStacks";
import { COST_ALERT } from "../rules/cost";
import {
    CADENCE_ALERT,
    RELEASE_CUT_ROLE,
    buildRuleGroups,
    cadenceTargets,
    lastReleaseCuts,
    renderRuleFile,
} from "../rules";
import { releaseCutMetrics, renderMetrics } from "../verify/ciMetrics";
import {
    RunningServer as RealServer,
    instantQuery,
    request,
    startPrometheus,
    startPushgateway,
    waitFor,
} from "../verify/servers";
import { answerQueries, byPageToken, recorded } from "./fixtures/cost-explorer/recorded";
import { guardrails } from "./helpers";

const STACK = "staging";
/** Three evaluation intervals (1 s each): alerts computed before the series arrived have been re-evaluated. */
const SETTLE_MS = 3000;
const DAY_MS = 86400_000;
const config: StackConfig = shippedStackConfig(STACK, guardrails);
const settings: CollectorSettings = collectorSettings(config, guardrails);
const stagingTarget = cadenceTargets(guardrails).find((t) => t.environment === STACK)!;

/**
 * A recorded answer moved by whole days so its newest day is `newestDayMs`, amounts scaled by `scale`: the same
 * shape, services and day-to-day pattern Cost Explorer gave, on today's calendar.
 */
function redated(pages: GetCostAndUsageResponse[], newestDayMs: number, scale = 1): GetCostAndUsageResponse[] {
    const days = pages.flatMap((p) => (p.ResultsByTime ?? []).map((r) => r.TimePeriod!.Start!)).sort();
    const shift = newestDayMs - Date.parse(`${days[days.length - 1]}T00:00:00Z`);
    const move = (d: string) => isoDay(Date.parse(`${d}T00:00:00Z`) + shift);
    const amount = (m: { Amount?: string; Unit?: string }) => ({
        ...m,
        Amount: (Number(m.Amount) * scale).toFixed(10),
    });
    return pages.map((p) => ({
        ...p,
        ResultsByTime: (p.ResultsByTime ?? []).map((r) => ({
            ...r,
            TimePeriod: { Start: move(r.TimePeriod!.Start!), End: move(r.TimePeriod!.End!) },
            Total: r.Total?.AmortizedCost ? { AmortizedCost: amount(r.Total.AmortizedCost) } : r.Total,
            Groups: (r.Groups ?? []).map((g) => ({
                ...g,
                Metrics: { AmortizedCost: amount(g.Metrics!.AmortizedCost) },
            })),
        })),
    }));
}

/** Month-to-date spend of an answer as of `nowMs` (days on or after the month start). */
function monthToDate(pages: GetCostAndUsageResponse[], nowMs: number): number {
    const monthStart = queryWindow(nowMs, settings.lookbackDays).monthStart;
    return pages
        .flatMap((p) => p.ResultsByTime ?? [])
        .filter((r) => r.TimePeriod!.Start! >= monthStart)
        .flatMap((r) => r.Groups ?? [])
        .reduce((n, g) => n + Number(g.Metrics!.AmortizedCost.Amount), 0);
}

/** The total query's pages, re-dated to end on `newestDayMs`, scaled so month-to-date spend is `usd` when it can be. */
function totalAnswer(newestDayMs: number, usd: number, nowMs: number): GetCostAndUsageResponse[] {
    const pages = redated([recorded("month-to-date.page1"), recorded("month-to-date.page2")], newestDayMs);
    const mtd = monthToDate(pages, nowMs);
    return mtd > 0 ? redated(pages, newestDayMs, usd / mtd) : pages;
}

/** A Cost Explorer client of its own for each scenario, answering as recorded: the scenarios run at once. */
function answering(totalPages: GetCostAndUsageResponse[], llm: GetCostAndUsageResponse | Error) {
    const client = new CostExplorerClient({ region: "us-east-1" });
    const ce = mockClient(client);
    answerQueries(ce, byPageToken(totalPages), llm);
    return { client, restore: () => ce.restore() };
}

const quiet = {
    now: () => Date.now(),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    random: () => 0,
    log: () => undefined,
};

interface Running {
    collector?: RunningServer;
    pushgateway?: RealServer;
    prometheus?: RealServer;
}

/** Stop whatever started, in reverse order; always called. */
async function stopAll(r: Running): Promise<void> {
    await r.prometheus?.stop();
    await r.pushgateway?.stop();
    await r.collector?.close();
}

/**
 * Each scenario's pushes carry its own grouping label, and its Prometheus keeps only series that have it: this file's
 * scenarios and the real-server tests of other files run at the same time on other loopback ports, and a port one of
 * them freed can be taken by another.
 */
let runs = 0;
const runLabel = () => `costcollector-${process.pid}-${Date.now()}-${++runs}`;

/** The staging stack's rules, the collector and the Pushgateway as scrape targets, one-second intervals. */
function prometheusConfig(collectorPort: number, pushgatewayPort: number, run: string): string {
    return yaml.dump({
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: ["rules.yaml"],
        scrape_configs: [
            { job_name: "cost-collector", static_configs: [{ targets: [`127.0.0.1:${collectorPort}`] }] },
            {
                job_name: "pushgateway",
                honor_labels: true,
                static_configs: [{ targets: [`127.0.0.1:${pushgatewayPort}`] }],
                metric_relabel_configs: [{ source_labels: ["run"], regex: run, action: "keep" }],
            },
        ],
    });
}

/** Cost and cadence alerts as `alertname/budget-or-target` -> state (the forecast left out, see above). */
async function costAndCadenceAlerts(prometheus: RealServer): Promise<Record<string, string>> {
    const alerts = await instantQuery(
        prometheus,
        `ALERTS{guardrail=~"${GUARDRAIL_LABEL.cost}|${GUARDRAIL_LABEL.cadence}",alertname!="${COST_ALERT.forecast}"}`,
    );
    return Object.fromEntries(
        alerts
            .map((a): [string, string] => [
                `${a.metric.alertname}/${a.metric.budget ?? a.metric.target}`,
                a.metric.alertstate,
            ])
            .sort(([a], [b]) => a.localeCompare(b)),
    );
}

interface Scenario {
    readonly totalPages: GetCostAndUsageResponse[];
    readonly llm: GetCostAndUsageResponse | Error;
    /** When the Release Manager signed the last staging cut. */
    readonly stagingCutMs: number;
}

/** Run one scenario against real servers and return the alerts once they settle to `expected` (or fail, bounded). */
async function run(scenario: Scenario, expected: Record<string, string>) {
    const costExplorer = answering(scenario.totalPages, scenario.llm);
    const collector = new CostCollector(settings, costExplorer.client, quiet);
    const run = runLabel();
    const running: Running = {};
    try {
        await collector.refreshIfDue();
        running.collector = await serveCollector(collector, 0, "127.0.0.1");
        running.pushgateway = await startPushgateway();
        // What `provenance verify --metrics` writes from the ledger, pushed as .ci/run pushes its files.
        const cut = lastReleaseCuts(
            [
                {
                    tag: "v1.4.0",
                    environment: STACK,
                    role: RELEASE_CUT_ROLE,
                    time: new Date(scenario.stagingCutMs).toISOString(),
                },
            ],
            guardrails,
        );
        const push = await request(
            `${running.pushgateway.url}/metrics/job/maestro-ci/source/metrics-release-signoffs/run/${run}`,
            { method: "POST", body: renderMetrics([releaseCutMetrics(cut)]) },
        );
        expect(push.status).toBe(200);
        running.prometheus = await startPrometheus({
            config: prometheusConfig(running.collector.port, running.pushgateway.port, run),
            ruleFiles: { "rules.yaml": renderRuleFile(buildRuleGroups(config, guardrails)) },
        });
        const prometheus = running.prometheus;
        // Before the first scrapes every series is absent, which alone raises some of the expected alerts: judge
        // only evaluations made after both targets' series are in.
        await waitFor(
            "the collector's and the Pushgateway's series in Prometheus",
            async () =>
                (await instantQuery(prometheus, `${COST_METRIC.dataTimestamp} and on () ${CADENCE_METRIC.lastCut}`))
                    .length > 0
                    ? true
                    : undefined,
            30000,
        );
        const judgeFrom = Date.now() + SETTLE_MS;
        let last: Record<string, string> = {};
        try {
            await waitFor(
                "cost and cadence alerts as the scenario expects",
                async () => {
                    if (Date.now() < judgeFrom) {
                        return undefined;
                    }
                    last = await costAndCadenceAlerts(prometheus);
                    return JSON.stringify(last) === JSON.stringify(expected) ? last : undefined;
                },
                45000,
                500,
            );
        } catch (err) {
            throw new Error(
                `${(err as Error).message}\nexpected ${JSON.stringify(expected)}\ngot      ${JSON.stringify(last)}`,
            );
        }
        const rules = JSON.parse((await request(`${prometheus.url}/api/v1/rules`)).body) as {
            data: {
                groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }>;
            };
        };
        const unhealthy = rules.data.groups.flatMap((g) =>
            g.rules.filter((r) => r.health !== "ok").map((r) => `${g.name}/${r.name}: ${r.lastError}`),
        );
        return {
            alerts: last,
            unhealthy,
            groups: rules.data.groups.map((g) => g.name),
            spend: await instantQuery(prometheus, COST_METRIC.monthToDate),
            dataTimestamp: await instantQuery(prometheus, COST_METRIC.dataTimestamp),
            cut: await instantQuery(prometheus, CADENCE_METRIC.lastCut),
        };
    } finally {
        await stopAll(running);
        costExplorer.restore();
    }
}

const alertKey = (alert: string, label: string) => `${alert}/${label}`;
const budget = config.monthlyBudgetUsd;
const threshold = config.costAlertThreshold;
const todayMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;

describe("the collector scraped by a real Prometheus running the staging rules", () => {
    // Each scenario has its own servers, client and grouping label, and mostly waits on Prometheus: both at once.
    it.concurrent(
        "spend past the alert line: threshold ticket pending; LLM category missing: telemetry alert pending; overdue cut: fires",
        async () => {
            // Between the alert line and the cap: past the threshold, under the budget.
            const spend = ((1 + threshold) / 2) * budget;
            const result = await run(
                {
                    totalPages: totalAnswer(todayMs, spend, Date.now()),
                    llm: new CostExplorerServiceException({
                        name: "AccessDeniedException",
                        $fault: "client",
                        $metadata: { httpStatusCode: 400 },
                        message: "not authorized",
                    }),
                    stagingCutMs: Date.now() - 2 * stagingTarget.intervalDays * DAY_MS,
                },
                {
                    [alertKey(COST_ALERT.threshold, "total")]: "pending",
                    [alertKey(COST_ALERT.telemetry, "llm")]: "pending",
                    [alertKey(CADENCE_ALERT.overdue, stagingTarget.target)]: "firing",
                },
            );
            expect(result.unhealthy).toEqual([]);
            expect(result.groups.sort()).toEqual(
                buildRuleGroups(config, guardrails)
                    .map((g) => g.name)
                    .sort(),
            );
            const total = result.spend.find((s) => s.metric.category === "total")!;
            expect(Number(total.value[1])).toBeCloseTo(spend, 2);
            expect(total.metric.job).toBe("cost-collector");
            expect(result.spend.some((s) => s.metric.category === "llm")).toBe(false);
            expect(result.spend.some((s) => s.metric.category === "Amazon Bedrock")).toBe(true);
            expect(result.cut.map((c) => c.metric.target)).toEqual([stagingTarget.target]);
        },
        120000,
    );

    it.concurrent(
        "spend under the line with data older than the limit: telemetry alert pending for both budgets; a recent cut: quiet",
        async () => {
            const stale = todayMs - 4 * DAY_MS;
            const result = await run(
                {
                    totalPages: totalAnswer(stale, (threshold / 2) * budget, Date.now()),
                    llm: redated([recorded("llm")], stale)[0],
                    stagingCutMs: Date.now() - (stagingTarget.intervalDays / 2) * DAY_MS,
                },
                {
                    [alertKey(COST_ALERT.telemetry, "llm")]: "pending",
                    [alertKey(COST_ALERT.telemetry, "total")]: "pending",
                },
            );
            expect(result.unhealthy).toEqual([]);
            const ts = Number(result.dataTimestamp[0].value[1]);
            expect(Date.now() / 1000 - ts).toBeGreaterThan(48 * 3600);
            expect(result.spend.map((s) => s.metric.category)).toEqual(expect.arrayContaining(["total", "llm"]));
        },
        120000,
    );
});
