/**
 * Imported first by each command line and by the synth command's analysis thread (before anything that loads a package), so the packages it loads compile
 * through V8's code cache in .cache/v8/ (offline/codeCache.ts): a start that loads the Pulumi SDK compiles it once,
 * not every time. MAESTRO_CODE_CACHE=off runs without it.
 */
import * as path from "path";
import { CODE_CACHE_DIR, codeCacheEnabled, installCodeCache } from "./codeCache";

// Compiled, this file is bin/offline/useCodeCache.js: the repository is two folders up.
if (codeCacheEnabled()) {
    installCodeCache(path.resolve(__dirname, "..", "..", CODE_CACHE_DIR));
}
