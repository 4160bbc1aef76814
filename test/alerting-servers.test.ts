/**
 * The alerting path on real servers (Debian's prometheus, prometheus-alertmanager, prometheus-pushgateway), started
 * on free loopback ports and always stopped (verify/servers.ts). Never skipped: a missing binary fails.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GUARDRAIL_LABEL, URGENCY } from "../core/conventions";
import { SLO_ALERT_NAME } from "../rules";
import { COST_ALERT } from "../rules/cost";
import { CADENCE_GRACE_DAYS } from "../rules/design";
import { alertLabelSets, checkRoutes, endToEnd, intendedRole, ruleHealthAndPushgateway } from "../verify/alerting";
import { shippedStackConfig } from "../offline/shippedStacks";
import { request, serverBinary, startServer } from "../verify/servers";
import { guardrails, STACKS } from "./helpers";

const configs = STACKS.map((s) => shippedStackConfig(s, guardrails));
const prod = configs.find((c) => c.stack === "prod")!;
/** Timings of each phase, printed at the end (the bench prints them too). */
const timings: Record<string, number> = {};
const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
        return await f();
    } finally {
        timings[name] = Date.now() - t0;
    }
};

afterAll(() => {
    const total = Object.values(timings).reduce((a, b) => a + b, 0);
    process.stdout.write(
        `real-server phases: ${Object.entries(timings)
            .map(([k, v]) => `${k} ${v} ms`)
            .join(", ")}; total ${total} ms\n`,
    );
});

describe("the harness", () => {
    it("finds every server binary, and names the package when one is missing", () => {
        for (const [bin, env] of [
            ["prometheus", "PROMETHEUS"],
            ["prometheus-alertmanager", "ALERTMANAGER"],
            ["prometheus-pushgateway", "PUSHGATEWAY"],
            ["amtool", "AMTOOL"],
        ]) {
            expect(fs.existsSync(serverBinary(bin, env))).toBe(true);
        }
        const saved = process.env.PROMETHEUS;
        process.env.PROMETHEUS = "/nonexistent/prometheus";
        try {
            expect(() => serverBinary("prometheus", "PROMETHEUS")).toThrow(
                /PROMETHEUS=\/nonexistent\/prometheus does not exist; install Debian's prometheus/,
            );
        } finally {
            if (saved === undefined) {
                delete process.env.PROMETHEUS;
            } else {
                process.env.PROMETHEUS = saved;
            }
        }
    });

    it("fails a start that never gets ready within its bound, with the server's output, and leaves nothing behind", async () => {
        let dir = "";
        await expect(
            startServer({
                name: "never-ready",
                binary: "/bin/sh",
                args: (_port, d) => {
                    dir = d;
                    return ["-c", "echo starting; exec sleep 30"];
                },
                readyPath: "/-/ready",
                readyTimeoutMs: 500,
            }),
        ).rejects.toThrow(/timed out after 500 ms waiting for never-ready[\s\S]*starting/);
        expect(fs.existsSync(dir)).toBe(false);
    });

    it("fails a server that exited at once, without waiting out its bound", async () => {
        const started = Date.now();
        await expect(
            startServer({
                name: "exits",
                binary: "/bin/sh",
                args: () => ["-c", "echo broken config; exit 3"],
                readyPath: "/-/ready",
                readyTimeoutMs: 20000,
            }),
        ).rejects.toThrow(/exits exited with 3: broken config/);
        expect(Date.now() - started).toBeLessThan(10000);
    });

    // A server whose port was taken between freePort and its bind (another test file's server): Prometheus says
    // "bind: address already in use" and exits 1. The stand-in does so on its first start only, then serves.
    const takenOnce = (marker: string, ports: number[]) => ({
        binary: process.execPath,
        args: (port: number) => {
            ports.push(port);
            return [
                "-e",
                `const fs = require("fs");
                if (!fs.existsSync(${JSON.stringify(marker)})) {
                    fs.writeFileSync(${JSON.stringify(marker)}, "");
                    console.error("listen tcp 127.0.0.1:${port}: bind: address already in use");
                    process.exit(1);
                }
                require("http").createServer((q, r) => r.end("ok")).listen(${port}, "127.0.0.1");`,
            ];
        },
        readyPath: "/-/ready",
    });

    it("starts again on a new port when the one picked was taken before the server bound it", async () => {
        const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-port-")), "tried");
        const ports: number[] = [];
        const server = await startServer({ name: "port-taken", ...takenOnce(marker, ports) });
        try {
            expect(ports).toHaveLength(2);
            expect(server.port).toBe(ports[1]);
            expect((await request(`${server.url}/-/ready`)).body).toBe("ok");
        } finally {
            await server.stop();
        }
    });

    it("gives up after a few taken ports, and does not retry any other failure", async () => {
        /** A server that prints `message` and exits 1 at every start; the ports it was given. */
        const failing = async (name: string, message: string) => {
            const ports: number[] = [];
            const start = startServer({
                name,
                binary: "/bin/sh",
                args: (port) => {
                    ports.push(port);
                    return ["-c", `echo "${message}" >&2; exit 1`];
                },
                readyPath: "/-/ready",
            });
            return {
                ports,
                error: await start.then(
                    () => undefined,
                    (err: Error) => err.message,
                ),
            };
        };
        const taken = await failing("always-taken", "bind: address already in use");
        expect(taken.error).toMatch(/always-taken exited with 1[\s\S]*address already in use/);
        expect(taken.ports).toHaveLength(3);
        const other = await failing("other-failure", "no such rule file");
        expect(other.error).toMatch(/other-failure exited with 1[\s\S]*no such rule file/);
        expect(other.ports).toHaveLength(1);
    });
});

describe("a real Prometheus", () => {
    // The staging cut is overdue (interval + grace + 1 day ago); the production release is recent.
    const staging = guardrails.cadence.stagingCutIntervalDays + CADENCE_GRACE_DAYS + 1;
    const production = 1;
    let result: Awaited<ReturnType<typeof ruleHealthAndPushgateway>>;

    beforeAll(async () => {
        result = await timed("rule health + pushgateway", () =>
            ruleHealthAndPushgateway(configs, guardrails, { staging, production }),
        );
    }, 40000);

    it("loads every stack's rule files and evaluates every rule with health ok", () => {
        const expected = configs.reduce((n, c) => n + Object.keys(alertLabelSets(c, guardrails)).length, 0);
        expect(result.health.rules).toBeGreaterThan(expected);
        expect(result.health.unhealthy).toEqual([]);
    });

    it("scrapes the CI evidence metrics from a real Pushgateway with their pushed labels, and the cadence reads the pushed cuts", () => {
        expect(result.pushed.ciSeries).toBeGreaterThan(0);
        expect(result.pushed.daysSinceCut.staging).toBeCloseTo(staging, 1);
        expect(result.pushed.daysSinceCut.production).toBeCloseTo(production, 1);
        // Only staging watches the staging cut (and it is overdue); prod watches production (recent).
        expect(result.pushed.overdue).toEqual(["staging"]);
    });
});

describe.each(configs.map((c) => [c.stack, c] as const))("the %s routing in amtool", (_stack, config) => {
    let routes: Awaited<ReturnType<typeof checkRoutes>>;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-amtool-"));
    beforeAll(async () => {
        routes = await timed(`amtool ${config.stack}`, () => checkRoutes(config, guardrails, dir));
    }, 30000);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("passes amtool check-config", () => {
        expect(routes.checkConfig.out).toMatch(/SUCCESS/);
        expect(routes.checkConfig.status).toBe(0);
    });

    it("sends every alert the stack defines to its intended receiver (amtool config routes test), as the policy pack's router says", () => {
        expect(routes.cases.length).toBe(alertLabelSets(config, guardrails).length);
        const wrong = routes.cases.filter((c) => c.amtool !== c.intended || c.simulated !== c.intended);
        expect(wrong).toEqual([]);
        // The table covers every kind of alert the stack has.
        const roles = new Set(routes.cases.map((c) => intendedRole(c.labels)));
        expect([...roles].sort()).toEqual(
            (config.stack === "dev" ? ["cost", "page", "ticket"] : ["cadence", "cost", "page", "ticket"]).sort(),
        );
    });

    it("would catch a misroute: a page sent as a ticket does not reach the page receiver", () => {
        const page = routes.cases.find((c) => c.labels.urgency === URGENCY.page && c.labels.guardrail === "slo")!;
        const asTicket = routes.cases.find((c) => c.labels.urgency === URGENCY.ticket && c.labels.guardrail === "slo")!;
        expect(page.amtool).toBe(config.alertRouting.routes.page);
        expect(asTicket.amtool).toBe(config.alertRouting.routes.ticket);
        if (config.alertRouting.routes.page !== config.alertRouting.routes.ticket) {
            expect(asTicket.amtool).not.toBe(page.amtool);
        }
        const cost = routes.cases.find((c) => c.labels.alertname === COST_ALERT.exceeded)!;
        expect(cost.labels.guardrail).toBe(GUARDRAIL_LABEL.cost);
        expect(cost.amtool).toBe(config.alertRouting.routes.cost);
    });
});

describe("end to end on the prod stack: Prometheus -> Alertmanager -> webhook", () => {
    const slo = prod.slos[0];
    let e2e: Awaited<ReturnType<typeof endToEnd>>;

    beforeAll(async () => {
        // Every request slow for 6.5 hours: beyond the ticket's 6h window, so both the page and the ticket fire.
        e2e = await timed("end to end", () => endToEnd(prod, guardrails, slo, { historyMinutes: 390 }));
    }, 60000);

    it("notifies the page to the page receiver, with absolute links and the value it fired at", () => {
        const page = e2e.received
            .filter((n) => n.path === `/${prod.alertRouting.routes.page}` && n.status === "firing")
            .flatMap((n) => n.alerts)
            .find((a) => a.labels.alertname === SLO_ALERT_NAME.page && a.labels.slo === slo.id)!;
        expect(page.labels).toMatchObject({ severity: "critical", urgency: URGENCY.page, env: "prod" });
        expect(page.annotations.runbook_url).toMatch(/^https:\/\/.*slo-alerting\.md#maestroslofastburn$/);
        expect(page.annotations.dashboard.startsWith(`${prod.grafanaUrl}/d/`)).toBe(true);
        // Every request slow: the long window's slow share is 100%.
        expect(page.annotations.description).toContain("Slow share over the long window now: 100%.");
    });

    it("holds the ticket back while the page fires (inhibited, never notified)", () => {
        expect(e2e.ticketWhilePaging?.state).toBe("suppressed");
        expect(e2e.ticketWhilePaging?.inhibitedBy.length).toBeGreaterThan(0);
        // While the page surely fires (until the slow requests are deleted, past the ticket group's first flush). Once
        // the page resolves the inhibition lifts, and a ticket resolving in another rule group a moment later may
        // rightly be sent.
        const whilePaging = e2e.received.slice(0, e2e.receivedWhilePaging);
        expect(whilePaging.some((n) => n.alerts.some((a) => a.labels.alertname === SLO_ALERT_NAME.page))).toBe(true);
        const tickets = whilePaging
            .flatMap((n) => n.alerts)
            .filter((a) => a.labels.alertname === SLO_ALERT_NAME.ticket);
        expect(tickets).toEqual([]);
    });

    it("notifies the page as resolved once the slow requests are gone", () => {
        const resolved = e2e.received
            .slice(e2e.receivedWhilePaging)
            .filter((n) => n.path === `/${prod.alertRouting.routes.page}`)
            .flatMap((n) => n.alerts)
            .filter((a) => a.labels.alertname === SLO_ALERT_NAME.page && a.status === "resolved");
        expect(resolved.length).toBeGreaterThan(0);
        // Nothing went anywhere else while the page was open: only the page's receiver heard.
        const whilePaging = e2e.received.slice(0, e2e.receivedWhilePaging);
        expect([...new Set(whilePaging.map((n) => n.path))]).toEqual([`/${prod.alertRouting.routes.page}`]);
    });
});
