/**
 * The collector's state between scrapes: the last call set's figures, exported through prom-client. A call set
 * (one paged query per category) starts at most once per `refreshSeconds`, or at once when the UTC month rolls
 * over; scrapes in between read the cache. Failures never throw out of here: they are counted in
 * `maestro_cost_collector_errors_total` and the last good figures stay (their data timestamp ages, which is what
 * MaestroCostTelemetryDelayed watches), except across a month start, where last month's figures are dropped.
 */
import { CostExplorerClient, GetCostAndUsageCommand, GetCostAndUsageResponse } from "@aws-sdk/client-cost-explorer";
import { Counter, Gauge, Registry } from "prom-client";
import { COLLECTOR_METRIC, COST_METRIC } from "../core/conventions";
import {
    CategoryFigures,
    FailureReason,
    QueryWindow,
    backoffMs,
    categoryFigures,
    classifyError,
    costRequest,
    queryWindow,
} from "./costExplorer";
import { CategoryQuery, CollectorSettings } from "./settings";

/** Clock, sleep and randomness, injected so tests run month rollovers and backoffs without waiting. */
export interface CollectorRuntime {
    readonly now: () => number;
    readonly sleep: (ms: number) => Promise<void>;
    readonly random: () => number;
    /** One JSON line per event (stdout in the pod: the backlog item's log stream). */
    readonly log: (event: Record<string, unknown>) => void;
}

export const systemRuntime: CollectorRuntime = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: () => Math.random(),
    log: (event) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + "\n"),
};

/** A query needed more pages than `maxPages` allows; abandoned so a runaway answer cannot run up the bill. */
class PageLimitError extends Error {}

export class CostCollector {
    readonly registry = new Registry();
    private readonly spend: Gauge;
    private readonly dataTimestamp: Gauge;
    private readonly requests: Counter;
    private readonly errors: Counter;
    private readonly lastOk: Gauge;
    private readonly lastSuccess: Gauge;
    /** The month the cached figures are for. */
    private month?: string;
    private readonly figures = new Map<string, CategoryFigures>();
    private dataTimestampMs?: number;
    private lastAttemptMs?: number;
    private inflight?: Promise<void>;

    constructor(
        private readonly settings: CollectorSettings,
        private readonly client: CostExplorerClient,
        private readonly runtime: CollectorRuntime = systemRuntime,
    ) {
        const registers = [this.registry];
        this.spend = new Gauge({
            name: COST_METRIC.monthToDate,
            help: `Month-to-date amortized spend in USD of environment ${settings.environment} (Cost Explorer), per category.`,
            labelNames: ["category"],
            registers,
        });
        this.dataTimestamp = new Gauge({
            name: COST_METRIC.dataTimestamp,
            help: "Unix time of the newest billing data behind the spend figures (end of the newest day with spend).",
            registers,
        });
        this.requests = new Counter({
            name: COLLECTOR_METRIC.requests,
            help: "Cost Explorer GetCostAndUsage requests sent, retries included (each one is billed).",
            labelNames: ["category"],
            registers,
        });
        this.errors = new Counter({
            name: COLLECTOR_METRIC.errors,
            help: "Failed Cost Explorer requests, by category and reason.",
            labelNames: ["category", "reason"],
            registers,
        });
        this.lastOk = new Gauge({
            name: COLLECTOR_METRIC.lastRefreshOk,
            help: "1 when the category's last Cost Explorer call set succeeded, 0 when it failed.",
            labelNames: ["category"],
            registers,
        });
        this.lastSuccess = new Gauge({
            name: COLLECTOR_METRIC.lastSuccess,
            help: "Unix time of the category's last successful Cost Explorer call set.",
            labelNames: ["category"],
            registers,
        });
        for (const q of settings.queries) {
            this.requests.inc({ category: q.category }, 0);
        }
    }

    /** True when a call set may start now: never ran, the refresh interval has passed, or the month rolled over. */
    due(nowMs = this.runtime.now()): boolean {
        return (
            this.lastAttemptMs === undefined ||
            nowMs - this.lastAttemptMs >= this.settings.refreshSeconds * 1000 ||
            queryWindow(nowMs, this.settings.lookbackDays).month !== this.month
        );
    }

    /** Start a call set when one is due (at most one at a time); resolves when it is done. */
    refreshIfDue(): Promise<void> {
        if (this.inflight) {
            return this.inflight;
        }
        if (!this.due()) {
            return Promise.resolve();
        }
        this.inflight = this.refresh().finally(() => (this.inflight = undefined));
        return this.inflight;
    }

    /**
     * The exposition text for a scrape: served from the cache at once (a slow or throttled Cost Explorer never
     * times a scrape out); a due call set is started in the background.
     */
    async scrape(): Promise<string> {
        this.dropPastMonth(this.runtime.now());
        void this.refreshIfDue();
        return this.registry.metrics();
    }

    get contentType(): string {
        return this.registry.contentType;
    }

    /** What /healthz reports: the process is alive and when each category last succeeded. */
    health(): Record<string, unknown> {
        return {
            environment: this.settings.environment,
            month: this.month ?? null,
            lastAttempt: this.lastAttemptMs === undefined ? null : new Date(this.lastAttemptMs).toISOString(),
            categories: Object.fromEntries(
                this.settings.queries.map((q) => [q.category, this.figures.has(q.category)]),
            ),
        };
    }

    private dropPastMonth(nowMs: number): QueryWindow {
        const window = queryWindow(nowMs, this.settings.lookbackDays);
        if (window.month !== this.month) {
            // Last month's spend compared with this month's budget would read as a breach: export nothing for the
            // month until Cost Explorer has answered for it.
            this.figures.clear();
            this.month = window.month;
            this.render();
        }
        return window;
    }

    private async refresh(): Promise<void> {
        const startedMs = this.runtime.now();
        this.lastAttemptMs = startedMs;
        const window = this.dropPastMonth(startedMs);
        for (const q of this.settings.queries) {
            try {
                const pages = await this.fetchAll(q, window);
                const answeredMs = this.runtime.now();
                const figures = categoryFigures(q, window, pages, answeredMs);
                this.figures.set(q.category, figures);
                if (q.dataTimestamp) {
                    this.dataTimestampMs = figures.dataTimestampMs;
                }
                this.lastOk.set({ category: q.category }, 1);
                this.lastSuccess.set({ category: q.category }, Math.floor(answeredMs / 1000));
                this.runtime.log({
                    event: "refreshed",
                    category: q.category,
                    month: window.month,
                    pages: pages.length,
                    monthToDateUsd: figures.monthToDateUsd,
                });
            } catch (err) {
                const reason: FailureReason = err instanceof PageLimitError ? "page_limit" : classifyError(err).reason;
                if (err instanceof PageLimitError || reason === "malformed_response") {
                    this.errors.inc({ category: q.category, reason });
                }
                this.lastOk.set({ category: q.category }, 0);
                this.runtime.log({
                    event: "refresh_failed",
                    category: q.category,
                    reason,
                    error: (err as Error).message,
                });
            }
        }
        this.render();
    }

    private async fetchAll(q: CategoryQuery, window: QueryWindow): Promise<GetCostAndUsageResponse[]> {
        const pages: GetCostAndUsageResponse[] = [];
        let token: string | undefined;
        do {
            if (pages.length >= this.settings.maxPages) {
                throw new PageLimitError(`${q.category}: more than ${this.settings.maxPages} pages`);
            }
            const page = await this.send(q.category, costRequest(q, window, token));
            pages.push(page);
            token = page.NextPageToken || undefined;
        } while (token);
        return pages;
    }

    /** One request, retried with exponential backoff while Cost Explorer throttles or fails server-side. */
    private async send(category: string, request: ReturnType<typeof costRequest>): Promise<GetCostAndUsageResponse> {
        const { attempts, baseDelayMs } = this.settings.retry;
        for (let attempt = 1; ; attempt++) {
            this.requests.inc({ category });
            try {
                return await this.client.send(new GetCostAndUsageCommand(request));
            } catch (err) {
                const { reason, retryable } = classifyError(err);
                this.errors.inc({ category, reason });
                if (!retryable || attempt >= attempts) {
                    throw err;
                }
                await this.runtime.sleep(backoffMs(attempt + 1, baseDelayMs, this.runtime.random()));
            }
        }
    }

    /** Set every series from the cache; a category without figures this month is absent, never 0. */
    private render(): void {
        this.spend.reset();
        const explicit = new Set(this.settings.queries.map((q) => q.category));
        for (const f of this.figures.values()) {
            this.spend.set({ category: f.category }, f.monthToDateUsd);
            for (const [service, usd] of Object.entries(f.perServiceUsd)) {
                if (!explicit.has(service)) {
                    this.spend.set({ category: service }, usd);
                }
            }
        }
        this.dataTimestamp.reset();
        if (this.dataTimestampMs !== undefined) {
            this.dataTimestamp.set(Math.floor(this.dataTimestampMs / 1000));
        }
    }
}
