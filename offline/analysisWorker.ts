/**
 * The policy pack's client on a thread of its own (synth's): the stack programs keep the main thread busy for
 * seconds at a time, and a client there answers the pack only between their steps, so the pack sat idle with answers
 * waiting and requests unsent. Here the client runs the analyses (StackAnalysis: the engine's calls, in order, one
 * analysis at a time) as the main thread posts each stack's resources, and posts back each report.
 */
import "./useCodeCache";
import { parentPort } from "worker_threads";
import { AnalysisRequest, postedError } from "./analysisMessages";
import { PolicyAnalyzer, StackAnalysis } from "./policyAnalyzer";

function serve(): void {
    const port = parentPort;
    if (!port) {
        return;
    }
    // The thread starts with the pack, and loads the client while the pack starts; the pack's port follows.
    let analyzer: PolicyAnalyzer | undefined;
    let serving: (a: PolicyAnalyzer) => void = () => undefined;
    const ready = new Promise<PolicyAnalyzer>((resolve) => (serving = resolve));
    const analyses = new Map<number, StackAnalysis>();
    const failed = (id: number, err: unknown) => port.postMessage({ kind: "error", id, error: postedError(err) });
    port.on("message", (m: AnalysisRequest) => {
        try {
            if (m.kind === "pack") {
                analyzer = PolicyAnalyzer.attach(m.port, m.startMs);
                serving(analyzer);
            } else if (m.kind === "begin") {
                analyses.set(m.id, new StackAnalysis(ready, m.target, m.opts));
            } else if (m.kind === "resource") {
                analyses.get(m.id)?.resource(m.resource);
            } else if (m.kind === "finish") {
                const analysis = analyses.get(m.id);
                analyses.delete(m.id);
                analysis?.finish(m.run).then(
                    (report) => port.postMessage({ kind: "report", id: m.id, report }),
                    (err: unknown) => failed(m.id, err),
                );
            } else if (m.kind === "abandon") {
                analyses.get(m.id)?.abandon();
                analyses.delete(m.id);
            } else {
                // Closing the port ends the thread, which the main thread waits for.
                void (analyzer?.close() ?? Promise.resolve()).then(() => port.close());
            }
        } catch (err) {
            if ("id" in m) {
                failed(m.id, err);
            }
        }
    });
}

serve();
