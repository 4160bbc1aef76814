/**
 * How jest runs the suite (test/setup/): the order of the files (sequencer.js), the longest first, from jest's own
 * timings where it has them and from the committed durations (testDurations.json) where it has none, as on a fresh
 * clone; how `npm test -- --save-durations` rewrites those durations (scripts/testDurations.ts); and the temporary
 * folders a file makes, removed when it ends (tempDirs.ts, from the environment).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repoRoot } from "../core/validation";
import { TempDirTracker } from "./setup/tempDirs";
import { checkoutState, gitFacts, isGitCheckout } from "../provenance/git";
import {
    JestResults,
    readTestDurations,
    saveTestDurations,
    TEST_DURATIONS_FILE,
    updatedTestDurations,
} from "../scripts/testDurations";

// Plain JavaScript, loaded as jest loads it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Sequencer = require("./setup/sequencer") as new (
    options: unknown,
    durationsFile?: string,
) => {
    sort(tests: FakeTest[]): FakeTest[];
    cacheResults(tests: FakeTest[], results: unknown): void;
};

interface FakeTest {
    path: string;
    context: {
        config: { rootDir: string; cache: boolean; cacheDirectory: string; id: string; haste: object };
        hasteFS: { getSize(p: string): number };
    };
}

const ROOT = "/repo";

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "maestro-sequencer-"));
}

/** Test files with their sizes on disk, sharing one jest context whose timing cache lives in `cacheDirectory`. */
function fakeTests(sizes: Record<string, number>, cacheDirectory: string, cache = true): FakeTest[] {
    const context = {
        config: { rootDir: ROOT, cache, cacheDirectory, id: "maestro-test", haste: {} },
        hasteFS: { getSize: (p: string) => sizes[path.relative(ROOT, p)] },
    };
    return Object.keys(sizes).map((file) => ({ path: path.join(ROOT, file), context }));
}

function durationsFile(seconds: Record<string, number>): string {
    const file = path.join(tempDir(), "testDurations.json");
    fs.writeFileSync(file, JSON.stringify({ about: "fixture", seconds }));
    return file;
}

const order = (tests: FakeTest[]) => tests.map((t) => path.relative(ROOT, t.path));

/** What jest hands the sequencer after a run: each file's outcome and runtime. */
function jestRun(outcome: Record<string, { ms: number; failed?: boolean }>) {
    return {
        testResults: Object.entries(outcome).map(([file, o]) => ({
            testFilePath: path.join(ROOT, file),
            numFailingTests: o.failed ? 1 : 0,
            skipped: false,
            perfStats: { runtime: o.ms, start: 0, end: o.ms },
        })),
    };
}

describe("the test sequencer", () => {
    // The promtool file is small and slow, the policy file large and fast: file size, jest's guess without timings,
    // gets them backwards.
    const sizes = {
        "test/policies.test.ts": 55_000,
        "test/rules-promtool.test.ts": 9_000,
        "test/alerting-servers.test.ts": 8_000,
    };
    const committed = {
        "test/policies.test.ts": 1.9,
        "test/rules-promtool.test.ts": 57.3,
        "test/alerting-servers.test.ts": 39.1,
    };

    it("without jest's timings (a fresh clone) runs the files longest first by the committed durations", () => {
        const tests = fakeTests(sizes, tempDir());
        const sorted = new Sequencer({}, durationsFile(committed)).sort(tests);
        expect(order(sorted)).toEqual([
            "test/rules-promtool.test.ts",
            "test/alerting-servers.test.ts",
            "test/policies.test.ts",
        ]);
    });

    it("without committed durations either, keeps jest's order by size, and names a file it cannot read", () => {
        const missing = path.join(tempDir(), "none.json");
        const broken = path.join(tempDir(), "broken.json");
        fs.writeFileSync(broken, "{ not json");
        const noSeconds = path.join(tempDir(), "no-seconds.json");
        fs.writeFileSync(noSeconds, JSON.stringify({ about: "x" }));
        const said = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
        try {
            for (const file of [missing, broken, noSeconds]) {
                expect(order(new Sequencer({}, file).sort(fakeTests(sizes, tempDir())))).toEqual([
                    "test/policies.test.ts",
                    "test/rules-promtool.test.ts",
                    "test/alerting-servers.test.ts",
                ]);
            }
            const lines = said.mock.calls.map(([text]) => String(text));
            expect(lines).toEqual([
                expect.stringMatching(/broken\.json: .*JSON.*; jest orders the files by size\n$/),
                expect.stringMatching(/no-seconds\.json: no "seconds" object; jest orders the files by size\n$/),
            ]);
        } finally {
            said.mockRestore();
        }
    });

    it("runs a file the durations do not list first (a new file may be slow), then the listed ones by duration", () => {
        const tests = fakeTests({ ...sizes, "test/new.test.ts": 100 }, tempDir());
        expect(order(new Sequencer({}, durationsFile(committed)).sort(tests))).toEqual([
            "test/new.test.ts",
            "test/rules-promtool.test.ts",
            "test/alerting-servers.test.ts",
            "test/policies.test.ts",
        ]);
    });

    it("prefers jest's own timing of the last run here, and still runs a file that failed last time first", () => {
        const cacheDirectory = tempDir();
        const file = durationsFile(committed);
        const first = fakeTests(sizes, cacheDirectory);
        const sequencer = new Sequencer({}, file);
        sequencer.sort(first);
        // This machine ran the policy file slowly and the alerting file failed.
        sequencer.cacheResults(
            first,
            jestRun({
                "test/policies.test.ts": { ms: 90_000 },
                "test/rules-promtool.test.ts": { ms: 50_000 },
                "test/alerting-servers.test.ts": { ms: 30_000, failed: true },
            }),
        );
        const next = new Sequencer({}, file).sort(fakeTests(sizes, cacheDirectory));
        expect(order(next)).toEqual([
            "test/alerting-servers.test.ts",
            "test/policies.test.ts",
            "test/rules-promtool.test.ts",
        ]);
    });

    it("ignores an entry that is not a duration (negative, text)", () => {
        const tests = fakeTests(sizes, tempDir());
        const file = durationsFile({
            "test/policies.test.ts": 1.9,
            "test/rules-promtool.test.ts": -5,
            "test/alerting-servers.test.ts": "slow" as unknown as number,
        });
        // The two unusable entries count as unknown: first, by size; then the listed one.
        expect(order(new Sequencer({}, file).sort(tests))).toEqual([
            "test/rules-promtool.test.ts",
            "test/alerting-servers.test.ts",
            "test/policies.test.ts",
        ]);
    });

    it("is the sequencer jest.config.js names, reading the committed durations", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const config = require("../jest.config.js") as { testSequencer: string };
        expect(config.testSequencer).toBe("<rootDir>/test/setup/sequencer.js");
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        expect(require("./setup/sequencer").DURATIONS_FILE).toBe(TEST_DURATIONS_FILE);
    });
});

describe("the committed durations", () => {
    it("name only test files that exist, each with a duration in seconds", () => {
        const doc = readTestDurations()!;
        expect(Object.keys(doc.seconds).length).toBeGreaterThan(0);
        for (const [file, seconds] of Object.entries(doc.seconds)) {
            expect(file).toMatch(/^test\/.+\.test\.ts$/);
            expect(fs.existsSync(path.join(repoRoot, file))).toBe(true);
            expect(seconds).toBeGreaterThan(0);
        }
    });
});

describe("npm test -- --save-durations", () => {
    const results = (files: Record<string, { s: number; status?: string }>): JestResults => ({
        numTotalTests: 0,
        testResults: Object.entries(files).map(([file, f]) => ({
            name: path.join(ROOT, file),
            startTime: 1_000,
            endTime: 1_000 + f.s * 1000,
            status: f.status ?? "passed",
            assertionResults: [],
        })),
    });

    it("takes each passed file's new time, keeps a file the run left out, drops a file that is gone", () => {
        const previous = {
            about: "old",
            seconds: { "test/a.test.ts": 5, "test/b.test.ts": 7, "test/gone.test.ts": 3, "test/failed.test.ts": 4 },
        };
        const next = updatedTestDurations(
            previous,
            results({ "test/a.test.ts": { s: 12.345 }, "test/failed.test.ts": { s: 0.2, status: "failed" } }),
            ROOT,
            (f) => f !== "test/gone.test.ts",
        );
        expect(next.seconds).toEqual({ "test/a.test.ts": 12.3, "test/b.test.ts": 7, "test/failed.test.ts": 4 });
        expect(next.about).toContain("--save-durations");
    });

    it("writes the file from jest's JSON; an unreadable durations file is named in the error", () => {
        const dir = tempDir();
        const jestJson = path.join(dir, "jest.json");
        fs.writeFileSync(
            jestJson,
            JSON.stringify(results({ "test/rules.test.ts": { s: 2.71 } })).replaceAll(ROOT, repoRoot),
        );
        const file = path.join(dir, "durations.json");
        expect(saveTestDurations(jestJson, file)).toBe(1);
        expect(readTestDurations(file)!.seconds).toEqual({ "test/rules.test.ts": 2.7 });
        fs.writeFileSync(file, "{");
        expect(() => saveTestDurations(jestJson, file)).toThrow(/durations\.json: not valid JSON/);
    });
});

describe("the temporary folders a test file makes", () => {
    // Node's own module, as the code a test runs calls it (this file's `fs` is the copy SWC took when it loaded).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const node = require("fs") as typeof fs;

    it("are removed when it ends, however they were made; a folder made elsewhere is left", async () => {
        // Below the temporary folder but not in it, as the repository's .cache/ is when CI clones into /tmp.
        const outside = node.mkdtempSync(path.join(os.tmpdir(), "maestro-harness-parent-"));
        const originals = [node.mkdtempSync, node.mkdtemp, node.promises.mkdtemp];
        const tracker = new TempDirTracker();
        tracker.start();
        let made: string[];
        try {
            const sync = node.mkdtempSync(path.join(os.tmpdir(), "maestro-harness-"));
            node.writeFileSync(path.join(sync, "file"), "x");
            node.mkdirSync(path.join(sync, "nested"));
            const promised = await node.promises.mkdtemp(path.join(os.tmpdir(), "maestro-harness-"));
            const called = await new Promise<string>((resolve, reject) =>
                node.mkdtemp(path.join(os.tmpdir(), "maestro-harness-"), "utf8", (err, f) =>
                    err ? reject(err) : resolve(f),
                ),
            );
            const kept = node.mkdtempSync(path.join(outside, "kept-"));
            const inRepo = node.mkdtempSync(path.join(repoRoot, ".cache", "harness-"));
            made = [sync, promised, called, kept, inRepo];
            expect(made.every((f) => node.statSync(f).isDirectory())).toBe(true);
        } finally {
            expect(tracker.stop().sort()).toEqual(made!.slice(0, 3).sort());
        }
        expect(made.map((f) => node.existsSync(f))).toEqual([false, false, false, true, true]);
        node.rmSync(made[4], { recursive: true, force: true });
        expect([node.mkdtempSync, node.mkdtemp, node.promises.mkdtemp]).toEqual(originals);
        node.rmSync(outside, { recursive: true, force: true });
    });

    it("are tracked by the environment every test file runs in", () => {
        const source = fs.readFileSync(path.join(repoRoot, "test", "setup", "environment.ts"), "utf8");
        expect(source).toMatch(/this\.tempDirs\.start\(\)/);
        expect(source).toMatch(/this\.tempDirs\.stop\(\)/);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        expect((require("../jest.config.js") as { testEnvironment: string }).testEnvironment).toBe(
            "<rootDir>/test/setup/environment.ts",
        );
    });
});

describe("this repository's git state, in each test file", () => {
    it("is asked of git once per question (test/setup/afterFile.ts): the next program run's questions start no git", () => {
        // The module provenance/git.ts calls git through (Node's own: jest shares it between files).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const spawned = jest.spyOn(require("child_process") as typeof import("child_process"), "execFileSync");
        const ask = () => {
            expect(isGitCheckout(repoRoot)).toBe(true);
            expect(checkoutState(repoRoot)?.head).toMatch(/^[0-9a-f]{40}$/);
            // A clone may hold no tags.
            expect(gitFacts(repoRoot)?.tagCommit("v0.0.0-no-such-tag")).toBeUndefined();
        };
        try {
            // Nothing before this test asked: the three questions (checkout, status, tags) go to git once each.
            ask();
            expect(spawned).toHaveBeenCalledTimes(3);
            ask();
            expect(spawned).toHaveBeenCalledTimes(3);
            // Another checkout is not in it: git is asked.
            expect(isGitCheckout(os.tmpdir())).toBe(false);
            expect(spawned).toHaveBeenCalledTimes(4);
        } finally {
            spawned.mockRestore();
        }
    });
});
