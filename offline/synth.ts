import * as fs from "fs";
import * as path from "path";
import { stableJson } from "../core/stableJson";
import { Artifact, extractArtifacts } from "./artifacts";
import { SYNTH_MARKER, outDirProblem } from "./outDir";
import { policyViolationMetrics, writeMetricsFile } from "../verify/ciMetrics";
import {
    MockRunResult,
    RegisteredResource,
    maskSecrets,
    readStackFile,
    runWithMocks,
    stackFilePath,
} from "./mockRuntime";
import { PolicyReport, policyReportDocument } from "./policyAnalyzer";
import { ValidationError, displayPath, repoRoot } from "../core/validation";

/** What `synth` produced for one stack. */
export interface SynthResult {
    readonly stack: string;
    readonly configFile: string;
    readonly run: MockRunResult;
    readonly artifacts: readonly Artifact[];
}

export interface SynthOptions {
    readonly stack: string;
    /** A stack-config file used in place of Pulumi.<stack>.yaml. */
    readonly configFile?: string;
    /** The program; the stack's own index.ts by default (tests pass fixture programs). */
    readonly program?: () => unknown;
}

/** Load the program the Pulumi CLI would run: the module's exported function. */
export function stackProgram(): () => unknown {
    // Relative, so it resolves to index.ts from sources (jest) and to bin/index.js when compiled.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("../index") as () => unknown;
}

/** Run one stack under the mock runtime and collect its resources and rendered artifacts. */
export async function synthStack(opts: SynthOptions): Promise<SynthResult> {
    const configFile = opts.configFile ?? stackFilePath(repoRoot, opts.stack);
    const config = readStackFile(configFile);
    const run = await runWithMocks({
        stack: opts.stack,
        config,
        program: opts.program ?? stackProgram(),
        configFileName: displayPath(configFile),
    });
    return { stack: opts.stack, configFile, run, artifacts: extractArtifacts(run.resources) };
}

/** The resources.json document: every registered resource with the options that matter. */
export function resourcesDocument(result: SynthResult): unknown {
    return {
        project: result.run.project,
        stack: result.stack,
        configFile: displayPath(result.configFile),
        resources: result.run.resources.map((r: RegisteredResource) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            custom: r.custom,
            parent: r.parent ?? null,
            inputs: maskSecrets(r.inputs),
            options: {
                protect: r.protect,
                retainOnDelete: r.retainOnDelete,
                dependsOn: r.dependsOn,
                provider: r.provider ?? null,
                deleteBeforeReplace: r.deleteBeforeReplace,
                ignoreChanges: r.ignoreChanges,
                additionalSecretOutputs: r.additionalSecretOutputs,
            },
        })),
    };
}

/** Write resources.json, outputs.json and the artifacts into a fresh `outDir` (an earlier synth's files removed first). */
export function writeSynthOutput(result: SynthResult, outDir: string, opts: { ownFolder?: boolean } = {}): string[] {
    // The default out/<stack> (git-ignored, documented as synth's) is synth's own even before it held a marker.
    const problem = opts.ownFolder ? undefined : outDirProblem(outDir);
    if (problem !== undefined) {
        throw new ValidationError([{ file: displayPath(outDir), path: "", message: problem }]);
    }
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(
        path.join(outDir, SYNTH_MARKER),
        "Written by `npm run synth`; the next synth replaces this folder.\n",
    );
    const files: Array<[string, string]> = [
        ["resources.json", stableJson(resourcesDocument(result))],
        ["outputs.json", stableJson(maskSecrets(result.run.outputs))],
        ...result.artifacts.map((a): [string, string] => [a.path, a.content]),
    ];
    for (const [rel, content] of files) {
        const file = path.join(outDir, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content);
    }
    return files.map(([rel]) => rel);
}

/** The policy pack's verdict on a synthesized stack, next to what it judged. */
export const POLICY_REPORT_FILE = "policy-report.json";

/** Write out/<stack>/policy-report.json (after writeSynthOutput, which empties the folder). */
export function writePolicyReport(report: PolicyReport, outDir: string): string {
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, POLICY_REPORT_FILE), stableJson(policyReportDocument(report)));
    return POLICY_REPORT_FILE;
}

/** The stack's policy-violation metric, next to the report (docs/metrics.md: what CI pushes). */
export const METRICS_FILE = "metrics.prom";

/** Write out/<stack>/metrics.prom: maestro_policy_violations per policy, from the report. */
export function writePolicyMetrics(report: PolicyReport, outDir: string): string {
    writeMetricsFile(path.join(outDir, METRICS_FILE), [policyViolationMetrics(report)]);
    return METRICS_FILE;
}

/** Count resources by type, for the human summary. */
export function countByType(resources: readonly RegisteredResource[]): Array<[string, number]> {
    const counts = new Map<string, number>();
    for (const r of resources) {
        counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    }
    return [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

export { ValidationError };
export { SYNTH_MARKER, outDirProblem };
