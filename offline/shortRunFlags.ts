/**
 * V8's settings for a process that runs for seconds and ends: synth's own (offline/useShortRunFlags.ts, imported by
 * its script right after the code cache's hook, before any package compiles) and the policy pack synth starts for
 * that one command (spawnPolicyPack's `shortRun`). TurboFan, V8's optimizing compiler, is off in them: in such a run
 * TurboFan compiled the hot functions on background threads, beside the other process and synth's analysis thread
 * on the two cores here, and the run ended before that code paid for itself. The interpreter and Sparkplug (the
 * baseline compiler) still run everything. Flags are per process, so synth's analysis thread runs without it too;
 * the code cache keys its files by V8's flags (offline/codeCache.ts), so this code is kept apart from that of
 * processes that keep TurboFan.
 *
 * Measured, 5-8 interleaved runs each, median: synth's own process, `synth --all` 3.90 -> 3.55 s wall and 6.95 ->
 * 6.16 s of CPU, `--stack dev` 2.92 -> 2.76 s, 5.21 -> 4.75 s; then its pack too, `--all` 3.63 -> 3.45 s and 6.31 ->
 * 5.94 s, `--stack dev` 2.70 -> 2.65 s. The short data and docs commands (validate, summary, docs, provenance: 0.2-1
 * s) showed no difference and keep V8's defaults, as do the long-lived processes (jest's workers, the pack processes
 * the tests share), where optimized code has time to pay off.
 */
import * as v8 from "v8";

export const SHORT_RUN_V8_FLAGS: readonly string[] = ["--no-turbofan"];

/** Set the flags in this process (before any package compiles: they are part of the code cache's key). */
export function useShortRunFlags(): void {
    for (const flag of SHORT_RUN_V8_FLAGS) {
        v8.setFlagsFromString(flag);
    }
}
