/**
 * Building the policy pack that ships on its own: policies/index.ts and everything it imports from the stack's
 * modules (core/, governance/, provenance/, and their ajv and js-yaml) bundled by esbuild into policies/bin/index.js,
 * the `main` of policies/package.json. policies/packData.ts, which reads the guardrails and governance files, is
 * replaced by the same data read and validated now, compiled in: the built pack reads no repository file. Only
 * @pulumi/policy and @pulumi/pulumi stay outside the bundle: the CLI runs the pack through the pack's own
 * @pulumi/pulumi (run-policy-pack), and the analyzer server must be the one @pulumi/policy the pack depends on.
 */
import * as fs from "fs";
import * as path from "path";
import type * as esbuild from "esbuild";
import { writeFileAtomically } from "../core/atomicFile";
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
}

/** The bundle, built in memory (bundlePolicyPack). */
export interface Bundle {
    readonly contents: Uint8Array;
    readonly version: string;
}

/**
 * Build the bundle in memory, from the pack's sources and the data read and validated now. esbuild's builds are
 * deterministic, and the paths it writes into the bundle are relative to the repository (not to wherever the command
 * runs), so the same sources and data always give the same bytes: spawnPolicyPack compares them with the bundle on
 * disk.
 */
export async function bundlePolicyPack(opts: { packDir?: string; data?: PackData } = {}): Promise<Bundle> {
    const packDir = opts.packDir ?? POLICY_PACK_DIR;
    const data = opts.data ?? packData();
    const version = checkPackVersion(packDir, loadGuardrails().version);
    const dataFile = path.join(packDir, "packData.ts");
    const dataModule = packDataModule(data);
    // Loaded here, not at the top: esbuild is a build tool the pack's users never load.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { build } = require("esbuild") as typeof esbuild;
    const result = await build({
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
        plugins: [
            {
                name: "maestro-pack-data",
                setup(b) {
                    b.onLoad({ filter: /packData\.ts$/ }, (args) =>
                        path.resolve(args.path) === path.resolve(dataFile)
                            ? { contents: dataModule, loader: "js" }
                            : undefined,
                    );
                },
            },
        ],
    });
    return { contents: result.outputFiles[0].contents, version };
}

/**
 * Write a bundle to its file: to a temporary file, then renamed, so a pack being spawned (another test file builds at
 * the same time) never loads half a file.
 */
export function writePolicyPack(file: string, contents: Uint8Array): void {
    writeFileAtomically(file, contents);
}

/** Bundle the pack into `<packDir>/bin/index.js` (`npm run build:policies`). */
export async function buildPolicyPack(opts: { packDir?: string; data?: PackData } = {}): Promise<BuildResult> {
    const started = process.hrtime.bigint();
    const packDir = opts.packDir ?? POLICY_PACK_DIR;
    const { contents, version } = await bundlePolicyPack(opts);
    const file = path.join(packDir, BUILT_ENTRY);
    writePolicyPack(file, contents);
    return { file, bytes: contents.length, version, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}
