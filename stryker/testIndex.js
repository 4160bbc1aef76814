/**
 * Which test file holds which tests, for mutation runs (docs/CONTRIBUTING.md, "Mutation testing"). Stryker runs each
 * mutant with jest's --findRelatedTests and a test name pattern naming the tests that cover it: jest then loads every
 * related test file, also those where the pattern selects nothing, and loading a file (its imports, the Pulumi SDK's
 * among them) costs about a second; the tests themselves take milliseconds. The test environment records each file's
 * test names as jest runs it (Stryker's first, complete run records them all); the sequencer then runs, for a mutant,
 * only the files with a test the pattern names. Nothing else changes: the same tests run, in the same files.
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

/** The file the index is kept in: in jest's cache folder, one per checkout (each Stryker sandbox is one). */
function indexFile(cacheDirectory, rootDir) {
    const key = crypto.createHash("sha1").update(rootDir).digest("hex").slice(0, 16);
    return path.join(cacheDirectory, `stryker-test-index-${key}.json`);
}

/** The index: test file path -> every test's full name (describe blocks and title, as jest's test name pattern sees it). */
function readIndex(file) {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
        return {};
    }
}

/** Record one test file's names (the whole list: a run with a pattern still reports the tests it skips). */
function recordFile(file, testPath, names) {
    const index = readIndex(file);
    index[testPath] = names;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(index));
}

/** A test's full name as jest-circus builds it (getTestID) and Stryker names it: describe titles and the test's, by spaces. */
function fullName(test) {
    const names = [];
    for (let block = test; block && block.parent; block = block.parent) {
        names.unshift(block.name);
    }
    return names.join(" ");
}

module.exports = { fullName, indexFile, readIndex, recordFile };
