/**
 * The pack ships on its own: `npm pack` of policies/ (after the build) installed into an empty folder outside the
 * repository, started as the CLI starts it, gives the same verdicts over the analyzer protocol as the repository's
 * pack, names the guardrails version it enforces, and opens no repository file while it runs.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackFile } from "../offline/mockRuntime";
import { PolicyAnalyzer, PolicyReport, analyzeRun, policyReportDocument } from "../offline/policyAnalyzer";
import {
    BUILD_MANIFEST,
    BUILT_ENTRY,
    buildPolicyPack,
    bundlePolicyPack,
    bundleProblem,
    checkPackVersion,
} from "../offline/policyPackBuild";
import {
    CODE_CACHE_HOOK,
    POLICY_PACK_DIR,
    packNodeOptions,
    spawnPolicyPack,
    stopPolicyPack,
} from "../offline/policyPackProcess";
import { SHORT_RUN_V8_FLAGS } from "../offline/shortRunFlags";
import { synthStack } from "../offline/synth";
import { POLICY_PACK_NAME } from "../policies/all";
import { repoRoot } from "../core/validation";
import { bucketPolicyFromArnOutput, editedSignoffObject } from "./fixtures/preview/programs";
import { STACKS, guardrails } from "./helpers";
import { sharedPolicyPack } from "./setup/policyPacks";

const PACK_NAME = (JSON.parse(fs.readFileSync(path.join(POLICY_PACK_DIR, "package.json"), "utf8")) as { name: string })
    .name;

/** Logs every path the pack's process opens, reads, lists or checks through `fs` (NODE_OPTIONS --require). */
const FS_LOG_HOOK = `
const fs = require("fs");
const fd = fs.openSync(process.env.MAESTRO_FS_LOG, "a");
for (const name of ["openSync", "readFileSync", "existsSync", "statSync", "lstatSync", "readdirSync", "open", "readFile", "stat", "readdir"]) {
    const original = fs[name];
    fs[name] = function (p, ...rest) {
        if (typeof p === "string" || p instanceof URL || Buffer.isBuffer(p)) fs.writeSync(fd, String(p) + "\\n");
        return original.call(this, p, ...rest);
    };
}
`;

let work: string;
let tarballFiles: string[];
let installedDir: string;
let fsLog: string;
let installed: PolicyAnalyzer;
let repoPack: PolicyAnalyzer;

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-pack-"));
    await buildPolicyPack();
    const packed = spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], {
        cwd: POLICY_PACK_DIR,
        encoding: "utf8",
        timeout: 60000,
    });
    if (packed.status !== 0) {
        throw new Error(`npm pack failed:\n${packed.stderr}`);
    }
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarballFiles = info.files.map((f) => f.path).sort();
    const site = path.join(work, "site");
    fs.mkdirSync(site);
    fs.writeFileSync(path.join(site, "package.json"), JSON.stringify({ private: true }));
    const install = spawnSync(
        "npm",
        ["install", "--no-audit", "--no-fund", "--prefer-offline", path.join(work, info.filename)],
        { cwd: site, encoding: "utf8", timeout: 240000 },
    );
    if (install.status !== 0) {
        throw new Error(`npm install of the packed pack failed:\n${install.stderr}`);
    }
    installedDir = path.join(site, "node_modules", PACK_NAME);
    const hook = path.join(work, "fs-log.js");
    fs.writeFileSync(hook, FS_LOG_HOOK);
    fsLog = path.join(work, "fs.log");
    installed = PolicyAnalyzer.connect(
        await spawnPolicyPack({
            packDir: installedDir,
            build: false,
            env: { NODE_OPTIONS: `--require ${hook}`, MAESTRO_FS_LOG: fsLog },
        }),
    );
    // The repository's pack: the process this jest worker shares (test/setup/policyPacks.ts), built from the same
    // sources as the bundle packed above.
    repoPack = await sharedPolicyPack();
}, 360000);

afterAll(async () => {
    await installed?.close();
    if (work) {
        fs.rmSync(work, { recursive: true, force: true });
    }
});

describe("the packed policy pack", () => {
    it("holds only the built entry, its manifest and PulumiPolicy.yaml", () => {
        expect(tarballFiles).toEqual(["PulumiPolicy.yaml", BUILT_ENTRY, "package.json"].sort());
        expect(fs.readFileSync(path.join(installedDir, BUILT_ENTRY), "utf8")).not.toContain(repoRoot);
    });

    it("serves the same policies, its version naming the guardrails version it enforces", async () => {
        const info = await installed.getAnalyzerInfo();
        expect(info.version).toMatch(new RegExp(`^\\d+\\.\\d+\\.\\d+\\+guardrails\\.${guardrails.version}$`));
        expect(info).toEqual(await repoPack.getAnalyzerInfo());
    });

    const cases: Array<[string, string, { preview?: boolean; program?: () => unknown }]> = [
        ...STACKS.flatMap((s): Array<[string, string, { preview?: boolean }]> => [
            [`${s} up`, s, {}],
            [`${s} first preview`, s, { preview: true }],
        ]),
        ["prod first preview, bucket policy unknown", "prod", { preview: true, program: bucketPolicyFromArnOutput() }],
        ["prod up, a sign-off edited", "prod", { program: editedSignoffObject() }],
    ];
    it.each(cases)("gives the repository pack's verdicts: %s", async (_what, stack, opts) => {
        const result = await synthStack({ stack, ...opts });
        const config = readStackFile(result.configFile);
        const doc = (r: PolicyReport) => policyReportDocument(r);
        const mine = await analyzeRun(installed, result.run, { config });
        expect(doc(mine)).toEqual(doc(await analyzeRun(repoPack, result.run, { config })));
        if (opts.program) {
            expect(mine.mandatory).toBeGreaterThan(0);
        }
    });

    it("opened no repository file while it started and analyzed", async () => {
        await installed.close();
        // Relative paths are the pack's own: its working directory is the installed folder, as under the CLI.
        const opened = fs
            .readFileSync(fsLog, "utf8")
            .split("\n")
            .filter(Boolean)
            .map((p) => path.resolve(installedDir, p));
        expect(opened.some((p) => p.startsWith(installedDir))).toBe(true);
        expect(opened.filter((p) => p.startsWith(repoRoot + path.sep))).toEqual([]);
    });
});

describe("the pack's version", () => {
    const packDir = (pkg: Record<string, unknown>) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-pack-version-"));
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg));
        return dir;
    };

    it("passes a version naming the guardrails version and the built main", () => {
        expect(checkPackVersion(packDir({ version: "2.3.4+guardrails.7", main: BUILT_ENTRY }), 7)).toBe(
            "2.3.4+guardrails.7",
        );
    });

    it("refuses a version without the guardrails version, or naming another one", () => {
        expect(() => checkPackVersion(packDir({ version: "0.1.0", main: BUILT_ENTRY }), 1)).toThrow(
            `/version: "0.1.0" does not name the guardrails it enforces; allowed: <semver>+guardrails.1`,
        );
        expect(() => checkPackVersion(packDir({ version: "0.1.0+guardrails.2", main: BUILT_ENTRY }), 1)).toThrow(
            "allowed: <semver>+guardrails.1",
        );
        expect(() => checkPackVersion(packDir({ version: "0.1.0+x+guardrails.1", main: BUILT_ENTRY }), 1)).toThrow(
            "does not name the guardrails",
        );
    });

    it("refuses a main the CLI would run through ts-node", () => {
        expect(() => checkPackVersion(packDir({ version: "0.1.0+guardrails.1", main: "index.ts" }), 1)).toThrow(
            `/main: "index.ts"; the CLI must run the built pack without ts-node; allowed: "${BUILT_ENTRY}"`,
        );
    });
});

describe("the pack synth and the tests start: always the build of the current sources and data", () => {
    const file = path.join(POLICY_PACK_DIR, BUILT_ENTRY);
    const served = async (check?: "manifest" | "rebuilt") => {
        const pack = await spawnPolicyPack();
        const client = PolicyAnalyzer.connect(pack);
        try {
            if (check) {
                expect(pack.bundleCheck).toBe(check);
            }
            return (await client.getAnalyzerInfo()).name;
        } finally {
            await client.close();
        }
    };

    it("runs the pack synth starts for one command with V8's settings for a short run, and no other", async () => {
        expect(SHORT_RUN_V8_FLAGS).toEqual(["--no-turbofan"]);
        expect(packNodeOptions(true, { shortRun: true })).toEqual(["--require", CODE_CACHE_HOOK, "--no-turbofan"]);
        expect(packNodeOptions(false, { shortRun: true })).toEqual(["--no-turbofan"]);
        expect(packNodeOptions(true, {})).toEqual(["--require", CODE_CACHE_HOOK]);
        expect(packNodeOptions(false, { shortRun: false })).toEqual([]);
        const pack = await spawnPolicyPack({ shortRun: true });
        try {
            const runner = pack.child.spawnargs.findIndex((a) => a.includes("run-policy-pack"));
            expect(pack.child.spawnargs.slice(1, runner)).toContain("--no-turbofan");
            // What follows is what the CLI runs: the runner, the engine's address, the pack.
            expect(pack.child.spawnargs.slice(runner + 2, runner + 3)).toEqual(["."]);
        } finally {
            await stopPolicyPack(pack.child);
        }
    });

    it("starts an unchanged bundle as it is, without rebuilding or writing it again", async () => {
        await buildPolicyPack();
        const before = fs.statSync(file);
        const bytes = fs.readFileSync(file);
        // Its build manifest says it is the build of the current sources and data: esbuild never ran.
        expect(await served("manifest")).toBe(POLICY_PACK_NAME);
        const after = fs.statSync(file);
        expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
        expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    });

    it("rebuilds in memory when the manifest is gone, and writes the manifest, not the identical bundle", async () => {
        await buildPolicyPack();
        const before = fs.statSync(file);
        fs.rmSync(path.join(POLICY_PACK_DIR, BUILD_MANIFEST));
        expect(await served("rebuilt")).toBe(POLICY_PACK_NAME);
        const after = fs.statSync(file);
        expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
        expect(bundleProblem(POLICY_PACK_DIR, fs.readFileSync(file))).toBeUndefined();
        expect(await served("manifest")).toBe(POLICY_PACK_NAME);
    });

    it("never serves a bundle edited by hand: it is stopped, rebuilt from the sources and started again", async () => {
        await buildPolicyPack();
        const built = fs.readFileSync(file, "utf8");
        const name = POLICY_PACK_NAME;
        expect(built).toContain(JSON.stringify(name));
        // A weakened pack under another name: if it were the one serving, GetAnalyzerInfo would say so.
        fs.writeFileSync(file, built.split(JSON.stringify(name)).join(JSON.stringify("tampered-pack")));
        expect(await served("rebuilt")).toBe(name);
        expect(fs.readFileSync(file, "utf8")).toBe(built);
    });

    it("builds a missing bundle before it starts it", async () => {
        const built = fs.readFileSync(file, "utf8");
        fs.rmSync(file);
        expect(await served("rebuilt")).toBe(POLICY_PACK_NAME);
        expect(fs.readFileSync(file, "utf8")).toBe(built);
    });

    it("builds the same bytes wherever it is run from (the comparison depends on it)", async () => {
        const here = await bundlePolicyPack();
        const cwd = process.cwd();
        process.chdir(os.tmpdir());
        try {
            expect(Buffer.from((await bundlePolicyPack()).contents).equals(Buffer.from(here.contents))).toBe(true);
        } finally {
            process.chdir(cwd);
        }
    });
});
