import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { planOrRefuse, plannedOnce } from "../core/component";
import { CollectorPlan, collectorPlan, readCollectorBundle } from "../collector/plan";
import { declareEvidence } from "../core/evidence";
import { BACKLOG_ITEM } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";

export interface CostCollectorArgs {
    /** This stack's validated config: `costCollector` (enabled, namespace, OIDC provider, image), budgets, rule target. */
    readonly config: StackConfig;
    /** The guardrails file the budget specs (and so the collector's filters) come from. */
    readonly guardrails: Guardrails;
    /** The bundled collector; default: the file `npm run build` writes (collector/plan.ts COLLECTOR_BUNDLE_FILE). */
    readonly bundleFile?: string;
}

/**
 * The cost collector where the rules go: a Deployment of a stock Node image running the bundled collector from a
 * ConfigMap, its Service, a ServiceMonitor selected like the rule objects (prometheus-operator target; with AMP the
 * remote-writing agent scrapes the Service, docs/metrics.md), and an IAM role for its service account (IRSA)
 * allowed only the two read-only Cost Explorer actions.
 */
export class CostCollector extends pulumi.ComponentResource {
    /** The role the collector's pods assume. */
    public readonly roleArn: pulumi.Output<string>;
    /** Namespace of the collector's objects. */
    public readonly namespace: string;
    /** The ServiceMonitor's name; undefined with an AMP rule target. */
    public readonly serviceMonitorName?: pulumi.Output<string>;

    /** The collector's objects and policies; throws on a config or bundle it cannot deploy. Registers nothing. */
    static readonly plan = plannedOnce((args: CostCollectorArgs): CollectorPlan => {
        return collectorPlan(args.config, args.guardrails, readCollectorBundle(args.bundleFile));
    });

    constructor(name: string, args: CostCollectorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:cost:CostCollector", name, {}, opts);
        declareEvidence(this, {
            backlogItem: BACKLOG_ITEM.costCollector,
            creates: [
                "aws:iam/role:Role",
                "aws:iam/rolePolicy:RolePolicy",
                "kubernetes:core/v1:ServiceAccount",
                "kubernetes:core/v1:ConfigMap",
                "kubernetes:apps/v1:Deployment",
                "kubernetes:core/v1:Service",
                "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
            ],
        });
        const plan: CollectorPlan = planOrRefuse(this, () => CostCollector.plan(args));
        const role = new aws.iam.Role(
            `${name}-role`,
            { name: plan.roleName, assumeRolePolicy: JSON.stringify(plan.assumeRolePolicy), tags: {} },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-cost-explorer`,
            // The role's name (an input), not its id: known in a first preview, so the pack can judge the policy.
            { role: role.name, policy: JSON.stringify(plan.rolePolicy) },
            { parent: this },
        );
        // Built from the role's name, account and partition rather than read from the role, so the service account's
        // metadata (which the pack reads for evidence) is known in a first preview.
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this });
        const roleArn = pulumi
            .all([partition.partition, identity.accountId, role.name])
            .apply(([part, account, roleName]) => `arn:${part}:iam::${account}:role/${roleName}`);
        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: {
                    ...plan.serviceAccount.metadata,
                    annotations: { "eks.amazonaws.com/role-arn": roleArn },
                },
            },
            { parent: this },
        );
        const configMap = new k8s.core.v1.ConfigMap(
            `${name}-code`,
            {
                metadata: plan.configMap.metadata,
                data: plan.configMap.data as Record<string, string>,
            },
            { parent: this },
        );
        new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: plan.deployment.metadata,
                spec: plan.deployment.spec as k8s.types.input.apps.v1.DeploymentSpec,
            },
            {
                parent: this,
                dependsOn: [configMap, serviceAccount],
            },
        );
        new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: plan.service.metadata,
                spec: plan.service.spec as k8s.types.input.core.v1.ServiceSpec,
            },
            {
                parent: this,
            },
        );
        if (plan.serviceMonitor) {
            this.serviceMonitorName = new k8s.apiextensions.CustomResource(
                `${name}-servicemonitor`,
                plan.serviceMonitor,
                { parent: this },
            ).metadata.name;
        }
        this.roleArn = role.arn;
        this.namespace = plan.namespace;
        this.registerOutputs({ roleArn: this.roleArn, serviceMonitorName: this.serviceMonitorName });
    }
}
