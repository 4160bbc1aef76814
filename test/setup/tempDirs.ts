/**
 * The temporary folders a test file makes, removed when it ends (test/setup/environment.ts). Tests and the code they
 * run make their scratch folders with `fs.mkdtemp` under the system's temporary folder, and most never removed them:
 * a full run left about 120 folders behind (configs, repositories, key pairs, rule suites), and a machine that ran the
 * suite a hundred times held twenty thousand. Folders made elsewhere (a path the test chose, also one below the
 * temporary folder, as the repository's own `.cache/` when CI clones into it) are the test's own.
 */
import * as os from "os";
import * as path from "path";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/**
 * Node's own module objects, not an import's copy of them: a test file's `import * as fs` (compiled by SWC) copies the
 * functions when it loads, after the environment's setup, so it gets the recording ones.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require("fs") as Mutable<typeof import("fs")>;
const fsPromises = fs.promises as Mutable<typeof import("fs/promises")>;

type MkdtempCallback = (err: NodeJS.ErrnoException | null, folder: string) => void;

export class TempDirTracker {
    private readonly made: string[] = [];
    private restore: (() => void) | undefined;

    /** Record every folder `fs.mkdtempSync`, `fs.mkdtemp` and `fs.promises.mkdtemp` make in the temporary folder. */
    start(): void {
        if (this.restore) {
            return;
        }
        const sync = fs.mkdtempSync;
        const callback = fs.mkdtemp;
        const promised = fsPromises.mkdtemp;
        // Only a folder made right in the temporary folder: the repository itself may sit below it (CI clones there).
        const record = (folder: unknown) => {
            if (typeof folder === "string" && path.dirname(path.resolve(folder)) === path.resolve(os.tmpdir())) {
                this.made.push(folder);
            }
            return folder;
        };
        fs.mkdtempSync = function (...args: Parameters<typeof sync>) {
            return record(sync.apply(fs, args));
        } as typeof sync;
        fs.mkdtemp = function (prefix: string, ...rest: unknown[]) {
            const done = rest.pop() as MkdtempCallback;
            return (callback as (...a: unknown[]) => void).call(fs, prefix, ...rest, (err: Error | null, f: string) => {
                if (!err) {
                    record(f);
                }
                done(err, f);
            });
        } as typeof callback;
        fsPromises.mkdtemp = async function (...args: Parameters<typeof promised>) {
            return record(await promised.apply(fsPromises, args));
        } as typeof promised;
        this.restore = () => {
            fs.mkdtempSync = sync;
            fs.mkdtemp = callback;
            fsPromises.mkdtemp = promised;
        };
    }

    /** Put `fs` back and remove the folders recorded since start(); returns them. */
    stop(): string[] {
        this.restore?.();
        this.restore = undefined;
        const removed = this.made.splice(0);
        for (const folder of removed) {
            try {
                fs.rmSync(folder, { recursive: true, force: true });
            } catch {
                // A folder something still holds open: the system's cleanup takes it.
            }
        }
        return removed;
    }
}
