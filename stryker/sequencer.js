/**
 * Jest's sequencer, which under a Stryker mutant run leaves out the test files where the run's test name pattern names
 * no test (stryker/testIndex.js). A file the index does not know, or knows with no test, is kept; so is every file
 * when none would be left.
 */
const Sequencer = require("@jest/test-sequencer").default;
const { indexFile, readIndex } = require("./testIndex");

class MutantTestSequencer extends Sequencer {
    constructor(options) {
        super(options);
        this.globalConfig = options.globalConfig;
    }

    sort(tests) {
        const pattern = this.globalConfig.testNamePattern;
        // Stryker sets the active mutant before it starts jest for one; its first run, and any plain jest run, has none.
        if (!pattern || process.env.__STRYKER_ACTIVE_MUTANT__ === undefined || tests.length === 0) {
            return super.sort(tests);
        }
        const { cacheDirectory, rootDir } = tests[0].context.config;
        const index = readIndex(indexFile(cacheDirectory, rootDir));
        const named = new RegExp(pattern, "i");
        const kept = tests.filter((t) => !index[t.path]?.length || index[t.path].some((n) => named.test(n)));
        return super.sort(kept.length > 0 ? kept : tests);
    }
}

module.exports = MutantTestSequencer;
