/**
 * The policy pack's client on a thread of its own (synth's): the stack programs keep the main thread busy for
 * seconds at a time, and a client there answers the pack only between their steps, so the pack sat idle with answers
 * waiting and requests unsent. Here the client runs the analyses (StackAnalysis: the engine's calls, in order, one
 * analysis at a time) as the main thread posts each stack's resources, and posts back each report.
 *
 * The thread also starts the pack, and owns it until it closes: the pack prints its port on this thread's event loop,
 * which is free, where the main thread would read it only between its programs' steps (a few hundred ms late).
 */
import "./useCodeCache";
import { parentPort } from "worker_threads";
import { AnalysisReply, AnalysisRequest, postedError } from "./analysisMessages";
import { PolicyPackProcess, spawnPolicyPack, stopPolicyPack } from "./policyPackProcess";

function serve(): void {
    const port = parentPort;
    if (!port) {
        return;
    }
    const post = (m: AnalysisReply) => port.postMessage(m);
    // Spawned before the gRPC client loads: the pack's start-up is the longest wait here. The main thread loads the
    // SDK meanwhile (its second of synchronous work does not hold this thread back). A pack that fails to start fails
    // the analyses, with its own error. It serves this one command: V8's settings for a short run.
    const stopStarting = new AbortController();
    const spawning: Promise<PolicyPackProcess> = spawnPolicyPack({ signal: stopStarting.signal, shortRun: true });
    let client: typeof import("./policyAnalyzer");
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        client = require("./policyAnalyzer") as typeof import("./policyAnalyzer");
    } catch (err) {
        // The thread fails with this error; the pack it started must not outlive it.
        stopStarting.abort();
        void spawning.then((p) => stopPolicyPack(p.child)).catch(() => undefined);
        throw err;
    }
    const { PolicyAnalyzer, StackAnalysis } = client;
    const ready = spawning.then((pack) => PolicyAnalyzer.connect(pack));
    ready.catch(() => undefined);
    const analyses = new Map<number, InstanceType<typeof StackAnalysis>>();
    const failed = (id: number, err: unknown) => post({ kind: "error", id, error: postedError(err) });
    port.on("message", (m: AnalysisRequest) => {
        try {
            if (m.kind === "begin") {
                analyses.set(m.id, new StackAnalysis(ready, m.target, m.opts));
            } else if (m.kind === "resource") {
                analyses.get(m.id)?.resource(m.resource);
            } else if (m.kind === "finish") {
                const analysis = analyses.get(m.id);
                analyses.delete(m.id);
                analysis?.finish(m.run).then(
                    (report) => post({ kind: "report", id: m.id, report }),
                    (err: unknown) => failed(m.id, err),
                );
            } else if (m.kind === "abandon") {
                analyses.get(m.id)?.abandon();
                analyses.delete(m.id);
            } else {
                // The client first, then the pack (a pack still starting is killed, one started meanwhile stopped);
                // closing the port ends the thread, which the main thread waits for.
                stopStarting.abort();
                void ready
                    .then((analyzer) => analyzer.close())
                    .catch(() => spawning.then((p) => stopPolicyPack(p.child)))
                    .catch(() => undefined)
                    .then(() => port.close());
            }
        } catch (err) {
            if ("id" in m) {
                failed(m.id, err);
            }
        }
    });
}

serve();
