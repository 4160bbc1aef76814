/**
 * Jest global setup: compile the program into bin/ before any test file runs, because some tests spawn the compiled
 * command lines (bin/scripts/*.js) and would otherwise run whatever an earlier build left there. `tsc -b` first
 * compares the sources with bin/.tsbuildinfo and stops there when nothing changed (under a second; `npm test` has
 * just built), instead of loading every declaration file again as `tsc -p` does (several seconds).
 */
import { spawnSync } from "child_process";
import * as path from "path";

export default function compile(): void {
    const root = path.resolve(__dirname, "..", "..");
    const tsc = require.resolve("typescript/bin/tsc");
    const r = spawnSync(process.execPath, [tsc, "-b", "tsconfig.json"], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) {
        throw new Error(`tsc -b tsconfig.json failed before the tests:\n${r.stdout}${r.stderr}`);
    }
}
