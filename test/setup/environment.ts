/**
 * Jest's node environment, with two changes: the temporary folders a test file makes are removed when it ends
 * (test/setup/tempDirs.ts), and the stack traces the Pulumi SDK captures for its own bookkeeping are not formatted:
 * their text is the bare error line, without frames (offline/sdkStacks.ts says which, and why nothing reads them).
 * Under jest they cost more than elsewhere: jest's formatter clones and source-maps each frame of each of those,
 * which made a third of a program run's time. Every other stack (a thrown error, a failed expectation) is still
 * formatted by jest, against the TypeScript sources.
 */
import { TestEnvironment } from "jest-environment-node";
import { formatterOf, markSkipping, plainStack, setFormatter, skippingSdkBookkeeping } from "../../offline/sdkStacks";
import { TempDirTracker } from "./tempDirs";

export default class PulumiTestEnvironment extends TestEnvironment {
    private readonly tempDirs = new TempDirTracker();

    override async setup(): Promise<void> {
        await super.setup();
        this.tempDirs.start();
        // Errors made in the test's context ask its Error first; anything else goes on to the formatter jest installed
        // in the worker (read at each call: jest swaps it per test file).
        const outer = Error;
        setFormatter(this.global.Error, markSkipping(skippingSdkBookkeeping(() => formatterOf(outer) ?? plainStack)));
    }

    /** After the file's last hook: its servers are stopped, so its folders can go. */
    override async teardown(): Promise<void> {
        this.tempDirs.stop();
        await super.teardown();
    }
}
