/**
 * The cost collector's logic against recorded Cost Explorer answers (test/fixtures/cost-explorer/, in the
 * GetCostAndUsage response shape), through the real SDK client with aws-sdk-client-mock: paging, the month
 * rollover, a missing category, throttling and backoff, stale data, the hourly cache; its /metrics through
 * `promtool check metrics`; its settings derived from the budget specs.
 */
import { spawnSync } from "child_process";
import * as http from "http";
import {
    CostExplorerClient,
    GetCostAndUsageCommand,
    GetCostAndUsageCommandInput,
    GetCostAndUsageResponse,
    LimitExceededException,
} from "@aws-sdk/client-cost-explorer";
import { mockClient } from "aws-sdk-client-mock";
import {
    CollectorRuntime,
    CollectorSettings,
    CostCollector,
    MIN_REFRESH_SECONDS,
    SettingsError,
    costRequest,
    parseSettings,
    queryWindow,
    serveCollector,
} from "../collector";
import { budgetFilterExpression, collectorSettings } from "../collector/plan";
import { BudgetSpec, BEDROCK_SERVICE, BEDROCK_MARKETPLACE_SUFFIX, budgetSpecs } from "../budgets/specs";
import { COLLECTOR_METRIC, COST_METRIC } from "../core/conventions";
import { COST_DATA_MAX_AGE_HOURS } from "../rules/design";
import { COST_BUDGETS } from "../rules/cost";
import { promtoolPath } from "../verify/promtool";
import {
    accessDenied,
    answerQueries,
    byPageToken,
    isTotalQuery as isTotal,
    recorded,
} from "./fixtures/cost-explorer/recorded";
import { guardrails, stackConfig } from "./helpers";

const devConfig = stackConfig("dev");
const settings: CollectorSettings = collectorSettings(devConfig, guardrails);
const NOV_20_NOON = Date.parse("2026-11-20T12:00:00Z");

/** A clock the test moves, sleeps that only record their length, and a log kept in memory. */
function fakeRuntime(startMs: number) {
    const state = { now: startMs, sleeps: [] as number[], log: [] as Record<string, unknown>[] };
    const runtime: CollectorRuntime = {
        now: () => state.now,
        sleep: (ms) => {
            state.sleeps.push(ms);
            return Promise.resolve();
        },
        random: () => 0,
        log: (e) => state.log.push(e),
    };
    return { state, runtime };
}

const ce = mockClient(CostExplorerClient);
afterEach(() => ce.reset());
afterAll(() => ce.restore());

const answer = (total: Record<string, GetCostAndUsageResponse>, llm: GetCostAndUsageResponse | Error) =>
    answerQueries(ce, total, llm);

interface Sample {
    readonly name: string;
    readonly labels: Record<string, string>;
    readonly value: number;
}

/** The exposition text as samples (what Prometheus would ingest). */
function samples(text: string): Sample[] {
    return text
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => {
            const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l)!;
            const labels: Record<string, string> = {};
            for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
                labels[k] = v;
            }
            return { name: m[1], labels, value: Number(m[3]) };
        });
}

function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
    return samples(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
}

/** Month-to-date spend of a recorded answer, summed here independently of the collector. */
function recordedSpend(pages: GetCostAndUsageResponse[], fromDay: string, service?: string): number {
    let sum = 0;
    for (const r of pages.flatMap((p) => p.ResultsByTime ?? [])) {
        if (r.TimePeriod!.Start! < fromDay) {
            continue;
        }
        if (r.Groups && r.Groups.length > 0) {
            sum += r.Groups.filter((g) => !service || g.Keys![0] === service).reduce(
                (n, g) => n + Number(g.Metrics!.AmortizedCost.Amount),
                0,
            );
        } else if (r.Total?.AmortizedCost) {
            sum += Number(r.Total.AmortizedCost.Amount);
        }
    }
    return sum;
}

const page1 = recorded("month-to-date.page1");
const page2 = recorded("month-to-date.page2");
const pages = byPageToken([page1, page2]);

describe("collector settings from the budget specs", () => {
    it.each(["dev", "staging"])(
        "%s: one query per budget, with that budget's filter, categories as the cost rules read them",
        (stack) => {
            const config = stackConfig(stack);
            const s = collectorSettings(config, guardrails);
            const specs = budgetSpecs(config, guardrails);
            expect(s.queries.map((q) => q.category)).toEqual(specs.map((b) => b.kind));
            expect(s.queries.map((q) => q.category).sort()).toEqual([...COST_BUDGETS].sort());
            for (const q of s.queries) {
                expect(q.filter).toEqual(budgetFilterExpression(specs.find((b) => b.kind === q.category)!));
            }
            expect(s.refreshSeconds).toBeGreaterThanOrEqual(MIN_REFRESH_SECONDS);
            // The settings survive the collector's own parsing (the ConfigMap round trip).
            expect(parseSettings(JSON.stringify(s), "settings.json")).toEqual(s);
        },
    );

    it("counts LLM spend with the LLM budget's own filter (first-party and Marketplace Bedrock) and excludes credits and refunds as the budgets do", () => {
        const llm = budgetSpecs(devConfig, guardrails).find((b) => b.kind === "llm")!;
        const json = JSON.stringify(budgetFilterExpression(llm));
        expect(json).toContain(
            JSON.stringify({ Dimensions: { Key: "SERVICE", Values: [BEDROCK_SERVICE] } }).slice(1, -1),
        );
        expect(json).toContain(
            JSON.stringify({
                Dimensions: { Key: "SERVICE", Values: [BEDROCK_MARKETPLACE_SUFFIX], MatchOptions: ["ENDS_WITH"] },
            }).slice(1, -1),
        );
        expect(json).toContain('"Not":{"Dimensions":{"Key":"RECORD_TYPE","Values":["Credit","Refund"]}}');
    });

    it("follows a change of the budget filters: a linked account and a cost allocation tag, and-ed and or-ed", () => {
        const base = budgetSpecs(devConfig, guardrails)[0];
        const spec: BudgetSpec = {
            ...base,
            filterExpression: {
                ands: [
                    { dimensions: { key: "LINKED_ACCOUNT", values: ["111122223333"] } },
                    {
                        ors: [
                            { tags: { key: "maestro:environment", values: ["dev", "dev-2"] } },
                            { tags: { key: "iamPrincipal/maestro:environment", values: ["dev"] } },
                        ],
                    },
                ],
            },
        };
        expect(budgetFilterExpression(spec)).toEqual({
            And: [
                {
                    And: [
                        { Dimensions: { Key: "LINKED_ACCOUNT", Values: ["111122223333"] } },
                        {
                            Or: [
                                { Tags: { Key: "maestro:environment", Values: ["dev", "dev-2"] } },
                                { Tags: { Key: "iamPrincipal/maestro:environment", Values: ["dev"] } },
                            ],
                        },
                    ],
                },
                { Not: { Dimensions: { Key: "RECORD_TYPE", Values: ["Credit", "Refund"] } } },
            ],
        });
    });

    it("refuses a budget filter it cannot translate, naming the file, the budget and what is allowed, instead of counting differently", () => {
        const base = budgetSpecs(devConfig, guardrails)[0];
        const refused = (filterExpression: unknown) => () =>
            budgetFilterExpression({ ...base, filterExpression: filterExpression as BudgetSpec["filterExpression"] });
        expect(refused({ dimensions: { key: "SERVICE", values: ["x"], matchOptions: ["CONTAINS"] } })).toThrow(
            /budgets\/specs\.ts: budget maestro-dev-total: filterExpression: match option CONTAINS; allowed: EQUALS, ENDS_WITH/,
        );
        // Around it: a node with two kinds at once, an empty list, or a filter with no values.
        expect(refused({ dimensions: { key: "SERVICE", values: ["x"] }, tags: { key: "t", values: ["v"] } })).toThrow(
            /allowed: exactly one of dimensions, tags, ands, ors/,
        );
        expect(refused({ ors: [] })).toThrow(/an empty ors; allowed: at least one expression/);
        expect(refused({ dimensions: { key: "SERVICE", values: [] } })).toThrow(/dimension "SERVICE": no values/);
    });

    it("refuses settings that would call Cost Explorer more than once an hour, however they are written", () => {
        const ok = JSON.stringify(settings);
        expect(() => parseSettings(ok, "settings.json")).not.toThrow();
        const bad = { ...settings, refreshSeconds: MIN_REFRESH_SECONDS - 1 };
        expect(() => parseSettings(JSON.stringify(bad), "/opt/x/settings.json")).toThrow(
            new RegExp(
                `/opt/x/settings.json:\\n  refreshSeconds: ${MIN_REFRESH_SECONDS - 1}; allowed: an integer from ${MIN_REFRESH_SECONDS}`,
            ),
        );
        // Around it: a string, a fraction, a missing value, more retries without backoff.
        for (const refreshSeconds of [String(MIN_REFRESH_SECONDS), MIN_REFRESH_SECONDS - 0.5, undefined]) {
            expect(() => parseSettings(JSON.stringify({ ...settings, refreshSeconds }), "s.json")).toThrow(
                SettingsError,
            );
        }
        expect(() =>
            parseSettings(JSON.stringify({ ...settings, retry: { attempts: 0, baseDelayMs: 0 } }), "s.json"),
        ).toThrow(/retry.attempts: 0/);
        expect(() => parseSettings(JSON.stringify({ ...settings, queries: [] }), "s.json")).toThrow(/queries: \[\]/);
    });
});

describe("the collector against recorded Cost Explorer answers", () => {
    it("reads every page, sums month-to-date amortized spend per category and per service, and dates the data by its newest day", async () => {
        answer(pages, recorded("llm"));
        const { runtime } = fakeRuntime(NOV_20_NOON);
        const collector = new CostCollector(settings, new CostExplorerClient({ region: "us-east-1" }), runtime);
        await collector.refreshIfDue();
        const text = await collector.scrape();
        const window = queryWindow(NOV_20_NOON, settings.lookbackDays);
        const total = recordedSpend([page1, page2], window.monthStart);
        expect(value(text, COST_METRIC.monthToDate, { category: "total" })).toBeCloseTo(total, 4);
        expect(value(text, COST_METRIC.monthToDate, { category: "llm" })).toBeCloseTo(
            recordedSpend([recorded("llm")], window.monthStart),
            4,
        );
        for (const service of ["Amazon Elastic Compute Cloud - Compute", "Amazon Bedrock", "AmazonCloudWatch"]) {
            expect(value(text, COST_METRIC.monthToDate, { category: service })).toBeCloseTo(
                recordedSpend([page1, page2], window.monthStart, service),
                4,
            );
        }
        // Today (the 20th) has partial data: the newest data is "now", as Cost Explorer answered.
        expect(value(text, COST_METRIC.dataTimestamp)).toBe(NOV_20_NOON / 1000);
        // Two pages for the total, one for the LLM query; the second page asked with the first page's token.
        const calls = ce.commandCalls(GetCostAndUsageCommand).map((c) => c.args[0].input);
        expect(calls).toHaveLength(3);
        expect(calls.filter(isTotal).map((c) => c.NextPageToken)).toEqual([undefined, page1.NextPageToken]);
        expect(calls[0]).toEqual(costRequest(settings.queries[0], window));
        expect(calls[0].TimePeriod).toEqual({ Start: "2026-11-01", End: "2026-11-21" });
        expect(calls[0].Metrics).toEqual(["AmortizedCost"]);
        expect(value(text, COLLECTOR_METRIC.requests, { category: "total" })).toBe(2);
        expect(value(text, COLLECTOR_METRIC.lastRefreshOk, { category: "llm" })).toBe(1);
    });

    it("serves scrapes from the cache: no Cost Explorer call before the refresh interval has passed, one call set after", async () => {
        answer(pages, recorded("llm"));
        const { state, runtime } = fakeRuntime(NOV_20_NOON);
        const collector = new CostCollector(settings, new CostExplorerClient({ region: "us-east-1" }), runtime);
        await collector.refreshIfDue();
        const perSet = ce.commandCalls(GetCostAndUsageCommand).length;
        for (let minute = 1; minute < settings.refreshSeconds / 60; minute += 7) {
            state.now = NOV_20_NOON + minute * 60_000;
            await collector.scrape();
            await collector.refreshIfDue();
        }
        expect(ce.commandCalls(GetCostAndUsageCommand)).toHaveLength(perSet);
        state.now = NOV_20_NOON + settings.refreshSeconds * 1000;
        await collector.scrape();
        await collector.refreshIfDue();
        expect(ce.commandCalls(GetCostAndUsageCommand)).toHaveLength(2 * perSet);
    });

    it("rolls over at the UTC month start: last month's figures are dropped at once, the new month starts at 0, the data age stays known", async () => {
        answer(pages, recorded("llm"));
        const { state, runtime } = fakeRuntime(NOV_20_NOON);
        const collector = new CostCollector(settings, new CostExplorerClient({ region: "us-east-1" }), runtime);
        await collector.refreshIfDue();
        ce.reset();
        // First scrape of December, before any call set: November's spend must not be read as December's.
        ce.on(GetCostAndUsageCommand).rejects(new LimitExceededException({ message: "Rate exceeded", $metadata: {} }));
        state.now = Date.parse("2026-12-01T03:00:00Z");
        expect(collector.due()).toBe(true);
        const during = await collector.scrape();
        expect(value(during, COST_METRIC.monthToDate, { category: "total" })).toBeUndefined();
        await collector.refreshIfDue();
        // Throttled all the way: still nothing for December (absent, so MaestroCostTelemetryDelayed speaks).
        expect(value(await collector.scrape(), COST_METRIC.monthToDate, { category: "total" })).toBeUndefined();

        ce.reset();
        answer({ "": recorded("rollover") }, recorded("rollover-llm"));
        state.now += settings.refreshSeconds * 1000;
        await collector.refreshIfDue();
        const text = await collector.scrape();
        const calls = ce.commandCalls(GetCostAndUsageCommand).map((c) => c.args[0].input);
        // The query reaches back past the month start, so the data's age is known on the 1st.
        expect(calls[0].TimePeriod).toEqual({ Start: "2026-11-28", End: "2026-12-02" });
        expect(value(text, COST_METRIC.monthToDate, { category: "total" })).toBe(0);
        expect(value(text, COST_METRIC.monthToDate, { category: "llm" })).toBe(0);
        expect(samples(text).filter((s) => s.name === COST_METRIC.monthToDate)).toHaveLength(2);
        expect(value(text, COST_METRIC.dataTimestamp)).toBe(Date.parse("2026-12-01T00:00:00Z") / 1000);
    });

    it("exports the categories it has when one is missing, and not the missing one (absent, never a false 0)", async () => {
        answer(pages, accessDenied("not authorized to perform ce:GetCostAndUsage"));
        const { state, runtime } = fakeRuntime(NOV_20_NOON);
        const collector = new CostCollector(settings, new CostExplorerClient({ region: "us-east-1" }), runtime);
        await collector.refreshIfDue();
        let text = await collector.scrape();
        expect(value(text, COST_METRIC.monthToDate, { category: "total" })).toBeGreaterThan(0);
        expect(value(text, COST_METRIC.monthToDate, { category: "llm" })).toBeUndefined();
        expect(value(text, COLLECTOR_METRIC.errors, { category: "llm", reason: "access_denied" })).toBe(1);
        expect(value(text, COLLECTOR_METRIC.lastRefreshOk, { category: "llm" })).toBe(0);
        // Access denied is not retried: one request.
        expect(value(text, COLLECTOR_METRIC.requests, { category: "llm" })).toBe(1);
        expect(state.log).toContainEqual(
            expect.objectContaining({ event: "refresh_failed", category: "llm", reason: "access_denied" }),
        );

        // An answer without the metric asked for is a broken answer, not zero spend.
        ce.reset();
        answer(pages, recorded("llm-missing-metric"));
        state.now += settings.refreshSeconds * 1000;
        await collector.refreshIfDue();
        text = await collector.scrape();
        expect(value(text, COST_METRIC.monthToDate, { category: "llm" })).toBeUndefined();
        expect(value(text, COLLECTOR_METRIC.errors, { category: "llm", reason: "malformed_response" })).toBe(1);
    });

    it("retries a throttled request with growing backoff, then succeeds; throttled to the end, keeps the last good figures and counts every failure", async () => {
        const throttle = () => new LimitExceededException({ message: "Rate exceeded", $metadata: {} });
        let llmCalls = 0;
        ce.on(GetCostAndUsageCommand).callsFake((input: GetCostAndUsageCommandInput) => {
            if (isTotal(input)) {
                return Promise.resolve(pages[input.NextPageToken ?? ""]);
            }
            llmCalls++;
            return llmCalls <= 2 ? Promise.reject(throttle()) : Promise.resolve(recorded("llm"));
        });
        const { state, runtime } = fakeRuntime(NOV_20_NOON);
        const collector = new CostCollector(settings, new CostExplorerClient({ region: "us-east-1" }), runtime);
        await collector.refreshIfDue();
        let text = await collector.scrape();
        expect(value(text, COST_METRIC.monthToDate, { category: "llm" })).toBeGreaterThan(0);
        expect(value(text, COLLECTOR_METRIC.requests, { category: "llm" })).toBe(3);
        expect(value(text, COLLECTOR_METRIC.errors, { category: "llm", reason: "throttled" })).toBe(2);
        expect(state.sleeps).toEqual([settings.retry.baseDelayMs, 2 * settings.retry.baseDelayMs]);
        const good = value(text, COST_METRIC.monthToDate, { category: "llm" });

        ce.reset();
        ce.on(GetCostAndUsageCommand).callsFake(() => Promise.reject(throttle()));
        state.sleeps = [];
        state.now += settings.refreshSeconds * 1000;
        await collector.refreshIfDue();
        text = await collector.scrape();
        // Bounded: `attempts` requests per query, then the call set gives up until the next interval.
        expect(ce.commandCalls(GetCostAndUsageCommand)).toHaveLength(settings.retry.attempts * settings.queries.length);
        expect(state.sleeps).toHaveLength((settings.retry.attempts - 1) * settings.queries.length);
        expect(value(text, COST_METRIC.monthToDate, { category: "llm" })).toBe(good);
        expect(value(text, COLLECTOR_METRIC.lastRefreshOk, { category: "total" })).toBe(0);
        expect(value(text, COLLECTOR_METRIC.errors, { category: "llm", reason: "throttled" })).toBe(
            2 + settings.retry.attempts,
        );
        // The data timestamp is not refreshed by a failed call set: it ages, and the telemetry alert follows.
        expect(value(text, COST_METRIC.dataTimestamp)).toBe(NOV_20_NOON / 1000);
    });

    it("dates stale data by its newest day with spend, so its age passes the telemetry alert's limit", async () => {
        answer({ "": recorded("stale") }, recorded("llm"));
        const { runtime } = fakeRuntime(NOV_20_NOON);
        const collector = new CostCollector(settings, new CostExplorerClient({ region: "us-east-1" }), runtime);
        await collector.refreshIfDue();
        const text = await collector.scrape();
        const ts = value(text, COST_METRIC.dataTimestamp)!;
        expect(ts).toBe(Date.parse("2026-11-17T00:00:00Z") / 1000);
        expect(NOV_20_NOON / 1000 - ts).toBeGreaterThan(COST_DATA_MAX_AGE_HOURS * 3600);
    });

    it("refuses to follow pages past maxPages (each page is billed)", async () => {
        ce.on(GetCostAndUsageCommand).callsFake((input: GetCostAndUsageCommandInput) =>
            Promise.resolve({ ...page1, NextPageToken: `${input.NextPageToken ?? ""}x` }),
        );
        const { runtime } = fakeRuntime(NOV_20_NOON);
        const collector = new CostCollector(settings, new CostExplorerClient({ region: "us-east-1" }), runtime);
        await collector.refreshIfDue();
        const text = await collector.scrape();
        expect(value(text, COLLECTOR_METRIC.errors, { category: "total", reason: "page_limit" })).toBe(1);
        expect(value(text, COLLECTOR_METRIC.requests, { category: "total" })).toBe(settings.maxPages);
        expect(value(text, COST_METRIC.monthToDate, { category: "total" })).toBeUndefined();
    });
});

describe("the collector's HTTP surface", () => {
    function get(port: number, urlPath: string): Promise<{ status: number; type: string; body: string }> {
        return new Promise((resolve, reject) => {
            http.get({ host: "127.0.0.1", port, path: urlPath, timeout: 5000 }, (res) => {
                let body = "";
                res.on("data", (d: Buffer) => (body += d.toString()));
                res.on("end", () =>
                    resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), body }),
                );
            }).on("error", reject);
        });
    }

    it("serves /metrics that `promtool check metrics` accepts, /healthz, and 404 elsewhere", async () => {
        answer(pages, recorded("llm"));
        const { runtime } = fakeRuntime(NOV_20_NOON);
        const collector = new CostCollector(settings, new CostExplorerClient({ region: "us-east-1" }), runtime);
        await collector.refreshIfDue();
        const server = await serveCollector(collector, 0, "127.0.0.1");
        try {
            const metrics = await get(server.port, "/metrics");
            expect(metrics.status).toBe(200);
            expect(metrics.type).toContain("text/plain");
            const check = spawnSync(promtoolPath(), ["check", "metrics"], { input: metrics.body, encoding: "utf8" });
            expect(check.stdout + check.stderr).toBe("");
            expect(check.status).toBe(0);
            const health = await get(server.port, "/healthz");
            expect(health.status).toBe(200);
            expect(JSON.parse(health.body)).toMatchObject({
                environment: "dev",
                categories: { total: true, llm: true },
            });
            expect((await get(server.port, "/")).status).toBe(404);
        } finally {
            await server.close();
        }
    });
});
