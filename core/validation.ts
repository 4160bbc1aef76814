import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type Ajv from "ajv";
import type { ErrorObject, Options, ValidateFunction } from "ajv";
import * as yaml from "js-yaml";
import { writeFileAtomically } from "./atomicFile";

/** One problem found in an input file: which file, where in it (a JSON pointer), and what is wrong. */
export interface Problem {
    readonly file: string;
    /** JSON pointer into the document, "" for the document itself. */
    readonly path: string;
    readonly message: string;
}

/** Thrown when an input file is invalid; the message lists every problem, one per line. */
export class ValidationError extends Error {
    /**
     * Marks this as a Pulumi RunError (the SDK checks this flag, not the class), so the language host prints only
     * the message: the problems are the whole story, a stack trace would bury them.
     */
    readonly __pulumiRunError = true;
    constructor(readonly problems: readonly Problem[]) {
        super(problems.map(formatProblem).join("\n"));
        this.name = "ValidationError";
    }
}

export function formatProblem(p: Problem): string {
    return `${p.file}: ${p.path || "/"}: ${p.message}`;
}

/**
 * Repository root: the folder holding Pulumi.yaml, whether running from sources or from compiled `bin/`. The
 * bundled policy pack ships without the repository and reads none of its files; there (no Pulumi.yaml above it)
 * the working directory stands in, only as the base display paths are relative to.
 */
export const repoRoot: string = findRepoRoot(__dirname) ?? process.cwd();

/**
 * The nearest folder at or above `dir` that holds Pulumi.yaml; undefined when none up to the filesystem's root does.
 * Recursive, not a loop, so a wrong stop condition overflows the stack at once instead of spinning.
 */
export function findRepoRoot(dir: string): string | undefined {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
        return dir;
    }
    const parent = path.dirname(dir);
    return parent === dir ? undefined : findRepoRoot(parent);
}

/**
 * Path relative to the repository root, for messages that a reader can open; a path outside the repository as given.
 * Outside means a first segment of "..": a file or folder whose name only starts with two dots ("..foo") is inside.
 */
export function displayPath(file: string): string {
    const rel = path.relative(repoRoot, path.resolve(file));
    return rel === ".." || rel.startsWith(`..${path.sep}`) ? file : rel;
}

/** Where compiled validators are kept between processes (git-ignored, like every cache under .cache/). */
export const SCHEMA_CACHE_DIR = path.join(repoRoot, ".cache", "schemas");

/** Ajv's version, read on first use: not on every import (the bundled policy pack imports this module and never uses it). */
let ajvVersion: string | undefined;

/** The file a validator is kept in: named by the SHA-256 of Ajv's version, the options and the key. */
export function schemaCacheFile(options: Options, key: readonly string[]): string {
    ajvVersion ??= (JSON.parse(fs.readFileSync(require.resolve("ajv/package.json"), "utf8")) as { version: string })
        .version;
    const name = createHash("sha256")
        .update(JSON.stringify([ajvVersion, options, ...key]))
        .digest("hex");
    return path.join(SCHEMA_CACHE_DIR, `${name}.js`);
}

/**
 * A validator compiled once for every process: each process validates a few documents per schema, so compiling was
 * most of what validation cost a synth or a test file. The validator is kept as Ajv's standalone code (the very code
 * the compiler generates: same checks, same errors) in .cache/schemas/, named by the SHA-256 of everything that
 * decides that code (Ajv's version, the options, the schema texts, in `key`), and the next process loads it instead of
 * compiling. A changed schema or option is another name, so nothing stale is ever loaded; a cache that cannot be read
 * or written only means compiling.
 */
export function cachedValidator(
    compiler: SchemaCompiler,
    key: readonly string[],
    compile: () => ValidateFunction,
): ValidateFunction {
    // Under a real engine (`pulumi up` and `preview`: the CLI's runner sets PULUMI_NODEJS_MONITOR) nothing is loaded
    // from the cache: it is git-ignored, outside what the release gate checks, so a validator planted there would go
    // unseen where it matters most. A deploy compiles, a quarter of a second; synth, the tests and the tools use it.
    if (process.env.PULUMI_NODEJS_MONITOR) {
        return compile();
    }
    const file = schemaCacheFile(compiler.options, key);
    if (fs.existsSync(file)) {
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const kept = require(file) as unknown;
            if (typeof kept === "function") {
                return kept as ValidateFunction;
            }
        } catch {
            // Unreadable (a write cut short): compiled and written again below.
        }
    }
    const validate = compile();
    try {
        // Loaded here: only a process that compiled writes code.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const standaloneCode = (require("ajv/dist/standalone") as typeof import("ajv/dist/standalone")).default;
        writeFileAtomically(file, standaloneCode(compiler.ajv, validate));
    } catch {
        // A read-only checkout: the next process compiles too.
    }
    return validate;
}

/** An Ajv and the options it was made with (they name its kept validators: cachedValidator). */
export interface SchemaCompiler {
    readonly ajv: Ajv;
    readonly options: Options;
}

/**
 * An Ajv as every schema here is compiled with: allErrors so a user sees every problem at once, errors carrying the
 * schema they failed (the "allowed keys" messages), the formats; `code.source` keeps the generated code, which
 * cachedValidator stores; the code optimizer's passes (the same checks) are left out, a quarter less CPU to compile.
 * `strict`: a typo in a schema fails loudly instead of silently accepting everything (the published Grafana
 * schemas use keywords strict mode does not know, so they are compiled without).
 */
export function schemaCompiler(strict: boolean): SchemaCompiler {
    const options: Options = {
        allErrors: true,
        strict,
        allowUnionTypes: true,
        verbose: true,
        // Stryker disable next-line BooleanLiteral: equivalent; the optimizer's passes generate the same checks, in more compile CPU
        code: { optimize: false, source: true },
    };
    let ajv: Ajv | undefined;
    return {
        options,
        // Made on the first compile: most processes load every validator they use from .cache/schemas/ and never
        // compile one, and loading Ajv is ~50 ms (the pack's start and synth's client thread pay it otherwise).
        get ajv(): Ajv {
            if (!ajv) {
                /* eslint-disable @typescript-eslint/no-require-imports */
                const { default: AjvClass } = require("ajv") as { default: typeof Ajv };
                const { default: addFormats } = require("ajv-formats") as typeof import("ajv-formats");
                /* eslint-enable @typescript-eslint/no-require-imports */
                ajv = new AjvClass(options);
                addFormats(ajv);
            }
            return ajv;
        },
    };
}

// One compiler for every schema in the repo.
const compiler = schemaCompiler(true);
const compiled = new Map<string, ValidateFunction>();
const byId = new Map<string, ValidateFunction>();

/** Compile (once) and return the validator for a JSON Schema file; a second file with the same $id gets the first's. */
export function schemaValidator(schemaFile: string): ValidateFunction {
    const key = path.resolve(schemaFile);
    let validate = compiled.get(key);
    if (!validate) {
        const text = fs.readFileSync(key, "utf8");
        const schema = JSON.parse(text) as { $id?: string };
        validate =
            (schema.$id ? byId.get(schema.$id) : undefined) ??
            cachedValidator(compiler, [text], () => compiler.ajv.compile(schema));
        if (schema.$id) {
            byId.set(schema.$id, validate);
        }
        compiled.set(key, validate);
    }
    return validate;
}

/** Turn Ajv's errors into problems whose message says what is allowed. */
export function ajvProblems(file: string, errors: readonly ErrorObject[] | null | undefined): Problem[] {
    return (errors ?? []).map((e) => ({ file, path: e.instancePath, message: describeAjvError(e) }));
}

function describeAjvError(e: ErrorObject): string {
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
        case "additionalProperties":
            return `unknown key "${String(p.additionalProperty)}"; allowed keys: ${allowedKeys(e)}`;
        case "required":
            return `missing required key "${String(p.missingProperty)}"`;
        case "enum":
            return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
        case "const":
            return `must be ${JSON.stringify(p.allowedValue)}`;
        default:
            return e.message ?? e.keyword;
    }
}

function allowedKeys(e: ErrorObject): string {
    const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
    return props ? Object.keys(props).join(", ") : "(none)";
}

/** Validate `data` against a schema file; throw a ValidationError naming `file` when it does not conform. */
export function validateAgainstSchema<T>(data: unknown, schemaFile: string, file: string): T {
    const validate = schemaValidator(schemaFile);
    if (!validate(data)) {
        throw new ValidationError(ajvProblems(file, validate.errors));
    }
    return data as T;
}

/** Largest YAML or JSON document the tools read: a stack file or the guardrails file is a few kilobytes. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Most values a parsed document may hold once its aliases are expanded (the shipped files hold a few hundred). */
export const MAX_DOCUMENT_NODES = 100_000;

/**
 * Parse YAML with bounds: the text's size, then the document as its readers will see it, aliases expanded. js-yaml
 * shares an aliased node instead of copying it, so a kilobyte of nested aliases parses instantly and then costs
 * billions of steps to whoever walks or JSON-encodes it; counting the expanded values, stopping at the cap, fails in
 * milliseconds instead. Throws an Error whose message names what was exceeded and the allowed value.
 */
export function parseYamlBounded(text: string, file: string): unknown {
    return parseBounded(text, () => yaml.load(text, { filename: file }));
}

/** JSON.parse with the same bounds: JSON has no aliases, but a document can still be too large for its readers. */
function parseJsonBounded(text: string): unknown {
    return parseBounded(text, () => JSON.parse(text) as unknown);
}

function parseBounded(text: string, parse: () => unknown): unknown {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > MAX_DOCUMENT_BYTES) {
        throw new Error(`is ${bytes} bytes; allowed: at most ${MAX_DOCUMENT_BYTES} bytes`);
    }
    const doc = parse();
    // Every value counts once each time it is reached, the document itself included; a map's keys do not count. A
    // value is counted when it is put on the stack, not when it is taken off: an alias may point at a collection that
    // holds it (a cycle), and counting on the way out let such a collection push its whole length per value counted.
    let nodes = 1;
    const stack: unknown[] = [doc];
    while (stack.length > 0) {
        const v = stack.pop();
        if (v !== null && typeof v === "object") {
            // Arrays and maps alike: Object.values lists an array's elements. Pushed one by one: spreading a long
            // array into push() overflows the call stack.
            for (const child of Object.values(v as Record<string, unknown>)) {
                nodes++;
                if (nodes > MAX_DOCUMENT_NODES) {
                    throw new Error(
                        `expands to more than ${MAX_DOCUMENT_NODES} values (YAML aliases, \`*name\`, repeat what they point at); allowed: at most ${MAX_DOCUMENT_NODES} values once aliases are expanded`,
                    );
                }
                stack.push(child);
            }
        }
    }
    return doc;
}

/** Read a YAML or JSON file (by its extension, `.json` is JSON), bounded; a read or parse error names the file. */
export function readDataFile(file: string): unknown {
    const refusal = (message: string): ValidationError =>
        new ValidationError([{ file: displayPath(file), path: "", message }]);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        throw refusal(
            `${(err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot be read (${(err as Error).message})`}; allowed: the path of a readable YAML or JSON file`,
        );
    }
    try {
        return file.endsWith(".json") ? parseJsonBounded(text) : parseYamlBounded(text, file);
    } catch (err) {
        throw refusal(`cannot parse: ${(err as Error).message}`);
    }
}

/** A refusal to deploy that Pulumi prints as the message alone (see ValidationError). */
export class DeployRefusal extends Error {
    readonly __pulumiRunError = true;
    constructor(message: string) {
        super(message);
        this.name = "DeployRefusal";
    }
}

/**
 * Run each component's plan (its pure checks and builders) before the first resource is registered, and refuse with
 * every failure at once. Needed because a component that throws in its constructor would leave the components
 * built before it registered, which `pulumi up` starts creating at once: a half-provisioned stack.
 */
export function preflight(stack: string, plans: Readonly<Record<string, () => unknown>>): void {
    const failures = Object.entries(plans).flatMap(([what, plan]) => {
        try {
            plan();
            return [];
        } catch (err) {
            const lines = err instanceof ValidationError ? err.problems.map(formatProblem) : [(err as Error).message];
            return lines.map((l) => `${what}: ${l.replace(/\n/g, "\n    ")}`);
        }
    });
    if (failures.length > 0) {
        throw new DeployRefusal(
            `the ${stack} stack cannot deploy; nothing was registered:\n${failures.map((f) => `  ${f}`).join("\n")}`,
        );
    }
}
