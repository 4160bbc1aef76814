/**
 * A Workstream-style service stack: the checkout service holds its GraphQL API to the unified latency SLOs by reading
 * the targets from the maestro-guardrails stack of the same environment and provisioning its own rules and dashboard
 * with the guardrail kit. Nothing here is a number from the guardrails: only the service's metric names and label
 * values, and (optionally, from config) a tighter write threshold.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    ServiceGuardrails,
    ServiceGuardrailsArgs,
    guardrailTargetsFromStack,
    loadServiceBacklog,
    preflight,
    recommendedBuckets,
} from "maestro-guardrails/kit";

export = async () => {
    const config = new pulumi.Config();
    // By default the guardrails stack of the same environment in the same organization.
    const guardrailsStack =
        config.get("guardrailsStack") ?? `${pulumi.getOrganization()}/maestro-guardrails/${pulumi.getStack()}`;
    const targets = await guardrailTargetsFromStack(guardrailsStack);
    // The service's GraphQL histogram uses the bucket layout the instrumentation requirements recommend for the
    // unified API histogram (docs/instrumentation.md); its client library is configured from the `buckets` output.
    const buckets = recommendedBuckets(targets, "api-read-latency");
    const backlog = loadServiceBacklog(path.join(__dirname, "backlog.json"));

    const args: ServiceGuardrailsArgs = {
        service: "checkout",
        owner: config.get("owner") ?? "workstream-3",
        targets,
        releaseTag: config.get("releaseTag"),
        // The service's own backlog item (same schema as governance/backlog.json): its hooks come from that file.
        evidence: backlog.items.get("R2-CHECKOUT-SLOS")!,
        backlog,
        slos: [
            {
                id: "api-read-latency",
                metric: "checkout_graphql_request_duration_seconds",
                matchers: [{ label: "operation_type", op: "=", value: "query" }],
                buckets,
            },
            {
                id: "api-write-latency",
                metric: "checkout_graphql_request_duration_seconds",
                matchers: [{ label: "operation_type", op: "=", value: "mutation" }],
                buckets,
                // A service may hold itself to a tighter target than the unified one, never a looser one.
                thresholdSeconds: config.getNumber("writeThresholdSeconds"),
            },
        ],
    };
    // Refuse before the first resource: a looser target must not leave half a service provisioned.
    preflight(`checkout-service ${pulumi.getStack()}`, { "service guardrails": () => ServiceGuardrails.plan(args) });

    const guardrails = new ServiceGuardrails("checkout", args);
    return {
        slos: guardrails.slos,
        buckets,
        ruleObjectNames: guardrails.ruleObjectNames,
        dashboardUid: guardrails.dashboardUid,
        dashboardUrl: guardrails.dashboardUrl,
    };
};
