/**
 * The shipped artifact itself: `bin/cost-collector/collector.js` (what `npm run build` bundles and the ConfigMap
 * carries) run by plain Node with the settings the stack renders, against a loopback stand-in for the Cost
 * Explorer endpoint that replays recorded answers (the SDK's own `AWS_ENDPOINT_URL_COST_EXPLORER`, fake keys, no
 * instance metadata: nothing leaves 127.0.0.1). Proves the bundle starts, signs and sends the budget-filtered
 * query, follows pages, and serves /metrics that promtool accepts. Bounded, and the process is always stopped.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { COLLECTOR_BUNDLE_FILE, collectorSettings } from "../collector/plan";
import { queryWindow } from "../collector";
import { COLLECTOR_METRIC, COST_METRIC } from "../core/conventions";
import { shippedStackConfig } from "../offline/shippedStacks";
import { RunningServer, request, startCostCollector, waitFor } from "../verify/servers";
import { promtoolPath } from "../verify/promtool";
import { recorded } from "./fixtures/cost-explorer/recorded";
import { guardrails } from "./helpers";

interface SeenRequest {
    readonly target: string;
    readonly authorization: string;
    readonly body: Record<string, unknown>;
}

it("the bundled collector runs on plain Node, queries Cost Explorer as the budgets filter, and serves valid /metrics", async () => {
    // npm test builds before jest (as for the compiled scripts); say so rather than fail on a missing file.
    expect(fs.existsSync(COLLECTOR_BUNDLE_FILE) ? "built" : "missing: run `npm run build`").toBe("built");
    const settings = collectorSettings(shippedStackConfig("dev", guardrails), guardrails);

    const page1 = recorded("month-to-date.page1");
    const seen: SeenRequest[] = [];
    const ce = http.createServer((req, res) => {
        let raw = "";
        req.on("data", (d: Buffer) => (raw += d.toString()));
        req.on("end", () => {
            const body = JSON.parse(raw) as Record<string, unknown>;
            seen.push({
                target: String(req.headers["x-amz-target"]),
                authorization: String(req.headers.authorization),
                body,
            });
            const answer = body.GroupBy
                ? body.NextPageToken === page1.NextPageToken
                    ? recorded("month-to-date.page2")
                    : page1
                : recorded("llm");
            res.writeHead(200, { "Content-Type": "application/x-amz-json-1.1" }).end(JSON.stringify(answer));
        });
    });
    await new Promise<void>((r) => ce.listen(0, "127.0.0.1", r));
    const cePort = (ce.address() as { port: number }).port;
    let collector: RunningServer | undefined;
    try {
        const c = await startCostCollector((port) => ({ ...settings, port }), {
            AWS_ENDPOINT_URL_COST_EXPLORER: `http://127.0.0.1:${cePort}`,
            AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
            AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            AWS_EC2_METADATA_DISABLED: "true",
        });
        collector = c;
        const metrics = await waitFor(
            "the bundled collector's /metrics with the total spend",
            async () => {
                const r = await request(`${c.url}/metrics`, { timeoutMs: 1000 });
                return r.body.includes(`${COST_METRIC.monthToDate}{category="total"}`) &&
                    r.body.includes(`${COST_METRIC.monthToDate}{category="llm"}`)
                    ? r.body
                    : undefined;
            },
            20000,
        ).catch((err: Error) => {
            throw new Error(`${err.message}\n${c.output()}`);
        });
        const check = spawnSync(promtoolPath(), ["check", "metrics"], { input: metrics, encoding: "utf8" });
        expect(check.stdout + check.stderr).toBe("");
        expect(metrics).toContain(`${COLLECTOR_METRIC.requests}{category="total"} 2`);
        expect(metrics).toContain(`${COLLECTOR_METRIC.requests}{category="llm"} 1`);

        // Signed requests for the JSON API, over the window the clock gives, with each budget's filter.
        expect(seen.every((s) => s.target === "AWSInsightsIndexService.GetCostAndUsage")).toBe(true);
        expect(seen.every((s) => s.authorization.startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))).toBe(true);
        const window = queryWindow(Date.now(), settings.lookbackDays);
        expect(seen[0].body.TimePeriod).toEqual({ Start: window.start, End: window.end });
        expect(seen.map((s) => s.body.NextPageToken ?? null)).toEqual([null, page1.NextPageToken, null]);
        for (const q of settings.queries) {
            const sent = seen.find((s) => Boolean(s.body.GroupBy) === q.perService)!;
            expect(sent.body.Filter).toEqual(q.filter);
        }
        expect(JSON.parse((await request(`${c.url}/healthz`)).body)).toMatchObject({
            environment: "dev",
        });
    } finally {
        await collector?.stop();
        ce.closeAllConnections();
        await new Promise<void>((r) => ce.close(() => r()));
    }
}, 60000);
