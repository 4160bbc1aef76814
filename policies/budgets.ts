/**
 * Every environment has its monthly cost budget at or under the guardrail cap, notifying on ACTUAL and FORECASTED
 * spend at the guardrail's alert threshold (or earlier); where the guardrails cap LLM spend (prod), an LLM budget
 * exists at or under that cap. No budget of the stack may exceed the environment's cap.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { LLM_SERVICES } from "../budgets/specs";
import { PackContext } from "./context";
import { describeResource, stackUrn, TYPE } from "./resources";
import { environmentOrReport } from "./stack";

export const BUDGETS_POLICY = "budgets-within-caps";

const CAPS_AT = "guardrails/guardrails.yaml /cost/caps";
const FIX =
    "Fix: deploy the budgets from the validated stack config (components/costBudgets.ts); never raise a budget above its guardrail.";

interface Notification {
    readonly notificationType?: string;
    readonly thresholdType?: string;
    readonly comparisonOperator?: string;
    readonly threshold?: number;
    readonly subscriberSnsTopicArns?: readonly unknown[];
    readonly subscriberEmailAddresses?: readonly unknown[];
}

/** The guardrail's alert threshold as a Budgets percentage, without float noise (0.8 -> 80). */
export function alertPercent(ctx: PackContext): number {
    return Math.round(ctx.guardrails.cost.alertThreshold * 100 * 1e6) / 1e6;
}

/** Whether a budget is the LLM budget: scoped by the Service filter to the LLM services. */
export function isLlmBudget(b: PolicyResource): boolean {
    const filters = (b.props.costFilters ?? []) as Array<{ name?: string; values?: string[] }>;
    return filters.some((f) => f.name === "Service" && LLM_SERVICES.every((s) => (f.values ?? []).includes(s)));
}

function isTotalBudget(b: PolicyResource): boolean {
    return ((b.props.costFilters ?? []) as unknown[]).length === 0;
}

export function budgetsPolicy(ctx: PackContext): StackValidationPolicy {
    return {
        name: BUDGETS_POLICY,
        description:
            "The environment's cost budget (and the LLM budget where the guardrails cap it) is at or under its cap, with ACTUAL and FORECASTED alerts at the guardrail threshold.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            const env = environmentOrReport(ctx, args.resources, reportViolation, BUDGETS_POLICY);
            if (env === undefined) {
                return;
            }
            const cap = ctx.guardrails.cost.caps[env];
            const percent = alertPercent(ctx);
            const budgets = args.resources.filter((r) => r.type === TYPE.budget);
            const urn = stackUrn(args.resources);
            if (!budgets.some(isTotalBudget)) {
                reportViolation(
                    `the ${env} stack has no monthly cost budget (a ${TYPE.budget} without cost filters) guarding its cap of ${cap.monthlyUsd} ${ctx.guardrails.cost.currency} (${CAPS_AT}/${env}/monthlyUsd). ${FIX}`,
                    urn,
                );
            }
            if (cap.llmMonthlyUsd !== undefined && !budgets.some(isLlmBudget)) {
                reportViolation(
                    `the ${env} stack has no LLM budget (a ${TYPE.budget} filtered to Service ${LLM_SERVICES.join(", ")}) guarding the LLM cap of ${cap.llmMonthlyUsd} ${ctx.guardrails.cost.currency} (${CAPS_AT}/${env}/llmMonthlyUsd). ${FIX}`,
                    urn,
                );
            }
            for (const b of budgets) {
                const problems: string[] = [];
                const llm = isLlmBudget(b);
                const limit = Number(b.props.limitAmount);
                const ceiling = llm && cap.llmMonthlyUsd !== undefined ? cap.llmMonthlyUsd : cap.monthlyUsd;
                const ceilingAt =
                    llm && cap.llmMonthlyUsd !== undefined
                        ? `${CAPS_AT}/${env}/llmMonthlyUsd`
                        : `${CAPS_AT}/${env}/monthlyUsd`;
                if (!(limit > 0 && limit <= ceiling)) {
                    problems.push(
                        `limitAmount ${String(b.props.limitAmount)} is over the ${env} ${llm ? "LLM " : ""}cap; allowed: > 0 and <= ${ceiling} (${ceilingAt})`,
                    );
                }
                if (b.props.limitUnit !== ctx.guardrails.cost.currency) {
                    problems.push(
                        `limitUnit is "${String(b.props.limitUnit)}"; allowed: "${ctx.guardrails.cost.currency}"`,
                    );
                }
                if (b.props.budgetType !== "COST") {
                    problems.push(`budgetType is "${String(b.props.budgetType)}"; allowed: "COST"`);
                }
                if (b.props.timeUnit !== "MONTHLY") {
                    problems.push(
                        `timeUnit is "${String(b.props.timeUnit)}"; the caps are monthly; allowed: "MONTHLY"`,
                    );
                }
                const notifications = (b.props.notifications ?? []) as Notification[];
                for (const kind of ["ACTUAL", "FORECASTED"]) {
                    const early = notifications.filter(
                        (n) =>
                            n.notificationType === kind &&
                            n.thresholdType === "PERCENTAGE" &&
                            n.comparisonOperator === "GREATER_THAN" &&
                            typeof n.threshold === "number" &&
                            n.threshold <= percent,
                    );
                    if (early.length === 0) {
                        problems.push(
                            `no ${kind} notification at ${percent}% of the limit or earlier (GREATER_THAN, PERCENTAGE; guardrails/guardrails.yaml /cost/alertThreshold)`,
                        );
                    } else if (
                        !early.some(
                            (n) =>
                                (n.subscriberSnsTopicArns ?? []).length + (n.subscriberEmailAddresses ?? []).length > 0,
                        )
                    ) {
                        problems.push(`its ${kind} notification at ${percent}% has no subscriber (SNS topic or email)`);
                    }
                }
                if (problems.length > 0) {
                    reportViolation(`${describeResource(b)}: ${problems.join("; ")}. ${FIX}`, b.urn);
                }
            }
        },
    };
}
