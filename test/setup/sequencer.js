/**
 * Jest's test sequencer (jest.config.js `testSequencer`; plain JavaScript because jest requires it as it is), with a
 * committed estimate of each file's duration for the files jest has no timing of.
 *
 * Jest runs the longest files first so that no worker is left running one long file alone at the end. It knows how
 * long a file takes only from its own cache of the last run on this machine, in this folder. On a fresh clone (CI)
 * it has none and orders by file size, and here size says little: the promtool and real-server files are small and
 * among the slowest. A fresh clone's jest run then ended with the promtool suites alone on one core, about 40 s later
 * than the same run ordered by duration. test/setup/testDurations.json gives each file's duration from a full run
 * (`npm test -- --save-durations` writes it): jest's own timing still wins where it has one, a file in neither runs
 * first (a new file may be slow), and a file that failed last time still runs first, as jest does.
 */
const fs = require("fs");
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;

const DURATIONS_FILE = path.join(__dirname, "testDurations.json");

/**
 * Seconds per test file (relative to the repository, `/`-separated). None when the file is absent; when it cannot be
 * read as durations, none and one line saying so: only the order suffers, and test/testHarness.test.ts fails on it.
 */
function committedSeconds(file = DURATIONS_FILE) {
    if (!fs.existsSync(file)) {
        return {};
    }
    try {
        const doc = JSON.parse(fs.readFileSync(file, "utf8"));
        if (doc && typeof doc.seconds === "object" && doc.seconds !== null) {
            return doc.seconds;
        }
        throw new Error('no "seconds" object');
    } catch (err) {
        process.stderr.write(`${path.relative(process.cwd(), file)}: ${err.message}; jest orders the files by size\n`);
        return {};
    }
}

class CommittedDurationSequencer extends Sequencer {
    constructor(options, durationsFile) {
        super(options);
        this.committed = committedSeconds(durationsFile);
    }

    /** Jest's timing of the file's last run here, else the committed one (jest's unit: ms), else undefined. */
    time(test) {
        const cached = super.time(test);
        if (cached !== undefined) {
            return cached;
        }
        const seconds = this.committed[path.relative(test.context.config.rootDir, test.path).split(path.sep).join("/")];
        return typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
    }
}

module.exports = CommittedDurationSequencer;
module.exports.DURATIONS_FILE = DURATIONS_FILE;
