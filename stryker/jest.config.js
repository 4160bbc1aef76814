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
const { globalSetup, globalTeardown, ...base } = require("../jest.config.js");

/** @type {import('jest').Config} */
module.exports = { ...base, rootDir: path.resolve(__dirname, "..") };
