/** Jest's node environment, recording the names of the tests each file holds (stryker/testIndex.js). */
const { TestEnvironment } = require("jest-environment-node");
const { fullName, indexFile, recordFile } = require("./testIndex");

class TestIndexingEnvironment extends TestEnvironment {
    constructor(config, context) {
        super(config, context);
        this.indexFile = indexFile(config.projectConfig.cacheDirectory, config.projectConfig.rootDir);
        this.testPath = context.testPath;
        this.names = [];
        this.complete = false;
    }

    async handleTestEvent(event, state) {
        if (event.name === "test_done" || event.name === "test_skip" || event.name === "test_todo") {
            this.names.push(fullName(event.test));
        } else if (event.name === "run_finish") {
            this.complete = state.unhandledErrors.length === 0;
        }
    }

    async teardown() {
        // Only a whole run of the file is its list: a file that failed while it loaded (a mutant can break a fixture
        // its describe body builds) reports no tests or some, and recording that would leave the file out of every
        // later mutant's run, its tests never run again to correct the list.
        if (this.complete && this.names.length > 0) {
            recordFile(this.indexFile, this.testPath, this.names);
        }
        await super.teardown();
    }
}

module.exports = TestIndexingEnvironment;
