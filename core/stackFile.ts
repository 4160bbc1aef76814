/**
 * Stack files (`Pulumi.<stack>.yaml`) read into the flat config the Pulumi CLI hands a program. Offline tooling runs
 * the program with it; the program's preflight reads its sibling stacks' files to refuse two stacks that would share
 * a rule object or a series (rules/placement.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { PROJECT } from "./conventions";
import { Guardrails } from "./guardrails";
import { StackConfig, parseStackConfig } from "./stackConfig";
import { ValidationError, displayPath, parseYamlBounded } from "./validation";

/** Config as Pulumi hands it to a program. */
export interface FlatConfig {
    readonly values: Record<string, string>;
    readonly secretKeys: string[];
}

/** Stand-in for a secret we cannot decrypt offline (its ciphertext belongs to the stack's secrets provider). */
export const SECRET_PLACEHOLDER = "[secret]";

const STACK_FILE_KEYS = ["config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment"];

/**
 * Read a `Pulumi.<stack>.yaml` file into the flat config the CLI would pass: strings as they are, other scalars
 * as text, structured values JSON-encoded, `secure:` values as a flagged placeholder.
 */
export function readStackFile(file: string): FlatConfig {
    const shown = displayPath(file);
    if (!fs.existsSync(file)) {
        throw new ValidationError([{ file: shown, path: "", message: "stack config file not found" }]);
    }
    let doc: unknown;
    try {
        doc = parseYamlBounded(fs.readFileSync(file, "utf8"), file);
    } catch (err) {
        throw new ValidationError([{ file: shown, path: "", message: `cannot parse: ${(err as Error).message}` }]);
    }
    if (doc === null || doc === undefined) {
        doc = {};
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        throw new ValidationError([{ file: shown, path: "", message: "must be a YAML map with a `config:` key" }]);
    }
    const unknown = Object.keys(doc).filter((k) => !STACK_FILE_KEYS.includes(k));
    if (unknown.length > 0) {
        throw new ValidationError([
            {
                file: shown,
                path: `/${unknown[0]}`,
                message: `unknown top-level key; allowed: ${STACK_FILE_KEYS.join(", ")}`,
            },
        ]);
    }
    const config = (doc as { config?: unknown }).config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new ValidationError([
            { file: shown, path: "/config", message: "must be a map of `namespace:key: value`" },
        ]);
    }
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
        const fullKey = key.includes(":") ? key : `${PROJECT}:${key}`;
        const { text, secret } = encodeConfigValue(value);
        values[fullKey] = text;
        if (secret) {
            secretKeys.push(fullKey);
        }
    }
    return { values, secretKeys };
}

function encodeConfigValue(value: unknown): { text: string; secret: boolean } {
    if (typeof value === "string") {
        return { text: value, secret: false };
    }
    if (isSecure(value)) {
        return { text: SECRET_PLACEHOLDER, secret: true };
    }
    if (value !== null && typeof value === "object") {
        let secret = false;
        const json = JSON.stringify(value, (_k, v: unknown) => {
            if (isSecure(v)) {
                secret = true;
                return SECRET_PLACEHOLDER;
            }
            return v;
        });
        return { text: json, secret };
    }
    return { text: String(value), secret: false };
}

function isSecure(v: unknown): boolean {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

/** Where a stack's config file is: `<root>/Pulumi.<stack>.yaml`. */
export function stackFilePath(root: string, stack: string): string {
    return path.join(root, `Pulumi.${stack}.yaml`);
}

/** Stack names with a `Pulumi.<stack>.yaml` in `root`, sorted. */
export function stackFileNames(root: string): string[] {
    return fs
        .readdirSync(root)
        .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * The validated config of every stack file in `root` except `skip`; a file that does not validate is left out (its
 * own deploy is refused with its own errors) and listed in `invalid`.
 */
export function loadStackConfigs(
    root: string,
    guardrails: Guardrails,
    skip: readonly string[] = [],
): { configs: StackConfig[]; invalid: ValidationError[] } {
    const configs: StackConfig[] = [];
    const invalid: ValidationError[] = [];
    for (const stack of stackFileNames(root).filter((s) => !skip.includes(s))) {
        try {
            const flat = readStackFile(stackFilePath(root, stack));
            configs.push(parseStackConfig(stack, flat.values, flat.secretKeys, guardrails));
        } catch (err) {
            if (!(err instanceof ValidationError)) {
                throw err;
            }
            invalid.push(err);
        }
    }
    return { configs, invalid };
}
