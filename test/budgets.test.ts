import {
    BudgetSpec,
    LLM_SERVICES,
    MAX_EMAIL_SUBSCRIBERS,
    budgetNotifications,
    budgetSpecs,
    budgetTopicPolicy,
    thresholdPercent,
} from "../budgets/specs";
import { CostBudgets } from "../components/costBudgets";
import { AWS_TAG, BACKLOG_ITEM } from "../core/conventions";
import { RegisteredResource } from "../offline/mockRuntime";
import { StackConfig } from "../core/stackConfig";
import { byName, inputs, ofType, resolveEvidence, runComponents, stackConfig } from "./fixtures/provenance/awsProgram";
import { KEY, STACKS, guardrails } from "./helpers";

/** The guardrail's alert threshold as a Budgets percentage, derived, never typed. */
const GUARDRAIL_PERCENT = guardrails.cost.alertThreshold * 100;

describe.each(STACKS)("budgets of %s", (stack) => {
    const config = stackConfig(stack);
    const cap = guardrails.cost.caps[stack];
    const specs = budgetSpecs(config, guardrails);
    const spec = (kind: BudgetSpec["kind"]) => specs.find((s) => s.kind === kind) as BudgetSpec;

    it("limits total monthly spend to the configured budget, within the environment's guardrail cap", () => {
        expect(spec("total")).toMatchObject({
            budgetType: "COST",
            timeUnit: "MONTHLY",
            limitAmount: String(config.monthlyBudgetUsd),
            limitUnit: guardrails.cost.currency,
            costFilters: [],
        });
        expect(config.monthlyBudgetUsd).toBeLessThanOrEqual(cap.monthlyUsd);
        // No stack file sets monthlyBudgetUsd, so each budget is the guardrail cap itself.
        expect(Number(spec("total").limitAmount)).toBe(cap.monthlyUsd);
    });

    it("limits LLM spend to the configured LLM budget (the guardrail's LLM cap where one exists), filtered to the LLM services", () => {
        expect(spec("llm")).toMatchObject({
            budgetType: "COST",
            timeUnit: "MONTHLY",
            limitAmount: String(config.llmBudgetUsd),
            costFilters: [{ name: "Service", values: [...LLM_SERVICES] }],
        });
        expect(config.llmBudgetUsd).toBeLessThanOrEqual(
            Math.min(cap.llmMonthlyUsd ?? Infinity, config.monthlyBudgetUsd),
        );
        if (cap.llmMonthlyUsd !== undefined) {
            expect(Number(spec("llm").limitAmount)).toBe(cap.llmMonthlyUsd);
        }
    });

    it("notifies at the guardrail's threshold of ACTUAL and FORECASTED spend (PERCENTAGE), and at the whole limit", () => {
        for (const s of specs) {
            expect(s.notifications).toEqual([
                {
                    comparisonOperator: "GREATER_THAN",
                    notificationType: "ACTUAL",
                    threshold: GUARDRAIL_PERCENT,
                    thresholdType: "PERCENTAGE",
                },
                {
                    comparisonOperator: "GREATER_THAN",
                    notificationType: "FORECASTED",
                    threshold: GUARDRAIL_PERCENT,
                    thresholdType: "PERCENTAGE",
                },
                {
                    comparisonOperator: "GREATER_THAN",
                    notificationType: "ACTUAL",
                    threshold: 100,
                    thresholdType: "PERCENTAGE",
                },
            ]);
        }
    });

    it("does not let credits or refunds hide spend", () => {
        for (const s of specs) {
            expect(s.costTypes).toEqual({ includeCredit: false, includeRefund: false });
        }
    });

    it("notifies earlier when the stack tightens the threshold", () => {
        const tighter = stackConfig(
            stack,
            (f) =>
                (f[KEY("guardrailOverrides")] = JSON.stringify({
                    costAlertThreshold: guardrails.cost.alertThreshold / 2,
                })),
        );
        const [total] = budgetSpecs(tighter, guardrails);
        expect(total.notifications.map((n) => n.threshold)).toEqual([
            GUARDRAIL_PERCENT / 2,
            GUARDRAIL_PERCENT / 2,
            100,
        ]);
    });

    describe("under the mock runtime, with the evidence transformation registered", () => {
        let resources: RegisteredResource[];
        let accountId: string;
        beforeAll(async () => {
            ({ resources, accountId } = await runComponents(
                config,
                () => new CostBudgets("budgets", { config, guardrails }),
            ));
        });

        it("registers the two budgets with limits, filter and notifications to the topic and the recipients", () => {
            const topicArn = inputs(byName(resources, "budgets-alerts-policy")).arn;
            expect(typeof topicArn).toBe("string");
            for (const s of specs) {
                const b = inputs(byName(resources, `budgets-${s.kind}`));
                expect(b).toMatchObject({
                    name: s.name,
                    budgetType: "COST",
                    timeUnit: "MONTHLY",
                    limitAmount: s.limitAmount,
                    limitUnit: guardrails.cost.currency,
                });
                expect(b.costFilters).toEqual(s.costFilters.map((f) => ({ name: f.name, values: [...f.values] })));
                expect(b.notifications).toEqual(
                    s.notifications.map((n) => ({
                        ...n,
                        subscriberSnsTopicArns: [topicArn],
                        subscriberEmailAddresses: config.alertEmails,
                    })),
                );
            }
            expect(ofType(resources, "aws:budgets/budget:Budget")).toHaveLength(2);
        });

        it("lets only AWS Budgets of this account publish to the topic", () => {
            const policyResource = inputs(byName(resources, "budgets-alerts-policy"));
            const policy = JSON.parse(policyResource.policy as string) as { Statement: Array<Record<string, unknown>> };
            expect(policy.Statement).toEqual([
                {
                    Sid: "AllowBudgetsOfThisAccount",
                    Effect: "Allow",
                    Principal: { Service: "budgets.amazonaws.com" },
                    Action: "SNS:Publish",
                    Resource: policyResource.arn,
                    Condition: {
                        StringEquals: { "aws:SourceAccount": accountId },
                        ArnLike: { "aws:SourceArn": `arn:aws:budgets::${accountId}:*` },
                    },
                },
                {
                    Sid: "DenyPublishByAnyoneElse",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "SNS:Publish",
                    Resource: policyResource.arn,
                    Condition: { StringNotEquals: { "aws:PrincipalServiceName": "budgets.amazonaws.com" } },
                },
            ]);
            expect(accountId).toMatch(/^\d{12}$/);
        });

        it("creates the budgets after the topic policy (Budgets checks it may publish)", () => {
            const policyUrn = byName(resources, "budgets-alerts-policy").urn;
            for (const s of specs) {
                expect(byName(resources, `budgets-${s.kind}`).dependsOn).toContain(policyUrn);
            }
        });

        it("tags every taggable resource with the cost-budgets backlog item and its evidence hooks", () => {
            const item = resolveEvidence(BACKLOG_ITEM.costBudgets);
            const taggable = [byName(resources, "budgets-alerts"), ...ofType(resources, "aws:budgets/budget:Budget")];
            for (const r of taggable) {
                expect(inputs(r).tags).toEqual({
                    [AWS_TAG.environment]: config.environment,
                    [AWS_TAG.owner]: config.owner,
                    [AWS_TAG.stack]: stack,
                    [AWS_TAG.managedBy]: expect.any(String),
                    [AWS_TAG.backlogItem]: BACKLOG_ITEM.costBudgets,
                    ...(config.releaseTag ? { [AWS_TAG.release]: config.releaseTag } : {}),
                    [AWS_TAG.logs]: item.hooks.logs,
                    [AWS_TAG.metrics]: item.hooks.metrics,
                    [AWS_TAG.tests]: item.hooks.tests,
                    [AWS_TAG.provenance]: item.hooks.provenance,
                });
            }
        });
    });
});

describe("budget refusals (before any resource exists)", () => {
    const base = stackConfig("prod");
    const cap = guardrails.cost.caps.prod;
    const refused = (change: Partial<StackConfig>) => () => budgetSpecs({ ...base, ...change }, guardrails);

    it("names the file, the key and the allowed range for a budget above its cap", () => {
        expect(refused({ monthlyBudgetUsd: cap.monthlyUsd * 2 })).toThrow(
            `Pulumi.prod.yaml: maestro-guardrails:monthlyBudgetUsd: ${cap.monthlyUsd * 2}; allowed: a number > 0 and <= ${cap.monthlyUsd}`,
        );
    });

    it("refuses an LLM budget above the LLM cap", () => {
        const llmCap = cap.llmMonthlyUsd as number;
        expect(refused({ llmBudgetUsd: llmCap * 2 })).toThrow(
            `maestro-guardrails:llmBudgetUsd: ${llmCap * 2}; allowed: a number > 0 and <= ${llmCap}`,
        );
    });

    it("refuses an LLM budget above the environment's budget where no LLM cap exists", () => {
        const dev = stackConfig("dev");
        expect(() => budgetSpecs({ ...dev, llmBudgetUsd: dev.monthlyBudgetUsd * 2 }, guardrails)).toThrow(
            `llmBudgetUsd: ${dev.monthlyBudgetUsd * 2}; allowed: a number > 0 and <= ${dev.monthlyBudgetUsd}`,
        );
    });

    it("refuses a threshold later than the guardrail's", () => {
        const later = (1 + guardrails.cost.alertThreshold) / 2;
        expect(refused({ costAlertThreshold: later })).toThrow(
            `guardrailOverrides.costAlertThreshold: ${later}; allowed: a number > 0 and <= ${guardrails.cost.alertThreshold}`,
        );
    });

    it("refuses more email recipients than a Budgets notification takes", () => {
        const many = Array.from({ length: MAX_EMAIL_SUBSCRIBERS + 1 }, (_v, i) => `r${i}@maestro.example`);
        expect(refused({ alertEmails: many })).toThrow(
            `alertEmails: ${many.length} recipients; AWS Budgets allows at most ${MAX_EMAIL_SUBSCRIBERS} per notification`,
        );
    });

    it("fails the component with a ResourceError and registers no AWS resource", async () => {
        const bad = { ...base, monthlyBudgetUsd: cap.monthlyUsd * 2 };
        const seen: RegisteredResource[] = [];
        await expect(
            runComponents(bad, () => new CostBudgets("budgets", { config: bad, guardrails }), seen),
        ).rejects.toThrow("maestro-guardrails:monthlyBudgetUsd");
        expect(seen.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    });
});

describe("threshold arithmetic", () => {
    it("turns a share into a percentage without float noise", () => {
        expect(thresholdPercent(0.07)).toBe(7);
        expect(budgetNotifications(guardrails.cost.alertThreshold)[0].threshold).toBe(GUARDRAIL_PERCENT);
    });

    it("builds the topic policy for any partition", () => {
        const p = budgetTopicPolicy("arn:aws-cn:sns:cn-north-1:111122223333:t", "111122223333", "aws-cn") as {
            Statement: Array<{ Condition: Record<string, Record<string, string>> }>;
        };
        expect(p.Statement[0].Condition.ArnLike["aws:SourceArn"]).toBe("arn:aws-cn:budgets::111122223333:*");
    });
});
