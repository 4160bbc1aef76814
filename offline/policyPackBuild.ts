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
import { writeFileAtomically } from "../core/atomicFile";
import { loadGuardrails } from "../core/guardrails";
import { ValidationError, displayPath, repoRoot } from "../core/validation";
import { BUILT_ENTRY, POLICY_PACK_DIR } from "./policyPackProcess";
import { packData } from "../policies/packData";
import { PackData } from "../policies/context";

export { BUILT_ENTRY };

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
}

/** The bundle, built in memory (bundlePolicyPack), with the record of what it was built from. */
export interface Bundle {
    readonly contents: Uint8Array;
    readonly version: string;
    /** Absent when an input changed while it was built: such a bundle is never taken as current. */
    readonly manifest?: BuildManifest;
}

/**
 * What a bundle was built from, written beside it (git-ignored, not shipped): the bytes of every file esbuild read,
 * and what decides how its imports resolve. spawnPolicyPack starts a bundle whose record still holds without
 * rebuilding it (a rebuild costs esbuild a second of CPU beside the program synth runs); any difference, or no
 * readable record, means a rebuild. It guards against a stale bundle, not against someone who edits both files.
 */
export interface BuildManifest {
    readonly format: typeof MANIFEST_FORMAT;
    /** SHA-256 of esbuild's version, the build's options and the data compiled in. */
    readonly settings: string;
    /** SHA-256 of the bundle. */
    readonly bundle: string;
    /**
     * SHA-256 by path (relative to the repository) of each file bundled, of this build's own source, and of the
     * package.json, tsconfig.json and jsconfig.json of every folder from a bundled file up (null: no such file).
     */
    readonly files: Readonly<Record<string, string | null>>;
    /**
     * By folder (each bundled file's, up to the pack's parent folder): SHA-256 of the names of its files and of the
     * packages in its node_modules. A new file can take an import over (\`./x\` resolves x.tsx before x.ts, and
     * \`../rules\` rules.ts before rules/index.ts), a nearer package a bare import; a new folder cannot.
     */
    readonly folders: Readonly<Record<string, string>>;
}

const MANIFEST_FORMAT = 1;

/** The build's record, relative to the pack's folder (inside its git-ignored bin/; package.json `files` leaves it out). */
export const BUILD_MANIFEST = "bin/.build-manifest.json";

/** This module's source: how the bundle is built is part of what it was built from. */
const BUILD_SOURCE = path.join(repoRoot, "offline", "policyPackBuild.ts");

const RESOLUTION_FILES = ["package.json", "tsconfig.json", "jsconfig.json"];

function sha256(data: string | Uint8Array): string {
    return createHash("sha256").update(data).digest("hex");
}

function fileHash(file: string): string | null {
    try {
        return sha256(fs.readFileSync(file));
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") {
            return null;
        }
        throw err;
    }
}

/** The names in a folder that can change how an import resolves: its files, and the packages in its node_modules. */
function folderHash(dir: string): string {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
        return "absent";
    }
    const names = entries.filter((e) => !e.isDirectory()).map((e) => e.name);
    if (entries.some((e) => e.name === "node_modules" && e.isDirectory())) {
        for (const pkg of fs.readdirSync(path.join(dir, "node_modules"), { withFileTypes: true })) {
            const scoped = pkg.name.startsWith("@") && pkg.isDirectory();
            const inScope = scoped ? fs.readdirSync(path.join(dir, "node_modules", pkg.name)) : [""];
            names.push(...inScope.map((n) => `node_modules/${pkg.name}${n ? `/${n}` : ""}`));
        }
    }
    return sha256(names.sort().join("\n"));
}

/** The folders whose names decide how a bundled file's imports resolve: its own, up to `stop` (or the root). */
function foldersUp(file: string, stop: string): string[] {
    const dirs: string[] = [];
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
        dirs.push(dir);
        if (dir === stop || path.dirname(dir) === dir) {
            return dirs;
        }
    }
}

/** The resolution context of the bundled files, read now (the bundled files' own bytes are those esbuild read). */
function buildManifest(
    packDir: string,
    settings: string,
    contents: Uint8Array,
    bundled: ReadonlyMap<string, string>,
): BuildManifest {
    const stop = path.dirname(path.resolve(packDir));
    const files: Record<string, string | null> = {};
    const folders: Record<string, string> = {};
    for (const [abs, hash] of bundled) {
        files[path.relative(repoRoot, abs)] = hash;
    }
    files[path.relative(repoRoot, BUILD_SOURCE)] = fileHash(BUILD_SOURCE);
    const dirs = new Set([...bundled.keys()].flatMap((abs) => foldersUp(abs, stop)));
    for (const dir of dirs) {
        folders[path.relative(repoRoot, dir) || "."] = folderHash(dir);
        for (const name of RESOLUTION_FILES) {
            files[path.relative(repoRoot, path.join(dir, name))] = fileHash(path.join(dir, name));
        }
    }
    return { format: MANIFEST_FORMAT, settings, bundle: sha256(contents), files, folders };
}

/**
 * Why the bundle `contents` (the pack's bin/index.js) is not the build of the current sources and data, per its
 * build manifest; undefined when it is. A manifest that is missing or unreadable is a reason too: this never throws
 * for the manifest's sake, it only answers "rebuild".
 */
export function bundleProblem(
    packDir: string,
    contents: Uint8Array,
    opts: { data?: PackData } = {},
): string | undefined {
    const file = path.join(packDir, BUILD_MANIFEST);
    let manifest: Partial<BuildManifest>;
    try {
        manifest = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<BuildManifest>;
    } catch (err) {
        return `no readable build manifest (${displayPath(file)}: ${(err as Error).message})`;
    }
    if (manifest === null || typeof manifest !== "object" || manifest.format !== MANIFEST_FORMAT) {
        return `${displayPath(file)} is not a build manifest of format ${MANIFEST_FORMAT}`;
    }
    if (manifest.bundle !== sha256(contents)) {
        return `${displayPath(path.join(packDir, BUILT_ENTRY))} is not the bundle the manifest records (edited or replaced)`;
    }
    const files = manifest.files;
    const folders = manifest.folders;
    if (typeof files !== "object" || files === null || typeof folders !== "object" || folders === null) {
        return `${displayPath(file)} lists no files or folders`;
    }
    if (!(path.relative(repoRoot, BUILD_SOURCE) in files) || Object.keys(folders).length === 0) {
        return `${displayPath(file)} does not list what the bundle was built from`;
    }
    for (const [rel, hash] of Object.entries(files)) {
        if (fileHash(path.resolve(repoRoot, rel)) !== hash) {
            return `${rel} changed since the bundle was built`;
        }
    }
    for (const [rel, hash] of Object.entries(folders)) {
        if (folderHash(path.resolve(repoRoot, rel)) !== hash) {
            return `the files in ${rel}/ changed since the bundle was built (a new one may take an import over)`;
        }
    }
    if (manifest.settings !== packBuild(packDir, opts.data ?? packData()).settings) {
        return "the build's settings or the guardrails and governance data it compiles in changed";
    }
    return undefined;
}

/**
 * Build the bundle in memory, from the pack's sources and the data read and validated now. esbuild's builds are
 * deterministic, and the paths it writes into the bundle are relative to the repository (not to wherever the command
 * runs), so the same sources and data always give the same bytes: spawnPolicyPack compares them with the bundle on
 * disk.
 */
export async function bundlePolicyPack(opts: { packDir?: string; data?: PackData } = {}): Promise<Bundle> {
    const packDir = opts.packDir ?? POLICY_PACK_DIR;
    const { options, dataFile, dataModule, settings, version } = packBuild(packDir, opts.data ?? packData());
    // Loaded here, not at the top: esbuild is a build tool the pack's users never load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { build } = require("esbuild") as typeof esbuild;
    // Every file is read here, so the manifest records the very bytes bundled (an edit during the build cannot slip
    // into the record without being in the bundle).
    const bundled = new Map<string, string>();
    const result = await build({
        ...options,
        plugins: [
            {
                name: "maestro-pack-sources",
                setup(b) {
                    b.onLoad({ filter: /.*/ }, (args) => {
                        const isData = path.resolve(args.path) === path.resolve(dataFile);
                        const contents = isData ? dataModule : fs.readFileSync(args.path);
                        // The data file's own source stands for it (the data is in the settings).
                        bundled.set(path.resolve(args.path), isData ? String(fileHash(args.path)) : sha256(contents));
                        return { contents, loader: isData ? "js" : loaderOf(args.path) };
                    });
                },
            },
        ],
    });
    const output = result.outputFiles?.[0];
    if (!output) {
        throw new Error(`esbuild wrote no bundle for ${displayPath(packDir)}`);
    }
    const contents = output.contents;
    const manifest = buildManifest(packDir, settings, contents, bundled);
    const unchanged = [...bundled].every(([abs, hash]) => fileHash(abs) === hash);
    return { contents, version, ...(unchanged ? { manifest } : {}) };
}

/** esbuild's loader for a file, as it picks one by extension (the plugin hands it the file's bytes). */
function loaderOf(file: string): esbuild.Loader {
    const ext = path.extname(file);
    const loaders: Record<string, esbuild.Loader> = {
        ".ts": "ts",
        ".mts": "ts",
        ".cts": "ts",
        ".tsx": "tsx",
        ".jsx": "jsx",
        ".json": "json",
        ".js": "js",
        ".mjs": "js",
        ".cjs": "js",
    };
    const loader = loaders[ext];
    if (!loader) {
        throw new Error(`${displayPath(file)}: the pack bundles no ${ext || "extensionless"} file`);
    }
    return loader;
}

/**
 * The build's options (without the plugin, which only reads files and puts the data in), and what the manifest
 * records of them: the bundle is a function of these, of esbuild's version and of the files read.
 */
function packBuild(
    packDir: string,
    data: PackData,
): { options: esbuild.BuildOptions; dataFile: string; dataModule: string; settings: string; version: string } {
    const version = checkPackVersion(packDir, loadGuardrails().version);
    const dataFile = path.join(packDir, "packData.ts");
    const dataModule = packDataModule(data);
    const options: esbuild.BuildOptions = {
        absWorkingDir: repoRoot,
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
    };
    // esbuild's package.json only: the build tool itself loads when a build runs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const esbuildVersion = (require("esbuild/package.json") as { version: string }).version;
    const settings = sha256(JSON.stringify({ esbuildVersion, options, data: sha256(dataModule) }));
    return { options, dataFile, dataModule, settings, version };
}

/**
 * Write a bundle and its manifest into the pack's folder, each to a temporary file then renamed, so a pack being
 * spawned (another test file builds at the same time) never loads half a file. The manifest follows the bundle: a
 * reader between the two sees a manifest that does not record the bundle, and rebuilds.
 */
export function writePolicyPack(packDir: string, bundle: Bundle): string {
    const file = path.join(packDir, BUILT_ENTRY);
    writeFileAtomically(file, bundle.contents);
    writeManifest(packDir, bundle);
    return file;
}

/** The bundle on disk is this build's already: record what it was built from (none: the record is removed). */
export function writeManifest(packDir: string, bundle: Bundle): void {
    const file = path.join(packDir, BUILD_MANIFEST);
    if (bundle.manifest) {
        writeFileAtomically(file, `${JSON.stringify(bundle.manifest, null, 1)}\n`);
    } else {
        fs.rmSync(file, { force: true });
    }
}

/** Bundle the pack into `<packDir>/bin/index.js` (`npm run build:policies`). */
export async function buildPolicyPack(opts: { packDir?: string; data?: PackData } = {}): Promise<BuildResult> {
    const started = process.hrtime.bigint();
    const packDir = opts.packDir ?? POLICY_PACK_DIR;
    const bundle = await bundlePolicyPack(opts);
    const file = writePolicyPack(packDir, bundle);
    return {
        file,
        bytes: bundle.contents.length,
        version: bundle.version,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
    };
}
