/** Run in every test file after the framework is installed: what it keeps for the file, and undoes at its end. */
import * as path from "path";
import { GitSnapshot, openGitSnapshot } from "../../provenance/git";
import { closeSharedPolicyPack } from "./policyPacks";

afterAll(closeSharedPolicyPack);

/**
 * Each test file asks git each question about this repository once, as one synth command does
 * (scripts/synthCommand.ts): every program run asks the checkout the same four or five questions (is it a checkout,
 * its status, its tags, what changed since the signed commit), each a git process that blocked the worker ~45 ms on
 * a busy machine; guards-pack, preview and policy-pack alone asked 295 times. Nothing is asked ahead: most files run
 * no program. No test changes this repository's git state (those that commit, tag or dirty a tree do it in a
 * throwaway repository or a copy, which a snapshot of this one does not answer for).
 */
let snapshot: GitSnapshot | undefined;
beforeAll(() => {
    snapshot = openGitSnapshot(path.resolve(__dirname, "..", ".."), { askAhead: false });
});
afterAll(() => snapshot?.close());
