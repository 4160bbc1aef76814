import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { planOrRefuse } from "../core/component";
import { declareEvidence } from "../core/evidence";
import { BACKLOG_ITEM } from "../core/conventions";
import { StackConfig } from "../core/stackConfig";
import {
    ALERTMANAGER_CONFIG_NAME,
    AlertmanagerConfigSpec,
    RECEIVER_SECRET_NAME,
    buildAlertmanagerConfig,
    renderAmpDefinition,
} from "../routing";

export interface AlertRoutingArgs {
    /** This stack's validated config: receivers, routes, their secrets, and where the rules go (`ruleTarget`). */
    readonly config: StackConfig;
    /** The AMP workspace the rules went to (GuardrailRules.ampWorkspaceId); required when `ruleTarget.kind` is amp. */
    readonly ampWorkspaceId?: pulumi.Input<string>;
}

/**
 * Where the guardrail alerts go: an `AlertmanagerConfig` (monitoring.coreos.com/v1alpha1) in the rules' namespace,
 * labelled for the Alertmanager's selector, with the receivers' secrets in a Kubernetes Secret beside it; or, for
 * rules in Amazon Managed Prometheus, the workspace's alert manager definition (SNS receivers). The routes come
 * from routing/ (pure builder).
 */
export class AlertRouting extends pulumi.ComponentResource {
    /** `<namespace>/<name>` of the AlertmanagerConfig, or the AMP workspace id whose definition this is. */
    readonly location: pulumi.Output<string>;

    /** The routing this component would deploy; throws on config the builder cannot serve. Registers nothing. */
    static plan(args: AlertRoutingArgs): AlertmanagerConfigSpec {
        if (args.config.ruleTarget.kind === "amp" && args.ampWorkspaceId === undefined) {
            throw new Error("alert routing to AMP needs the workspace the rules go to (GuardrailRules.ampWorkspaceId)");
        }
        return buildAlertmanagerConfig(args.config);
    }

    constructor(name: string, args: AlertRoutingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:routing:AlertRouting", name, {}, opts);
        // Routing is how the SLO alerts (and the cost and cadence alerts beside them) reach people.
        declareEvidence(this, {
            backlogItem: BACKLOG_ITEM.sloRules,
            creates: [
                "aws:amp/alertManagerDefinition:AlertManagerDefinition",
                "kubernetes:core/v1:Secret",
                "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig",
            ],
        });
        const spec: AlertmanagerConfigSpec = planOrRefuse(this, () => AlertRouting.plan(args));
        const target = args.config.ruleTarget;
        if (target.kind === "amp") {
            const definition = new aws.amp.AlertManagerDefinition(
                `${name}-definition`,
                { workspaceId: args.ampWorkspaceId!, definition: renderAmpDefinition(spec) },
                { parent: this },
            );
            this.location = definition.workspaceId;
        } else {
            const used = [
                ...new Set(
                    spec.receivers.flatMap((r) => [
                        ...(r.pagerdutyConfigs ?? []).map((c) => c.routingKey.key),
                        ...(r.webhookConfigs ?? []).map((c) => c.urlSecret.key),
                    ]),
                ),
            ].sort();
            const secret =
                used.length > 0
                    ? new k8s.core.v1.Secret(
                          `${name}-secrets`,
                          {
                              metadata: { name: RECEIVER_SECRET_NAME, namespace: target.namespace },
                              type: "Opaque",
                              stringData: pulumi.secret(
                                  Object.fromEntries(used.map((k) => [k, args.config.alertSecrets[k]])),
                              ),
                          },
                          { parent: this },
                      )
                    : undefined;
            const selector = args.config.alertRouting.selectorLabels ?? target.ruleSelectorLabels;
            const config = new k8s.apiextensions.CustomResource(
                `${name}-config`,
                {
                    apiVersion: "monitoring.coreos.com/v1alpha1",
                    kind: "AlertmanagerConfig",
                    metadata: { name: ALERTMANAGER_CONFIG_NAME, namespace: target.namespace, labels: { ...selector } },
                    spec,
                },
                { parent: this, dependsOn: secret ? [secret] : [] },
            );
            this.location = pulumi.interpolate`${target.namespace}/${config.metadata.name}`;
        }
        this.registerOutputs({ location: this.location });
    }
}
