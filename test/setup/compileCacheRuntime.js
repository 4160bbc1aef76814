/**
 * Jest's runtime, with V8's code cache for the packages a test file loads (jest.config.js `runtime`; plain JavaScript
 * because jest requires it as it is).
 *
 * Each test file has its own module registry, so every file loads the Pulumi SDK, its providers, gRPC and the rest
 * again, and V8 compiled each of those modules again for every file: about half of a file's start. Here a package
 * module goes through offline/codeCache.ts (the cache the command lines use, compiled into bin/ by the global setup):
 * compiled once per worker, its code serialized after the first file that ran it, then deserialized by the worker's
 * next files and by the next run. The repository's own files, which jest transforms and maps to their sources, still
 * go through jest's compile. Without the cache (MAESTRO_CODE_CACHE=off, no bin/ to load it from, or a jest whose
 * internals moved) jest runs as it ships; the last two say so once.
 */
const path = require("path");
const Runtime = require("jest-runtime").default;

const root = path.resolve(__dirname, "..", "..");
let cache;
let warned = false;

function uncached(why) {
    if (!warned) {
        warned = true;
        process.stderr.write(`test/setup/compileCacheRuntime.js: ${why}; running without the code cache\n`);
    }
}

/** The compiled offline/codeCache.ts (the global setup builds bin/), or undefined when it cannot be loaded. */
function codeCacheModule() {
    try {
        return require(path.join(root, "bin", "offline", "codeCache"));
    } catch (err) {
        uncached(`bin/offline/codeCache.js did not load (${err.message.split("\n")[0]})`);
        return undefined;
    }
}

class CompileCacheRuntime extends Runtime {
    constructor(...args) {
        super(...args);
        const codeCache = codeCacheModule();
        if (!codeCache?.codeCacheEnabled()) {
            return;
        }
        // jest's internal module executor (jest-runtime 30, pinned in package-lock.json): its compile(source, file)
        // returns the module function, called with injectedModuleParameters.
        const executor = this.executor;
        if (!executor || typeof executor.compile !== "function" || !Array.isArray(executor.injectedModuleParameters)) {
            uncached("jest's internals moved");
            return;
        }
        cache ??= new codeCache.CodeCache(path.join(root, codeCache.CODE_CACHE_DIR));
        const jestCompile = executor.compile.bind(executor);
        const wrapper = { head: `(function (${executor.injectedModuleParameters.join(", ")}) {`, tail: "\n})" };
        executor.compile = (source, filename) => {
            const context = executor.environment.getVmContext();
            if (!context) {
                return jestCompile(source, filename);
            }
            let script;
            try {
                script = cache.compile(filename, source, wrapper);
            } catch {
                // A syntax error: jest's own compile reports it its way.
                return jestCompile(source, filename);
            }
            // Not a package module, or one with a dynamic import(): jest's compile.
            return script ? script.runInContext(context) : jestCompile(source, filename);
        };
    }

    teardown() {
        // The file's modules have run: their code, lazily compiled functions included, is what the next file reuses.
        cache?.save();
        return super.teardown();
    }
}

module.exports = CompileCacheRuntime;
