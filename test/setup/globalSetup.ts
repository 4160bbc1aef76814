/**
 * Jest global setup, in jest's own process before any test file runs:
 * - compile the program into bin/, because some tests spawn the compiled command lines (bin/scripts/*.js) and would
 *   otherwise run whatever an earlier build left there. `tsc -b` first compares the sources with bin/.tsbuildinfo
 *   and stops there when nothing changed (under a second; `npm test` has just built), instead of loading every
 *   declaration file again as `tsc -p` does (several seconds);
 * - make the folder where each jest worker records the policy pack process it shares between its test files
 *   (test/setup/policyPacks.ts); the global teardown stops them.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { createPackRegistry } from "./policyPacks";

export default function globalSetup(): void {
    const root = path.resolve(__dirname, "..", "..");
    const tsc = require.resolve("typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "-b", "tsconfig.json"], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`tsc -b tsconfig.json failed before the tests:\n${r.stdout}${r.stderr}`);
    }
    createPackRegistry();
}
