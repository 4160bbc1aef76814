/** @type {import('jest').Config} */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/test"],
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.test.json" }] },
    // Pulumi's runtime keeps global state per process; one worker file at a time keeps mocks isolated per file.
    maxWorkers: 2,
    testTimeout: 60000,
};
