/**
 * The stack traces the Pulumi SDK captures for its own bookkeeping, left unformatted where nothing reads them.
 *
 * The SDK takes `new Error().stack` for every promise it tracks (runtime/debuggable.js, for its leak report) and the
 * whole call stack (stackTraceLimit Infinity) of every resource it constructs (Resource.callsites, the source position
 * and stack it sends the engine). Formatting those frames took a quarter of a stack's program run in synth's process
 * (prod: ~360 ms a run, ~270 ms without; measured in one process, runs interleaved), and a third under jest, whose
 * formatter also source-maps each frame. Under the mock runtime nobody reads them: the mock monitor drops source
 * positions and stacks, and the leak report prints a promise's stack only with PULUMI_DEBUG_PROMISE_LEAKS set.
 * The engine does read them on a real deploy, so the program itself (index.ts) never installs this.
 *
 * A capture is the SDK's when its first frame is one of the two functions above, in the SDK's file: its text is then
 * the bare error line ("Error"). Every other stack keeps the format it had.
 */

/** A V8 call site; its toString() is the text V8 prints for the frame (the typings leave it out). */
export interface Frame extends NodeJS.CallSite {
    toString(): string;
}

/** Formats an error's stack from V8's call sites (Error.prepareStackTrace's signature). */
export type StackFormatter = (error: Error, frames: Frame[]) => string;

/** Where the SDK captures a stack for itself: the first frame is in one of these functions of these files. */
const BOOKKEEPING: ReadonlyArray<{ file: RegExp; fn: string }> = [
    { file: /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/, fn: "debuggablePromise" },
    { file: /[\\/]@pulumi[\\/]pulumi[\\/]resource\.js$/, fn: "callsites" },
];

/** True when the stack is one the SDK captured for its own bookkeeping. */
export function isSdkBookkeeping(frames: readonly Frame[]): boolean {
    const first = frames[0];
    const file = first?.getFileName();
    if (!file) {
        return false;
    }
    const fn = first.getFunctionName() ?? first.getMethodName() ?? "";
    return BOOKKEEPING.some((b) => b.fn === fn && b.file.test(file));
}

/** The first line of V8's and Node's format: "Error: message" (Error.prototype.toString, as Node's formatter). */
export function errorLine(error: Error): string {
    return Error.prototype.toString.call(error);
}

/** V8's own format: the error line and one "    at ..." line per frame. */
export function plainStack(error: Error, frames: readonly Frame[]): string {
    return errorLine(error) + frames.map((f) => `\n    at ${f.toString()}`).join("");
}

/** A formatter that gives the SDK's bookkeeping captures their error line alone and hands every other to `other`. */
export function skippingSdkBookkeeping(other: () => StackFormatter): StackFormatter {
    return (error, frames) => (isSdkBookkeeping(frames) ? errorLine(error) : other()(error, frames));
}

/**
 * For the length of a program run under the mock runtime (offline/mockRuntime.ts): the SDK's bookkeeping captures go
 * unformatted in this realm (`realmError`, the realm's Error). Every other stack goes to the formatter that was there
 * (Node's own, which maps frames to the TypeScript sources under `--enable-source-maps`). Returns the undo. Left as
 * it is with PULUMI_DEBUG_PROMISE_LEAKS set (the leak report then prints each pending promise's stack), and where a
 * formatter already skips them (jest's environment, test/setup/environment.ts).
 */
export function skipSdkBookkeepingStacks(realmError: ErrorConstructor = Error): () => void {
    const before = formatterOf(realmError);
    if (process.env.PULUMI_DEBUG_PROMISE_LEAKS || isSkipping(before)) {
        return () => undefined;
    }
    const formatter = markSkipping(skippingSdkBookkeeping(() => before ?? plainStack));
    setFormatter(realmError, formatter);
    return () => {
        // Put back only what this set: a formatter someone set meanwhile stays.
        if (formatterOf(realmError) === formatter) {
            setFormatter(realmError, before);
        }
    };
}

/** A realm's Error as it is: Node's typings declare its formatter always set; before Node 20 it is unset until set. */
type FormatterSlot = { prepareStackTrace?: StackFormatter };

/** The realm's stack formatter (`Error.prepareStackTrace`), if any. */
export function formatterOf(realmError: ErrorConstructor): StackFormatter | undefined {
    return (realmError as FormatterSlot).prepareStackTrace;
}

/** Sets (or, with undefined, unsets) the realm's stack formatter. */
export function setFormatter(realmError: ErrorConstructor, formatter: StackFormatter | undefined): void {
    (realmError as FormatterSlot).prepareStackTrace = formatter;
}

const SKIPPING = Symbol.for("maestro.skipsSdkBookkeepingStacks");

/** Marks a formatter as one that already skips the SDK's captures. */
export function markSkipping<F extends StackFormatter>(formatter: F): F {
    return Object.assign(formatter, { [SKIPPING]: true });
}

function isSkipping(formatter: unknown): boolean {
    return typeof formatter === "function" && (formatter as unknown as Record<symbol, unknown>)[SKIPPING] === true;
}
