/**
 * The figures `npm run mutate` prints and the merged report it writes (verify/mutation.ts), from small hand-written
 * reports in StrykerJS's mutation-testing-report schema.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repoRoot } from "../core/validation";
import {
    MutantResult,
    MutantStatus,
    MutationReport,
    figures,
    figuresTable,
    formatScore,
    mergeReports,
    mutationScore,
    survivors,
} from "../verify/mutation";

const at = (line: number) => ({ start: { line, column: 5 }, end: { line, column: 9 } });

function mutant(id: string, status: MutantStatus, extra: Partial<MutantResult> = {}): MutantResult {
    return {
        id,
        mutatorName: "ConditionalExpression",
        replacement: "true",
        location: at(Number(id)),
        status,
        ...extra,
    };
}

function report(files: Record<string, readonly MutantResult[]>, tests: Record<string, string[]> = {}): MutationReport {
    return {
        schemaVersion: "1.0",
        thresholds: { high: 90, low: 80 },
        files: Object.fromEntries(
            Object.entries(files).map(([name, mutants]) => [name, { language: "typescript", source: "", mutants }]),
        ),
        testFiles: Object.fromEntries(
            Object.entries(tests).map(([name, ids]) => [
                name,
                { tests: ids.map((id) => ({ id, name: `test ${id}` })) },
            ]),
        ),
    };
}

describe("mutation figures", () => {
    it("counts each status, errors together", () => {
        const r = report({
            "a.ts": [mutant("1", "Killed"), mutant("2", "Survived"), mutant("3", "NoCoverage")],
            "b.ts": [mutant("4", "Timeout"), mutant("5", "CompileError"), mutant("6", "RuntimeError")],
            "c.ts": [mutant("7", "Ignored"), mutant("8", "Killed")],
        });
        expect(figures(r)).toEqual({
            killed: 2,
            survived: 1,
            noCoverage: 1,
            timeout: 1,
            errors: 2,
            ignored: 1,
            total: 8,
        });
    });

    it("refuses a report with pending mutants (an unfinished run)", () => {
        expect(() => figures(report({ "a.ts": [mutant("1", "Pending")] }))).toThrow("mutant 1 is still pending");
    });

    it("scores killed / (killed + survived + no coverage): timeouts and errors count in neither", () => {
        const r = report({
            "a.ts": [
                mutant("1", "Killed"),
                mutant("2", "Killed"),
                mutant("3", "Killed"),
                mutant("4", "Survived"),
                mutant("5", "Timeout"),
                mutant("6", "CompileError"),
            ],
        });
        expect(mutationScore(figures(r))).toBe(3 / 4);
        expect(mutationScore(figures(report({ "a.ts": [mutant("1", "NoCoverage"), mutant("2", "Killed")] })))).toBe(
            1 / 2,
        );
        expect(mutationScore(figures(report({ "a.ts": [mutant("1", "Timeout")] })))).toBeUndefined();
    });

    it("prints a score rounded down, so 89.99% never reads as 90%", () => {
        expect(formatScore(0.89999)).toBe("89.9%");
        expect(formatScore(0.9)).toBe("90.0%");
        expect(formatScore(1)).toBe("100.0%");
        expect(formatScore(undefined)).toBe("n/a");
    });

    it("tables each group and the overall sum", () => {
        const rows = [
            { group: "rules", figures: figures(report({ "a.ts": [mutant("1", "Killed"), mutant("2", "Survived")] })) },
            { group: "ledger", figures: figures(report({ "b.ts": [mutant("1", "Killed"), mutant("2", "Killed")] })) },
        ];
        const lines = figuresTable(rows).trimEnd().split("\n");
        expect(lines[0].split(/\s{2,}/)).toEqual([
            "group",
            "killed",
            "survived",
            "no coverage",
            "timeout",
            "errors",
            "ignored",
            "score",
        ]);
        expect(lines[1].split(/\s+/)).toEqual(["rules", "1", "1", "0", "0", "0", "0", "50.0%"]);
        expect(lines[2].split(/\s+/)).toEqual(["ledger", "2", "0", "0", "0", "0", "0", "100.0%"]);
        expect(lines[3].split(/\s+/)).toEqual(["overall", "3", "1", "0", "0", "0", "0", "75.0%"]);
    });

    it("lists survived and uncovered mutants by file and position, nothing else", () => {
        const r = report({
            "b.ts": [mutant("3", "NoCoverage", { mutatorName: "BlockStatement", replacement: "{\n}" })],
            "a.ts": [mutant("9", "Survived"), mutant("2", "Survived"), mutant("4", "Killed")],
        });
        expect(survivors(r)).toEqual([
            "a.ts:2:5 ConditionalExpression (Survived): true",
            "a.ts:9:5 ConditionalExpression (Survived): true",
            "b.ts:3:5 BlockStatement (NoCoverage): { }",
        ]);
    });
});

describe("the merged report", () => {
    it("holds every group's files, with test ids prefixed by group so they stay unique", () => {
        const rules = report(
            { "rules/a.ts": [mutant("1", "Killed", { coveredBy: ["0", "1"], killedBy: ["1"] })] },
            { "test/rules.test.ts": ["0", "1"] },
        );
        const ledger = report(
            { "provenance/b.ts": [mutant("1", "Survived", { coveredBy: ["0"] })] },
            { "test/ledger.test.ts": ["0"], "test/rules.test.ts": ["0"] },
        );
        const merged = mergeReports([
            { group: "rules", report: rules },
            { group: "ledger", report: ledger },
        ]);
        expect(Object.keys(merged.files)).toEqual(["provenance/b.ts", "rules/a.ts"]);
        expect(merged.files["rules/a.ts"].mutants[0]).toMatchObject({
            coveredBy: ["rules:0", "rules:1"],
            killedBy: ["rules:1"],
        });
        expect(merged.files["provenance/b.ts"].mutants[0].coveredBy).toEqual(["ledger:0"]);
        expect(merged.testFiles?.["test/rules.test.ts"].tests.map((t) => t.id)).toEqual([
            "rules:0",
            "rules:1",
            "ledger:0",
        ]);
        expect(merged.schemaVersion).toBe("1.0");
        expect(merged.thresholds).toEqual({ high: 90, low: 80 });
        expect(figures(merged)).toMatchObject({ killed: 1, survived: 1, total: 2 });
    });

    it("keeps no group's checkout path or config", () => {
        const one = { ...report({ "rules/a.ts": [mutant("1", "Killed")] }), projectRoot: "/home/me/repo", config: {} };
        const merged = mergeReports([{ group: "rules", report: one }]);
        expect(merged.projectRoot).toBeUndefined();
        expect(merged.config).toBeUndefined();
    });

    it("refuses a file two groups mutate, and nothing to merge", () => {
        const one = report({ "rules/a.ts": [mutant("1", "Killed")] });
        expect(() =>
            mergeReports([
                { group: "rules", report: one },
                { group: "kit", report: one },
            ]),
        ).toThrow("rules/a.ts is mutated by groups rules and kit; allowed: one group per file");
        expect(() => mergeReports([])).toThrow("no group report to merge");
    });
});

describe("the mutation runs' test index (stryker/environment.js, stryker/sequencer.js)", () => {
    /** A two-file jest project with the mutation runs' environment and sequencer; file a can be made to fail as it loads. */
    const project = () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-index-"));
        fs.writeFileSync(
            path.join(dir, "a.test.js"),
            'if (process.env.BREAK_A) throw new Error("a fixture a mutant broke");\n' +
                'describe("a", () => { it("one", () => {}); it("two", () => {}); });\n',
        );
        fs.writeFileSync(path.join(dir, "b.test.js"), 'describe("b", () => { it("three", () => {}); });\n');
        const config = {
            rootDir: dir,
            cacheDirectory: path.join(dir, "cache"),
            transform: {},
            testEnvironment: path.join(repoRoot, "stryker", "environment.js"),
            testSequencer: path.join(repoRoot, "stryker", "sequencer.js"),
        };
        const jest = (env: Readonly<Record<string, string>>, ...args: string[]) => {
            const r = spawnSync(
                process.execPath,
                [require.resolve("jest/bin/jest"), "--config", JSON.stringify(config), "--json", "--ci", ...args],
                { cwd: dir, encoding: "utf8", env: { ...process.env, ...env } },
            );
            const out = JSON.parse(r.stdout) as { testResults: Array<{ name: string }> };
            return out.testResults.map((t) => path.basename(t.name)).sort();
        };
        const indexPath = () => {
            const files = fs.readdirSync(config.cacheDirectory).filter((f) => f.startsWith("stryker-test-index-"));
            expect(files).toHaveLength(1);
            return path.join(config.cacheDirectory, files[0]);
        };
        const index = () =>
            Object.fromEntries(
                Object.entries(JSON.parse(fs.readFileSync(indexPath(), "utf8")) as Record<string, string[]>).map(
                    ([file, names]) => [path.basename(file), names],
                ),
            );
        return { dir, jest, index, indexPath };
    };
    const MUTANT = { __STRYKER_ACTIVE_MUTANT__: "7" };

    it("records each file's tests, and under a mutant runs only the files holding a test the pattern names", () => {
        const p = project();
        try {
            expect(p.jest({})).toEqual(["a.test.js", "b.test.js"]);
            expect(p.index()).toEqual({ "a.test.js": ["a one", "a two"], "b.test.js": ["b three"] });
            expect(p.jest(MUTANT, "-t", "(a one)")).toEqual(["a.test.js"]);
            expect(p.jest(MUTANT, "-t", "(b three)")).toEqual(["b.test.js"]);
            // Without a mutant (Stryker's first run, or jest itself), every file runs.
            expect(p.jest({}, "-t", "(b three)")).toEqual(["a.test.js", "b.test.js"]);
        } finally {
            fs.rmSync(p.dir, { recursive: true, force: true });
        }
    });

    it("keeps a file's list when a run of it failed while it loaded, and keeps a file it knows with no test", () => {
        const p = project();
        try {
            p.jest({});
            // A mutant that breaks a fixture the file builds as it loads: the file reports no test, and its list stands.
            p.jest({ ...MUTANT, BREAK_A: "1" }, "-t", "(a one)");
            expect(p.index()["a.test.js"]).toEqual(["a one", "a two"]);
            expect(p.jest(MUTANT, "-t", "(a two)")).toEqual(["a.test.js"]);
            // An index written before this rule, with an empty list: the file runs rather than never again.
            const written = JSON.parse(fs.readFileSync(p.indexPath(), "utf8")) as Record<string, string[]>;
            const a = Object.keys(written).find((f) => f.endsWith("a.test.js"))!;
            fs.writeFileSync(p.indexPath(), JSON.stringify({ ...written, [a]: [] }));
            expect(p.jest(MUTANT, "-t", "(a two)")).toEqual(["a.test.js"]);
        } finally {
            fs.rmSync(p.dir, { recursive: true, force: true });
        }
    });
});
