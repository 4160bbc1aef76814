/**
 * Jest as StrykerJS runs it (`npm run mutate`): the project's config without its global setup. The setup compiles
 * bin/ with tsc before every jest invocation, and Stryker invokes jest once per mutant; `npm run mutate` compiles bin/
 * once before Stryker starts instead. Tests that spawn bin/scripts/*.js run that compiled, unmutated code, so they
 * pass under every mutant and never count as coverage: guard logic is killed by in-process tests. Each group's
 * config (stryker/<group>.conf.mjs) narrows testMatch to the test files of its capability.
 */
const path = require("path");
const { globalSetup, ...base } = require("../jest.config.js");

/** @type {import('jest').Config} */
module.exports = { ...base, rootDir: path.resolve(__dirname, "..") };
