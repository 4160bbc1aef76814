/**
 * Real Prometheus and Pushgateway processes on free 127.0.0.1 ports, for end-to-end tests of the cost collector
 * and the cadence metric: each start is bounded in time and every process is stopped by `stop()` (SIGTERM, then
 * SIGKILL after a bound). Debian's `prometheus` and `prometheus-pushgateway` packages provide the binaries
 * (.ci/run installs them); a missing binary fails the test, never skips it.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { freePort, waitFor } from "./servers";

// One port finder and one poller for every real-server harness.
export { freePort, waitFor };

export interface LoopbackServer {
    readonly port: number;
    readonly url: string;
    /** Everything the process wrote, for failure messages. */
    output(): string;
    stop(): Promise<void>;
}

/** GET (or POST/PUT with a body) on loopback; resolves with the status and body, rejects after `timeoutMs`. */
export function httpRequest(
    url: string,
    opts: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method: opts.method ?? "GET", timeout: opts.timeoutMs ?? 5000 }, (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`${url}: no answer within ${opts.timeoutMs ?? 5000} ms`)));
        req.on("error", reject);
        req.end(opts.body);
    });
}

function stopProcess(child: ChildProcess, boundMs: number): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.resolve();
    }
    return new Promise((resolve) => {
        const kill = setTimeout(() => child.kill("SIGKILL"), boundMs);
        child.once("exit", () => {
            clearTimeout(kill);
            resolve();
        });
        child.kill("SIGTERM");
    });
}

/** Start `bin` with `args(port, dir)`, wait until `readyPath` answers 200 (bounded), or stop it and fail. */
async function startServer(
    bin: string,
    args: (port: number, dir: string) => string[],
    readyPath: string,
    dir: string,
    startTimeoutMs: number,
): Promise<LoopbackServer> {
    const port = await freePort();
    const child = spawn(bin, args(port, dir), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    const spawnError = new Promise<never>((_, reject) => child.once("error", reject));
    const url = `http://127.0.0.1:${port}`;
    const server: LoopbackServer = {
        port,
        url,
        output: () => out,
        stop: async () => {
            await stopProcess(child, 5000);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    try {
        await Promise.race([
            spawnError,
            waitFor(
                `${path.basename(bin)} ready at ${url}${readyPath}`,
                async () => {
                    if (child.exitCode !== null) {
                        throw new Error(`exited with ${child.exitCode}: ${out}`);
                    }
                    return (await httpRequest(`${url}${readyPath}`, { timeoutMs: 1000 })).status === 200
                        ? true
                        : undefined;
                },
                startTimeoutMs,
            ),
        ]);
    } catch (err) {
        await server.stop();
        throw new Error(`${(err as Error).message}\n${out}`);
    }
    return server;
}

/** A Prometheus with this config (YAML) and rule files (name -> content, referenced by name from the config). */
export function startPrometheus(
    configYaml: string,
    ruleFiles: Readonly<Record<string, string>>,
    startTimeoutMs = 30000,
): Promise<LoopbackServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-prometheus-"));
    fs.writeFileSync(path.join(dir, "prometheus.yml"), configYaml);
    for (const [name, content] of Object.entries(ruleFiles)) {
        fs.writeFileSync(path.join(dir, name), content);
    }
    return startServer(
        "prometheus",
        (port) => [
            `--config.file=${path.join(dir, "prometheus.yml")}`,
            `--web.listen-address=127.0.0.1:${port}`,
            `--storage.tsdb.path=${path.join(dir, "data")}`,
            "--log.level=warn",
        ],
        "/-/ready",
        dir,
        startTimeoutMs,
    );
}

/**
 * A Pushgateway (what CI pushes its metric files to, docs/metrics.md), metrics in memory only: Debian's build persists
 * to /var/lib/prometheus/pushgateway.data by default, which every instance on the machine would share and replay.
 */
export function startPushgateway(startTimeoutMs = 15000): Promise<LoopbackServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-pushgateway-"));
    return startServer(
        "prometheus-pushgateway",
        (port) => [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file=", "--log.level=warn"],
        "/-/ready",
        dir,
        startTimeoutMs,
    );
}

/** An instant query's result vector. */
export async function instantQuery(
    prometheus: LoopbackServer,
    expr: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const r = await httpRequest(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = JSON.parse(r.body) as {
        status: string;
        error?: string;
        data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== "success") {
        throw new Error(`${expr}: ${body.error ?? r.body}`);
    }
    return body.data!.result;
}
