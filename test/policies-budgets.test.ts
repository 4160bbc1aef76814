/**
 * budgets-within-caps, condition by condition: each guard on both sides (the designed value, the refused one, the
 * value just past the boundary), per environment where the guardrails differ, and "another budget / another
 * notification" cases. The happy-path stack (test/fixtures/policies/stackResources.ts) changes one thing per test.
 */
import { accountSharedWith, Guardrails } from "../core/guardrails";
import { AWS_TAG, BACKLOG_ITEM } from "../core/conventions";
import { LLM_SERVICE_FILTER, environmentScope, thresholdPercent } from "../budgets/specs";
import { BUDGETS_POLICY, alertPercent, budgetsPolicy, isLlmBudget } from "../policies/budgets";
import {
    FixtureResource,
    FixtureStack,
    fixtureContext,
    happyStack,
    policyResources,
} from "./fixtures/policies/stackResources";
import { runStack } from "./fixtures/policies/run";
import { guardrails, STACKS } from "./fixtures/shipped";

const ctx = fixtureContext(guardrails);
const BUDGET = "aws:budgets/budget:Budget";
const FIX =
    "Fix: deploy the budgets from the validated stack config (components/costBudgets.ts); never raise a budget above its guardrail.";
const CAPS_AT = "guardrails/guardrails.yaml /cost/caps";
const percent = thresholdPercent(guardrails.cost.alertThreshold);
const shared = STACKS.find((e) => accountSharedWith(guardrails, e).length > 0)!;
const own = STACKS.find((e) => accountSharedWith(guardrails, e).length === 0)!;
/** An environment whose guardrails cap LLM spend (prod in the shipped file). */
const llmCapped = STACKS.find((e) => guardrails.cost.caps[e].llmMonthlyUsd !== undefined)!;
const llmCap = (env: string) => guardrails.cost.caps[env].llmMonthlyUsd as number;
/** Another AWS service's filter: a budget filtered by it is neither the total nor the LLM budget. */
const OTHER_SERVICE = { dimensions: { key: "SERVICE", values: ["Amazon Elastic Compute Cloud - Compute"] } };

const reported = (s: FixtureStack, c = ctx) => runStack(budgetsPolicy(c), s.resources);
const messages = (s: FixtureStack, c = ctx) => reported(s, c).map((v) => v.message);

type Notification = Record<string, unknown>;
/** The budget's notifications, its own copy (the fixture's budgets share one array). */
function notificationsOf(s: FixtureStack, name: string): Notification[] {
    const r = s.byName(name);
    const own = (r.props.notifications as Notification[]).map((n) => ({ ...n }));
    r.props.notifications = own;
    return own;
}
const actualAtThreshold = (ns: Notification[]) =>
    ns.find((n) => n.notificationType === "ACTUAL" && n.threshold === percent)!;
const actualAtLimit = (ns: Notification[]) => ns.find((n) => n.notificationType === "ACTUAL" && n.threshold === 100)!;
const forecasted = (ns: Notification[]) => ns.find((n) => n.notificationType === "FORECASTED")!;

/** A copy of the named budget, added to the stack under another name. */
function extraBudget(s: FixtureStack, from: string, name: string, props: Record<string, unknown>): FixtureResource {
    const r = s.byName(from);
    const extra: FixtureResource = { ...r, name, urn: r.urn.replace(`::${from}`, `::${name}`), props: { ...r.props } };
    for (const [k, v] of Object.entries(props)) {
        if (v === undefined) {
            delete extra.props[k];
        } else {
            extra.props[k] = v;
        }
    }
    s.resources.push(extra);
    return extra;
}

/** The one violation of a budget: `<type> "<name>": <problems>. Fix: ...`. */
const budgetMessage = (name: string, problems: string) => `${BUDGET} "${name}": ${problems}. ${FIX}`;

/** Guardrails in which every environment caps LLM spend (half its monthly cap where the shipped file sets none). */
const everyEnvLlmCapped: Guardrails = {
    ...guardrails,
    cost: {
        ...guardrails.cost,
        caps: Object.fromEntries(
            Object.entries(guardrails.cost.caps).map(([e, c]) => [
                e,
                { ...c, llmMonthlyUsd: c.llmMonthlyUsd ?? c.monthlyUsd / 2 },
            ]),
        ),
    },
};

describe(`${BUDGETS_POLICY}: the monthly total budget`, () => {
    it.each(STACKS)("passes the %s stack as designed", (env) => {
        expect(reported(happyStack(guardrails, env))).toEqual([]);
    });

    it.each(STACKS)("refuses a %s stack without it, naming the filter it needs, the cap and where it is set", (env) => {
        const s = happyStack(guardrails, env);
        s.resources.splice(s.resources.indexOf(s.byName("budgets-total")), 1);
        const scope =
            accountSharedWith(guardrails, env).length > 0
                ? `filterExpression ${JSON.stringify(environmentScope(env))}`
                : "no cost filter";
        expect(reported(s)).toEqual([
            {
                message: `the ${env} stack has no monthly cost budget (a ${BUDGET} with ${scope}) guarding its cap of ${guardrails.cost.caps[env].monthlyUsd} ${guardrails.cost.currency} (${CAPS_AT}/${env}/monthlyUsd). ${FIX}`,
                urn: s.byName(`maestro-guardrails-${env}`).urn,
            },
        ]);
    });

    it("in an account of its own, takes a filter the engine spells empty (null, [], {}) for no filter", () => {
        const s = happyStack(guardrails, own);
        s.byName("budgets-total").props.filterExpression = { dimensions: null, tags: undefined, ands: [], ors: [] };
        expect(reported(s)).toEqual([]);
    });

    it("in an account of its own, takes a null filter for no filter", () => {
        const s = happyStack(guardrails, own);
        s.byName("budgets-total").props.filterExpression = null;
        expect(reported(s)).toEqual([]);
    });

    it("in an account of its own, counts no filtered budget as the total one", () => {
        const s = happyStack(guardrails, own);
        s.byName("budgets-total").props.filterExpression = OTHER_SERVICE;
        expect(messages(s)).toEqual([expect.stringContaining(`the ${own} stack has no monthly cost budget`)]);
    });

    it("counts no budget with legacy costFilters (a list or a map) as the total one, and takes empty ones as none", () => {
        for (const costFilters of [
            [{ name: "Service", values: ["Amazon Bedrock"] }],
            { Service: ["Amazon Bedrock"] },
        ]) {
            const s = happyStack(guardrails, own);
            s.byName("budgets-total").props.costFilters = costFilters;
            expect(messages(s)).toEqual([expect.stringContaining(`the ${own} stack has no monthly cost budget`)]);
        }
        for (const costFilters of [[], {}, null]) {
            const s = happyStack(guardrails, own);
            s.byName("budgets-total").props.costFilters = costFilters;
            expect(reported(s)).toEqual([]);
        }
    });

    it("in a shared account, takes the environment's tag scope spelled in another order or with EQUALS spelled out", () => {
        const s = happyStack(guardrails, shared);
        const scope = environmentScope(shared);
        s.byName("budgets-total").props.filterExpression = {
            ors: (scope.ors ?? []).map((o) => ({
                tags: { matchOptions: ["EQUALS"], values: o.tags?.values, key: o.tags?.key },
            })),
        };
        expect(reported(s)).toEqual([]);
    });

    it("in a shared account, counts a budget scoped to another environment as no total budget", () => {
        const s = happyStack(guardrails, shared);
        const other = STACKS.find((e) => e !== shared)!;
        s.byName("budgets-total").props.filterExpression = environmentScope(other);
        const out = messages(s);
        expect(out[0]).toContain(`the ${shared} stack has no monthly cost budget`);
        expect(out[1]).toContain(`${BUDGET} "budgets-total": the ${shared} account is shared with`);
    });
});

describe(`${BUDGETS_POLICY}: the LLM budget`, () => {
    it(`refuses a ${llmCapped} stack whose only filtered budget watches another service, naming the LLM filter and cap`, () => {
        const s = happyStack(guardrails, llmCapped);
        s.byName("budgets-llm").props.filterExpression = OTHER_SERVICE;
        expect(reported(s)).toEqual([
            {
                message: `the ${llmCapped} stack has no LLM budget (a ${BUDGET} whose filterExpression is or ANDs in ${JSON.stringify(LLM_SERVICE_FILTER)}) guarding the LLM cap of ${llmCap(llmCapped)} ${guardrails.cost.currency} (${CAPS_AT}/${llmCapped}/llmMonthlyUsd). ${FIX}`,
                urn: s.byName(`maestro-guardrails-${llmCapped}`).urn,
            },
        ]);
    });

    it("counts no budget carrying legacy costFilters as the LLM budget, even beside the LLM filter", () => {
        const s = happyStack(guardrails, llmCapped);
        s.byName("budgets-llm").props.costFilters = { Service: ["Amazon Bedrock"] };
        expect(messages(s)).toEqual([expect.stringContaining(`the ${llmCapped} stack has no LLM budget`)]);
    });

    it("counts a filter that ORs the LLM services with another as no LLM budget", () => {
        const s = happyStack(guardrails, llmCapped);
        s.byName("budgets-llm").props.filterExpression = { ors: [LLM_SERVICE_FILTER, OTHER_SERVICE] };
        expect(messages(s)).toEqual([expect.stringContaining(`the ${llmCapped} stack has no LLM budget`)]);
    });

    it("counts a filter that ANDs the LLM services with another condition as the LLM budget", () => {
        const s = happyStack(guardrails, llmCapped);
        s.byName("budgets-llm").props.filterExpression = {
            ands: [{ tags: { key: "team", values: ["ml"] } }, LLM_SERVICE_FILTER],
        };
        expect(reported(s)).toEqual([]);
    });

    it("holds a filtered budget that is not the LLM one to the monthly cap, not the LLM cap", () => {
        const s = happyStack(guardrails, llmCapped);
        const cap = guardrails.cost.caps[llmCapped];
        const between = (llmCap(llmCapped) + cap.monthlyUsd) / 2;
        extraBudget(s, "budgets-total", "budgets-compute", {
            filterExpression: OTHER_SERVICE,
            limitAmount: String(between),
        });
        expect(reported(s)).toEqual([]);
    });

    it(`refuses the LLM budget over the LLM cap in ${llmCapped}, naming that cap and where it is set`, () => {
        const s = happyStack(guardrails, llmCapped);
        const over = llmCap(llmCapped) * 2;
        s.byName("budgets-llm").props.limitAmount = String(over);
        expect(messages(s)).toEqual([
            budgetMessage(
                "budgets-llm",
                `limitAmount ${over} is over the ${llmCapped} LLM cap; allowed: > 0 and <= ${llmCap(llmCapped)} (${CAPS_AT}/${llmCapped}/llmMonthlyUsd)`,
            ),
        ]);
    });

    it.each(STACKS.filter((e) => guardrails.cost.caps[e].llmMonthlyUsd === undefined))(
        "holds the %s LLM budget (no LLM cap there) to the monthly cap",
        (env) => {
            const cap = guardrails.cost.caps[env].monthlyUsd;
            const s = happyStack(guardrails, env);
            s.byName("budgets-llm").props.limitAmount = String(cap);
            expect(reported(s)).toEqual([]);
            s.byName("budgets-llm").props.limitAmount = String(cap * 2);
            expect(messages(s)).toEqual([
                budgetMessage(
                    "budgets-llm",
                    `limitAmount ${cap * 2} is over the ${env} LLM cap; allowed: > 0 and <= ${cap} (${CAPS_AT}/${env}/monthlyUsd)`,
                ),
            ]);
        },
    );

    it("needs no LLM budget where the guardrails set no LLM cap", () => {
        for (const env of STACKS.filter((e) => guardrails.cost.caps[e].llmMonthlyUsd === undefined)) {
            const s = happyStack(guardrails, env);
            s.resources.splice(s.resources.indexOf(s.byName("budgets-llm")), 1);
            expect(reported(s)).toEqual([]);
        }
    });

    it("in a shared account with an LLM cap, takes the LLM filter ANDed with the environment's scope as the LLM budget", () => {
        const capped = fixtureContext(everyEnvLlmCapped);
        const s = happyStack(everyEnvLlmCapped, shared);
        expect(reported(s, capped)).toEqual([]);
        s.byName("budgets-llm").props.limitAmount = String(
            (everyEnvLlmCapped.cost.caps[shared].llmMonthlyUsd as number) * 2,
        );
        expect(messages(s, capped)[0]).toContain(`is over the ${shared} LLM cap`);
    });

    it.each([
        ["EQUALS spelled out on the first-party service", [{ matchOptions: ["EQUALS"] }, {}], true],
        ["two match options", [{ matchOptions: ["EQUALS", "EQUALS"] }, {}], false],
        ["another match option", [{ matchOptions: ["CASE_SENSITIVE"] }, {}], false],
        ["a match option that is no list", [{ matchOptions: { 0: "EQUALS", length: 1 } }, {}], false],
        ["the Marketplace suffix matched exactly", [{}, { matchOptions: ["EQUALS"] }], false],
    ])("reads an LLM filter with %s as %s", (_what, changes, llm) => {
        const ors = (LLM_SERVICE_FILTER.ors ?? []).map((o, i) => ({
            dimensions: { ...o.dimensions, ...(changes as Array<Record<string, unknown>>)[i] },
        }));
        const s = happyStack(guardrails, llmCapped);
        s.byName("budgets-llm").props.filterExpression = { ors };
        expect(messages(s)).toEqual(llm ? [] : [expect.stringContaining(`the ${llmCapped} stack has no LLM budget`)]);
    });

    it("reads only matchOptions as defaulting to EQUALS, not another field holding it", () => {
        const s = happyStack(guardrails, llmCapped);
        s.byName("budgets-llm").props.filterExpression = { ...LLM_SERVICE_FILTER, extra: ["EQUALS"] };
        expect(messages(s)).toEqual([expect.stringContaining(`the ${llmCapped} stack has no LLM budget`)]);
    });

    it("tells the LLM budget apart by its filter alone (isLlmBudget)", () => {
        const [llm, total] = policyResources([
            happyStack(guardrails, own).byName("budgets-llm"),
            happyStack(guardrails, own).byName("budgets-total"),
        ]);
        expect([isLlmBudget(llm), isLlmBudget(total)]).toEqual([true, false]);
    });
});

describe(`${BUDGETS_POLICY}: the limit`, () => {
    it.each(STACKS)("takes a %s total budget of exactly the cap and refuses one a cent over it", (env) => {
        const cap = guardrails.cost.caps[env].monthlyUsd;
        const s = happyStack(guardrails, env);
        s.byName("budgets-total").props.limitAmount = String(cap);
        expect(reported(s)).toEqual([]);
        s.byName("budgets-total").props.limitAmount = String(cap + 0.01);
        expect(messages(s)).toEqual([
            budgetMessage(
                "budgets-total",
                `limitAmount ${cap + 0.01} is over the ${env} cap; allowed: > 0 and <= ${cap} (${CAPS_AT}/${env}/monthlyUsd)`,
            ),
        ]);
    });

    it.each(["0", "-1", "lots", ""])("refuses a limit of %j (not a positive amount)", (limit) => {
        const s = happyStack(guardrails, "dev");
        s.byName("budgets-total").props.limitAmount = limit;
        expect(messages(s)).toEqual([
            budgetMessage(
                "budgets-total",
                `limitAmount ${limit} is over the dev cap; allowed: > 0 and <= ${guardrails.cost.caps.dev.monthlyUsd} (${CAPS_AT}/dev/monthlyUsd)`,
            ),
        ]);
    });

    it("takes the smallest positive limit", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("budgets-total").props.limitAmount = "0.01";
        expect(reported(s)).toEqual([]);
    });

    it("names each budget it refuses, on its own URN, and leaves the others alone", () => {
        const s = happyStack(guardrails, own);
        s.byName("budgets-llm").props.limitAmount = "0";
        expect(reported(s)).toEqual([
            {
                message: expect.stringContaining(`${BUDGET} "budgets-llm": limitAmount 0`) as string,
                urn: s.byName("budgets-llm").urn,
            },
        ]);
    });
});

describe(`${BUDGETS_POLICY}: currency, type, period, cost types`, () => {
    const one = (change: (props: Record<string, unknown>) => void) => {
        const s = happyStack(guardrails, "dev");
        change(s.byName("budgets-total").props);
        return messages(s);
    };

    it("refuses another currency, naming the guardrail's", () => {
        expect(one((p) => (p.limitUnit = "EUR"))).toEqual([
            budgetMessage("budgets-total", `limitUnit is "EUR"; allowed: "${guardrails.cost.currency}"`),
        ]);
    });

    it("refuses a usage budget", () => {
        expect(one((p) => (p.budgetType = "USAGE"))).toEqual([
            budgetMessage("budgets-total", `budgetType is "USAGE"; allowed: "COST"`),
        ]);
    });

    it("refuses a quarterly budget", () => {
        expect(one((p) => (p.timeUnit = "QUARTERLY"))).toEqual([
            budgetMessage("budgets-total", `timeUnit is "QUARTERLY"; the caps are monthly; allowed: "MONTHLY"`),
        ]);
    });

    it("refuses a period that starts in the future, with or without a time of day", () => {
        for (const start of ["2099-01-01_00:00", "2099-01-01"]) {
            expect(one((p) => (p.timePeriodStart = start))).toEqual([
                budgetMessage(
                    "budgets-total",
                    `timePeriodStart ${start} is in the future, so the budget watches nothing until then; allowed: unset (active from its creation)`,
                ),
            ]);
        }
    });

    it("takes a period that starts this very minute", () => {
        const now = jest.spyOn(Date, "now").mockReturnValue(Date.UTC(2030, 0, 1, 12, 30));
        try {
            expect(one((p) => (p.timePeriodStart = "2030-01-01_12:30"))).toEqual([]);
            expect(one((p) => (p.timePeriodStart = "2030-01-01_12:31"))).toHaveLength(1);
        } finally {
            now.mockRestore();
        }
    });

    it("takes a period that started in the past, or an unset start", () => {
        for (const start of ["2020-01-01_00:00", "2020-01-01", "", null, undefined]) {
            expect(one((p) => (p.timePeriodStart = start))).toEqual([]);
        }
    });

    it("refuses a start that is not a Budgets date", () => {
        for (const start of [
            "next month",
            "2020-01-01T00:00:00Z",
            "2020-1-1",
            20200101,
            ["2099-01-01"],
            "x2099-01-01",
        ]) {
            expect(one((p) => (p.timePeriodStart = start))).toEqual([
                budgetMessage("budgets-total", `timePeriodStart "${String(start)}" is not a date; allowed: unset`),
            ]);
        }
    });

    it("takes Budgets' own no-end date or an unset end, and refuses any earlier end", () => {
        for (const end of ["2087-06-15_00:00", "2087-06-15", "2099-01-01_00:00", "", null]) {
            expect(one((p) => (p.timePeriodEnd = end))).toEqual([]);
        }
        for (const end of ["2087-06-14_23:59", "2087-06-14", "2087-05-15_00:00", "2030-01-01_00:00"]) {
            expect(one((p) => (p.timePeriodEnd = end))).toEqual([
                budgetMessage("budgets-total", `timePeriodEnd ${end} ends the budget; allowed: unset (no end)`),
            ]);
        }
    });

    it("refuses an end that is not a Budgets date", () => {
        expect(one((p) => (p.timePeriodEnd = "never"))).toEqual([
            budgetMessage("budgets-total", "timePeriodEnd never ends the budget; allowed: unset (no end)"),
        ]);
    });

    it("refuses counting credits or refunds, one problem each, and unset cost types", () => {
        const why = "(budgets/specs.ts: credits and refunds never hide spend)";
        expect(one((p) => (p.costTypes = { includeCredit: true, includeRefund: false }))).toEqual([
            budgetMessage("budgets-total", `costTypes.includeCredit is true; allowed: false ${why}`),
        ]);
        expect(one((p) => (p.costTypes = { includeCredit: false, includeRefund: true }))).toEqual([
            budgetMessage("budgets-total", `costTypes.includeRefund is true; allowed: false ${why}`),
        ]);
        expect(one((p) => delete p.costTypes)).toEqual([
            budgetMessage(
                "budgets-total",
                `costTypes.includeCredit is unset; allowed: false ${why}; costTypes.includeRefund is unset; allowed: false ${why}`,
            ),
        ]);
    });
});

describe(`${BUDGETS_POLICY}: notifications`, () => {
    const breach = "no ACTUAL notification at 100% of the limit or earlier (the cap is breached)";
    const early = (kind: string) =>
        `no ${kind} notification at ${percent}% of the limit or earlier (GREATER_THAN, PERCENTAGE; guardrails/guardrails.yaml /cost/alertThreshold)`;
    const problemsOf = (s: FixtureStack) => messages(s).join("\n");

    it("reads the threshold as the guardrail's share in percent", () => {
        expect(alertPercent(ctx)).toBe(percent);
    });

    it("takes the breach alert at exactly 100% and refuses it past 100%", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        // Without the early ACTUAL alert, the one at the limit is the only ACTUAL notification.
        ns.splice(ns.indexOf(actualAtThreshold(ns)), 1);
        expect(problemsOf(s)).not.toContain(breach);
        expect(problemsOf(s)).toContain(early("ACTUAL"));
        actualAtLimit(ns).threshold = 100.5;
        expect(problemsOf(s)).toContain(breach);
    });

    it.each([
        ["an absolute amount", { thresholdType: "ABSOLUTE_VALUE" }],
        ["spend below the threshold", { comparisonOperator: "LESS_THAN" }],
        ["forecast spend", { notificationType: "FORECASTED" }],
        ["a threshold that is not a number", { threshold: "80" }],
    ])("counts no ACTUAL notification on %s as the breach or early alert", (_what, change) => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        Object.assign(actualAtThreshold(ns), change);
        Object.assign(actualAtLimit(ns), change);
        const text = problemsOf(s);
        expect(text).toContain(breach);
        expect(text).toContain(early("ACTUAL"));
    });

    it.each([
        ["an absolute amount", { thresholdType: "ABSOLUTE_VALUE" }],
        ["spend below the threshold", { comparisonOperator: "LESS_THAN" }],
        ["actual spend", { notificationType: "ACTUAL" }],
        ["a threshold that is not a number", { threshold: String(percent) }],
    ])("counts no FORECASTED notification on %s as the early alert", (_what, change) => {
        const s = happyStack(guardrails, "dev");
        Object.assign(forecasted(notificationsOf(s, "budgets-total")), change);
        expect(messages(s)).toEqual([budgetMessage("budgets-total", early("FORECASTED"))]);
    });

    it("takes early alerts at or below the guardrail's threshold and refuses one just past it", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        const [actual, forecast] = [actualAtThreshold(ns), forecasted(ns)];
        forecast.threshold = percent / 2;
        actual.threshold = percent / 2;
        expect(reported(s)).toEqual([]);
        forecast.threshold = percent + 0.01;
        expect(messages(s)).toEqual([budgetMessage("budgets-total", early("FORECASTED"))]);
        forecast.threshold = percent;
        actual.threshold = percent + 0.01;
        expect(messages(s)).toEqual([budgetMessage("budgets-total", early("ACTUAL"))]);
    });

    it("takes an early alert with only an email or only a topic subscriber, and refuses one with neither", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        // Every budget's notifications keep the same recipients, so the email goes from all of them at once.
        const f = forecasted(ns);
        f.subscriberEmailAddresses = [];
        expect(messages(s).join("\n")).not.toContain("has no subscriber");
        f.subscriberEmailAddresses = ["platform-alerts@maestro.example"];
        f.subscriberSnsTopicArns = [];
        expect(reported(s)).toEqual([]);
        f.subscriberEmailAddresses = undefined;
        f.subscriberSnsTopicArns = undefined;
        expect(messages(s).join("\n")).toContain(
            `its FORECASTED notification at ${percent}% has no subscriber (SNS topic or email)`,
        );
    });

    it("takes a second early alert with nobody to tell beside one that tells someone", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        ns.push({ ...forecasted(ns), subscriberSnsTopicArns: [], subscriberEmailAddresses: [] });
        expect(messages(s).join("\n")).not.toContain("has no subscriber");
    });

    it("refuses notifications that reach no SNS topic of the stack's own: none, a foreign one, or another resource", () => {
        const problem = `its notifications go to no SNS topic of the stack's own (an aws:sns/topic:Topic serving ${BACKLOG_ITEM.costBudgets}); allowed: the CostBudgets topic`;
        const s = happyStack(guardrails, "dev");
        const total = s.byName("budgets-total");
        total.deps = {};
        expect(messages(s)).toEqual([budgetMessage("budgets-total", problem)]);
        // A topic stamped for another backlog item, beside the stack's own.
        const foreign: FixtureResource = {
            ...s.byName("budgets-alerts"),
            name: "foreign-topic",
            urn: s.byName("budgets-alerts").urn.replace("::budgets-alerts", "::foreign-topic"),
            props: {
                ...s.byName("budgets-alerts").props,
                tags: {
                    ...(s.byName("budgets-alerts").props.tags as object),
                    [AWS_TAG.backlogItem]: BACKLOG_ITEM.provenanceBucket,
                },
            },
        };
        s.resources.push(foreign);
        total.deps = { notifications: [s.byName("budgets-alerts").urn, foreign.urn] };
        expect(messages(s)).toEqual([budgetMessage("budgets-total", problem)]);
        total.deps = { notifications: [s.byName("budgets-alerts-policy").urn] };
        expect(messages(s)).toEqual([budgetMessage("budgets-total", problem)]);
        total.deps = { notifications: [s.byName("budgets-alerts-policy").urn, s.byName("budgets-alerts").urn] };
        expect(reported(s)).toEqual([]);
    });
});

describe(`${BUDGETS_POLICY}: every notification reaches the same people`, () => {
    const emails = (n: Notification) => n.subscriberEmailAddresses as string[];
    const odd = (problems: string) =>
        `its notifications ${problems}; allowed: exactly the configured alertEmails on every notification. ${FIX}`;

    it("takes the same recipients in another order or repeated", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        ns.forEach((n) => (n.subscriberEmailAddresses = ["b@maestro.example", "platform-alerts@maestro.example"]));
        const llm = notificationsOf(s, "budgets-llm");
        llm.forEach(
            (n) =>
                (n.subscriberEmailAddresses = [
                    "platform-alerts@maestro.example",
                    "b@maestro.example",
                    "b@maestro.example",
                ]),
        );
        expect(reported(s)).toEqual([]);
    });

    it("refuses a budget whose one notification adds someone, once per budget, on the budget", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-llm");
        ns[0].subscriberEmailAddresses = [...emails(ns[0]), "someone@elsewhere.example"];
        ns[1].subscriberEmailAddresses = [...emails(ns[1]), "someone@elsewhere.example"];
        expect(reported(s)).toEqual([
            {
                message: `${BUDGET} "budgets-llm": ${odd("go to someone@elsewhere.example, whom the stack's other budget notifications do not notify")}`,
                urn: s.byName("budgets-llm").urn,
            },
        ]);
    });

    it("refuses a budget whose notification leaves someone out", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        ns[2].subscriberEmailAddresses = [];
        expect(messages(s)).toEqual([`${BUDGET} "budgets-total": ${odd("leave out platform-alerts@maestro.example")}`]);
    });

    it("reads a notification without email subscribers as notifying nobody by email", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        ns[2].subscriberEmailAddresses = undefined;
        expect(messages(s)).toEqual([`${BUDGET} "budgets-total": ${odd("leave out platform-alerts@maestro.example")}`]);
    });

    it("lists everyone added and everyone left out", () => {
        const s = happyStack(guardrails, "dev");
        notificationsOf(s, "budgets-total").forEach(
            (n) => (n.subscriberEmailAddresses = ["a@maestro.example", "b@maestro.example"]),
        );
        notificationsOf(s, "budgets-llm").forEach(
            (n) => (n.subscriberEmailAddresses = ["a@maestro.example", "b@maestro.example"]),
        );
        const total = notificationsOf(s, "budgets-total");
        total[0].subscriberEmailAddresses = ["c@maestro.example", "d@maestro.example"];
        expect(messages(s)).toEqual([
            `${BUDGET} "budgets-total": ${odd("go to c@maestro.example, d@maestro.example, whom the stack's other budget notifications do not notify, and leave out a@maestro.example, b@maestro.example")}`,
        ]);
    });

    it("asks nothing of recipients when no budget notifies anyone", () => {
        const s = happyStack(guardrails, "dev");
        s.byName("budgets-total").props.notifications = [];
        delete s.byName("budgets-llm").props.notifications;
        expect(messages(s)).toEqual([
            budgetMessage(
                "budgets-total",
                `no ACTUAL notification at 100% of the limit or earlier (the cap is breached); no ACTUAL notification at ${percent}% of the limit or earlier (GREATER_THAN, PERCENTAGE; guardrails/guardrails.yaml /cost/alertThreshold); no FORECASTED notification at ${percent}% of the limit or earlier (GREATER_THAN, PERCENTAGE; guardrails/guardrails.yaml /cost/alertThreshold)`,
            ),
            budgetMessage(
                "budgets-llm",
                `no ACTUAL notification at 100% of the limit or earlier (the cap is breached); no ACTUAL notification at ${percent}% of the limit or earlier (GREATER_THAN, PERCENTAGE; guardrails/guardrails.yaml /cost/alertThreshold); no FORECASTED notification at ${percent}% of the limit or earlier (GREATER_THAN, PERCENTAGE; guardrails/guardrails.yaml /cost/alertThreshold)`,
            ),
        ]);
    });

    it("names both who is added and who is left out", () => {
        const s = happyStack(guardrails, "dev");
        const ns = notificationsOf(s, "budgets-total");
        ns[1].subscriberEmailAddresses = ["someone@elsewhere.example"];
        expect(messages(s)).toEqual([
            `${BUDGET} "budgets-total": ${odd("go to someone@elsewhere.example, whom the stack's other budget notifications do not notify, and leave out platform-alerts@maestro.example")}`,
        ]);
    });

    it("takes the recipients most notifications have as the configured ones, the first in order on a tie", () => {
        const s = happyStack(guardrails, "dev");
        const total = notificationsOf(s, "budgets-total");
        const llm = notificationsOf(s, "budgets-llm");
        // Three notifications each: a tie between the two budgets' recipients.
        total.forEach((n) => (n.subscriberEmailAddresses = ["b@maestro.example"]));
        llm.forEach((n) => (n.subscriberEmailAddresses = ["a@maestro.example"]));
        expect(messages(s)).toEqual([
            `${BUDGET} "budgets-total": ${odd("go to b@maestro.example, whom the stack's other budget notifications do not notify, and leave out a@maestro.example")}`,
        ]);
        // One more notification to b: b is now what most notifications say.
        total.push({ ...total[0] });
        expect(messages(s)).toEqual([
            `${BUDGET} "budgets-llm": ${odd("go to a@maestro.example, whom the stack's other budget notifications do not notify, and leave out b@maestro.example")}`,
        ]);
    });
});

/** Guardrails in which every environment deploys to one account. */
const oneAccount: Guardrails = {
    ...guardrails,
    accounts: Object.fromEntries(STACKS.map((e) => [e, guardrails.accounts[shared]])),
};

describe(`${BUDGETS_POLICY} in a shared account`, () => {
    it("names every environment the account is shared with", () => {
        const c = fixtureContext(oneAccount);
        const s = happyStack(oneAccount, "dev");
        const others = accountSharedWith(oneAccount, "dev");
        expect(others).toHaveLength(STACKS.length - 1);
        extraBudget(s, "budgets-total", "budgets-compute", { filterExpression: OTHER_SERVICE });
        s.resources.splice(s.resources.indexOf(s.byName("budgets-cost-tag-0")), 1);
        expect(messages(s, c)).toEqual([
            expect.stringContaining(
                `the dev stack shares its AWS account with ${others.join(", ")} (guardrails/guardrails.yaml /accounts)`,
            ),
            expect.stringContaining(
                `"budgets-compute": the dev account is shared with ${others.join(", ")} (guardrails/guardrails.yaml /accounts)`,
            ),
        ]);
    });

    const problem = (env: string) =>
        `the ${env} account is shared with ${accountSharedWith(guardrails, env).join(", ")} (guardrails/guardrails.yaml /accounts), so this budget would count their spend too; allowed: a filterExpression that is or ANDs in ${JSON.stringify(environmentScope(env))}, and no costFilters`;

    it("reads a null item in a filter's list as a null item, not as no scope: the scope with it is another filter", () => {
        const s = happyStack(guardrails, shared);
        extraBudget(s, "budgets-total", "budgets-compute", {
            filterExpression: { ors: [...(environmentScope(shared).ors ?? []), null] },
        });
        expect(messages(s)).toEqual([budgetMessage("budgets-compute", problem(shared))]);
    });

    it("refuses a budget without the environment's scope, naming the other environments and the filter it needs", () => {
        const s = happyStack(guardrails, shared);
        extraBudget(s, "budgets-total", "budgets-compute", { filterExpression: OTHER_SERVICE });
        expect(messages(s)).toEqual([budgetMessage("budgets-compute", problem(shared))]);
    });

    it("takes a budget that ANDs the scope with another condition", () => {
        const s = happyStack(guardrails, shared);
        extraBudget(s, "budgets-total", "budgets-compute", {
            filterExpression: { ands: [OTHER_SERVICE, environmentScope(shared)] },
        });
        expect(reported(s)).toEqual([]);
    });

    it("refuses the scope beside legacy costFilters", () => {
        const s = happyStack(guardrails, shared);
        s.byName("budgets-llm").props.costFilters = [{ name: "Service", values: ["Amazon Bedrock"] }];
        expect(messages(s)).toEqual([budgetMessage("budgets-llm", problem(shared))]);
    });

    it("refuses a stack that does not activate every cost allocation tag its budgets filter by", () => {
        const s = happyStack(guardrails, shared);
        const tags = s.resources.filter((r) => r.type === "aws:costexplorer/costAllocationTag:CostAllocationTag");
        tags.forEach((t) => (t.props.status = "Inactive"));
        const keys = tags.map((t) => t.props.tagKey as string);
        expect(reported(s)).toEqual([
            {
                message: `the ${shared} stack shares its AWS account with ${accountSharedWith(guardrails, shared).join(", ")} (guardrails/guardrails.yaml /accounts) but does not activate the cost allocation tag(s) ${keys.join(", ")} its budgets filter by (a aws:costexplorer/costAllocationTag:CostAllocationTag with status "Active"). ${FIX}`,
                urn: s.byName(`maestro-guardrails-${shared}`).urn,
            },
        ]);
    });

    it("counts only CostAllocationTag resources as activations", () => {
        const s = happyStack(guardrails, shared);
        const tag = s.byName("budgets-cost-tag-0");
        tag.type = "aws:sns/topic:Topic";
        expect(messages(s)).toEqual([
            expect.stringContaining(`does not activate the cost allocation tag(s) ${tag.props.tagKey as string} `),
        ]);
    });

    it("asks an account of its own for no scope and no tags", () => {
        const s = happyStack(guardrails, own);
        extraBudget(s, "budgets-total", "budgets-compute", { filterExpression: OTHER_SERVICE });
        expect(reported(s)).toEqual([]);
    });
});
