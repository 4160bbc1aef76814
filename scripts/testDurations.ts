/**
 * The committed duration of each jest file (test/setup/testDurations.json), which jest's sequencer
 * (test/setup/sequencer.js) uses to run the longest files first where jest has no timing of its own (a fresh clone).
 * `npm test -- --save-durations` rewrites it from the run it just made.
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomically } from "../core/atomicFile";
import { repoRoot } from "../core/validation";

export const TEST_DURATIONS_FILE = path.join(repoRoot, "test", "setup", "testDurations.json");

/** What `jest --json` writes, as far as the bench and the durations read it. */
export interface JestResults {
    readonly numTotalTests: number;
    readonly testResults: ReadonlyArray<{
        readonly name: string;
        readonly startTime: number;
        readonly endTime: number;
        readonly status: string;
        readonly assertionResults: readonly unknown[];
    }>;
}

export interface TestDurations {
    readonly about: string;
    /** Wall seconds of each file's last recorded run, by its path from the repository root (`/`-separated). */
    readonly seconds: Readonly<Record<string, number>>;
}

const ABOUT =
    "Each jest file's wall time in seconds, from `npm test -- --save-durations`. jest's sequencer " +
    "(test/setup/sequencer.js) runs the longest first where it has no timing of its own.";

/**
 * The durations after a run: every file the run passed gets its new time (tenths of a second); a file the run did
 * not include keeps its old time while it still exists (`exists`, relative path), and a file that is gone is dropped.
 */
export function updatedTestDurations(
    previous: TestDurations | undefined,
    results: JestResults,
    root: string,
    exists: (relative: string) => boolean,
): TestDurations {
    const seconds: Record<string, number> = {};
    for (const [file, s] of Object.entries(previous?.seconds ?? {})) {
        if (exists(file)) {
            seconds[file] = s;
        }
    }
    for (const r of results.testResults) {
        if (r.status === "passed") {
            const file = path.relative(root, r.name).split(path.sep).join("/");
            seconds[file] = Math.round((r.endTime - r.startTime) / 100) / 10;
        }
    }
    const sorted = Object.fromEntries(Object.entries(seconds).sort(([a], [b]) => a.localeCompare(b)));
    return { about: ABOUT, seconds: sorted };
}

/** The committed durations, or undefined when the file is missing; a file that is not valid JSON is an error. */
export function readTestDurations(file = TEST_DURATIONS_FILE): TestDurations | undefined {
    if (!fs.existsSync(file)) {
        return undefined;
    }
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as TestDurations;
    } catch (err) {
        throw new Error(`${path.relative(repoRoot, file)}: not valid JSON (${(err as Error).message})`);
    }
}

/** Rewrite the committed durations from a `jest --json` results file; returns how many files it timed. */
export function saveTestDurations(jestJson: string, file = TEST_DURATIONS_FILE): number {
    const results = JSON.parse(fs.readFileSync(jestJson, "utf8")) as JestResults;
    const next = updatedTestDurations(readTestDurations(file), results, repoRoot, (f) =>
        fs.existsSync(path.join(repoRoot, f)),
    );
    writeFileAtomically(file, JSON.stringify(next, null, 2) + "\n");
    return results.testResults.filter((r) => r.status === "passed").length;
}
