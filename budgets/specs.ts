/**
 * Pure builders of the cost budgets (AWS Budgets) and their SNS topic policy: every number comes from the stack
 * config, which lib/stackConfig.ts validated against the guardrails file.
 */
import { Guardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";

/**
 * The LLM budget's filter: spend of these AWS services (Cost Explorer "Service" dimension names). A service
 * filter, not a cost-allocation tag, because on-demand model invocations are not resources and carry no tags
 * (only application inference profiles do); see docs/budgets.md.
 */
export const LLM_SERVICES: readonly string[] = ["Amazon Bedrock"];

/** AWS Budgets allows at most this many email subscribers per notification (plus one SNS topic). */
export const MAX_EMAIL_SUBSCRIBERS = 10;

/** A notification at the whole limit: the cap itself has been reached. */
const FULL_LIMIT_PERCENT = 100;

export type BudgetKind = "total" | "llm";

export interface BudgetNotificationSpec {
    readonly comparisonOperator: "GREATER_THAN";
    readonly notificationType: "ACTUAL" | "FORECASTED";
    /** Percent of the limit. */
    readonly threshold: number;
    readonly thresholdType: "PERCENTAGE";
}

export interface BudgetSpec {
    readonly kind: BudgetKind;
    /** Budget name, unique in the account: maestro-<environment>-<kind>. */
    readonly name: string;
    readonly budgetType: "COST";
    readonly timeUnit: "MONTHLY";
    /** Decimal string, as the Budgets API takes it. */
    readonly limitAmount: string;
    readonly limitUnit: string;
    readonly costFilters: readonly { readonly name: string; readonly values: readonly string[] }[];
    /** Credits and refunds excluded, so a promotional credit cannot hide spend against a cap. */
    readonly costTypes: { readonly includeCredit: false; readonly includeRefund: false };
    readonly notifications: readonly BudgetNotificationSpec[];
}

export type BudgetConfig = Pick<
    StackConfig,
    "environment" | "monthlyBudgetUsd" | "llmBudgetUsd" | "costAlertThreshold" | "alertEmails" | "sourceFile"
>;

/** The alert threshold as a Budgets percentage (0.5 -> 50), without float noise (0.07 * 100 is 7.000000000000001). */
export function thresholdPercent(share: number): number {
    return Math.round(share * 100 * 1e6) / 1e6;
}

/**
 * The notifications every budget carries: ACTUAL and FORECASTED spend above the alert threshold (early warning
 * and trend), and ACTUAL above the whole limit (the cap is breached).
 */
export function budgetNotifications(costAlertThreshold: number): BudgetNotificationSpec[] {
    const threshold = thresholdPercent(costAlertThreshold);
    return [
        { comparisonOperator: "GREATER_THAN", notificationType: "ACTUAL", threshold, thresholdType: "PERCENTAGE" },
        { comparisonOperator: "GREATER_THAN", notificationType: "FORECASTED", threshold, thresholdType: "PERCENTAGE" },
        {
            comparisonOperator: "GREATER_THAN",
            notificationType: "ACTUAL",
            threshold: FULL_LIMIT_PERCENT,
            thresholdType: "PERCENTAGE",
        },
    ];
}

/**
 * The environment's total budget and its LLM budget. Re-checks what the config validation promised (limits
 * within the guardrail caps, threshold no later than the guardrail's), so a caller that skipped it fails here,
 * before any resource exists, naming the stack file and key.
 */
export function budgetSpecs(config: BudgetConfig, guardrails: Guardrails): BudgetSpec[] {
    const problems: string[] = [];
    const key = (k: string) => `${config.sourceFile}: maestro-guardrails:${k}`;
    const cap = guardrails.cost.caps[config.environment];
    if (!cap) {
        throw new Error(
            `${key("environment")}: "${config.environment}" has no cost cap; allowed: ${guardrails.environments.join(", ")}`,
        );
    }
    const llmCeiling = Math.min(cap.llmMonthlyUsd ?? Number.POSITIVE_INFINITY, config.monthlyBudgetUsd);
    if (!(config.monthlyBudgetUsd > 0 && config.monthlyBudgetUsd <= cap.monthlyUsd)) {
        problems.push(
            `${key("monthlyBudgetUsd")}: ${config.monthlyBudgetUsd}; allowed: a number > 0 and <= ${cap.monthlyUsd}`,
        );
    }
    if (!(config.llmBudgetUsd > 0 && config.llmBudgetUsd <= llmCeiling)) {
        problems.push(`${key("llmBudgetUsd")}: ${config.llmBudgetUsd}; allowed: a number > 0 and <= ${llmCeiling}`);
    }
    if (!(config.costAlertThreshold > 0 && config.costAlertThreshold <= guardrails.cost.alertThreshold)) {
        problems.push(
            `${key("guardrailOverrides.costAlertThreshold")}: ${config.costAlertThreshold}; allowed: a number > 0 and <= ${guardrails.cost.alertThreshold}`,
        );
    }
    if (config.alertEmails.length > MAX_EMAIL_SUBSCRIBERS) {
        problems.push(
            `${key("alertEmails")}: ${config.alertEmails.length} recipients; AWS Budgets allows at most ${MAX_EMAIL_SUBSCRIBERS} per notification; use a list address`,
        );
    }
    if (problems.length > 0) {
        throw new Error(`cost budgets:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    }
    const notifications = budgetNotifications(config.costAlertThreshold);
    const common = {
        budgetType: "COST",
        timeUnit: "MONTHLY",
        limitUnit: guardrails.cost.currency,
        costTypes: { includeCredit: false, includeRefund: false },
        notifications,
    } as const;
    return [
        {
            ...common,
            kind: "total",
            name: `maestro-${config.environment}-total`,
            limitAmount: usdAmount(config.monthlyBudgetUsd),
            costFilters: [],
        },
        {
            ...common,
            kind: "llm",
            name: `maestro-${config.environment}-llm`,
            limitAmount: usdAmount(config.llmBudgetUsd),
            costFilters: [{ name: "Service", values: [...LLM_SERVICES] }],
        },
    ];
}

/** "1200" / "12.5": the Budgets API's decimal string, with no float noise. */
function usdAmount(usd: number): string {
    return String(Math.round(usd * 100) / 100);
}

/**
 * An SNS topic's ARN from its name, region and account: known before the topic exists, so what a preview shows the
 * policy pack (the topic policy, the budgets' subscribers) is the value, not an unknown.
 */
export function snsTopicArn(partition: string, region: string, accountId: string, topicName: string): string {
    return `arn:${partition}:sns:${region}:${accountId}:${topicName}`;
}

/**
 * Topic policy: AWS Budgets of this account may publish (aws:SourceAccount and the budget ARN pattern guard
 * against the confused deputy), and nobody else may: a Deny for every principal that is not the Budgets service.
 */
export function budgetTopicPolicy(topicArn: string, accountId: string, partition: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AllowBudgetsOfThisAccount",
                Effect: "Allow",
                Principal: { Service: "budgets.amazonaws.com" },
                Action: "SNS:Publish",
                Resource: topicArn,
                Condition: {
                    StringEquals: { "aws:SourceAccount": accountId },
                    ArnLike: { "aws:SourceArn": `arn:${partition}:budgets::${accountId}:*` },
                },
            },
            {
                Sid: "DenyPublishByAnyoneElse",
                Effect: "Deny",
                Principal: "*",
                Action: "SNS:Publish",
                Resource: topicArn,
                Condition: { StringNotEquals: { "aws:PrincipalServiceName": "budgets.amazonaws.com" } },
            },
        ],
    };
}
