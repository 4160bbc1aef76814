/**
 * Entry point of the bundled collector (scripts/bundleCollector.ts bundles this file and what it imports into
 * one JavaScript file the stack ships in a ConfigMap for a stock Node image). Reads its settings, serves
 * /metrics and /healthz, and starts the first call set. Bad settings stop the process with the file and field.
 */
import * as fs from "fs";
import { CostExplorerClient } from "@aws-sdk/client-cost-explorer";
import { CostCollector, systemRuntime } from "./collector";
import { serveCollector } from "./server";
import { parseSettings } from "./settings";

/** Where the Deployment mounts the settings (collector/plan.ts); overridable for a local run. */
export const DEFAULT_SETTINGS_FILE = "/opt/maestro-cost-collector/settings.json";
/** Cost Explorer has one endpoint, in us-east-1. */
export const COST_EXPLORER_REGION = "us-east-1";

async function main(): Promise<void> {
    const file = process.env.MAESTRO_COLLECTOR_SETTINGS ?? DEFAULT_SETTINGS_FILE;
    const settings = parseSettings(fs.readFileSync(file, "utf8"), file);
    // The collector retries with its own backoff and counts every request it sends; the SDK's retries would hide some.
    const client = new CostExplorerClient({ region: COST_EXPLORER_REGION, maxAttempts: 1 });
    const collector = new CostCollector(settings, client, systemRuntime);
    const server = await serveCollector(collector, settings.port, process.env.MAESTRO_COLLECTOR_HOST ?? "0.0.0.0");
    systemRuntime.log({ event: "listening", port: server.port, environment: settings.environment });
    void collector.refreshIfDue();
    const stop = () => void server.close().then(() => process.exit(0));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
}

main().catch((err: Error) => {
    process.stderr.write(`cost collector: ${err.message}\n`);
    process.exit(1);
});
