/**
 * Mutation-testing figures from StrykerJS reports (the mutation-testing-report schema,
 * github.com/stryker-mutator/mutation-testing-elements): per group and overall counts, the score this repository
 * states its target in (killed / (killed + survived + no coverage)), the survivors, and the groups' reports merged
 * into one report of the same schema. Pure: `scripts/mutate.ts` reads and writes the files.
 */

/** A mutant's status as the schema names it. */
export type MutantStatus =
    "Killed" | "Survived" | "NoCoverage" | "Timeout" | "CompileError" | "RuntimeError" | "Ignored" | "Pending";

export interface Position {
    readonly line: number;
    readonly column: number;
}

export interface MutantResult {
    readonly id: string;
    readonly mutatorName: string;
    readonly replacement?: string;
    readonly location: { readonly start: Position; readonly end: Position };
    readonly status: MutantStatus;
    readonly statusReason?: string;
    readonly description?: string;
    readonly coveredBy?: readonly string[];
    readonly killedBy?: readonly string[];
    readonly testsCompleted?: number;
    readonly static?: boolean;
}

export interface FileResult {
    readonly language: string;
    readonly source: string;
    readonly mutants: readonly MutantResult[];
}

export interface TestDefinition {
    readonly id: string;
    readonly name: string;
    readonly location?: { readonly start: Position; readonly end?: Position };
}

export interface TestFile {
    readonly source?: string;
    readonly tests: readonly TestDefinition[];
}

/** The parts of a mutation-testing report this module reads; other fields are carried through a merge untouched. */
export interface MutationReport {
    readonly schemaVersion: string;
    readonly thresholds: { readonly high: number; readonly low: number; readonly break?: number | null };
    readonly projectRoot?: string;
    readonly files: Readonly<Record<string, FileResult>>;
    readonly testFiles?: Readonly<Record<string, TestFile>>;
    readonly [other: string]: unknown;
}

/** Counts of one group (or of all groups), by status. */
export interface Figures {
    readonly killed: number;
    readonly survived: number;
    readonly noCoverage: number;
    readonly timeout: number;
    /** Compile and runtime errors: mutants the TypeScript checker or the runtime refused, counted in no score. */
    readonly errors: number;
    readonly ignored: number;
    readonly total: number;
}

/** The target every group is held to (docs/CONTRIBUTING.md). */
export const MUTATION_TARGET = 0.9;

/** Count a report's mutants by status. */
export function figures(report: Pick<MutationReport, "files">): Figures {
    const count = { killed: 0, survived: 0, noCoverage: 0, timeout: 0, errors: 0, ignored: 0, total: 0 };
    for (const file of Object.values(report.files)) {
        for (const m of file.mutants) {
            count.total++;
            switch (m.status) {
                case "Killed":
                    count.killed++;
                    break;
                case "Survived":
                    count.survived++;
                    break;
                case "NoCoverage":
                    count.noCoverage++;
                    break;
                case "Timeout":
                    count.timeout++;
                    break;
                case "CompileError":
                case "RuntimeError":
                    count.errors++;
                    break;
                case "Ignored":
                    count.ignored++;
                    break;
                case "Pending":
                    throw new Error(`mutant ${m.id} is still pending: the report is of an unfinished run`);
            }
        }
    }
    return count;
}

/** Sum figures (the overall row). */
export function addFigures(rows: readonly Figures[]): Figures {
    const keys = ["killed", "survived", "noCoverage", "timeout", "errors", "ignored", "total"] as const;
    return Object.fromEntries(keys.map((k) => [k, rows.reduce((sum, r) => sum + r[k], 0)])) as unknown as Figures;
}

/** killed / (killed + survived + no coverage); undefined when there is nothing to score. Timeouts count in neither. */
export function mutationScore(f: Figures): number | undefined {
    const scored = f.killed + f.survived + f.noCoverage;
    return scored === 0 ? undefined : f.killed / scored;
}

/** A score as a percentage with one decimal ("91.3%"), or "n/a". */
export function formatScore(score: number | undefined): string {
    return score === undefined ? "n/a" : `${(Math.floor(score * 1000) / 10).toFixed(1)}%`;
}

/** The figures as a table, one row per group and the overall row last. */
export function figuresTable(rows: readonly { readonly group: string; readonly figures: Figures }[]): string {
    const header = ["group", "killed", "survived", "no coverage", "timeout", "errors", "ignored", "score"];
    const cells = [...rows, { group: "overall", figures: addFigures(rows.map((r) => r.figures)) }].map((r) => [
        r.group,
        String(r.figures.killed),
        String(r.figures.survived),
        String(r.figures.noCoverage),
        String(r.figures.timeout),
        String(r.figures.errors),
        String(r.figures.ignored),
        formatScore(mutationScore(r.figures)),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: readonly string[]) =>
        c
            .map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i])))
            .join("  ")
            .trimEnd();
    return [line(header), ...cells.map(line)].join("\n") + "\n";
}

/** Survived and uncovered mutants, one line each: `file:line:column Mutator (status): replacement`. */
export function survivors(report: Pick<MutationReport, "files">): string[] {
    const out: string[] = [];
    for (const [file, result] of Object.entries(report.files).sort(([a], [b]) => a.localeCompare(b))) {
        const left = result.mutants
            .filter((m) => m.status === "Survived" || m.status === "NoCoverage")
            .sort(
                (a, b) =>
                    a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column,
            );
        for (const m of left) {
            const replacement = (m.replacement ?? "").replace(/\s+/g, " ");
            out.push(
                `${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} (${m.status}): ${replacement.length > 100 ? `${replacement.slice(0, 97)}...` : replacement}`,
            );
        }
    }
    return out;
}

/**
 * One report of several groups' reports. Test ids are only unique within a report, so each is prefixed with its
 * group (`rules:12`), in the test files and in every mutant's coveredBy and killedBy. A source file mutated by two
 * groups is refused: each file belongs to one group.
 */
export function mergeReports(
    groups: readonly { readonly group: string; readonly report: MutationReport }[],
): MutationReport {
    if (groups.length === 0) {
        throw new Error("no group report to merge; allowed: at least one reports/mutation/<group>.incremental.json");
    }
    const files: Record<string, FileResult> = {};
    const owner: Record<string, string> = {};
    const testFiles: Record<string, { source?: string; tests: TestDefinition[] }> = {};
    for (const { group, report } of groups) {
        const id = (t: string) => `${group}:${t}`;
        for (const [name, file] of Object.entries(report.files)) {
            if (owner[name] !== undefined) {
                throw new Error(
                    `${name} is mutated by groups ${owner[name]} and ${group}; allowed: one group per file`,
                );
            }
            owner[name] = group;
            files[name] = {
                ...file,
                mutants: file.mutants.map((m) => ({
                    ...m,
                    ...(m.coveredBy ? { coveredBy: m.coveredBy.map(id) } : {}),
                    ...(m.killedBy ? { killedBy: m.killedBy.map(id) } : {}),
                })),
            };
        }
        for (const [name, tf] of Object.entries(report.testFiles ?? {})) {
            const merged = (testFiles[name] ??= {
                ...(tf.source !== undefined ? { source: tf.source } : {}),
                tests: [],
            });
            merged.tests.push(...tf.tests.map((t) => ({ ...t, id: id(t.id) })));
        }
    }
    // The first report's schema version, thresholds and framework; not its projectRoot (a checkout's absolute path)
    // nor its config (one group's).
    const [first] = groups;
    return {
        schemaVersion: first.report.schemaVersion,
        thresholds: first.report.thresholds,
        ...(first.report.framework !== undefined ? { framework: first.report.framework } : {}),
        files: Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b))),
        testFiles: Object.fromEntries(Object.entries(testFiles).sort(([a], [b]) => a.localeCompare(b))),
    };
}
