/**
 * Bundles the cost collector (collector/main.ts and everything it imports: prom-client, the Cost Explorer client)
 * into one JavaScript file with esbuild, so the stack ships it in a ConfigMap and a stock Node image runs it. Run
 * by `npm run build` (scripts/bundleCollector.ts) and before the tests (test/globalSetup.ts).
 */
import { buildSync } from "esbuild";
import * as fs from "fs";
import * as path from "path";
import { COLLECTOR_BUNDLE_FILE } from "../collector/plan";
import { repoRoot } from "../core/validation";

export const COLLECTOR_ENTRY = path.join(repoRoot, "collector", "main.ts");

/** Oldest Node the bundle runs on (the package's `engines`); the default image is newer. */
export const COLLECTOR_NODE_TARGET = "node20";

/** Write the bundle (minified, licenses kept at the end); returns its size in bytes. */
export function bundleCollector(outFile = COLLECTOR_BUNDLE_FILE): number {
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    const result = buildSync({
        entryPoints: [COLLECTOR_ENTRY],
        outfile: outFile,
        bundle: true,
        platform: "node",
        target: COLLECTOR_NODE_TARGET,
        format: "cjs",
        minify: true,
        legalComments: "eof",
        logLevel: "silent",
        // Deterministic: the same sources give the same bytes, so the Deployment's checksum only moves on a change.
        absWorkingDir: repoRoot,
    });
    if (result.errors.length > 0) {
        throw new Error(`esbuild: ${result.errors.map((e) => e.text).join("; ")}`);
    }
    return fs.statSync(outFile).size;
}
