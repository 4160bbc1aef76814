/**
 * V8's code cache for the packages a process loads: the command lines (offline/useCodeCache.ts, imported first by each
 * script and by synth's analysis thread; the repository's policy pack process preloads it), and jest's workers
 * (test/setup/compileCacheRuntime.js) compile a package module once, not at every start or every test file.
 *
 * Loading the Pulumi SDK and its providers means about 1,600 modules, and compiling them was about half of that load
 * (the SDK alone pulls in TypeScript's compiler). A module compiled here runs as it would anyway; once it has run,
 * V8 serializes the code it compiled for it, and the next load of the same text deserializes that instead of parsing.
 * The data is kept in memory (a jest worker's later files) and in .cache/v8/, one file per module named by a hash of
 * its whole text, the Node version and V8's flags: V8 itself checks only the text's length, its version and its
 * flags, and compiles afresh when it refuses the data.
 *
 * Only package code goes through it (node_modules, CommonJS, no hashbang, no dynamic `import()`); the repository's own
 * files keep Node's or jest's compile, and with them their source maps. Off with MAESTRO_CODE_CACHE=off.
 *
 * Trust: the cache is local and git-ignored, as bin/ and node_modules/ are, and a checkout's offline runs trust it as
 * they trust those. The real CLI never reads it (`pulumi preview --policy-pack policies` starts the pack without it),
 * and CI starts from an empty one.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as nodeModule from "module";
import * as path from "path";
import * as v8 from "v8";
import * as vm from "vm";
import { writeFileAtomically } from "../core/atomicFile";

/** Where the data of every process goes. */
export const CODE_CACHE_DIR = path.join(".cache", "v8");

/** es-module-lexer's CommonJS build (its typings are the ESM build's, which a CommonJS file cannot import). */
interface Lexer {
    parse(source: string): readonly [ReadonlyArray<{ readonly type: string }>, ...unknown[]];
}
let lexer: Lexer | undefined;

/**
 * Whether a module's code has a dynamic `import()`. V8 drops a script's import callback when the script is made from
 * cached data (Node 20: the call then throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so such a module is compiled
 * as usual. Most texts never spell `import(`; the others are lexed (es-module-lexer, so that words in strings and
 * comments, as in TypeScript's compiler, do not count). A text the lexer cannot read counts as having one.
 */
export function importsDynamically(source: string): boolean {
    if (!/\bimport\s*\(/.test(source)) {
        return false;
    }
    try {
        // Loaded on first use: most texts never need it. Its WebAssembly compiles synchronously on the first parse.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        lexer ??= require("es-module-lexer") as Lexer;
        const [imports] = lexer.parse(source);
        return imports.some((i) => i.type === "dynamic");
    } catch {
        return true;
    }
}

/** Package code that a CommonJS wrapper can compile: a module under node_modules without a hashbang. */
function packageModule(filename: string, source: string): boolean {
    return /[\\/]node_modules[\\/].*\.c?js$/.test(filename) && !source.startsWith("#!");
}

export function codeCacheEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
    return env.MAESTRO_CODE_CACHE !== "off";
}

interface Compiled {
    readonly filename: string;
    readonly text: string;
    readonly script: vm.Script;
    /** The cache file of the text, when it was looked for. */
    readonly file?: string;
    /** Whether V8 refused data the cache had (it is replaced, whoever wrote it). */
    readonly refused: boolean;
}

export class CodeCache {
    private readonly memory = new Map<string, { text: string; data: Buffer }>();
    private uncached: Compiled[] = [];
    /** Modules compiled with accepted data, and without (since the cache was made). */
    readonly counts = { hits: 0, misses: 0 };

    /** `dir`: the folder of the cache files (CODE_CACHE_DIR under the repository). */
    constructor(readonly dir: string) {}

    /**
     * The file holding the data for a script's text (a module in its wrapper): any change to the text, to the wrapper
     * (Node's and jest's differ), to the Node version or to V8's flags names another file. The flags change while a
     * process runs (the SDK turns on --allow-natives-syntax when it loads), and V8 refuses data made under others.
     */
    fileFor(text: string): string {
        const hash = crypto
            .createHash("sha256")
            .update(`${process.version}\0${v8.cachedDataVersionTag()}\0`)
            .update(text)
            .digest("hex");
        return path.join(this.dir, `${hash}.bin`);
    }

    /**
     * A script of `head + source + tail` (a function expression the caller runs), compiled with the data this cache
     * has for it when V8 accepts it; undefined for a module the cache does not take (not package code, a hashbang, a dynamic `import()`), which the caller
     * compiles as usual. The column offset keeps the first line's positions as in the file.
     */
    compile(filename: string, source: string, wrapper: { head: string; tail: string }): vm.Script | undefined {
        if (!packageModule(filename, source)) {
            return undefined;
        }
        const text = `${wrapper.head}${source}${wrapper.tail}`;
        const known = this.memory.get(filename);
        const file = known?.text === text ? undefined : this.fileFor(text);
        const cachedData = file === undefined ? known?.data : readIfThere(file);
        // Data exists only for a text that was cacheable when it was written (same name, same text): the lexer runs
        // only for a module without data.
        if (!cachedData && importsDynamically(source)) {
            return undefined;
        }
        const script = new vm.Script(text, {
            filename,
            columnOffset: -wrapper.head.length,
            cachedData,
        });
        if (!cachedData || script.cachedDataRejected) {
            this.counts.misses++;
            this.uncached.push({ filename, text, script, file, refused: cachedData !== undefined });
        } else {
            this.counts.hits++;
            if (known?.text !== text) {
                this.memory.set(filename, { text, data: cachedData });
            }
        }
        return script;
    }

    /**
     * Serialize what V8 compiled for each module that had no data, now that it ran: kept in memory and written to the
     * folder. A file another process wrote meanwhile (jest's other worker, synth's pack) is left as it is, unless V8
     * refused this one's data. Returns how many were written.
     */
    save(): number {
        const done = this.uncached;
        this.uncached = [];
        let written = 0;
        for (const { filename, text, script, file = this.fileFor(text), refused } of done) {
            if (!refused && fs.existsSync(file)) {
                continue;
            }
            const data = script.createCachedData();
            this.memory.set(filename, { text, data });
            written += this.writeFile(file, data) ? 1 : 0;
        }
        return written;
    }

    private writeFile(file: string, data: Buffer): boolean {
        try {
            writeFileAtomically(file, data);
            return true;
        } catch {
            // A cache that cannot be written only costs the next start its compile.
            return false;
        }
    }
}

function readIfThere(file: string): Buffer | undefined {
    try {
        return fs.readFileSync(file);
    } catch {
        return undefined;
    }
}

/** What Node's Module offers the hook (its typings leave these out). */
interface NodeModule {
    exports: unknown;
    require(id: string): unknown;
    _compile: (this: NodeModule, source: string, filename: string) => unknown;
}
interface ModuleStatics {
    prototype: NodeModule;
    wrapper: [string, string];
    _resolveFilename(request: string, parent: NodeModule, isMain: boolean, options?: { paths?: string[] }): string;
    _resolveLookupPaths(request: string, parent: NodeModule): string[] | null;
    _extensions: unknown;
    _cache: unknown;
}

let installed: CodeCache | undefined;

/**
 * Compile this process's package modules through a code cache in `dir` (once per process; later calls return the
 * same cache). The data of the modules that had none is written as soon as the load that compiled them has run (at
 * the event loop's next turn: a server such as the policy pack is stopped by a signal and never exits by itself),
 * and at exit.
 */
export function installCodeCache(dir: string): CodeCache {
    if (installed) {
        return installed;
    }
    const cache = new CodeCache(dir);
    installed = cache;
    const Module = nodeModule.Module as unknown as ModuleStatics;
    const main = require.main;
    const nodeCompile = Module.prototype._compile;
    const [head, tail] = Module.wrapper;
    let saving: NodeJS.Immediate | undefined;
    Module.prototype._compile = function (this: NodeModule, source: string, filename: string): unknown {
        const misses = cache.counts.misses;
        let script: vm.Script | undefined;
        try {
            script = cache.compile(filename, source, { head, tail });
        } catch {
            // A syntax error: Node's own compile reports it its way (an ES module required, for one).
        }
        if (!script) {
            return nodeCompile.call(this, source, filename);
        }
        if (cache.counts.misses > misses && !saving) {
            saving = setImmediate(() => {
                saving = undefined;
                cache.save();
            }).unref();
        }
        const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
        // The require Node gives a module (lib/internal/modules/helpers.js makeRequireFunction).
        const moduleRequire = Object.assign((id: string) => this.require(id), {
            resolve: Object.assign(
                (request: string, options?: { paths?: string[] }) =>
                    Module._resolveFilename(request, this, false, options),
                { paths: (request: string) => Module._resolveLookupPaths(request, this) },
            ),
            main,
            extensions: Module._extensions,
            cache: Module._cache,
        });
        return fn.call(this.exports, this.exports, moduleRequire, this, filename, path.dirname(filename));
    };
    process.once("exit", () => cache.save());
    return cache;
}
