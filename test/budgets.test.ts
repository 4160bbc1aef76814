import {
    BEDROCK_MARKETPLACE_SUFFIX,
    BEDROCK_SERVICE,
    BudgetSpec,
    ENVIRONMENT_COST_TAG_KEYS,
    LLM_INVOKE_ACTIONS,
    LLM_SERVICE_FILTER,
    MAX_EMAIL_SUBSCRIBERS,
    anomalySpec,
    budgetNotifications,
    budgetSpecs,
    budgetTopicPolicy,
    environmentScope,
    llmBudgetActionSpec,
    thresholdPercent,
} from "../budgets/specs";
import { accountSharedWith } from "../core/guardrails";
import { CostBudgets } from "../components/costBudgets";
import { AWS_TAG, BACKLOG_ITEM } from "../core/conventions";
import { RegisteredResource } from "../offline/mockRuntime";
import { StackConfig } from "../core/stackConfig";
import { byName, inputs, ofType, resolveEvidence, runComponents } from "./fixtures/provenance/awsProgram";
import { KEY, STACKS, guardrails, stackConfig } from "./helpers";

/** The guardrail's alert threshold as a Budgets percentage, derived, never typed. */
const GUARDRAIL_PERCENT = guardrails.cost.alertThreshold * 100;

describe.each(STACKS)("budgets of %s", (stack) => {
    const config = stackConfig(stack);
    const cap = guardrails.cost.caps[stack];
    const specs = budgetSpecs(config, guardrails);
    const spec = (kind: BudgetSpec["kind"]) => specs.find((s) => s.kind === kind) as BudgetSpec;
    const shared = accountSharedWith(guardrails, stack).length > 0;

    it("limits total monthly spend to the configured budget, within the environment's guardrail cap", () => {
        expect(spec("total")).toMatchObject({
            budgetType: "COST",
            timeUnit: "MONTHLY",
            limitAmount: String(config.monthlyBudgetUsd),
            limitUnit: guardrails.cost.currency,
        });
        // The whole account's spend where the account is the environment's own; only its tagged spend where shared.
        expect(spec("total").filterExpression).toEqual(shared ? environmentScope(stack) : undefined);
        expect(config.monthlyBudgetUsd).toBeLessThanOrEqual(cap.monthlyUsd);
        // No stack file sets monthlyBudgetUsd, so each budget is the guardrail cap itself.
        expect(Number(spec("total").limitAmount)).toBe(cap.monthlyUsd);
    });

    it("limits LLM spend to the configured LLM budget (the guardrail's LLM cap where one exists), filtered to the LLM services", () => {
        expect(spec("llm")).toMatchObject({
            budgetType: "COST",
            timeUnit: "MONTHLY",
            limitAmount: String(config.llmBudgetUsd),
        });
        expect(spec("llm").filterExpression).toEqual(
            shared ? { ands: [LLM_SERVICE_FILTER, environmentScope(stack)] } : LLM_SERVICE_FILTER,
        );
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
                expect(b.filterExpression).toEqual(s.filterExpression);
                expect(b.costFilters).toBeUndefined();
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
                    Sid: "AllowCostAnomalyDetectionOfThisAccount",
                    Effect: "Allow",
                    Principal: { Service: "costalerts.amazonaws.com" },
                    Action: "SNS:Publish",
                    Resource: policyResource.arn,
                    Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                },
                {
                    Sid: "DenyPublishByAnyoneElse",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "SNS:Publish",
                    Resource: policyResource.arn,
                    Condition: {
                        StringNotEquals: {
                            "aws:PrincipalServiceName": ["budgets.amazonaws.com", "costalerts.amazonaws.com"],
                        },
                    },
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

        it("activates the environment's cost allocation tags exactly where its account is shared, and keeps them on destroy", () => {
            const tags = ofType(resources, "aws:costexplorer/costAllocationTag:CostAllocationTag");
            expect(tags.map((t) => inputs(t))).toEqual(
                shared ? ENVIRONMENT_COST_TAG_KEYS.map((tagKey) => ({ tagKey, status: "Active" })) : [],
            );
            for (const t of tags) {
                expect(t.retainOnDelete).toBe(true);
                for (const b of ofType(resources, "aws:budgets/budget:Budget")) {
                    expect(b.dependsOn).toContain(t.urn);
                }
            }
        });

        it("detects cost anomalies of the environment and notifies the budget topic at the guardrail's share of the cap", () => {
            const expected = anomalySpec(config, guardrails);
            const monitor = inputs(byName(resources, "budgets-anomaly-monitor"));
            expect(monitor).toMatchObject(
                shared
                    ? {
                          monitorType: "CUSTOM",
                          monitorSpecification: JSON.stringify({
                              Tags: { Key: AWS_TAG.environment, Values: [stack], MatchOptions: ["EQUALS"] },
                          }),
                      }
                    : { monitorType: "DIMENSIONAL", monitorDimension: "SERVICE" },
            );
            const sub = inputs(byName(resources, "budgets-anomaly-subscription"));
            const topicArn = inputs(byName(resources, "budgets-alerts-policy")).arn;
            expect(sub).toMatchObject({
                frequency: "IMMEDIATE",
                subscribers: [{ type: "SNS", address: topicArn }],
                thresholdExpression: {
                    dimension: {
                        key: "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                        values: [String(cap.monthlyUsd * guardrails.cost.anomalyImpactShareOfCap)],
                        matchOptions: ["GREATER_THAN_OR_EQUAL"],
                    },
                },
            });
            expect(expected.thresholdUsd).toBe(cap.monthlyUsd * guardrails.cost.anomalyImpactShareOfCap);
            expect(sub.monitorArnLists).toEqual([expect.stringContaining("budgets-anomaly-monitor")]);
            // Cost Anomaly Detection checks it may publish, as Budgets does.
            expect(byName(resources, "budgets-anomaly-subscription").dependsOn).toContain(
                byName(resources, "budgets-alerts-policy").urn,
            );
        });

        it("adds the LLM budget action exactly as the stack file configures it (none in dev)", () => {
            const actions = ofType(resources, "aws:budgets/budgetAction:BudgetAction").map(inputs);
            if (!config.llmBudgetAction) {
                expect(stack).toBe("dev");
                expect(actions).toEqual([]);
                expect(ofType(resources, "aws:iam/policy:Policy")).toEqual([]);
                return;
            }
            expect(actions).toHaveLength(1);
            expect(actions[0]).toMatchObject({
                budgetName: spec("llm").name,
                actionType: "APPLY_IAM_POLICY",
                approvalModel: config.llmBudgetAction.approvalModel,
                notificationType: "ACTUAL",
                actionThreshold: { actionThresholdType: "PERCENTAGE", actionThresholdValue: 100 },
                definition: { iamActionDefinition: { roles: config.llmBudgetAction.roles } },
            });
            const deny = JSON.parse(inputs(byName(resources, "budgets-llm-deny")).policy as string) as unknown;
            expect(deny).toEqual({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "DenyLlmInvocationOverBudget",
                        Effect: "Deny",
                        Action: ["bedrock:InvokeModel*"],
                        Resource: "*",
                    },
                ],
            });
            const perms = JSON.parse(inputs(byName(resources, "budgets-llm-action-permissions")).policy as string) as {
                Statement: Array<{ Action: string[]; Resource: string[]; Condition: unknown }>;
            };
            expect(perms.Statement).toHaveLength(1);
            expect(perms.Statement[0].Action).toEqual(["iam:AttachRolePolicy", "iam:DetachRolePolicy"]);
            expect(perms.Statement[0].Resource).toEqual(
                config.llmBudgetAction.roles.map((r) => `arn:aws:iam::${accountId}:role/${r}`),
            );
            const trust = JSON.parse(
                inputs(byName(resources, "budgets-llm-action-role")).assumeRolePolicy as string,
            ) as {
                Statement: Array<{ Principal: unknown; Condition: unknown }>;
            };
            expect(trust.Statement).toEqual([
                expect.objectContaining({
                    Principal: { Service: "budgets.amazonaws.com" },
                    Condition: { StringEquals: { "aws:SourceAccount": accountId } },
                }),
            ]);
        });

        it("tags every taggable resource with the cost-budgets backlog item and its evidence hooks", () => {
            const item = resolveEvidence(BACKLOG_ITEM.costBudgets);
            const taggable = [
                byName(resources, "budgets-alerts"),
                ...ofType(resources, "aws:budgets/budget:Budget"),
                byName(resources, "budgets-anomaly-monitor"),
                byName(resources, "budgets-anomaly-subscription"),
                ...ofType(resources, "aws:budgets/budgetAction:BudgetAction"),
                ...ofType(resources, "aws:iam/policy:Policy"),
                ...ofType(resources, "aws:iam/role:Role"),
            ];
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

describe("the LLM budget's filter", () => {
    it("counts first-party Bedrock spend and every Marketplace-billed Bedrock model, whatever its name", () => {
        expect(LLM_SERVICE_FILTER).toEqual({
            ors: [
                { dimensions: { key: "SERVICE", values: [BEDROCK_SERVICE] } },
                { dimensions: { key: "SERVICE", values: [BEDROCK_MARKETPLACE_SUFFIX], matchOptions: ["ENDS_WITH"] } },
            ],
        });
        // What each branch matches, as Budgets evaluates EQUALS and ENDS_WITH on the SERVICE name.
        const counts = (service: string) =>
            (LLM_SERVICE_FILTER.ors ?? []).some((o) =>
                o.dimensions?.matchOptions?.includes("ENDS_WITH")
                    ? o.dimensions.values.some((v) => service.endsWith(v))
                    : o.dimensions?.values.includes(service),
            );
        expect(counts("Amazon Bedrock")).toBe(true);
        expect(counts("Claude 3.5 Sonnet (Amazon Bedrock Edition)")).toBe(true);
        expect(counts("Claude Sonnet 4 (Amazon Bedrock Edition)")).toBe(true);
        expect(counts("Amazon Elastic Compute Cloud - Compute")).toBe(false);
        expect(counts("Amazon SageMaker")).toBe(false);
    });

    it("in a shared account, counts only the environment's tagged spend, resource tags or the caller's principal tags", () => {
        expect(environmentScope("staging")).toEqual({
            ors: [
                { tags: { key: AWS_TAG.environment, values: ["staging"] } },
                { tags: { key: `iamPrincipal/${AWS_TAG.environment}`, values: ["staging"] } },
            ],
        });
    });
});

describe("account sharing", () => {
    const dev = stackConfig("dev");

    it("refuses budgets for a config whose account sharing disagrees with the guardrails (a filter left off)", () => {
        expect(() => budgetSpecs({ ...dev, aws: { ...dev.aws, sharedWith: [] } }, guardrails)).toThrow(
            `Pulumi.dev.yaml: aws:allowedAccountIds: the config says the account is shared with [], the guardrails say [${accountSharedWith(guardrails, "dev").join(", ")}]`,
        );
    });

    it("scopes every budget to the environment as soon as the guardrails put two environments in one account", () => {
        const prod = stackConfig("prod");
        const together = {
            ...guardrails,
            accounts: { ...guardrails.accounts, prod: { ...guardrails.accounts.dev } },
        };
        const specs = budgetSpecs(
            { ...prod, aws: { ...prod.aws, sharedWith: accountSharedWith(together, "prod") } },
            together,
        );
        for (const s of specs) {
            expect(JSON.stringify(s.filterExpression)).toContain(JSON.stringify(environmentScope("prod")));
        }
    });
});

describe("the optional LLM budget action", () => {
    it("is off without llmBudgetAction, and denies every InvokeModel* action with the configured approval when set", () => {
        expect(llmBudgetActionSpec({})).toBeUndefined();
        const spec = llmBudgetActionSpec({ llmBudgetAction: { roles: ["a", "b"], approvalModel: "AUTOMATIC" } })!;
        expect(spec).toMatchObject({ approvalModel: "AUTOMATIC", roles: ["a", "b"] });
        expect(spec.actionThreshold.actionThresholdValue).toBe(100);
        expect(LLM_INVOKE_ACTIONS).toEqual(["bedrock:InvokeModel*"]);
        expect(JSON.stringify(spec.denyPolicy)).toContain('"Effect":"Deny"');
    });

    it.each(STACKS)("is configured in %s as the stack file says (off in dev by default)", (stack) => {
        const c = stackConfig(stack);
        if (stack === "dev") {
            expect(c.llmBudgetAction).toBeUndefined();
        } else {
            expect(c.llmBudgetAction?.roles.length).toBeGreaterThan(0);
        }
        expect(() =>
            stackConfig(
                stack,
                (f) => (f[KEY("llmBudgetAction")] = JSON.stringify({ roles: [], approvalModel: "MANUAL" })),
            ),
        ).toThrow("llmBudgetAction.roles: must NOT have fewer than 1 items");
        expect(() =>
            stackConfig(
                stack,
                (f) => (f[KEY("llmBudgetAction")] = JSON.stringify({ roles: ["r"], approvalModel: "LATER" })),
            ),
        ).toThrow("llmBudgetAction.approvalModel: must be one of");
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
