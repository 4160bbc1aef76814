/**
 * The pack's classification of AWS types (policies/resources.ts) against what the shipped stacks register and what
 * @pulumi/aws's generated classes take. Apart from test/policies.test.ts because it runs the program under mocks
 * and loads the provider SDKs, which the policy tests themselves never need.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { CostBudgets } from "../components/costBudgets";
import { ProvenanceBucket } from "../components/provenanceBucket";
import { accountSharedWith } from "../core/guardrails";
import { runWithMocks } from "../offline/mockRuntime";
import { shippedStackFile } from "../offline/shippedStacks";
import { stackProgram } from "../offline/synth";
import { UNTAGGABLE_AWS_TYPES, evidenceCarrier } from "../policies/resources";
import { guardrails, STACKS } from "./helpers";

describe("AWS type classification (policies/resources.ts)", () => {
    /**
     * core/evidence.ts stamps an AWS resource exactly when its class passes a `tags` input; record that for every AWS
     * type the shipped stack (and the AWS components it builds on) registers, and check the pack agrees.
     */
    it.each(STACKS)("classifies every AWS type the %s stack registers as core/evidence.ts tags it", async (env) => {
        const seen = new Map<string, boolean>();
        const record: pulumi.ResourceTransformation = (args) => {
            if (args.type.startsWith("aws:")) {
                seen.set(args.type, "tags" in args.props);
            }
            return undefined;
        };
        const shipped = stackProgram();
        await runWithMocks({
            stack: env,
            config: shippedStackFile(env),
            program: async () => {
                pulumi.runtime.registerStackTransformation(record);
                const outputs = await shipped();
                new CostBudgets("classify-budgets", {
                    config: {
                        environment: env,
                        monthlyBudgetUsd: guardrails.cost.caps[env].monthlyUsd,
                        llmBudgetUsd:
                            guardrails.cost.caps[env].llmMonthlyUsd ?? guardrails.cost.caps[env].monthlyUsd / 2,
                        costAlertThreshold: guardrails.cost.alertThreshold,
                        alertEmails: ["a@maestro.example"],
                        sourceFile: "x",
                        aws: { ...guardrails.accounts[env], sharedWith: accountSharedWith(guardrails, env) },
                        llmBudgetAction: { roles: ["llm-role"], approvalModel: "MANUAL" },
                    },
                    guardrails,
                });
                new ProvenanceBucket("classify-provenance", {
                    environment: env,
                    objectLock: { objectLockMode: "COMPLIANCE", retentionDays: 1 },
                });
                return outputs;
            },
        });
        expect(seen.size).toBeGreaterThan(0);
        for (const [type, taggable] of seen) {
            expect({ type, carrier: evidenceCarrier(type).kind }).toEqual({
                type,
                carrier: taggable ? "aws-tags" : "exempt",
            });
        }
    });

    it("exempts only AWS types whose class passes no tags input (read from @pulumi/aws's generated class)", () => {
        for (const type of Object.keys(UNTAGGABLE_AWS_TYPES)) {
            // "aws:s3/bucketPolicy:BucketPolicy" lives in @pulumi/aws/s3/bucketPolicy.js
            const source = fs.readFileSync(require.resolve(`@pulumi/aws/${type.split(":")[1]}`), "utf8");
            expect({ type, passesTags: /resourceInputs\["tags"\] = args/.test(source) }).toEqual({
                type,
                passesTags: false,
            });
        }
    });
});
