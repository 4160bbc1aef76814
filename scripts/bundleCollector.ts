/** `node bin/scripts/bundleCollector.js` (part of `npm run build`): bundle the cost collector for the stack. */
import * as path from "path";
import { COLLECTOR_BUNDLE_FILE } from "../collector/plan";
import { repoRoot } from "../core/validation";
import { bundleCollector } from "../offline/collectorBundle";
import { runMain } from "./cli";

runMain(() =>
    Promise.resolve().then(() => {
        const bytes = bundleCollector();
        process.stdout.write(`cost collector: ${path.relative(repoRoot, COLLECTOR_BUNDLE_FILE)} (${bytes} bytes)\n`);
        return 0;
    }),
);
