/**
 * V8's settings for a command that runs the stack program once per stack and ends within seconds: synth (its
 * script imports this right after the code cache's hook, before any package compiles). TurboFan, V8's optimizing
 * compiler, is off for it: in such a run TurboFan compiled the hot functions on background threads, beside the
 * policy pack's process and synth's analysis thread on the two cores here, and the run ended before that code paid
 * for itself. The interpreter and Sparkplug (the baseline compiler) still run everything. Flags are per process, so
 * the analysis thread runs without it too; the code cache keys its files by V8's flags (offline/codeCache.ts), so
 * synth's compiled code is kept apart from that of processes that keep TurboFan.
 *
 * Measured, 5-6 interleaved runs each, median: `synth --all` 3.90 -> 3.55 s wall and 6.95 -> 6.16 s of CPU;
 * `--stack dev` 2.92 -> 2.76 s, 5.21 -> 4.75 s. The short data and docs commands (validate, summary, docs,
 * provenance: 0.2-1 s) showed no difference and keep V8's defaults, as do the long-lived processes (jest's workers,
 * a pack process the tests share), where optimized code has time to pay off.
 */
import * as v8 from "v8";

export const SHORT_RUN_V8_FLAGS = "--no-turbofan";

v8.setFlagsFromString(SHORT_RUN_V8_FLAGS);
