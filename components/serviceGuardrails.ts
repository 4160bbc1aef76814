import * as pulumi from "@pulumi/pulumi";
import { planOrRefuse } from "../core/component";
import { awsEvidenceTags, k8sEvidenceMetadata } from "../core/evidence";
import { SloObjective } from "../core/guardrails";
import { ServiceGuardrailsArgs, ServicePlan, planServiceGuardrails } from "../kit/servicePlan";
import { dashboardResource } from "./grafanaDashboards";
import { ruleObject } from "./prometheusRules";

/**
 * A downstream service's share of the guardrails (the guardrail kit): SLO recording rules and burn-rate alerts for
 * its own SLIs against the unified targets, telemetry-gap alerts, and an SLO dashboard in the environment's Conductor
 * folder. Rules and dashboard come from the same builders as this stack's; the plan refuses any target looser than
 * the unified one. Every child carries the service's own backlog item and evidence hooks.
 */
export class ServiceGuardrails extends pulumi.ComponentResource {
    /** The service's effective SLOs (its SLIs, the unified or tighter numbers). */
    readonly slos: readonly SloObjective[];
    /** Names of its PrometheusRule objects / AMP rule group namespaces: one per SLO, then the telemetry gaps. */
    readonly ruleObjectNames: pulumi.Output<string[]>;
    readonly dashboardUid: string;
    /** `<grafana url>/d/<uid>`, when the Grafana URL is known (targets read from the stack). */
    readonly dashboardUrl?: string;

    /**
     * Everything this component would provision, built and checked; throws a ValidationError listing every
     * problem (unknown SLO id, a looser threshold or objective, no bucket at the threshold, missing evidence hooks).
     * Registers nothing: run it (or `preflight`) before the first resource.
     */
    static plan(args: ServiceGuardrailsArgs): ServicePlan {
        return planServiceGuardrails(args, pulumi.getStack());
    }

    constructor(name: string, args: ServiceGuardrailsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:kit:ServiceGuardrails", name, {}, opts);
        const plan: ServicePlan = planOrRefuse(this, () => ServiceGuardrails.plan(args));
        // No evidence transformation runs in a downstream program: the children carry the service's evidence themselves.
        const evidence =
            plan.rules.kind === "amp"
                ? { tags: awsEvidenceTags(plan.tagContext, args.evidence) }
                : k8sEvidenceMetadata(plan.tagContext, args.evidence);
        const names = plan.ruleSets.map((set) => ruleObject(`${name}-${set.name}`, set, plan.rules, this, evidence));
        dashboardResource(`${name}-dashboard`, plan.dashboard.uid, plan.grafana.folderUid, plan.dashboardJson, this);
        this.slos = plan.slos;
        this.ruleObjectNames = pulumi.all(names);
        this.dashboardUid = plan.dashboard.uid;
        this.dashboardUrl = plan.grafana.url
            ? `${plan.grafana.url.replace(/\/$/, "")}/d/${plan.dashboard.uid}`
            : undefined;
        this.registerOutputs({
            ruleObjectNames: this.ruleObjectNames,
            dashboardUid: this.dashboardUid,
            dashboardUrl: this.dashboardUrl,
        });
    }
}
