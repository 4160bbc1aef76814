/**
 * What every mutation group shares (docs/CONTRIBUTING.md, "Mutation testing"): the jest runner over the mutation jest
 * config, the TypeScript checker (a mutant that does not compile is not counted), per-test coverage so each mutant
 * runs only the tests that reach it, and incremental mode over a committed file per group, so a run after a small
 * change re-tests only the mutants that change touched. Run a group with `npm run mutate -- --group <name>`.
 */

/**
 * A group's StrykerJS config.
 * @param {{ group: string, mutate: string[], tests: string[] }} spec files to mutate, and the test files (relative
 *   to the repository) that exercise them in-process
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export function groupConfig({ group, mutate, tests }) {
    return {
        packageManager: "npm",
        testRunner: "jest",
        jest: {
            projectType: "custom",
            configFile: "stryker/jest.config.js",
            config: { testMatch: tests.map((t) => `<rootDir>/${t}`) },
            enableFindRelatedTests: true,
        },
        checkers: ["typescript"],
        // The group's own program (its code, its tests and what they import), not the whole repository's: each mutant
        // is type-checked against the files that can see it, in seconds rather than minutes.
        tsconfigFile: `stryker/tsconfig.${group}.json`,
        typescriptChecker: { prioritizePerformanceOverAccuracy: true },
        coverageAnalysis: "perTest",
        // Mutants reached only while a module loads (policy names and descriptions, constant tables, schema literals)
        // are "static": Stryker cannot tell which test needs them, so each would run every test of its group (the
        // policies group's files take minutes a run; the kit's 232 static mutants were 99% of its run). They are left
        // out of a run and its score, and counted apart as "ignored"; the constant tables they mutate are held by the
        // suite's whole-stack and pack-process tests, which run on every change.
        ignoreStatic: true,
        mutate,
        incremental: true,
        incrementalFile: `reports/mutation/${group}.incremental.json`,
        reporters: ["clear-text", "progress"],
        clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },
        // Two cores, shared with other work: never more than two test processes.
        concurrency: 2,
        // Added to each mutant's expected test time (its tests' own time times Stryker's factor, 1.5): a test run that
        // waits 15 s for a core is rare on two cores, and every mutant stuck in a loop costs this much (the rules
        // group's design.ts has dozens).
        timeoutMS: 15000,
        tempDirName: `.stryker-tmp/${group}`,
        ignorePatterns: ["/out", "/coverage", "/test-artifacts", "/.stryker-tmp"],
        thresholds: { high: 90, low: 80, break: null },
        cleanTempDir: "always",
    };
}
