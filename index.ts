/**
 * Composition root of the Maestro Conductor guardrails stack: load the guardrails and this stack's config
 * (validated before any resource exists), build one component per capability, export what downstream
 * workstreams read. Pulumi calls the exported function inside the stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadGuardrails } from "./lib/guardrails";
import { stackConfigFromPulumi } from "./lib/stackConfig";

export = async () => {
    const guardrails = loadGuardrails();
    const config = stackConfigFromPulumi(guardrails);

    return {
        environment: config.environment,
        releaseTag: config.releaseTag ?? null,
        guardrails: {
            slos: config.slos.map((o) => ({ id: o.id, thresholdSeconds: o.sli.thresholdSeconds, objective: o.objective })),
            monthlyBudgetUsd: config.monthlyBudgetUsd,
            llmBudgetUsd: config.llmBudgetUsd,
        },
        alertEmails: pulumi.secret(config.alertEmails),
    };
};
