import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { planOrRefuse, plannedOnce } from "../core/component";
import { declareEvidence } from "../core/evidence";
import { BACKLOG_ITEM } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import {
    AnomalySpec,
    BudgetConfig,
    BudgetKind,
    BudgetSpec,
    LlmBudgetActionSpec,
    anomalySpec,
    budgetActionPermissions,
    budgetActionTrustPolicy,
    budgetSpecs,
    budgetTopicPolicy,
    costAllocationTagKeys,
    llmBudgetActionSpec,
    snsTopicArn,
} from "../budgets/specs";

export interface CostBudgetsArgs {
    /** The validated stack config: environment, budgets (USD/month), alert threshold, recipients, source file. */
    readonly config: BudgetConfig;
    /** The guardrails file the caps and the currency come from. */
    readonly guardrails: Guardrails;
}

/** What the component will create, all checked before any resource exists. */
export interface CostBudgetsPlan {
    readonly budgets: readonly BudgetSpec[];
    /** Cost allocation tag keys to activate (the environment's, when its account is shared). */
    readonly costAllocationTags: readonly string[];
    readonly anomaly: AnomalySpec;
    /** Undefined when the stack configures no `llmBudgetAction`. */
    readonly llmAction?: LlmBudgetActionSpec;
}

/**
 * The environment's monthly cost budget and its LLM budget (AWS Budgets), notifying an SNS topic and the
 * configured recipients at the alert threshold of ACTUAL and FORECASTED spend and at the whole limit; Cost Anomaly
 * Detection on the environment's spend notifying the same topic; where the account is shared, the cost allocation
 * tags the budgets filter by; and, when configured, a budget action that denies LLM invocation to the named roles
 * at the whole LLM limit. The topic accepts messages only from this account's Budgets and Cost Anomaly Detection.
 */
export class CostBudgets extends pulumi.ComponentResource {
    /** Where budget notifications go; FinOps (Workstream 6) subscribes here. */
    public readonly topicArn: pulumi.Output<string>;
    /** Budget names by kind. */
    public readonly budgetNames: Readonly<Record<BudgetKind, pulumi.Output<string>>>;

    /** Anomaly monitor ARN. */
    public readonly anomalyMonitorArn: pulumi.Output<string>;

    /** What this component would create; throws on a budget the guardrails refuse. Registers nothing. */
    static readonly plan = plannedOnce((args: CostBudgetsArgs): CostBudgetsPlan => {
        return {
            budgets: budgetSpecs(args.config, args.guardrails),
            costAllocationTags: costAllocationTagKeys(args.config),
            anomaly: anomalySpec(args.config, args.guardrails),
            llmAction: llmBudgetActionSpec(args.config),
        };
    });

    constructor(name: string, args: CostBudgetsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:budgets:CostBudgets", name, {}, opts);
        declareEvidence(this, {
            backlogItem: BACKLOG_ITEM.costBudgets,
            creates: [
                "aws:budgets/budget:Budget",
                "aws:budgets/budgetAction:BudgetAction",
                "aws:sns/topic:Topic",
                "aws:sns/topicPolicy:TopicPolicy",
                "aws:costexplorer/costAllocationTag:CostAllocationTag",
                "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
                "aws:costexplorer/anomalySubscription:AnomalySubscription",
                "aws:iam/policy:Policy",
                "aws:iam/role:Role",
                "aws:iam/rolePolicy:RolePolicy",
            ],
        });
        const plan: CostBudgetsPlan = planOrRefuse(this, () => CostBudgets.plan(args));

        const topic = new aws.sns.Topic(
            `${name}-alerts`,
            { name: `maestro-${args.config.environment}-budget-alerts` },
            { parent: this },
        );
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this });
        // Built from the topic's name (an input, so it still depends on the topic), known in a first preview.
        const topicArn = pulumi
            .all([partition.partition, region.region, identity.accountId, topic.name])
            .apply(([part, r, account, n]) => snsTopicArn(part, r, account, n));
        const topicPolicy = new aws.sns.TopicPolicy(
            `${name}-alerts-policy`,
            {
                arn: topicArn,
                policy: pulumi
                    .all([topicArn, identity.accountId, partition.partition])
                    .apply(([arn, account, part]) => JSON.stringify(budgetTopicPolicy(arn, account, part))),
            },
            { parent: this },
        );

        // Activated account-wide and shared by every stack of the account: destroying one stack must not switch off
        // the filter the others' budgets depend on, so the activation outlives the stack.
        const tags = plan.costAllocationTags.map(
            (tagKey, i) =>
                new aws.costexplorer.CostAllocationTag(
                    `${name}-cost-tag-${i}`,
                    { tagKey, status: "Active" },
                    { parent: this, retainOnDelete: true },
                ),
        );

        const budgets: Partial<Record<BudgetKind, aws.budgets.Budget>> = {};
        for (const spec of plan.budgets) {
            const budget = new aws.budgets.Budget(
                `${name}-${spec.kind}`,
                {
                    name: spec.name,
                    budgetType: spec.budgetType,
                    timeUnit: spec.timeUnit,
                    limitAmount: spec.limitAmount,
                    limitUnit: spec.limitUnit,
                    costTypes: spec.costTypes,
                    filterExpression: spec.filterExpression as
                        aws.types.input.budgets.BudgetFilterExpression | undefined,
                    notifications: spec.notifications.map((n) => ({
                        ...n,
                        subscriberSnsTopicArns: [topicArn],
                        subscriberEmailAddresses: [...args.config.alertEmails],
                    })),
                },
                // Budgets refuses an SNS subscriber it may not publish to, so the topic policy goes first; a filter on
                // a cost allocation tag needs the tag active.
                { parent: this, dependsOn: [topicPolicy, ...tags] },
            );
            budgets[spec.kind] = budget;
        }

        const monitor = new aws.costexplorer.AnomalyMonitor(
            `${name}-anomaly-monitor`,
            { ...plan.anomaly.monitor },
            {
                parent: this,
                dependsOn: tags,
            },
        );
        new aws.costexplorer.AnomalySubscription(
            `${name}-anomaly-subscription`,
            {
                name: plan.anomaly.subscription.name,
                frequency: plan.anomaly.subscription.frequency,
                monitorArnLists: [monitor.arn],
                subscribers: [{ type: "SNS", address: topicArn }],
                thresholdExpression: {
                    dimension: {
                        ...plan.anomaly.subscription.thresholdExpression.dimension,
                        values: [...plan.anomaly.subscription.thresholdExpression.dimension.values],
                        matchOptions: [...plan.anomaly.subscription.thresholdExpression.dimension.matchOptions],
                    },
                },
            },
            { parent: this, dependsOn: [topicPolicy] },
        );

        if (plan.llmAction && budgets.llm) {
            this.llmAction(
                name,
                args.config.environment,
                plan.llmAction,
                budgets.llm,
                topicArn,
                topicPolicy,
                identity,
                partition,
            );
        }

        this.topicArn = topicArn;
        this.anomalyMonitorArn = monitor.arn;
        this.budgetNames = Object.fromEntries(Object.entries(budgets).map(([k, b]) => [k, b.name])) as Record<
            BudgetKind,
            pulumi.Output<string>
        >;
        this.registerOutputs({
            topicArn: this.topicArn,
            budgetNames: this.budgetNames,
            anomalyMonitorArn: this.anomalyMonitorArn,
        });
    }

    /** The deny policy, the role Budgets assumes to attach it, and the action at the whole LLM limit. */
    private llmAction(
        name: string,
        environment: string,
        spec: LlmBudgetActionSpec,
        budget: aws.budgets.Budget,
        topicArn: pulumi.Output<string>,
        topicPolicy: aws.sns.TopicPolicy,
        identity: pulumi.Output<aws.GetCallerIdentityResult>,
        partition: pulumi.Output<aws.GetPartitionResult>,
    ): void {
        // Named, and their ARNs built from the names, so a first preview shows the pack every value (AWS generates
        // nothing in an IAM ARN but the name the stack gives).
        const denyName = `maestro-${environment}-llm-deny`;
        const roleName = `maestro-${environment}-llm-budget-action`;
        const iamArn = (kind: "policy" | "role", n: string) =>
            pulumi
                .all([partition.partition, identity.accountId])
                .apply(([part, account]) => `arn:${part}:iam::${account}:${kind}/${n}`);
        const denyArn = iamArn("policy", denyName);
        const roleArn = iamArn("role", roleName);
        const deny = new aws.iam.Policy(
            `${name}-llm-deny`,
            {
                name: denyName,
                description: "Attached by the LLM budget action at 100% of the LLM budget: no more model invocations.",
                policy: JSON.stringify(spec.denyPolicy),
            },
            { parent: this },
        );
        const role = new aws.iam.Role(
            `${name}-llm-action-role`,
            {
                name: roleName,
                assumeRolePolicy: identity.accountId.apply((account) =>
                    JSON.stringify(budgetActionTrustPolicy(account)),
                ),
            },
            { parent: this },
        );
        const permissions = new aws.iam.RolePolicy(
            `${name}-llm-action-permissions`,
            {
                role: role.name,
                policy: pulumi
                    .all([identity.accountId, partition.partition, denyArn])
                    .apply(([account, part, arn]) =>
                        JSON.stringify(budgetActionPermissions(account, part, spec.roles, arn)),
                    ),
            },
            { parent: this },
        );
        new aws.budgets.BudgetAction(
            `${name}-llm-action`,
            {
                budgetName: budget.name,
                actionType: spec.actionType,
                approvalModel: spec.approvalModel,
                notificationType: spec.notificationType,
                actionThreshold: spec.actionThreshold,
                definition: { iamActionDefinition: { policyArn: denyArn, roles: [...spec.roles] } },
                executionRoleArn: roleArn,
                subscribers: [{ address: topicArn, subscriptionType: "SNS" }],
            },
            // The ARNs are built from names, so the order is stated: the policy, the role and its permissions first.
            { parent: this, dependsOn: [deny, role, permissions, topicPolicy] },
        );
    }
}
