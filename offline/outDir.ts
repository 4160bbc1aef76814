/**
 * Where synth may write. It empties its output folder before writing (stale artifacts would otherwise linger), so
 * it only ever empties a folder it wrote itself, known by a marker file. Loads nothing but fs: the synth CLI checks
 * --out before it starts the policy pack or loads the SDK.
 */
import * as fs from "fs";

/** The file synth leaves in every folder it writes: only a folder holding it may be emptied by the next synth. */
export const SYNTH_MARKER = ".maestro-synth";

/**
 * Why synth may not write `outDir`, or undefined when it may: it does not exist, is empty, or holds the marker of
 * an earlier synth. Anything else (a source tree, a home folder, a file) is never emptied.
 */
export function outDirProblem(outDir: string): string | undefined {
    if (!fs.existsSync(outDir)) {
        return undefined;
    }
    if (!fs.statSync(outDir).isDirectory()) {
        return "is a file, not a folder; allowed: a missing or empty folder, or one an earlier synth wrote";
    }
    const entries = fs.readdirSync(outDir);
    if (entries.length === 0 || entries.includes(SYNTH_MARKER)) {
        return undefined;
    }
    return `is a non-empty folder synth did not write (no ${SYNTH_MARKER} in it), so synth will not empty it; allowed: a missing or empty folder, or one an earlier synth wrote`;
}
