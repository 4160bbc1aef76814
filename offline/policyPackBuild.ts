/**
 * Building the policy pack that ships on its own: policies/index.ts and everything it imports from the stack's
 * modules (core/, governance/, provenance/, and their ajv and js-yaml) bundled by esbuild into policies/bin/index.js,
 * the `main` of policies/package.json. policies/packData.ts, which reads the guardrails and governance files, is
 * replaced by the same data read and validated now, compiled in: the built pack reads no repository file. Only
 * @pulumi/policy and @pulumi/pulumi stay outside the bundle: the CLI runs the pack through the pack's own
 * @pulumi/pulumi (run-policy-pack), and the analyzer server must be the one @pulumi/policy the pack depends on.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type * as esbuild from "esbuild";
import { loadGuardrails } from "../core/guardrails";
import { ValidationError, displayPath, repoRoot } from "../core/validation";
import { POLICY_PACK_DIR } from "./policyPackProcess";
import { packData } from "../policies/packData";
import { PackData } from "../policies/context";

/** The built entry, relative to the pack's folder (policies/package.json `main`). */
export const BUILT_ENTRY = "bin/index.js";

/** Packages the pack resolves at run time from its own node_modules (its package.json dependencies). */
export const PACK_EXTERNALS = ["@pulumi/policy", "@pulumi/pulumi"];

/** The suffix of the pack's version naming the guardrails it enforces: `0.1.0+guardrails.1`. */
export function guardrailsVersionSuffix(guardrailsVersion: number): string {
    return `+guardrails.${guardrailsVersion}`;
}

/**
 * The pack's package.json must name the guardrails version it enforces (semver build metadata), so a published
 * pack says which guardrails it checks. Throws naming the file, the field and the value it must have.
 */
export function checkPackVersion(packDir: string, guardrailsVersion: number): string {
    const file = path.join(packDir, "package.json");
    const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { version?: unknown; main?: unknown };
    const version = typeof pkg.version === "string" ? pkg.version : "";
    const suffix = guardrailsVersionSuffix(guardrailsVersion);
    const base = version.split("+")[0];
    if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(base) || !version.endsWith(suffix) || version !== base + suffix) {
        throw new ValidationError([
            {
                file: displayPath(file),
                path: "/version",
                message: `"${version}" does not name the guardrails it enforces; allowed: <semver>${suffix} (guardrails/guardrails.yaml version ${guardrailsVersion}), e.g. ${base || "0.1.0"}${suffix}`,
            },
        ]);
    }
    if (pkg.main !== BUILT_ENTRY) {
        throw new ValidationError([
            {
                file: displayPath(file),
                path: "/main",
                message: `${JSON.stringify(pkg.main)}; the CLI must run the built pack without ts-node; allowed: "${BUILT_ENTRY}"`,
            },
        ]);
    }
    return version;
}

/** The JavaScript that stands in for policies/packData.ts in the bundle: the data, compiled in. */
export function packDataModule(data: PackData): string {
    return `"use strict";\n// Compiled in by offline/policyPackBuild.ts: the pack reads no repository file.\nconst DATA = ${JSON.stringify(data)};\nexports.packData = () => DATA;\n`;
}

export interface BuildResult {
    readonly file: string;
    readonly bytes: number;
    readonly version: string;
    readonly ms: number;
    /** The bundle was already built from exactly these inputs, and kept (ensurePolicyPackBuilt). */
    readonly reused?: boolean;
}

/**
 * Written next to the bundle: everything the build read, so the next one can tell that nothing changed. A stale pack
 * would check deploys against old policies or old data, so a bundle is reused only when every one of these is the
 * same, byte for byte.
 */
export const BUILD_RECORD = "bin/index.js.build.json";

interface BuildRecord {
    /** How it was built: this module's own code and esbuild's version. */
    readonly builder: string;
    /** The pack's package.json version, which the banner names. */
    readonly version: string;
    /** The compiled-in data module (the guardrails and governance data the pack enforces). */
    readonly data: string;
    /**
     * Every file esbuild bundled, the package.json and tsconfig.json files that decide how they are read and
     * resolved (paths relative to the repository), each with its SHA-256.
     */
    readonly files: Readonly<Record<string, string>>;
    /** Every folder holding a bundled file, with its list of entries: a file added there could change a resolution. */
    readonly folders: Readonly<Record<string, string>>;
    /** The bundle itself, so a bundle edited or replaced since is rebuilt. */
    readonly output: string;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

/** A file's SHA-256, or "absent". */
function fileHash(file: string): string {
    return fs.existsSync(file) ? sha256(fs.readFileSync(file)) : "absent";
}

function folderHash(dir: string): string {
    return fs.existsSync(dir) ? sha256(fs.readdirSync(dir).sort().join("\n")) : "absent";
}

function builderHash(): string {
    const esbuildVersion = (
        JSON.parse(fs.readFileSync(require.resolve("esbuild/package.json"), "utf8")) as { version: string }
    ).version;
    return sha256(`${fs.readFileSync(__filename, "utf8")}\nesbuild ${esbuildVersion}`);
}

/** The package.json files from a bundled file's folder up to the repository root, and the tsconfig.json files there. */
function settingsFiles(file: string): string[] {
    const found: string[] = [];
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
        found.push(path.join(dir, "package.json"), path.join(dir, "tsconfig.json"));
        if (dir === repoRoot || dir === path.dirname(dir)) {
            return found;
        }
    }
}

function buildRecord(
    packDir: string,
    version: string,
    dataModule: string,
    inputs: readonly string[],
    output: Buffer | Uint8Array,
): BuildRecord {
    const rel = (f: string) => path.relative(repoRoot, f);
    const files = [
        ...new Set([...inputs, ...inputs.flatMap(settingsFiles), ...settingsFiles(path.join(packDir, "x"))]),
    ];
    return {
        builder: builderHash(),
        version,
        data: sha256(dataModule),
        files: Object.fromEntries(files.sort().map((f) => [rel(f), fileHash(f)])),
        folders: Object.fromEntries(
            [...new Set(inputs.map((f) => path.dirname(f)))].sort().map((d) => [rel(d), folderHash(d)]),
        ),
        output: sha256(Buffer.from(output)),
    };
}

/** Whether the recorded build is still this one: same builder, version, data, files, folders and bundle. */
function recordHolds(packDir: string, version: string, dataModule: string): boolean {
    let recorded: BuildRecord;
    try {
        recorded = JSON.parse(fs.readFileSync(path.join(packDir, BUILD_RECORD), "utf8")) as BuildRecord;
    } catch {
        return false;
    }
    const abs = (f: string) => path.resolve(repoRoot, f);
    return (
        recorded.builder === builderHash() &&
        recorded.version === version &&
        recorded.data === sha256(dataModule) &&
        typeof recorded.files === "object" &&
        typeof recorded.folders === "object" &&
        Object.keys(recorded.files ?? {}).length > 0 &&
        Object.entries(recorded.files).every(([f, h]) => fileHash(abs(f)) === h) &&
        Object.entries(recorded.folders).every(([d, h]) => folderHash(abs(d)) === h) &&
        fileHash(path.join(packDir, BUILT_ENTRY)) === recorded.output
    );
}

/**
 * The bundle, built unless the one there was built by this code from exactly the same sources, settings and data
 * (its build record): what synth and the tests start, where rebuilding each time cost a tenth of a second before the
 * pack could even be spawned. `npm run build:policies` always builds.
 */
export async function ensurePolicyPackBuilt(opts: { packDir?: string; data?: PackData } = {}): Promise<BuildResult> {
    const started = process.hrtime.bigint();
    const packDir = opts.packDir ?? POLICY_PACK_DIR;
    const data = opts.data ?? packData();
    const version = checkPackVersion(packDir, loadGuardrails().version);
    if (recordHolds(packDir, version, packDataModule(data))) {
        const file = path.join(packDir, BUILT_ENTRY);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        return { file, bytes: fs.statSync(file).size, version, ms, reused: true };
    }
    return buildPolicyPack({ packDir, data });
}

/**
 * Bundle the pack into `<packDir>/bin/index.js`. Written to a temporary file and renamed, so a pack being spawned
 * (another test file builds at the same time) never loads half a file.
 */
export async function buildPolicyPack(opts: { packDir?: string; data?: PackData } = {}): Promise<BuildResult> {
    const started = process.hrtime.bigint();
    const packDir = opts.packDir ?? POLICY_PACK_DIR;
    const data = opts.data ?? packData();
    const version = checkPackVersion(packDir, loadGuardrails().version);
    const dataFile = path.join(packDir, "packData.ts");
    const dataModule = packDataModule(data);
    // Loaded here: the check above decides most runs without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { build } = require("esbuild") as typeof esbuild;
    const result = await build({
        absWorkingDir: repoRoot,
        metafile: true,
        entryPoints: [path.join(packDir, "index.ts")],
        bundle: true,
        platform: "node",
        target: "node20",
        format: "cjs",
        external: PACK_EXTERNALS,
        write: false,
        outfile: path.join(packDir, BUILT_ENTRY),
        logLevel: "silent",
        banner: { js: `// ${path.basename(packDir)} ${version}: built by offline/policyPackBuild.ts; do not edit.` },
        plugins: [
            {
                name: "maestro-pack-data",
                setup(build) {
                    build.onLoad({ filter: /packData\.ts$/ }, (args) =>
                        path.resolve(args.path) === path.resolve(dataFile)
                            ? { contents: dataModule, loader: "js" }
                            : undefined,
                    );
                },
            },
        ],
    });
    const out = result.outputFiles[0];
    const file = path.join(packDir, BUILT_ENTRY);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, out.contents);
    fs.renameSync(tmp, file);
    // The record after the bundle: a record naming another bundle (a build in between) does not hold, so the worst a
    // race costs is a rebuild.
    const inputs = Object.keys(result.metafile.inputs).map((f) => path.resolve(repoRoot, f));
    const record = buildRecord(packDir, version, dataModule, inputs, out.contents);
    const recordFile = path.join(packDir, BUILD_RECORD);
    fs.writeFileSync(`${recordFile}.${process.pid}.tmp`, JSON.stringify(record, null, 2) + "\n");
    fs.renameSync(`${recordFile}.${process.pid}.tmp`, recordFile);
    return { file, bytes: out.contents.length, version, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}
