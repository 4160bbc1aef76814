/**
 * Jest's runtime, with V8's code cache for the packages a test file loads (jest.config.js `runtime`).
 *
 * Each test file has its own module registry, so every file loads the Pulumi SDK, its providers, gRPC and the rest
 * again: about 1,600 modules, and V8 compiled each of them again for every file. Compiling was about half of a
 * file's start (the SDK alone pulls in TypeScript's compiler). Here a module under node_modules is compiled once per
 * worker: after a test file ends, V8 serializes the code it compiled for that module while the file ran (lazily
 * compiled functions included), and the next file's load of the same source deserializes it instead of parsing.
 * The data also goes to .cache/jest-v8/, named by a hash of the module's text, so a run starts warm.
 *
 * What runs is unchanged: V8 takes the data only for the same source text and the same V8 version and flags (else it
 * compiles, as jest does, and the data is made again). The repository's own files, which jest transforms and maps to
 * their sources, still go through jest's compile untouched. A jest whose internals moved (no ModuleExecutor) runs
 * without the cache, and says so once.
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const Runtime = require("jest-runtime").default;

const DIR = path.resolve(__dirname, "..", "..", ".cache", "jest-v8");
const PACKAGE_FILE = /[\\/]node_modules[\\/].*\.c?js$/;

/** filename -> the source it had and V8's data for it, for this worker's later test files. */
const compiled = new Map();
let warned = false;

/** The cache file of a source text: V8 checks only the text's length, so the name must depend on all of it. */
function diskPath(source) {
    return path.join(DIR, `${crypto.createHash("sha256").update(process.version).update(source).digest("hex")}.bin`);
}

function readDisk(source) {
    try {
        return fs.readFileSync(diskPath(source));
    } catch {
        return undefined;
    }
}

function writeDisk(source, data) {
    try {
        fs.mkdirSync(DIR, { recursive: true });
        const file = diskPath(source);
        // Another worker may write the same file: each writes its own temporary file and renames it into place.
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, file);
    } catch {
        // A cache that cannot be written only costs the next run its compile.
    }
}

class CompileCacheRuntime extends Runtime {
    /** @param {ConstructorParameters<typeof Runtime>} args */
    constructor(...args) {
        super(...args);
        /** @type {Array<{ filename: string; source: string; script: vm.Script }>} */
        this.uncached = [];
        // jest's internal module executor (jest-runtime 30, pinned in package-lock.json).
        const executor = this.executor;
        if (!executor || typeof executor.compile !== "function" || !Array.isArray(executor.injectedModuleParameters)) {
            if (!warned) {
                warned = true;
                process.stderr.write("test/setup/compileCacheRuntime.js: jest's internals moved; running uncached\n");
            }
            return;
        }
        const jestCompile = executor.compile.bind(executor);
        executor.compile = (/** @type {string} */ source, /** @type {string} */ filename) => {
            const context = executor.environment.getVmContext();
            if (!context || !PACKAGE_FILE.test(filename) || source.startsWith("#!")) {
                return jestCompile(source, filename);
            }
            const known = compiled.get(filename);
            const cachedData = known && known.source === source ? known.data : readDisk(source);
            // The parameters jest's compileFunction takes, as a function expression (a Script can make V8 data after
            // it ran); the column offset keeps positions on the first line as in the file.
            const head = `(function (${executor.injectedModuleParameters.join(", ")}) {`;
            let script;
            try {
                script = new vm.Script(`${head}${source}\n})`, {
                    filename,
                    columnOffset: -head.length,
                    cachedData,
                    importModuleDynamically: (specifier, _script, attributes, ...rest) =>
                        executor.dynamicImport(specifier, filename, context, attributes, rest[0]),
                });
            } catch {
                // A syntax error: jest's own compile reports it its way.
                return jestCompile(source, filename);
            }
            if (!cachedData || script.cachedDataRejected) {
                this.uncached.push({ filename, source, script });
            } else if (!known || known.source !== source) {
                compiled.set(filename, { source, data: cachedData });
            }
            return script.runInContext(context);
        };
    }

    teardown() {
        for (const { filename, source, script } of this.uncached) {
            const data = script.createCachedData();
            compiled.set(filename, { source, data });
            writeDisk(source, data);
        }
        this.uncached = [];
        return super.teardown();
    }
}

module.exports = CompileCacheRuntime;
