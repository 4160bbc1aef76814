/**
 * Every environment has its monthly cost budget at or under the guardrail cap, notifying on ACTUAL and FORECASTED
 * spend at the guardrail's alert threshold (or earlier); where the guardrails cap LLM spend (prod), an LLM budget
 * exists at or under that cap. No budget of the stack may exceed the environment's cap. Where the guardrails put
 * the environment in an account it shares, every budget counts only the environment's tagged spend and the stack
 * activates those cost allocation tags.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { ENVIRONMENT_COST_TAG_KEYS, FilterExpression, LLM_SERVICE_FILTER, environmentScope } from "../budgets/specs";
import { accountSharedWith } from "../core/guardrails";
import { PackContext } from "./context";
import { BACKLOG_ITEM } from "../core/conventions";
import { describeResource, readStamp, stackUrn, TYPE } from "./resources";
import { environmentPolicy } from "./stack";

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

/** The Budgets API's "no end" (its default timePeriodEnd); an earlier end stops the budget. */
const NO_END = Date.UTC(2087, 5, 15);
/** budgets/specs.ts: credits and refunds never count against spend. */
const DESIGNED_COST_TYPES = { includeCredit: false, includeRefund: false } as const;

/** A Budgets time (`2087-06-15_00:00`) as epoch ms; undefined when unset, null when unreadable. */
function budgetTime(v: unknown): number | undefined | null {
    if (v === undefined || v === null || v === "") {
        return undefined;
    }
    const text =
        typeof v === "string"
            ? v
            : // Stryker disable next-line StringLiteral: what stands in for a value that is no string matches no date either way
              "";
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:_(\d{2}):(\d{2}))?$/.exec(text);
    return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0)) : null;
}

/** The guardrail's alert threshold as a Budgets percentage, without float noise (0.8 -> 80). */
export function alertPercent(ctx: PackContext): number {
    return Math.round(ctx.guardrails.cost.alertThreshold * 100 * 1e6) / 1e6;
}

/** A filter expression as the engine sends it, without absent (null/undefined/empty) fields, for comparison. */
function normalized(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(normalized);
    }
    if (v !== null && typeof v === "object") {
        const entries = Object.entries(v as Record<string, unknown>)
            .filter(([, x]) => x !== undefined && x !== null && !(Array.isArray(x) && x.length === 0))
            .filter(([k, x]) => !(k === "matchOptions" && Array.isArray(x) && x.length === 1 && x[0] === "EQUALS"))
            .map(([k, x]) => [k, normalized(x)] as const)
            .sort(([a], [b]) => a.localeCompare(b));
        return entries.length === 0 ? undefined : Object.fromEntries(entries);
    }
    return v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(normalized(a)) === JSON.stringify(normalized(b));

function filterOf(b: PolicyResource): unknown {
    // An unset filter may come as null (the engine's outputs), like the absent fields inside one.
    return normalized(b.props.filterExpression ?? undefined);
}

function hasLegacyFilters(b: PolicyResource): boolean {
    const f: unknown = b.props.costFilters;
    return (
        (Array.isArray(f) && f.length > 0) ||
        (f !== null && typeof f === "object" && !Array.isArray(f) && Object.keys(f).length > 0)
    );
}

/** Whether the filter is, or ANDs in, `part`. */
function includes(filter: unknown, part: FilterExpression): boolean {
    if (same(filter, part)) {
        return true;
    }
    const ands = (filter as { ands?: unknown[] } | undefined)?.ands;
    return Array.isArray(ands) && ands.some((a) => same(a, part));
}

/** Whether a budget is the LLM budget: its filter is (or ANDs in) the LLM services filter, first-party and Marketplace. */
export function isLlmBudget(b: PolicyResource): boolean {
    return !hasLegacyFilters(b) && includes(filterOf(b), LLM_SERVICE_FILTER);
}

/** Whether a budget counts the environment's whole spend: no filter in an own account, exactly its tags in a shared one. */
function isTotalBudget(b: PolicyResource, env: string, shared: boolean): boolean {
    if (hasLegacyFilters(b)) {
        return false;
    }
    return shared ? same(filterOf(b), environmentScope(env)) : filterOf(b) === undefined;
}

export function budgetsPolicy(ctx: PackContext): StackValidationPolicy {
    return environmentPolicy(
        ctx,
        BUDGETS_POLICY,
        "The environment's cost budget (and the LLM budget where the guardrails cap it) is at or under its cap, with ACTUAL and FORECASTED alerts at the guardrail threshold.",
        (env, args, reportViolation) => {
            const cap = ctx.guardrails.cost.caps[env];
            const percent = alertPercent(ctx);
            const budgets = args.resources.filter((r) => r.type === TYPE.budget);
            const urn = stackUrn(args.resources);
            const sharedWith = accountSharedWith(ctx.guardrails, env);
            const shared = sharedWith.length > 0;
            const scopeText = shared ? `filterExpression ${JSON.stringify(environmentScope(env))}` : "no cost filter";
            if (!budgets.some((b) => isTotalBudget(b, env, shared))) {
                reportViolation(
                    `the ${env} stack has no monthly cost budget (a ${TYPE.budget} with ${scopeText}) guarding its cap of ${cap.monthlyUsd} ${ctx.guardrails.cost.currency} (${CAPS_AT}/${env}/monthlyUsd). ${FIX}`,
                    urn,
                );
            }
            if (cap.llmMonthlyUsd !== undefined && !budgets.some(isLlmBudget)) {
                reportViolation(
                    `the ${env} stack has no LLM budget (a ${TYPE.budget} whose filterExpression is or ANDs in ${JSON.stringify(LLM_SERVICE_FILTER)}) guarding the LLM cap of ${cap.llmMonthlyUsd} ${ctx.guardrails.cost.currency} (${CAPS_AT}/${env}/llmMonthlyUsd). ${FIX}`,
                    urn,
                );
            }
            if (shared) {
                // Budgets filtering by a tag count nothing until the tag is active; the stack activates it.
                const active = args.resources
                    .filter((r) => r.type === TYPE.costAllocationTag && r.props.status === "Active")
                    .map((r): unknown => r.props.tagKey);
                const missing = ENVIRONMENT_COST_TAG_KEYS.filter((k) => !active.includes(k));
                if (missing.length > 0) {
                    reportViolation(
                        `the ${env} stack shares its AWS account with ${sharedWith.join(", ")} (guardrails/guardrails.yaml /accounts) but does not activate the cost allocation tag(s) ${missing.join(", ")} its budgets filter by (a ${TYPE.costAllocationTag} with status "Active"). ${FIX}`,
                        urn,
                    );
                }
            }
            for (const b of budgets) {
                const problems: string[] = [];
                if (shared && (hasLegacyFilters(b) || !includes(filterOf(b), environmentScope(env)))) {
                    problems.push(
                        `the ${env} account is shared with ${sharedWith.join(", ")} (guardrails/guardrails.yaml /accounts), so this budget would count their spend too; allowed: a filterExpression that is or ANDs in ${JSON.stringify(environmentScope(env))}, and no costFilters`,
                    );
                }
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
                const now = Date.now();
                const start = budgetTime(b.props.timePeriodStart);
                if (start === null) {
                    problems.push(`timePeriodStart "${String(b.props.timePeriodStart)}" is not a date; allowed: unset`);
                } else if (
                    // Stryker disable next-line ConditionalExpression: undefined > now is false anyway; the test narrows the type
                    start !== undefined &&
                    start > now
                ) {
                    problems.push(
                        `timePeriodStart ${String(b.props.timePeriodStart)} is in the future, so the budget watches nothing until then; allowed: unset (active from its creation)`,
                    );
                }
                const end = budgetTime(b.props.timePeriodEnd);
                if (
                    // Stryker disable next-line ConditionalExpression: null < NO_END holds anyway (null compares as 0); the test names the case
                    end === null ||
                    // Stryker disable next-line ConditionalExpression: undefined < NO_END is false anyway; the test narrows the type
                    (end !== undefined &&
                        // Before Budgets' own "no end": the budget stops watching then.
                        end < NO_END)
                ) {
                    problems.push(
                        `timePeriodEnd ${String(b.props.timePeriodEnd)} ends the budget; allowed: unset (no end)`,
                    );
                }
                const costTypes = (b.props.costTypes ?? {}) as Record<string, unknown>;
                for (const [k, v] of Object.entries(DESIGNED_COST_TYPES)) {
                    if (costTypes[k] !== v) {
                        problems.push(
                            `costTypes.${k} is ${JSON.stringify(costTypes[k]) ?? "unset"}; allowed: ${JSON.stringify(v)} (budgets/specs.ts: credits and refunds never hide spend)`,
                        );
                    }
                }
                const notifications = (b.props.notifications ?? []) as Notification[];
                if (
                    !notifications.some(
                        (n) =>
                            n.notificationType === "ACTUAL" &&
                            n.thresholdType === "PERCENTAGE" &&
                            n.comparisonOperator === "GREATER_THAN" &&
                            typeof n.threshold === "number" &&
                            n.threshold <= 100,
                    )
                ) {
                    problems.push("no ACTUAL notification at 100% of the limit or earlier (the cap is breached)");
                }
                // Stryker disable next-line ArrayDeclaration: an entry standing in for no dependencies is no topic and is filtered out
                const topics = (b.propertyDependencies.notifications ?? []).filter((d) => d.type === TYPE.topic);
                if (
                    topics.length === 0 ||
                    // Stryker disable next-line OptionalChaining: every topic is an AWS type, whose stamp readStamp always returns
                    !topics.every((t) => readStamp(t.type, t.props)?.backlogItem === BACKLOG_ITEM.costBudgets)
                ) {
                    problems.push(
                        `its notifications go to no SNS topic of the stack's own (an ${TYPE.topic} serving ${BACKLOG_ITEM.costBudgets}); allowed: the CostBudgets topic`,
                    );
                }
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
            // Every notification of every budget reaches the same people: the stack's configured recipients.
            const sets = budgets.flatMap((b) =>
                ((b.props.notifications ?? []) as Notification[]).map((n) => ({
                    b,
                    emails: [...new Set((n.subscriberEmailAddresses ?? []).map(String))].sort(),
                })),
            );
            const counts = new Map<string, number>();
            sets.forEach((x) => counts.set(JSON.stringify(x.emails), (counts.get(JSON.stringify(x.emails)) ?? 0) + 1));
            const usual = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
            // Stryker disable next-line ArrayDeclaration: without any notification there is no recipient set to compare with it
            const expected = usual === undefined ? [] : (JSON.parse(usual) as string[]);
            const odd = new Set<PolicyResource>();
            for (const x of sets.filter((y) => JSON.stringify(y.emails) !== usual)) {
                if (odd.has(x.b)) {
                    continue;
                }
                odd.add(x.b);
                const extra = x.emails.filter((e) => !expected.includes(e));
                const missing = expected.filter((e) => !x.emails.includes(e));
                reportViolation(
                    `${describeResource(x.b)}: its notifications ${extra.length > 0 ? `go to ${extra.join(", ")}, whom the stack's other budget notifications do not notify` : ""}${extra.length > 0 && missing.length > 0 ? ", and " : ""}${missing.length > 0 ? `leave out ${missing.join(", ")}` : ""}; allowed: exactly the configured alertEmails on every notification. ${FIX}`,
                    x.b.urn,
                );
            }
        },
    );
}
