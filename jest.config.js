/** @type {import('jest').Config} */
module.exports = {
    // Node's environment, with the Pulumi SDK's own stack captures left unmapped (a third of a program run's time).
    testEnvironment: "<rootDir>/test/setup/environment.ts",
    roots: ["<rootDir>/test"],
    testMatch: ["**/*.test.ts"],
    // Type errors are caught once by `npm run typecheck`; jest only strips types, file by file, with SWC (the same
    // output ts-jest gave with isolatedModules, several times faster to start).
    // The example downstream program imports the kit by its package name; tests run it from sources.
    moduleNameMapper: { "^maestro-guardrails/kit$": "<rootDir>/kit/index.ts" },
    transform: {
        "^.+\\.ts$": [
            "@swc/jest",
            { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } },
        ],
    },
    // Each test file gets its own module registry, so Pulumi's global runtime state (mocks, config) is per file.
    // Tests that spawn bin/scripts/*.js must run the current code, also when one file is run alone: the global setup
    // compiles bin/. It also makes the registry of the policy pack processes the workers share (one each, started by
    // the first file that needs it: test/setup/policyPacks.ts), which the global teardown stops.
    globalSetup: "<rootDir>/test/setup/globalSetup.ts",
    globalTeardown: "<rootDir>/test/setup/globalTeardown.ts",
    setupFilesAfterEnv: ["<rootDir>/test/setup/afterFile.ts"],
    // Each file still loads its own modules, but V8 compiles a package's module once per worker, not once per file.
    runtime: "<rootDir>/test/setup/compileCacheRuntime.js",
    // The longest files first, also on a fresh clone where jest has no timings of its own (test/setup/sequencer.js).
    testSequencer: "<rootDir>/test/setup/sequencer.js",
    // One worker and a half per core: files that mostly wait on real servers (the alerting end to end: ~38 s of wall
    // for ~7 s of CPU) would otherwise hold a core idle while CPU-bound files queue. Measured on 2 cores, A/B:
    // 164 and 170 s with 3 workers, 181 and 185 s with 2; the timing-sensitive files also pass beside 3 busy loops.
    // (jest's "150%" would be 150 workers: it takes percentages up to 100 only.)
    maxWorkers: Math.max(1, Math.round(require("os").availableParallelism() * 1.5)),
    testTimeout: 60000,
    // After its last file a worker ends within 10 ms of jest's end message, but its process (1.2-1.4 GiB by then) takes
    // 750-950 ms more to be gone on these machines (measured with both ends logged: 'exit' in the worker at +1..8 ms,
    // jest saw it at +932 ms). At jest's default of 500 ms every full run killed all three and printed "A worker
    // process has failed to exit gracefully ... tests leaking", a leak there was not. A handle that keeps a worker
    // alive still gets that warning, 3 s later.
    workerGracefulExitTimeout: 3000,
};
