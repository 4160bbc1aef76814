import { loadGuardrails } from "../core/guardrails";
import { shippedStackFile } from "../offline/shippedStacks";
import { PolicyAnalyzer, analyzeRun } from "../offline/policyAnalyzer";
import { synthStack } from "../offline/synth";

/**
 * `npm run bench` figures: the pack's start-up (ts-node type-checks it, as under the CLI) and the evaluation time
 * of each shipped stack (every Analyze call plus AnalyzeStack), in one pack process.
 */
export async function policyBenchFigures(): Promise<Record<string, number | string>> {
    const figures: Record<string, number | string> = {};
    const analyzer = await PolicyAnalyzer.start();
    try {
        figures["pack start (spawn to port, ms)"] = Math.round(analyzer.startMs);
        for (const stack of loadGuardrails().environments) {
            const result = await synthStack({ stack });
            const config = shippedStackFile(stack);
            const report = await analyzeRun(analyzer, result.run, { config });
            figures[`${stack}: evaluation ms (${result.run.resources.length} resources)`] = Math.round(
                report.timings.analyzeMs + report.timings.analyzeStackMs,
            );
            figures[`${stack}: mandatory / advisory violations`] = `${report.mandatory} / ${report.advisory}`;
        }
    } finally {
        await analyzer.close();
    }
    return figures;
}
