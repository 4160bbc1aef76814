/** Jest's node environment, recording the names of the tests each file holds (stryker/testIndex.js). */
const { TestEnvironment } = require("jest-environment-node");
const { fullName, indexFile, recordFile } = require("./testIndex");

class TestIndexingEnvironment extends TestEnvironment {
    constructor(config, context) {
        super(config, context);
        this.indexFile = indexFile(config.projectConfig.cacheDirectory, config.projectConfig.rootDir);
        this.testPath = context.testPath;
        this.names = [];
    }

    async handleTestEvent(event) {
        if (event.name === "test_done" || event.name === "test_skip" || event.name === "test_todo") {
            this.names.push(fullName(event.test));
        }
    }

    async teardown() {
        recordFile(this.indexFile, this.testPath, this.names);
        await super.teardown();
    }
}

module.exports = TestIndexingEnvironment;
