/**
 * The collector's HTTP surface: `GET /metrics` (the cache, in the Prometheus text format) and `GET /healthz`
 * (alive, with when each category last succeeded). /healthz stays 200 while Cost Explorer fails: a restart
 * would empty the cache and spend another call set, and the failure is already a metric.
 */
import * as http from "http";
import { AddressInfo } from "net";
import { CostCollector } from "./collector";

export interface RunningServer {
    readonly port: number;
    close(): Promise<void>;
}

export function serveCollector(collector: CostCollector, port: number, host: string): Promise<RunningServer> {
    const server = http.createServer((req, res) => {
        const url = (req.url ?? "/").split("?")[0];
        if (req.method !== "GET" && req.method !== "HEAD") {
            res.writeHead(405, { Allow: "GET, HEAD" }).end();
            return;
        }
        if (url === "/metrics") {
            collector.scrape().then(
                (text) => res.writeHead(200, { "Content-Type": collector.contentType }).end(text),
                (err: Error) => res.writeHead(500, { "Content-Type": "text/plain" }).end(`${err.message}\n`),
            );
        } else if (url === "/healthz") {
            res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(collector.health()) + "\n");
        } else {
            res.writeHead(404, { "Content-Type": "text/plain" }).end("not found; try /metrics or /healthz\n");
        }
    });
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
            resolve({
                port: (server.address() as AddressInfo).port,
                close: () =>
                    new Promise<void>((done, fail) => {
                        server.closeAllConnections();
                        server.close((err) => (err ? fail(err) : done()));
                    }),
            });
        });
    });
}
