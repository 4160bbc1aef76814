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
    maxWorkers: 2,
    testTimeout: 60000,
};
