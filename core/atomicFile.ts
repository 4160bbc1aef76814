/**
 * Writing a file whole or not at all, for every file here that another process may read while it is written: a
 * metrics file node_exporter collects, the policy pack's bundle a pack is spawned from, the compiled validators and
 * the code cache other processes load. Only Node's own modules: the code cache's hook imports this before any package.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * Write `data` to a temporary file beside `file`, then rename it into place: a reader never sees half a file. The
 * temporary name is unique to this process and call, so writers of the same file at once (jest's workers, synth's
 * threads) never share one. The folder is made when missing. A failed write removes its temporary file and throws.
 */
export function writeFileAtomically(file: string, data: string | Uint8Array): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
        fs.writeFileSync(tmp, data);
        fs.renameSync(tmp, file);
    } catch (err) {
        try {
            fs.rmSync(tmp, { force: true });
        } catch {
            // Nothing to remove where nothing could be written.
        }
        throw err;
    }
}
