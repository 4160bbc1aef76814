import * as fs from "fs";
import * as path from "path";
import { stableJson } from "../core/stableJson";
import { Artifact, extractArtifacts } from "./artifacts";
import { SYNTH_MARKER, outDirProblem } from "./outDir";
import { policyViolationMetrics, writeMetricsFile } from "../verify/ciMetrics";
import {
    MockRunResult,
    PriorResource,
    RegisteredResource,
    UNKNOWN,
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
    /** The outputs of the stack's previous deploy (its sign-off ledger anchor); none: a fresh stack. */
    readonly priorOutputs?: Record<string, unknown>;
    /** Run as `pulumi preview` does (unknown outputs for resources that do not exist yet). */
    readonly preview?: boolean;
    /** With `preview`: the deployed stack (readPriorState), so the preview is an update's. */
    readonly prior?: ReadonlyMap<string, PriorResource>;
    /** Called with each resource as it registers (synth streams them to the policy pack's Analyze). */
    readonly onRegistered?: (r: RegisteredResource) => void;
    /** Called with the run as soon as the program has ended, before its artifacts are extracted (synth's AnalyzeStack). */
    readonly onRun?: (run: MockRunResult) => void;
}

/** Load the program the Pulumi CLI would run: the module's exported function. */
export function stackProgram(): () => unknown {
    // Relative, so it resolves to index.ts from sources (jest) and to bin/index.js when compiled.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("../index") as () => unknown;
}

/** The stack-config file a synth reads: the one given, else the stack's own Pulumi.<stack>.yaml. */
export function synthConfigFile(opts: Pick<SynthOptions, "stack" | "configFile">): string {
    return opts.configFile ?? stackFilePath(repoRoot, opts.stack);
}

/** Run one stack under the mock runtime and collect its resources and rendered artifacts. */
export async function synthStack(opts: SynthOptions): Promise<SynthResult> {
    const configFile = synthConfigFile(opts);
    const config = readStackFile(configFile);
    const run = await runWithMocks({
        stack: opts.stack,
        config,
        program: opts.program ?? stackProgram(),
        configFileName: displayPath(configFile),
        ...(opts.priorOutputs ? { priorOutputs: opts.priorOutputs } : {}),
        preview: opts.preview,
        prior: opts.prior,
        onRegistered: opts.onRegistered,
    });
    opts.onRun?.(run);
    return { stack: opts.stack, configFile, run, artifacts: extractArtifacts(run.resources) };
}

/** The resources.json document: every registered resource with the options that matter. */
export function resourcesDocument(result: SynthResult): unknown {
    return {
        project: result.run.project,
        stack: result.stack,
        configFile: displayPath(result.configFile),
        mode: result.run.mode,
        resources: result.run.resources.map((r: RegisteredResource) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            custom: r.custom,
            parent: r.parent ?? null,
            // The state a later `synth --preview --prior` reads (readPriorState); null while a preview leaves it unknown.
            id: r.id ?? null,
            inputs: maskSecrets(r.inputs),
            outputs: maskSecrets(r.outputs ?? {}),
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

/**
 * The deployed stack a preview updates: a previous synth's resources.json (of an `up`, or a preview whose values
 * are all known), custom resources by URN. Fails naming the file and the field when it is not one, belongs to
 * another stack, or still holds unknown values (a preview's output cannot stand for a deployed stack).
 */
export function readPriorState(file: string, stack: string): Map<string, PriorResource> {
    const shown = displayPath(file);
    if (!fs.existsSync(file)) {
        throw new ValidationError([
            {
                file: shown,
                path: "",
                message: `not found; --prior takes a previous synth's output (out/ or out/${stack}/)`,
            },
        ]);
    }
    let doc: { stack?: unknown; resources?: unknown };
    try {
        doc = JSON.parse(fs.readFileSync(file, "utf8")) as typeof doc;
    } catch (err) {
        throw new ValidationError([{ file: shown, path: "", message: `cannot parse: ${(err as Error).message}` }]);
    }
    if (doc.stack !== stack) {
        throw new ValidationError([
            {
                file: shown,
                path: "/stack",
                message: `${JSON.stringify(doc.stack)}; the prior state must be stack "${stack}"`,
            },
        ]);
    }
    if (!Array.isArray(doc.resources)) {
        throw new ValidationError([{ file: shown, path: "/resources", message: "must be the list synth writes" }]);
    }
    const prior = new Map<string, PriorResource>();
    doc.resources.forEach((r: Record<string, unknown>, i: number) => {
        if (r.custom !== true) {
            return;
        }
        const at = `/resources/${i}`;
        if (typeof r.id !== "string" || r.id === "" || typeof r.outputs !== "object" || r.outputs === null) {
            throw new ValidationError([
                {
                    file: shown,
                    path: `${at}/id`,
                    message: `${String(r.urn)} has no id and outputs; write the prior state with synth (without --preview, or a preview with --prior)`,
                },
            ]);
        }
        if (JSON.stringify(r.outputs).includes(UNKNOWN)) {
            throw new ValidationError([
                {
                    file: shown,
                    path: `${at}/outputs`,
                    message: `${String(r.urn)} has unknown outputs: a fresh preview's output is no deployed state`,
                },
            ]);
        }
        prior.set(String(r.urn), {
            id: r.id,
            inputs: r.inputs as Record<string, unknown>,
            outputs: r.outputs as Record<string, unknown>,
        });
    });
    return prior;
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
