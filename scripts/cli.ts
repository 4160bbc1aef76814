/**
 * The one command-line flag parser every script here uses, so each rejects a bad flag the same way: naming it
 * and listing what is allowed.
 */
export interface FlagSpec {
    /** Flags that take a value (`--out DIR` or `--out=DIR`); repeated ones collect into a list. */
    readonly values?: readonly string[];
    /** Flags that are on or off. */
    readonly booleans?: readonly string[];
    /** Positional arguments allowed (e.g. a sub-command); default none. */
    readonly positionals?: number;
}

export interface ParsedFlags {
    readonly values: Readonly<Record<string, string[]>>;
    readonly booleans: ReadonlySet<string>;
    readonly positionals: readonly string[];
}

export class UsageError extends Error {
    constructor(
        message: string,
        readonly usage: string,
    ) {
        super(`${message}\n\n${usage}`);
        this.name = "UsageError";
    }
}

export function parseFlags(argv: readonly string[], spec: FlagSpec, usage: string): ParsedFlags {
    const valueFlags = spec.values ?? [];
    const boolFlags = spec.booleans ?? [];
    const allowed = [...valueFlags.map((f) => `--${f} <value>`), ...boolFlags.map((f) => `--${f}`)].join(", ");
    const values: Record<string, string[]> = {};
    const booleans = new Set<string>();
    const positionals: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (!arg.startsWith("--")) {
            if (positionals.length >= (spec.positionals ?? 0)) {
                throw new UsageError(`unexpected argument "${arg}"; allowed flags: ${allowed}`, usage);
            }
            positionals.push(arg);
            continue;
        }
        const eq = arg.indexOf("=");
        const name = arg.slice(2, eq < 0 ? undefined : eq);
        if (valueFlags.includes(name)) {
            const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
            if (value === undefined || (eq < 0 && value.startsWith("--"))) {
                throw new UsageError(`flag --${name} needs a value`, usage);
            }
            (values[name] ??= []).push(value);
        } else if (boolFlags.includes(name) && eq < 0) {
            booleans.add(name);
        } else {
            throw new UsageError(`unknown flag "${arg}"; allowed flags: ${allowed}`, usage);
        }
    }
    return { values, booleans, positionals };
}

/** The single value of a flag, or undefined; a repeated single-valued flag is an error. */
export function single(flags: ParsedFlags, name: string, usage: string): string | undefined {
    const v = flags.values[name];
    if (v && v.length > 1) {
        throw new UsageError(`flag --${name} given ${v.length} times; give it once`, usage);
    }
    return v?.[0];
}

/** Where a command writes: the process's streams, or a test's buffers when it runs the command in-process. */
export interface CommandOutput {
    readonly stdout: { write(text: string): unknown };
    readonly stderr: { write(text: string): unknown };
}

/**
 * Run a command's main and return its exit code: main's own, or 2 when it throws, with the error printed to
 * `stderr` (without a stack trace for expected failures: a usage or validation error).
 */
export async function commandExitCode(
    main: () => number | Promise<number>,
    stderr: CommandOutput["stderr"] = process.stderr,
): Promise<number> {
    try {
        return await main();
    } catch (err: unknown) {
        const e = err as Error;
        stderr.write(
            `${e.name === "UsageError" || e.name === "ValidationError" ? e.message : (e.stack ?? String(e))}\n`,
        );
        return 2;
    }
}

/** Run a script's main, printing errors without a stack trace for expected failures. */
export function runMain(main: () => number | Promise<number>): void {
    // A synchronous main's throw is reported like an async one's rejection.
    void commandExitCode(main).then((code) => {
        process.exitCode = code;
    });
}
