/**
 * The code cache (offline/codeCache.ts): a package module compiled through it runs as Node runs it, the second load
 * takes V8's data instead of compiling, a changed text (even of the same length, which is all V8 checks) never runs
 * the old code, and the repository's own files are left to Node and jest. The hook is exercised in child processes,
 * as the command lines install it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CodeCache, codeCacheEnabled, importsDynamically } from "../offline/codeCache";
import { repoRoot } from "../core/validation";

const WRAPPER = { head: "(function (exports, require, module) {", tail: "\n})" };

function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Run a module's text through a cache and return what it exported. */
function load(cache: CodeCache, filename: string, source: string): unknown {
    const fn = cache.compile(filename, source, WRAPPER)!.runInThisContext() as (
        e: unknown,
        r: unknown,
        m: { exports: unknown },
    ) => void;
    const module = { exports: {} as unknown };
    fn(module.exports, require, module);
    return module.exports;
}

describe("CodeCache", () => {
    const file = "/pkg/node_modules/answer/index.js";

    it("compiles a module without data and saves what V8 made once it ran, named by its text", () => {
        const dir = tempDir("maestro-code-cache-");
        const source = "module.exports = [1, 2, 3].map((n) => n * 2);";
        const cache = new CodeCache(dir);
        expect(load(cache, file, source)).toEqual([2, 4, 6]);
        expect(cache.counts).toEqual({ hits: 0, misses: 1 });
        expect(fs.readdirSync(dir)).toEqual([]);
        expect(cache.save()).toBe(1);
        expect(fs.readdirSync(dir)).toEqual([path.basename(cache.fileFor(`${WRAPPER.head}${source}${WRAPPER.tail}`))]);
        expect(cache.save()).toBe(0);
    });

    it("leaves a file another process wrote meanwhile (jest's two workers load the same modules)", () => {
        const dir = tempDir("maestro-code-cache-");
        const source = "module.exports = 'shared';";
        const [a, b] = [new CodeCache(dir), new CodeCache(dir)];
        load(a, file, source);
        load(b, file, source);
        expect(a.save()).toBe(1);
        expect(b.save()).toBe(0);
        expect(fs.readdirSync(dir)).toHaveLength(1);
    });

    it("never runs the old code for a changed text of the same length (V8 checks only the length)", () => {
        const dir = tempDir("maestro-code-cache-");
        const before = "module.exports = 'allow';";
        const after = "module.exports = 'deny!';";
        expect(after.length).toBe(before.length);
        const cache = new CodeCache(dir);
        expect(load(cache, file, before)).toBe("allow");
        cache.save();
        // The same process (its memory) and a new one (the folder) both compile the new text.
        expect(load(cache, file, after)).toBe("deny!");
        expect(load(new CodeCache(dir), file, after)).toBe("deny!");
    });

    it("leaves a module it does not take to the caller, and compiles no dynamic import even when asked twice", () => {
        const dir = tempDir("maestro-code-cache-");
        const cache = new CodeCache(dir);
        expect(cache.compile(path.join(repoRoot, "bin", "index.js"), "exports.a = 1;", WRAPPER)).toBeUndefined();
        const dynamic = "exports.f = () => import('./b.mjs');";
        expect(cache.compile(file, dynamic, WRAPPER)).toBeUndefined();
        expect(cache.compile(file, dynamic, WRAPPER)).toBeUndefined();
        expect(cache.counts).toEqual({ hits: 0, misses: 0 });
        expect(cache.save()).toBe(0);
    });

    it("names another file for another wrapper of the same module (Node's and jest's differ)", () => {
        const cache = new CodeCache(tempDir("maestro-code-cache-"));
        const source = "module.exports = 1;";
        expect(cache.fileFor(`(function (a) {${source}\n})`)).not.toBe(cache.fileFor(`(function (b) {${source}\n})`));
    });

    it("keeps positions on a module's first line as in the file", () => {
        const cache = new CodeCache(tempDir("maestro-code-cache-"));
        const source = "const x = 1; throw new Error('here');";
        let stack = "";
        try {
            load(cache, file, source);
        } catch (err) {
            stack = (err as Error).stack ?? "";
        }
        expect(stack).toContain(`${file}:1:${source.indexOf("new Error") + 1}`);
    });

    it("still works when its folder cannot be written", () => {
        const blocker = path.join(tempDir("maestro-code-cache-"), "file");
        fs.writeFileSync(blocker, "");
        const cache = new CodeCache(path.join(blocker, "v8"));
        expect(load(cache, file, "module.exports = 7;")).toBe(7);
        expect(cache.save()).toBe(0);
    });
});

describe("what goes through the cache", () => {
    it("takes package code only, never the repository's own files, a script with a hashbang or a dynamic import", () => {
        const cache = new CodeCache(tempDir("maestro-code-cache-"));
        const takes = (filename: string, source: string) => cache.compile(filename, source, WRAPPER) !== undefined;
        expect(takes("/r/node_modules/@pulumi/pulumi/index.js", "exports.a = 1;")).toBe(true);
        expect(takes("/r/node_modules/x/lib/a.cjs", "exports.a = 1;")).toBe(true);
        expect(takes(path.join(repoRoot, "bin", "index.js"), "exports.a = 1;")).toBe(false);
        expect(takes("/r/node_modules/x/data.json", "{}")).toBe(false);
        expect(takes("/r/node_modules/x/bin/cli.js", "#!/usr/bin/env node\n1")).toBe(false);
        // V8 drops a script's import callback when it is made from cached data: such a module is never cached.
        expect(takes("/r/node_modules/x/a.js", "exports.f = () => import('./b.mjs');")).toBe(false);
        expect(takes("/r/node_modules/x/a.js", "exports.f = async () => (await import ('zlib')).gzip;")).toBe(false);
    });

    it("reads past the word import in strings, comments and regular expressions (TypeScript's compiler spells it)", () => {
        expect(importsDynamically("exports.a = 1;")).toBe(false);
        expect(importsDynamically("/** @type {import('glob').glob} */ exports.a = 1;")).toBe(false);
        expect(importsDynamically("exports.m = \"Did you mean 'typeof import(x)'?\";")).toBe(false);
        expect(importsDynamically('exports.t = (s) => `import("${s}").x`;')).toBe(false);
        expect(importsDynamically("exports.r = /import\\(/; exports.d = 4 / 2;")).toBe(false);
        expect(importsDynamically("exports.f = (s) => `${import(s)}`;")).toBe(true);
        expect(importsDynamically("class A { import(o) { return o; } } exports.A = A;")).toBe(false);
        expect(importsDynamically("exports.broken = import(;")).toBe(true);
    });

    it("is on unless MAESTRO_CODE_CACHE=off", () => {
        expect(codeCacheEnabled({})).toBe(true);
        expect(codeCacheEnabled({ MAESTRO_CODE_CACHE: "off" })).toBe(false);
    });
});

describe("the hook a command line installs", () => {
    const hook = path.join(repoRoot, "bin", "offline", "codeCache.js");
    let site: string;
    let cacheDir: string;

    beforeAll(() => {
        site = tempDir("maestro-code-cache-site-");
        cacheDir = path.join(site, "cache");
        const pkg = path.join(site, "node_modules", "probe");
        fs.mkdirSync(pkg, { recursive: true });
        fs.writeFileSync(path.join(pkg, "helper.js"), "module.exports = (n) => n + 1;\n");
        fs.writeFileSync(path.join(pkg, "later.mjs"), "export const later = 'imported';\n");
        // Everything a CommonJS module gets from Node: require (and resolve), module, exports, its paths, import().
        fs.writeFileSync(
            path.join(pkg, "index.js"),
            [
                "const helper = require('./helper');",
                "exports.sum = helper(41);",
                "exports.resolved = require.resolve('./helper');",
                "exports.dirname = __dirname;",
                "exports.filename = __filename;",
                "exports.sameModule = module.exports === exports;",
                "exports.main = require.main === undefined ? 'none' : typeof require.main;",
                "exports.later = () => import('./later.mjs').then((m) => m.later);",
            ].join("\n"),
        );
    });
    afterAll(() => fs.rmSync(site, { recursive: true, force: true }));

    /** A process that installs the hook, loads the package and prints what it saw and the cache's counts. */
    function run(env: NodeJS.ProcessEnv = {}) {
        const program = `
            const cache = require(${JSON.stringify(hook)}).installCodeCache(${JSON.stringify(cacheDir)});
            const probe = require(${JSON.stringify(path.join(site, "node_modules", "probe"))});
            probe.later().then((later) => {
                const { later: _, ...seen } = probe;
                console.log(JSON.stringify({ seen: { ...seen, later }, counts: cache.counts }));
            });`;
        const r = spawnSync(process.execPath, ["-e", program], {
            cwd: site,
            encoding: "utf8",
            env: { ...process.env, ...env },
        });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        return JSON.parse(r.stdout) as { seen: Record<string, unknown>; counts: { hits: number; misses: number } };
    }

    it("runs a package as Node does, and its next start takes every module without an import() from the cache", () => {
        const expected = {
            sum: 42,
            resolved: path.join(site, "node_modules", "probe", "helper.js"),
            dirname: path.join(site, "node_modules", "probe"),
            filename: path.join(site, "node_modules", "probe", "index.js"),
            sameModule: true,
            main: "none",
            later: "imported",
        };
        const first = run();
        expect(first.seen).toEqual(expected);
        expect(first.counts.hits).toBe(0);
        expect(first.counts.misses).toBeGreaterThan(0);
        // Every module compiled the first time is taken from the cache; index.js, whose import() still works, is not
        // among them (from cached data it would throw).
        const second = run();
        expect(second.seen).toEqual(expected);
        expect(second.counts).toEqual({ hits: first.counts.misses, misses: 0 });
        expect(fs.readdirSync(cacheDir)).toHaveLength(first.counts.misses);
    });

    it("compiles afresh, and runs the same, when a file of the cache is damaged", () => {
        const files = fs.readdirSync(cacheDir);
        expect(files.length).toBeGreaterThan(0);
        for (const f of files) {
            fs.writeFileSync(path.join(cacheDir, f), Buffer.from("not V8's data"));
        }
        const damaged = run();
        expect(damaged.seen.sum).toBe(42);
        expect(damaged.counts).toEqual({ hits: 0, misses: files.length });
        expect(run().counts).toEqual({ hits: files.length, misses: 0 });
    });

    it("is what each command line and synth's analysis thread load first", () => {
        for (const script of ["synth", "validate", "summary", "docs", "provenance"]) {
            const text = fs.readFileSync(path.join(repoRoot, "scripts", `${script}.ts`), "utf8");
            expect(text.match(/^import .*$/m)?.[0]).toBe('import "../offline/useCodeCache";');
        }
        const worker = fs.readFileSync(path.join(repoRoot, "offline", "analysisWorker.ts"), "utf8");
        expect(worker.match(/^import .*$/m)?.[0]).toBe('import "./useCodeCache";');
    });
});
