import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { StackConfig, parseStackConfig } from "../core/stackConfig";
import { shippedStackFile } from "../offline/shippedStacks";
import { repoRoot } from "../core/validation";

import { guardrails } from "./fixtures/shipped";

export { guardrails, STACKS } from "./fixtures/shipped";

/** A stack's shipped config file, parsed as YAML (to derive broken variants from). */
export function stackFileDoc(stack: string): { config: Record<string, unknown> } {
    return yaml.load(fs.readFileSync(path.join(repoRoot, `Pulumi.${stack}.yaml`), "utf8")) as {
        config: Record<string, unknown>;
    };
}

/** Write a variant of a stack's config file (one change applied) to a temp file and return its path. */
export function writeStackVariant(
    stack: string,
    change: (config: Record<string, unknown>) => void,
    name = `Pulumi.${stack}.variant.yaml`,
): string {
    const doc = stackFileDoc(stack);
    change(doc.config);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-config-"));
    const file = path.join(dir, name);
    fs.writeFileSync(file, yaml.dump(doc));
    return file;
}

/** Flat config (as Pulumi passes it) of a shipped stack, with one change applied to the flat map. */
export function flatConfig(
    stack: string,
    change: (flat: Record<string, string>) => void = () => undefined,
): { values: Record<string, string>; secretKeys: string[] } {
    const flat = shippedStackFile(stack);
    const values = { ...flat.values };
    change(values);
    return { values, secretKeys: [...flat.secretKeys] };
}

/** A shipped stack's validated config; with `change`, that of a variant of its flat form. */
export function stackConfig(stack: string, change?: (flat: Record<string, string>) => void): StackConfig {
    const flat = flatConfig(stack, change);
    return parseStackConfig(stack, flat.values, flat.secretKeys, guardrails);
}

export const KEY = (k: string) => `maestro-guardrails:${k}`;

/**
 * A flat stack config moved to Amazon Managed Prometheus (optionally an existing workspace): its receivers become SNS
 * topics (AMP's alert manager sends nowhere else), the receivers' secrets go, since nothing names them any more, and
 * an enabled cost collector gets the namespace the AMP target no longer names (unless `collectorNamespace` is false).
 */
export function toAmp(
    f: Record<string, string>,
    workspaceId?: string,
    opts: { readonly collectorNamespace?: boolean } = {},
): void {
    const collector = f[KEY("costCollector")];
    if (collector !== undefined && opts.collectorNamespace !== false) {
        const c = JSON.parse(collector) as { enabled?: boolean; namespace?: string };
        f[KEY("costCollector")] = JSON.stringify({ ...c, namespace: c.namespace ?? "cost-collector" });
    }
    f[KEY("ruleTarget")] = JSON.stringify(workspaceId ? { kind: "amp", workspaceId } : { kind: "amp" });
    const routing = JSON.parse(f[KEY("alertRouting")]) as { receivers: Record<string, unknown> };
    for (const name of Object.keys(routing.receivers)) {
        routing.receivers[name] = { sns: { topicArn: `arn:aws:sns:us-east-1:123456789012:${name}` } };
    }
    f[KEY("alertRouting")] = JSON.stringify(routing);
    for (const k of Object.keys(f).filter((k) => k.startsWith(KEY("alertSecret-")))) {
        delete f[k];
    }
}

/** Run a compiled script (`bin/scripts/<name>.js`) as its npm script does; jest's global setup compiled it. */
export function runScript(name: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const script = path.join(repoRoot, "bin", "scripts", `${name}.js`);
    if (!fs.existsSync(script)) {
        throw new Error(`${script} is missing: run \`npm run build\` first (npm test does)`);
    }
    const r = spawnSync(process.execPath, [script, ...args], { cwd: repoRoot, encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The synth command run in this process (scripts/synthCommand.ts: the same flags, refusals, files, output and exit
 * code as `npm run synth`) against the pack process this jest worker shares, for tests of what synth does where
 * starting its own process and pack is not under test. test/synth.test.ts runs the script itself, as runScript does.
 */
export async function synthInProcess(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
    // Loaded on use: most test files never run synth.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { synthCommand } = require("../scripts/synthCommand") as typeof import("../scripts/synthCommand");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { commandExitCode } = require("../scripts/cli") as typeof import("../scripts/cli");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { sharedPolicyPack } = require("./setup/policyPacks") as typeof import("./setup/policyPacks");
    const output = { stdout: "", stderr: "" };
    const io = {
        stdout: { write: (text: string) => (output.stdout += text) },
        stderr: { write: (text: string) => (output.stderr += text) },
    };
    const analyzer = await sharedPolicyPack();
    const status = await commandExitCode(() => synthCommand(args, io, { analyzer }), io.stderr);
    return { status, ...output };
}
