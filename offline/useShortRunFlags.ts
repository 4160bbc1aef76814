/** Imported by synth's script right after the code cache's hook: V8's settings for a short run (shortRunFlags.ts). */
import { useShortRunFlags } from "./shortRunFlags";

useShortRunFlags();
