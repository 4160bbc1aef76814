/**
 * Jest's node environment, with two changes: the temporary folders a test file makes are removed when it ends
 * (test/setup/tempDirs.ts), and the stack traces the Pulumi SDK captures for its own bookkeeping are not formatted:
 * their text is the bare error line, without frames.
 *
 * The SDK takes `new Error().stack` for every promise it tracks (runtime/debuggable.js, for its leak report) and the
 * whole call stack of every resource it constructs (Resource.callsites, the source position and stack it sends the
 * engine). Jest's formatter clones and source-maps each frame of each of those, which made a third of a program
 * run's time under jest; formatting them plainly still took a tenth. Neither text reaches a test: the leak report
 * prints only when a process exits with promises pending, and the mock monitor drops source positions and stacks.
 * Every other stack (a thrown error, a failed expectation) is still formatted by jest, against the TypeScript
 * sources.
 */
import { TestEnvironment } from "jest-environment-node";
import { TempDirTracker } from "./tempDirs";

/** A V8 call site; its toString() is the text V8 prints for the frame (the typings leave it out). */
interface Frame extends NodeJS.CallSite {
    toString(): string;
}

/** Where the SDK captures a stack for itself: the first frame is in one of these functions of these files. */
const BOOKKEEPING: ReadonlyArray<{ file: RegExp; fn: string }> = [
    { file: /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/, fn: "debuggablePromise" },
    { file: /[\\/]@pulumi[\\/]pulumi[\\/]resource\.js$/, fn: "callsites" },
];

function isBookkeeping(frames: readonly Frame[]): boolean {
    const first = frames[0];
    const file = first?.getFileName();
    if (!file) {
        return false;
    }
    const fn = first.getFunctionName() ?? first.getMethodName() ?? "";
    return BOOKKEEPING.some((b) => b.fn === fn && b.file.test(file));
}

/** The first line of V8's format: "Error: message". */
function errorLine(error: Error): string {
    return error.message ? `${error.name}: ${error.message}` : error.name || "Error";
}

/** V8's own format: the error line and one "    at ..." line per frame. */
function plainStack(error: Error, frames: readonly Frame[]): string {
    return errorLine(error) + frames.map((f) => `\n    at ${f.toString()}`).join("");
}

export default class PulumiTestEnvironment extends TestEnvironment {
    private readonly tempDirs = new TempDirTracker();

    override async setup(): Promise<void> {
        await super.setup();
        this.tempDirs.start();
        // Errors made in the test's context ask its Error first; anything else goes on to the formatter jest installed
        // in the worker (read at each call: jest swaps it per test file).
        const outer = Error;
        this.global.Error.prepareStackTrace = (error: Error, frames: Frame[]) =>
            isBookkeeping(frames)
                ? errorLine(error)
                : typeof outer.prepareStackTrace === "function"
                  ? (outer.prepareStackTrace(error, frames) as string)
                  : plainStack(error, frames);
    }

    /** After the file's last hook: its servers are stopped, so its folders can go. */
    override async teardown(): Promise<void> {
        this.tempDirs.stop();
        await super.teardown();
    }
}
