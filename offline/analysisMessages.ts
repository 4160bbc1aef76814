/**
 * What synth's main thread and the policy pack's client thread (offline/analysisWorker.ts) post each other. Apart
 * from the thread's module, which starts the pack and loads the gRPC client.
 */
import type { MockRunResult, RegisteredResource } from "./mockRuntime";
import type { AnalysisTarget, AnalyzeRunOptions, PolicyReport } from "./policyAnalyzer";
import { Problem, ValidationError } from "../core/validation";

/** What the main thread posts. */
export type AnalysisRequest =
    | { readonly kind: "begin"; readonly id: number; readonly target: AnalysisTarget; readonly opts: AnalyzeRunOptions }
    | { readonly kind: "resource"; readonly id: number; readonly resource: RegisteredResource }
    | { readonly kind: "finish"; readonly id: number; readonly run: MockRunResult }
    | { readonly kind: "abandon"; readonly id: number }
    | { readonly kind: "close" };

/** An error crossing the thread boundary: a refusal keeps its problems (and so its message and RunError flag). */
export interface PostedError {
    readonly message: string;
    readonly stack?: string;
    readonly problems?: readonly Problem[];
}

/** What the worker posts back. */
export type AnalysisReply =
    | { readonly kind: "report"; readonly id: number; readonly report: PolicyReport }
    | { readonly kind: "error"; readonly id: number; readonly error: PostedError };

export function postedError(err: unknown): PostedError {
    const e = err as Error;
    return err instanceof ValidationError
        ? { message: e.message, stack: e.stack, problems: err.problems }
        : { message: e?.message ?? String(err), stack: e?.stack };
}

export function revivedError(posted: PostedError): Error {
    if (posted.problems) {
        return new ValidationError(posted.problems);
    }
    const e = new Error(posted.message);
    e.stack = posted.stack ?? e.stack;
    return e;
}
