/**
 * The figures `npm run mutate` prints and the merged report it writes (verify/mutation.ts), from small hand-written
 * reports in StrykerJS's mutation-testing-report schema.
 */
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
