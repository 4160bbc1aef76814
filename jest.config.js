/** @type {import('jest').Config} */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/test"],
    testMatch: ["**/*.test.ts"],
    // Type errors are caught once by `npm run typecheck`; jest only transpiles file by file (isolatedModules in
    // tsconfig.test.json), which keeps the suite fast.
    // The example downstream program imports the kit by its package name; tests run it from sources.
    moduleNameMapper: { "^maestro-guardrails/kit$": "<rootDir>/kit/index.ts" },
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.test.json" }] },
    // Each test file gets its own module registry, so Pulumi's global runtime state (mocks, config) is per file.
    // Tests that spawn bin/scripts/*.js must run the current code, also when one file is run alone.
    globalSetup: "<rootDir>/test/setup/compile.ts",
    maxWorkers: 2,
    testTimeout: 60000,
};
