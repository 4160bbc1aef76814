/**
 * Pure builders of the cost budgets (AWS Budgets) and their SNS topic policy: every number comes from the stack
 * config, which core/stackConfig.ts validated against the guardrails file.
 */
import { AWS_TAG } from "../core/conventions";
import { Guardrails, accountSharedWith } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";

/**
 * A Budgets filter expression (the API's `FilterExpression`, the provider's `filterExpression`): exactly one of
 * `dimensions`, `tags`, `ands`, `ors` per node. Budgets rejects `costFilters` beside it, so the stack uses only this.
 */
export interface FilterExpression {
    readonly dimensions?: FilterValues;
    readonly tags?: FilterValues;
    readonly ands?: readonly FilterExpression[];
    readonly ors?: readonly FilterExpression[];
}

export interface FilterValues {
    readonly key: string;
    readonly values: readonly string[];
    /** Default EQUALS. */
    readonly matchOptions?: readonly ("EQUALS" | "ENDS_WITH")[];
}

/** Cost Explorer's SERVICE name of first-party Amazon Bedrock spend (Amazon, Meta, Mistral, ... models). */
export const BEDROCK_SERVICE = "Amazon Bedrock";
/**
 * How the SERVICE name of a model sold through AWS Marketplace on Bedrock ends: each such model is its own
 * service, "<Model> (Amazon Bedrock Edition)" (Anthropic's Claude models among them); docs/budgets.md cites it.
 */
export const BEDROCK_MARKETPLACE_SUFFIX = "(Amazon Bedrock Edition)";
/** The LLM budget's filter: first-party Bedrock, or any Marketplace-billed Bedrock model. */
export const LLM_SERVICE_FILTER: FilterExpression = {
    ors: [
        { dimensions: { key: "SERVICE", values: [BEDROCK_SERVICE] } },
        { dimensions: { key: "SERVICE", values: [BEDROCK_MARKETPLACE_SUFFIX], matchOptions: ["ENDS_WITH"] } },
    ],
};

/**
 * Cost allocation tag keys an environment in a shared account is counted by: the environment tag every resource of
 * the stack carries (core/evidence.ts), and the same key on IAM principals, which Bedrock copies into billing as
 * `iamPrincipal/<key>` for model invocations (these are not resources and carry no resource tags).
 */
export const ENVIRONMENT_COST_TAG_KEYS: readonly string[] = [
    AWS_TAG.environment,
    `iamPrincipal/${AWS_TAG.environment}`,
];

/** Spend of one environment in an account it shares: any of its cost allocation tags equals the environment. */
export function environmentScope(environment: string): FilterExpression {
    return { ors: ENVIRONMENT_COST_TAG_KEYS.map((key) => ({ tags: { key, values: [environment] } })) };
}

/** Each budget's filter: none (total) or the LLM services (llm) in an own account, within the environment's tags in a shared one. */
export function budgetFilters(
    environment: string,
    sharedAccount: boolean,
): Readonly<Record<BudgetKind, FilterExpression | undefined>> {
    if (!sharedAccount) {
        return { total: undefined, llm: LLM_SERVICE_FILTER };
    }
    const scope = environmentScope(environment);
    return { total: scope, llm: { ands: [LLM_SERVICE_FILTER, scope] } };
}

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
    /** Undefined for the total budget of an environment with an account of its own. */
    readonly filterExpression?: FilterExpression;
    /** Credits and refunds excluded, so a promotional credit cannot hide spend against a cap. */
    readonly costTypes: { readonly includeCredit: false; readonly includeRefund: false };
    readonly notifications: readonly BudgetNotificationSpec[];
}

export type BudgetConfig = Pick<
    StackConfig,
    | "environment"
    | "monthlyBudgetUsd"
    | "llmBudgetUsd"
    | "costAlertThreshold"
    | "alertEmails"
    | "sourceFile"
    | "aws"
    | "llmBudgetAction"
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
    const shared = accountSharedWith(guardrails, config.environment);
    if (shared.length !== config.aws.sharedWith.length || shared.some((e) => !config.aws.sharedWith.includes(e))) {
        problems.push(
            `${config.sourceFile}: aws:allowedAccountIds: the config says the account is shared with [${config.aws.sharedWith.join(", ")}], the guardrails say [${shared.join(", ")}]; allowed: the guardrails' /accounts declaration`,
        );
    }
    if (problems.length > 0) {
        throw new Error(`cost budgets:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    }
    const notifications = budgetNotifications(config.costAlertThreshold);
    const filters = budgetFilters(config.environment, shared.length > 0);
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
            filterExpression: filters.total,
        },
        {
            ...common,
            kind: "llm",
            name: `maestro-${config.environment}-llm`,
            limitAmount: usdAmount(config.llmBudgetUsd),
            filterExpression: filters.llm,
        },
    ];
}

/** The cost allocation tags the stack activates: the environment's keys when its account is shared, else none. */
export function costAllocationTagKeys(config: Pick<BudgetConfig, "aws">): readonly string[] {
    return config.aws.sharedWith.length > 0 ? ENVIRONMENT_COST_TAG_KEYS : [];
}

/**
 * Cost Anomaly Detection for the environment: a monitor over its spend (AWS services in an own account; the
 * environment's cost allocation tag in a shared one, where an account holds at most one services monitor) and an
 * immediate subscription to the budget topic for anomalies whose total impact reaches the guardrail's share of the
 * monthly cap.
 */
export interface AnomalySpec {
    readonly monitor:
        | { readonly name: string; readonly monitorType: "DIMENSIONAL"; readonly monitorDimension: "SERVICE" }
        | { readonly name: string; readonly monitorType: "CUSTOM"; readonly monitorSpecification: string };
    readonly subscription: {
        readonly name: string;
        /** IMMEDIATE needs an SNS subscriber: the budget topic. */
        readonly frequency: "IMMEDIATE";
        readonly thresholdExpression: {
            readonly dimension: {
                readonly key: "ANOMALY_TOTAL_IMPACT_ABSOLUTE";
                readonly values: readonly string[];
                readonly matchOptions: readonly ["GREATER_THAN_OR_EQUAL"];
            };
        };
    };
    /** The threshold in USD, for messages and outputs. */
    readonly thresholdUsd: number;
}

export function anomalySpec(config: Pick<BudgetConfig, "environment" | "aws">, guardrails: Guardrails): AnomalySpec {
    const cap = guardrails.cost.caps[config.environment];
    const thresholdUsd = Math.round(cap.monthlyUsd * guardrails.cost.anomalyImpactShareOfCap * 100) / 100;
    const name = `maestro-${config.environment}-spend`;
    const monitor: AnomalySpec["monitor"] =
        config.aws.sharedWith.length > 0
            ? {
                  name,
                  monitorType: "CUSTOM",
                  // Cost Explorer's Expression, as the API takes it (a JSON string).
                  monitorSpecification: JSON.stringify({
                      Tags: { Key: AWS_TAG.environment, Values: [config.environment], MatchOptions: ["EQUALS"] },
                  }),
              }
            : { name, monitorType: "DIMENSIONAL", monitorDimension: "SERVICE" };
    return {
        monitor,
        subscription: {
            name: `maestro-${config.environment}-anomalies`,
            frequency: "IMMEDIATE",
            thresholdExpression: {
                dimension: {
                    key: "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                    values: [String(thresholdUsd)],
                    matchOptions: ["GREATER_THAN_OR_EQUAL"],
                },
            },
        },
        thresholdUsd,
    };
}

/** What LLM invocation the budget action denies: every InvokeModel* action (Converse needs bedrock:InvokeModel). */
export const LLM_INVOKE_ACTIONS: readonly string[] = ["bedrock:InvokeModel*"];

/** The budget action at the whole LLM limit, when the stack configures one. */
export interface LlmBudgetActionSpec {
    readonly actionType: "APPLY_IAM_POLICY";
    readonly approvalModel: "AUTOMATIC" | "MANUAL";
    readonly notificationType: "ACTUAL";
    readonly actionThreshold: { readonly actionThresholdType: "PERCENTAGE"; readonly actionThresholdValue: number };
    readonly roles: readonly string[];
    /** The IAM policy attached to the roles. */
    readonly denyPolicy: Record<string, unknown>;
}

export function llmBudgetActionSpec(config: Pick<BudgetConfig, "llmBudgetAction">): LlmBudgetActionSpec | undefined {
    const action = config.llmBudgetAction;
    if (!action) {
        return undefined;
    }
    return {
        actionType: "APPLY_IAM_POLICY",
        approvalModel: action.approvalModel,
        notificationType: "ACTUAL",
        actionThreshold: { actionThresholdType: "PERCENTAGE", actionThresholdValue: FULL_LIMIT_PERCENT },
        roles: [...action.roles],
        denyPolicy: {
            Version: "2012-10-17",
            Statement: [
                { Sid: "DenyLlmInvocationOverBudget", Effect: "Deny", Action: [...LLM_INVOKE_ACTIONS], Resource: "*" },
            ],
        },
    };
}

/** Trust of the role AWS Budgets assumes to run the action: Budgets of this account only. */
export function budgetActionTrustPolicy(accountId: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: "budgets.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
        ],
    };
}

/** What that role may do: attach and detach exactly the deny policy, on exactly the configured roles. */
export function budgetActionPermissions(
    accountId: string,
    partition: string,
    roles: readonly string[],
    denyPolicyArn: string,
): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AttachTheDenyPolicyToTheLlmRoles",
                Effect: "Allow",
                Action: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                Resource: roles.map((r) => `arn:${partition}:iam::${accountId}:role/${r}`),
                Condition: { ArnEquals: { "iam:PolicyARN": denyPolicyArn } },
            },
        ],
    };
}

/** "1200" / "12.5": the Budgets API's decimal string, with no float noise. */
function usdAmount(usd: number): string {
    return String(Math.round(usd * 100) / 100);
}

/** The services that publish to the budget topic: AWS Budgets, and Cost Anomaly Detection (its subscriptions). */
export const TOPIC_PUBLISHERS = ["budgets.amazonaws.com", "costalerts.amazonaws.com"] as const;

/**
 * An SNS topic's ARN from its name, region and account: known before the topic exists, so what a preview shows the
 * policy pack (the topic policy, the budgets' subscribers) is the value, not an unknown.
 */
export function snsTopicArn(partition: string, region: string, accountId: string, topicName: string): string {
    return `arn:${partition}:sns:${region}:${accountId}:${topicName}`;
}

/**
 * Topic policy: AWS Budgets and Cost Anomaly Detection of this account may publish (aws:SourceAccount, and for
 * Budgets the budget ARN pattern, guard against the confused deputy), and nobody else may: a Deny for every
 * principal that is not one of those services.
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
                Sid: "AllowCostAnomalyDetectionOfThisAccount",
                Effect: "Allow",
                Principal: { Service: "costalerts.amazonaws.com" },
                Action: "SNS:Publish",
                Resource: topicArn,
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
            },
            {
                Sid: "DenyPublishByAnyoneElse",
                Effect: "Deny",
                Principal: "*",
                Action: "SNS:Publish",
                Resource: topicArn,
                Condition: { StringNotEquals: { "aws:PrincipalServiceName": [...TOPIC_PUBLISHERS] } },
            },
        ],
    };
}
