import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BACKLOG_ITEM } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { BudgetConfig, BudgetKind, BudgetSpec, budgetSpecs, budgetTopicPolicy, snsTopicArn } from "../budgets/specs";

export interface CostBudgetsArgs {
    /** The validated stack config: environment, budgets (USD/month), alert threshold, recipients, source file. */
    readonly config: BudgetConfig;
    /** The guardrails file the caps and the currency come from. */
    readonly guardrails: Guardrails;
}

/**
 * The environment's monthly cost budget and its LLM budget (AWS Budgets), notifying an SNS topic and the
 * configured recipients at the alert threshold of ACTUAL and FORECASTED spend and at the whole limit. The topic
 * accepts messages only from this account's Budgets.
 */
export class CostBudgets extends pulumi.ComponentResource {
    readonly backlogItem = BACKLOG_ITEM.costBudgets;
    /** Where budget notifications go; FinOps (Workstream 6) subscribes here. */
    public readonly topicArn: pulumi.Output<string>;
    /** Budget names by kind. */
    public readonly budgetNames: Readonly<Record<BudgetKind, pulumi.Output<string>>>;

    /** The budgets this component would create; throws on a budget the guardrails refuse. Registers nothing. */
    static plan(args: CostBudgetsArgs): BudgetSpec[] {
        return budgetSpecs(args.config, args.guardrails);
    }

    constructor(name: string, args: CostBudgetsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:budgets:CostBudgets", name, {}, opts);
        let specs;
        try {
            specs = CostBudgets.plan(args);
        } catch (err) {
            throw new pulumi.ResourceError((err as Error).message, this);
        }

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

        const names: Partial<Record<BudgetKind, pulumi.Output<string>>> = {};
        for (const spec of specs) {
            const budget = new aws.budgets.Budget(
                `${name}-${spec.kind}`,
                {
                    name: spec.name,
                    budgetType: spec.budgetType,
                    timeUnit: spec.timeUnit,
                    limitAmount: spec.limitAmount,
                    limitUnit: spec.limitUnit,
                    costTypes: spec.costTypes,
                    costFilters: spec.costFilters.map((f) => ({ name: f.name, values: [...f.values] })),
                    notifications: spec.notifications.map((n) => ({
                        ...n,
                        subscriberSnsTopicArns: [topicArn],
                        subscriberEmailAddresses: [...args.config.alertEmails],
                    })),
                },
                // Budgets refuses an SNS subscriber it may not publish to, so the topic policy goes first.
                { parent: this, dependsOn: [topicPolicy] },
            );
            names[spec.kind] = budget.name;
        }
        this.topicArn = topicArn;
        this.budgetNames = names as Record<BudgetKind, pulumi.Output<string>>;
        this.registerOutputs({ topicArn: this.topicArn, budgetNames: this.budgetNames });
    }
}
