/**
 * The shipped stacks' config files (`Pulumi.<stack>.yaml` at the repository root), read the one way tests and
 * tooling read them: flat, as Pulumi hands config to a program, and validated into a StackConfig.
 */
import * as path from "path";
import { Guardrails, loadGuardrails } from "../core/guardrails";
import { StackConfig, parseStackConfig } from "../core/stackConfig";
import { repoRoot } from "../core/validation";
import { FlatConfig, readStackFile, stackFilePath } from "./mockRuntime";

/** A shipped stack's config file, flat (`namespace:key` to string) with its secret keys. */
export function shippedStackFile(stack: string): FlatConfig {
    return readStackFile(stackFilePath(repoRoot, stack));
}

/** A stack's validated config, from its shipped file (or `file`, a variant of it) against `guardrails`. */
export function shippedStackConfig(
    stack: string,
    guardrails: Guardrails = loadGuardrails(),
    file: string = stackFilePath(repoRoot, stack),
): StackConfig {
    const flat = readStackFile(file);
    return parseStackConfig(stack, flat.values, flat.secretKeys, guardrails, path.basename(file));
}
