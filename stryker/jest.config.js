/**
 * Jest as StrykerJS runs it (`npm run mutate`): the project's config without its global setup and teardown. The setup
 * compiles bin/ with tsc before every jest invocation, and Stryker invokes jest once per mutant; `npm run mutate`
 * compiles bin/ once before Stryker starts instead. Tests that spawn bin/scripts/*.js run that compiled, unmutated
 * code, so they pass under every mutant and never count as coverage: guard logic is killed by in-process tests. The
 * setup also makes the registry of the policy pack processes each jest worker shares, which the teardown stops: without
 * it, each test file that asks for the pack gets one of its own, stopped when the file ends (test/setup/policyPacks.ts).
 * Each group's config (stryker/<group>.conf.mjs) narrows testMatch to the test files of its capability.
 */
const path = require("path");
const { globalSetup, globalTeardown, testEnvironment, ...base } = require("../jest.config.js");

/**
 * Stryker wraps the test environment in its own and loads it with a plain require, which cannot load the project's
 * TypeScript environment (test/setup/environment.ts, a speed-up of how the SDK's stack captures are formatted, with no
 * effect on any result): mutation runs use jest's node environment, which records the tests each file holds, and a
 * sequencer that runs, for a mutant, only the files holding a test that covers it (stryker/testIndex.js).
 * @type {import('jest').Config}
 */
module.exports = {
    ...base,
    // An absolute path: Stryker loads the environment itself, with a plain require that knows no <rootDir>.
    testEnvironment: path.join(__dirname, "environment.js"),
    testSequencer: path.join(__dirname, "sequencer.js"),
    rootDir: path.resolve(__dirname, ".."),
};
