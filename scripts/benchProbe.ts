/**
 * Preloaded (`node --require`) into every process the benchmark measures: at exit it reports the process's peak
 * resident memory and, when asked, which node_modules files it loaded (so the floor can load exactly those).
 */
import * as fs from "fs";

const reportFile = process.env.MAESTRO_BENCH_REPORT;
if (reportFile) {
    process.on("exit", () => {
        const modules = process.env.MAESTRO_BENCH_MODULES
            ? Object.keys(require.cache).filter((f) => f.includes("/node_modules/"))
            : [];
        fs.writeFileSync(reportFile, JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, modules }));
    });
}
