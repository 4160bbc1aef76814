/**
 * Jest global setup: compile the program into bin/ (tsc, incremental) before any test file runs, because some tests
 * spawn the compiled command lines (bin/scripts/*.js) and would otherwise run whatever an earlier build left there.
 */
import { spawnSync } from "child_process";
import * as path from "path";

export default function compile(): void {
    const root = path.resolve(__dirname, "..", "..");
    const tsc = require.resolve("typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`tsc -p tsconfig.json failed before the tests:\n${r.stdout}${r.stderr}`);
    }
}
