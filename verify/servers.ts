/**
 * Real servers for tests and the bench, started one way (startServer): Prometheus, Alertmanager and Pushgateway
 * (Debian's packages) and the bundled cost collector, each on a free 127.0.0.1 port with its own temporary directory,
 * ready within a bound (or the start fails with the server's own output, stderr included), and always stopped by
 * `stop()` (SIGTERM, then SIGKILL after a bound). Nothing listens beyond loopback: Alertmanager's cluster listener is
 * switched off. A webhook receiver the caller runs collects notifications. Binaries come from PATH, or PROMETHEUS /
 * ALERTMANAGER / PUSHGATEWAY in the environment; a missing one fails the test, never skips it.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { COLLECTOR_BUNDLE_FILE } from "../collector/plan";

const INSTALL_HINT =
    "install Debian's prometheus, prometheus-alertmanager and prometheus-pushgateway packages (as .ci/run does); the real-server tests are never skipped";

/** A binary from $ENV or PATH; throws naming the package when there is none. */
export function serverBinary(name: string, envVar: string): string {
    const explicit = process.env[envVar];
    if (explicit) {
        if (!fs.existsSync(explicit)) {
            throw new Error(`${envVar}=${explicit} does not exist; ${INSTALL_HINT}`);
        }
        return explicit;
    }
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        const candidate = path.join(dir, name);
        if (dir && fs.existsSync(candidate)) {
            return candidate;
        }
    }
    throw new Error(`${name} not found on PATH; ${INSTALL_HINT}`);
}

/** A port nothing listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address() as net.AddressInfo;
            srv.close(() => resolve(port));
        });
    });
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `check` until it returns a value (not undefined) or `timeoutMs` passes; the error names `what`. `hopeless`, when
 * it returns a reason, ends the wait at once with that reason (a server that exited will never answer).
 */
export async function waitFor<T>(
    what: string,
    check: () => Promise<T | undefined>,
    timeoutMs: number,
    everyMs = 200,
    hopeless: () => string | undefined = () => undefined,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        const reason = hopeless();
        if (reason !== undefined) {
            throw new Error(reason);
        }
        try {
            const v = await check();
            if (v !== undefined) {
                return v;
            }
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`,
            );
        }
        await sleep(everyMs);
    }
}

/** An HTTP request to a loopback server, with a bound; resolves to status and body. */
export function request(
    url: string,
    opts: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
    const u = new URL(url);
    if (u.hostname !== "127.0.0.1") {
        throw new Error(`refusing ${url}: the real-server harness only talks to 127.0.0.1`);
    }
    return new Promise((resolve, reject) => {
        const req = http.request(u, { method: opts.method ?? "GET", timeout: opts.timeoutMs ?? 5000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`${url}: no answer within ${opts.timeoutMs ?? 5000} ms`)));
        req.on("error", reject);
        if (opts.body !== undefined) {
            req.write(opts.body);
        }
        req.end();
    });
}

/** GET a JSON API (Prometheus' and Alertmanager's), failing on a non-2xx status. */
export async function getJson<T>(url: string): Promise<T> {
    const r = await request(url);
    if (r.status < 200 || r.status >= 300) {
        throw new Error(`${url}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    }
    return JSON.parse(r.body) as T;
}

export interface RunningServer {
    readonly name: string;
    /** http://127.0.0.1:<port> */
    readonly url: string;
    readonly port: number;
    /** Its working directory (config, storage), removed by stop(). */
    readonly dir: string;
    /** What the server printed so far, stdout and stderr (for messages). */
    output(): string;
    /** Stop it (SIGTERM, SIGKILL after 5 s) and remove its directory; safe to call twice. */
    stop(): Promise<void>;
}

export interface ServerOptions {
    readonly name: string;
    readonly binary: string;
    /** Arguments, given the port and the server's directory (its working directory). */
    readonly args: (port: number, dir: string) => string[];
    /** The process's whole environment; default: this process's. */
    readonly env?: NodeJS.ProcessEnv;
    /** Files to write into the directory before starting. */
    readonly files?: Readonly<Record<string, string>>;
    /** Prepare the directory (backfill blocks, settings naming the port) before starting. */
    readonly prepare?: (dir: string, port: number) => Promise<void> | void;
    /** Path answering 200 when ready. */
    readonly readyPath: string;
    /** Bound on the start, ms. */
    readonly readyTimeoutMs?: number;
}

/** How long a server has to exit after SIGTERM before it is killed. */
const STOP_BOUND_MS = 5000;

/**
 * Start a server and wait until it is ready. On any failure (preparing, spawning, exiting, not ready in time) it is
 * stopped, its directory removed, and the error carries what it printed.
 */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await startServerOnce(o);
        } catch (err) {
            // freePort's port was free when it was picked; another process (a test file beside this one) may have
            // bound it before the server did. That start is tried again on a new port, a bounded number of times.
            if (attempt >= PORT_ATTEMPTS || !/address already in use/i.test((err as Error).message)) {
                throw err;
            }
        }
    }
}

/** How many ports a server start tries when the one picked was taken before the server bound it. */
const PORT_ATTEMPTS = 3;

async function startServerOnce(o: ServerOptions): Promise<RunningServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `maestro-${o.name}-`));
    const port = await freePort();
    let out = "";
    let child: ChildProcess | undefined;
    /** Set once the process is gone (or never came): how it ended. */
    let ended: string | undefined;
    let gone: Promise<void> = Promise.resolve();
    let stopped = false;
    const server: RunningServer = {
        name: o.name,
        url: `http://127.0.0.1:${port}`,
        port,
        dir,
        output: () => out,
        stop: async () => {
            if (stopped) {
                return;
            }
            stopped = true;
            if (child && ended === undefined) {
                await stopProcess(child, gone);
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    try {
        for (const [rel, content] of Object.entries(o.files ?? {})) {
            fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
            fs.writeFileSync(path.join(dir, rel), content);
        }
        await o.prepare?.(dir, port);
        const c = spawn(o.binary, o.args(port, dir), { cwd: dir, env: o.env, stdio: ["ignore", "pipe", "pipe"] });
        child = c;
        c.stdout?.on("data", (d: Buffer) => (out += d.toString()));
        c.stderr?.on("data", (d: Buffer) => (out += d.toString()));
        // A process that never spawned emits "error" and may never emit "exit".
        gone = new Promise<void>((resolve) => {
            c.once("exit", (code, signal) => {
                ended ??= `exited with ${code ?? signal}`;
                resolve();
            });
            c.once("error", (err) => {
                out += `\nspawn error: ${err.message}`;
                ended ??= `could not start (${err.message})`;
                resolve();
            });
        });
        await waitFor(
            `${o.name} on ${server.url}${o.readyPath}`,
            async () =>
                (await request(`${server.url}${o.readyPath}`, { timeoutMs: 1000 })).status === 200 ? true : undefined,
            o.readyTimeoutMs ?? 15000,
            100,
            // A server that exited will never be ready: fail now, not at the end of the bound.
            () => (ended === undefined ? undefined : `${o.name} ${ended}: ${out.slice(-2000)}`),
        );
    } catch (err) {
        await server.stop();
        throw new Error(`${(err as Error).message}\n${o.name} output:\n${out.slice(-2000)}`);
    }
    return server;
}

/** SIGTERM, then SIGKILL when the process has not exited within STOP_BOUND_MS; resolves once it is gone. */
async function stopProcess(child: ChildProcess, gone: Promise<void>): Promise<void> {
    child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
        gone.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), STOP_BOUND_MS))),
    ]);
    clearTimeout(timer);
    if (!exited) {
        child.kill("SIGKILL");
        await gone;
    }
}

/**
 * Prometheus with a config (rule files beside it, named as the config names them), its own TSDB;
 * `--web.enable-admin-api` to delete series. A fresh TSDB can take a while on a loaded machine: 30 s by default.
 */
export function startPrometheus(opts: {
    readonly config: string;
    readonly ruleFiles?: Readonly<Record<string, string>>;
    readonly prepare?: (dir: string) => Promise<void> | void;
    readonly adminApi?: boolean;
    readonly readyTimeoutMs?: number;
}): Promise<RunningServer> {
    return startServer({
        name: "prometheus",
        binary: serverBinary("prometheus", "PROMETHEUS"),
        files: { "prometheus.yml": opts.config, ...opts.ruleFiles },
        prepare: opts.prepare,
        args: (port, dir) => [
            `--config.file=${path.join(dir, "prometheus.yml")}`,
            `--web.listen-address=127.0.0.1:${port}`,
            `--storage.tsdb.path=${path.join(dir, "data")}`,
            // Alerts are re-sent every second (default 1m), so a notification follows within seconds.
            "--rules.alert.resend-delay=1s",
            ...(opts.adminApi ? ["--web.enable-admin-api"] : []),
        ],
        readyPath: "/-/ready",
        readyTimeoutMs: opts.readyTimeoutMs ?? 30000,
    });
}

/** One sample of an instant query's result vector. */
export interface InstantSample {
    readonly metric: Record<string, string>;
    readonly value: [number, string];
}

/** An instant query's result vector; an error names the expression and what Prometheus said. */
export async function instantQuery(prometheus: Pick<RunningServer, "url">, expr: string): Promise<InstantSample[]> {
    const r = await request(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = JSON.parse(r.body) as { status: string; error?: string; data?: { result: InstantSample[] } };
    if (body.status !== "success" || !body.data) {
        throw new Error(`${expr}: ${body.error ?? r.body}`);
    }
    return body.data.result;
}

/** Alertmanager with a configuration (alertmanager.yml); clustering off, so it listens on the loopback port only. */
export function startAlertmanager(config: string): Promise<RunningServer> {
    return startServer({
        name: "alertmanager",
        binary: serverBinary("prometheus-alertmanager", "ALERTMANAGER"),
        files: { "alertmanager.yml": config },
        args: (port, dir) => [
            `--config.file=${path.join(dir, "alertmanager.yml")}`,
            `--web.listen-address=127.0.0.1:${port}`,
            `--storage.path=${path.join(dir, "data")}`,
            "--cluster.listen-address=",
        ],
        readyPath: "/-/ready",
    });
}

/**
 * A Pushgateway, metrics kept in memory only: Debian's build persists to /var/lib/prometheus/pushgateway.data by
 * default, a file every instance on the machine would share (and replay at start).
 */
export function startPushgateway(): Promise<RunningServer> {
    return startServer({
        name: "pushgateway",
        binary: serverBinary("prometheus-pushgateway", "PUSHGATEWAY"),
        args: (port) => [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file="],
        readyPath: "/-/ready",
    });
}

/**
 * The bundled cost collector (bin/cost-collector/collector.js, what the stack's ConfigMap carries) on plain Node, as
 * the Deployment runs it: its settings file is `settings(port)`, written in its directory (its working directory),
 * and its environment is PATH plus `env` only, so none of this process's AWS setup reaches it.
 */
export function startCostCollector(
    settings: (port: number) => unknown,
    env: Readonly<Record<string, string>>,
): Promise<RunningServer> {
    return startServer({
        name: "cost-collector",
        binary: process.execPath,
        args: () => [COLLECTOR_BUNDLE_FILE],
        env: {
            PATH: process.env.PATH,
            ...env,
            MAESTRO_COLLECTOR_SETTINGS: "settings.json",
            MAESTRO_COLLECTOR_HOST: "127.0.0.1",
        },
        prepare: (dir, port) => fs.writeFileSync(path.join(dir, "settings.json"), JSON.stringify(settings(port))),
        readyPath: "/healthz",
    });
}

/** Push a metrics file to a Pushgateway group, as CI does: PUT /metrics/job/<job>/<label>/<value>... */
export async function pushMetrics(
    pushgatewayUrl: string,
    job: string,
    grouping: Readonly<Record<string, string>>,
    text: string,
): Promise<void> {
    const groupPath = Object.entries(grouping)
        .map(([k, v]) => `/${encodeURIComponent(k)}/${encodeURIComponent(v)}`)
        .join("");
    const r = await request(`${pushgatewayUrl}/metrics/job/${encodeURIComponent(job)}${groupPath}`, {
        method: "PUT",
        body: text,
    });
    if (r.status !== 200 && r.status !== 202) {
        throw new Error(`push to ${pushgatewayUrl} failed: HTTP ${r.status}: ${r.body}`);
    }
}

/** One notification Alertmanager sent to the webhook (its JSON payload, version 4), with the path it came to. */
export interface WebhookNotification {
    readonly path: string;
    readonly status: "firing" | "resolved";
    readonly receiver: string;
    readonly alerts: ReadonlyArray<{
        readonly status: "firing" | "resolved";
        readonly labels: Readonly<Record<string, string>>;
        readonly annotations: Readonly<Record<string, string>>;
    }>;
}

export interface WebhookReceiver {
    readonly url: string;
    readonly received: WebhookNotification[];
    stop(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records every notification posted to it. */
export function startWebhookReceiver(): Promise<WebhookReceiver> {
    const received: WebhookNotification[] = [];
    const srv = http.createServer((req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (d: string) => (body += d));
        req.on("end", () => {
            try {
                received.push({ ...(JSON.parse(body) as Omit<WebhookNotification, "path">), path: req.url ?? "" });
                res.writeHead(200).end();
            } catch {
                res.writeHead(400).end();
            }
        });
    });
    return new Promise((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const { port } = srv.address() as net.AddressInfo;
            resolve({
                url: `http://127.0.0.1:${port}`,
                received,
                stop: () => new Promise<void>((r) => srv.close(() => r())),
            });
        });
    });
}

/** Stop every server given (those that started), whatever happens to the others. */
export async function stopAll(servers: ReadonlyArray<{ stop(): Promise<void> } | undefined>): Promise<void> {
    await Promise.allSettled(servers.map((s) => s?.stop() ?? Promise.resolve()));
}
