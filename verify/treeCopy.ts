/**
 * A copy of the checkout to run the commands in, changed where a measurement or a test needs it (a guardrails file
 * with more SLOs, a policy pack that cannot start), without touching the repository the other test files share.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repoRoot } from "../core/validation";

/**
 * The files git tracks or would (as they are now) and the compiled bin/, in a new folder of the system's temporary
 * folder named `<prefix>XXXXXX`; node_modules linked, not copied. Not a git checkout: synth reports the release
 * unbound to a commit.
 */
export function copyOfTree(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
        cwd: repoRoot,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
    if (listed.status !== 0) {
        throw new Error(`git ls-files failed in ${repoRoot}: a copy of the tree lists the checkout\n${listed.stderr}`);
    }
    for (const rel of listed.stdout.split("\0").filter(Boolean)) {
        const from = path.join(repoRoot, rel);
        if (!fs.existsSync(from) || fs.lstatSync(from).isSymbolicLink() || fs.statSync(from).isDirectory()) {
            continue;
        }
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.copyFileSync(from, path.join(dir, rel));
    }
    fs.cpSync(path.join(repoRoot, "bin"), path.join(dir, "bin"), { recursive: true });
    for (const modules of ["node_modules", path.join("policies", "node_modules")]) {
        if (fs.existsSync(path.join(repoRoot, modules))) {
            fs.symlinkSync(fs.realpathSync(path.join(repoRoot, modules)), path.join(dir, modules));
        }
    }
    return dir;
}
