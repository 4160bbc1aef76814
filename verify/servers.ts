/**
 * Real Prometheus, Alertmanager and Pushgateway servers (Debian's packages) for tests and the bench: each started on
 * a free 127.0.0.1 port with its own temporary directory, ready within a bound (or the start fails with the server's
 * own output), and always stopped by `stop()` (SIGTERM, then SIGKILL after a bound). Nothing listens beyond
 * loopback: Alertmanager's cluster listener is switched off. A webhook receiver the caller runs collects
 * notifications. Binaries come from PATH, or PROMETHEUS / ALERTMANAGER / PUSHGATEWAY in the environment.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns a value (not undefined) or `timeoutMs` passes; the error names `what`. */
export async function waitFor<T>(
    what: string,
    check: () => Promise<T | undefined>,
    timeoutMs: number,
    everyMs = 200,
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
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
    /** What the server printed so far (for messages). */
    output(): string;
    /** Stop it (SIGTERM, SIGKILL after 5 s) and remove its directory; safe to call twice. */
    stop(): Promise<void>;
}

export interface ServerOptions {
    readonly name: string;
    readonly binary: string;
    /** Arguments, given the port and the server's directory. */
    readonly args: (port: number, dir: string) => string[];
    /** Files to write into the directory before starting. */
    readonly files?: Readonly<Record<string, string>>;
    /** Prepare the directory (e.g. backfill blocks) before starting. */
    readonly prepare?: (dir: string) => Promise<void> | void;
    /** Path answering 200 when ready. */
    readonly readyPath: string;
    /** Bound on the start, ms. */
    readonly readyTimeoutMs?: number;
}

/** Start a server and wait until it is ready; on failure it is stopped and the error carries its output. */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `maestro-${o.name}-`));
    for (const [rel, content] of Object.entries(o.files ?? {})) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), content);
    }
    await o.prepare?.(dir);
    const port = await freePort();
    const child: ChildProcess = spawn(o.binary, o.args(port, dir), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    let exited: number | null | undefined;
    const done = new Promise<void>((resolve) =>
        child.on("exit", (code) => {
            exited = code;
            resolve();
        }),
    );
    child.on("error", (err) => (out += `\nspawn error: ${err.message}`));
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
            if (exited === undefined) {
                child.kill("SIGTERM");
                let timer: NodeJS.Timeout | undefined;
                const killed = await Promise.race([
                    done.then(() => true),
                    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 5000))),
                ]);
                clearTimeout(timer);
                if (!killed) {
                    child.kill("SIGKILL");
                    await done;
                }
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    try {
        await waitFor(
            `${o.name} on ${server.url}${o.readyPath}`,
            async () => {
                if (exited !== undefined) {
                    throw new Error(`${o.name} exited with ${exited}: ${out.slice(-2000)}`);
                }
                return (await request(`${server.url}${o.readyPath}`, { timeoutMs: 1000 })).status === 200
                    ? true
                    : undefined;
            },
            o.readyTimeoutMs ?? 15000,
            100,
        );
    } catch (err) {
        await server.stop();
        throw new Error(`${(err as Error).message}\n${o.name} output:\n${out.slice(-2000)}`);
    }
    return server;
}

/** Prometheus with a config (rule files beside it), its own TSDB; `--web.enable-admin-api` to delete series. */
export function startPrometheus(opts: {
    readonly config: string;
    readonly ruleFiles?: Readonly<Record<string, string>>;
    readonly prepare?: (dir: string) => Promise<void> | void;
    readonly adminApi?: boolean;
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
    });
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
