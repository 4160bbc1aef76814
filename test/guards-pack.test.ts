/**
 * Guards that hold: the policy pack, run in-process over the real program's registrations (the shipped stacks, and
 * the same program with one way around a guardrail added). Each class of bypass is tried at least two ways, and
 * each is refused by name: the resource, the policy, the allowed value.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BUCKET_POLICY } from "../policies/provenance";
import * as path from "path";
import { AWS_TAG } from "../core/conventions";
import { repoRoot } from "../core/validation";
import { RegisteredResource, readStackFile, runWithMocks } from "../offline/mockRuntime";
import { stackProgram } from "../offline/synth";
import { STACK_BINDING_POLICY } from "../policies/stack";
import { componentsProgram } from "./fixtures/policies/programs";
import { guardRun, policyResourcesOf, runPackInProcess, sharedContext } from "./fixtures/guards/harness";
import { Extra, evidenceBucketName, logBucketName, withExtras } from "./fixtures/guards/programs";
import { STACKS, guardrails } from "./helpers";

jest.setTimeout(60_000);

describe.each(STACKS)("the shipped %s stack", (stack) => {
    it("passes every policy with 0 violations", async () => {
        const { violations } = await guardRun({ stack });
        expect(violations).toEqual([]);
    });
});

describe("provenance buckets: each setting exactly once, exactly as designed, nothing else targeting them", () => {
    const bucketOut = (o: Record<string, unknown>) =>
        (o.provenance as { bucketName: pulumi.Output<string> }).bucketName;
    const refused = async (stack: string, extra: Extra) => {
        const { mandatory } = await guardRun({ stack, program: withExtras(extra) });
        return mandatory.filter((v) => v.policy === BUCKET_POLICY).map((v) => v.message);
    };

    it("refuses a second public access block with everything off, attached by output", async () => {
        const msgs = await refused("prod", (o) => {
            new aws.s3.BucketPublicAccessBlock("open-up", {
                bucket: bucketOut(o),
                blockPublicAcls: false,
                blockPublicPolicy: false,
                ignorePublicAcls: false,
                restrictPublicBuckets: false,
            });
        });
        expect(msgs.join("\n")).toContain(
            `2 aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock ("provenance-bucket-public-access", "open-up"); allowed: exactly one`,
        );
        expect(msgs.join("\n")).toContain(
            `aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock "open-up": blockPublicAcls is false; allowed: true`,
        );
    });

    it("refuses a second versioning Suspended, attached by the bucket's literal name", async () => {
        const msgs = await refused("staging", () => {
            new aws.s3.BucketVersioning("pause", {
                bucket: evidenceBucketName("staging"),
                versioningConfiguration: { status: "Suspended" },
            });
        });
        expect(msgs.join("\n")).toContain(
            `2 aws:s3/bucketVersioning:BucketVersioning ("provenance-bucket-versioning", "pause")`,
        );
        expect(msgs.join("\n")).toContain(
            `"pause": versioningConfiguration is {"status":"Suspended"}; allowed: {"status":"Enabled"}`,
        );
    });

    it("refuses a second SSE configuration with AES256 on the log bucket, by literal name", async () => {
        const msgs = await refused("dev", () => {
            new aws.s3.BucketServerSideEncryptionConfiguration("weak-sse", {
                bucket: logBucketName("dev"),
                rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
            });
        });
        expect(msgs.join("\n")).toContain(`provenance access-log bucket aws:s3/bucket:Bucket "provenance-logs"`);
        expect(msgs.join("\n")).toContain(`("provenance-logs-encryption", "weak-sse"); allowed: exactly one`);
    });

    it("refuses a second Object Lock configuration in GOVERNANCE for 1 day in prod", async () => {
        const msgs = await refused("prod", (o) => {
            new aws.s3.BucketObjectLockConfiguration("short-lock", {
                bucket: bucketOut(o),
                rule: { defaultRetention: { mode: "GOVERNANCE", days: 1 } },
            });
        });
        expect(msgs.join("\n")).toContain(`("provenance-object-lock", "short-lock"); allowed: exactly one`);
        expect(msgs.join("\n")).toContain(`"short-lock": rule is {"defaultRetention":{"days":1,"mode":"GOVERNANCE"}}`);
    });

    it("refuses a replacement bucket policy granting s3:* to another account, statement by statement", async () => {
        const msgs = await refused("prod", () => {
            new aws.s3.BucketPolicy("grant", {
                bucket: evidenceBucketName("prod"),
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "DenyInsecureTransport",
                            Effect: "Allow",
                            Principal: { AWS: "arn:aws:iam::999999999999:root" },
                            Action: "s3:*",
                            Resource: [
                                `arn:aws:s3:::${evidenceBucketName("prod")}`,
                                `arn:aws:s3:::${evidenceBucketName("prod")}/*`,
                            ],
                        },
                    ],
                }),
            });
        });
        const text = msgs.join("\n");
        expect(text).toContain(`("provenance-policy", "grant"); allowed: exactly one`);
        expect(text).toContain(`aws:s3/bucketPolicy:BucketPolicy "grant": policy statement DenyInsecureTransport is [`);
        expect(text).toContain(
            `aws:s3/bucketPolicy:BucketPolicy "grant": policy statement DenyEvidenceDeletion is missing`,
        );
    });

    it("refuses any other resource that targets a bucket by ARN or name (CORS, an IAM policy)", async () => {
        const name = evidenceBucketName("dev");
        const msgs = await refused("dev", () => {
            new aws.s3.BucketCorsConfigurationV2("cors", {
                bucket: name,
                corsRules: [{ allowedMethods: ["GET"], allowedOrigins: ["*"] }],
            });
            new aws.iam.Policy("delete-evidence", {
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Action: "s3:DeleteObject", Resource: `arn:aws:s3:::${name}/*` }],
                }),
            });
        });
        expect(msgs).toContainEqual(
            expect.stringContaining(
                `aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2 "cors" targets the provenance bucket aws:s3/bucket:Bucket "provenance-bucket"`,
            ),
        );
        expect(msgs).toContainEqual(
            expect.stringContaining(`aws:iam/policy:Policy "delete-evidence" targets the provenance bucket`),
        );
    });
});

describe("stack and environment are bound (program and pack)", () => {
    const stagingConfig = () => readStackFile(path.join(repoRoot, "Pulumi.staging.yaml"));

    it("the program refuses stack prod with environment staging, before any resource", async () => {
        const record: RegisteredResource[] = [];
        await expect(
            runWithMocks({ stack: "prod", config: stagingConfig(), program: stackProgram(), record }),
        ).rejects.toThrow(
            `maestro-guardrails:environment: "staging" in the stack "prod", which is bound to prod by its name; allowed: "prod"`,
        );
        expect(record.filter((r) => r.custom)).toEqual([]);
    });

    it("the program refuses a stack name bound to no environment", async () => {
        await expect(
            runWithMocks({ stack: "sandbox", config: stagingConfig(), program: stackProgram() }),
        ).rejects.toThrow(
            `the stack "sandbox" is bound to no guardrail environment; allowed stack names: dev or dev-<suffix>`,
        );
    });

    it("the pack refuses a prod stack whose resources claim staging (validation bypassed), reading the stack from URNs", async () => {
        // The components built as if the config said staging, deployed as stack prod: every stamp says staging.
        const run = await runWithMocks({
            stack: "prod",
            config: readStackFile(path.join(repoRoot, "Pulumi.prod.yaml")),
            program: componentsProgram({
                change: (c) => ({
                    ...c,
                    environment: "staging",
                    monthlyBudgetUsd: guardrails.cost.caps.staging.monthlyUsd,
                    llmBudgetUsd: guardrails.cost.caps.staging.monthlyUsd / 2,
                    provenance: { ...c.provenance, objectLockMode: "GOVERNANCE" },
                }),
            }),
        });
        const violations = await runPackInProcess(sharedContext(), policyResourcesOf(run), { all: "advisory" });
        const bound = violations.filter((v) => v.policy === STACK_BINDING_POLICY);
        expect(bound.length).toBeGreaterThan(0);
        expect(bound.every((v) => v.level === "mandatory")).toBe(true);
        expect(bound[0].message).toContain(
            `is "staging" in the stack "prod", which its name binds to prod; allowed: "prod"`,
        );
        // The other policies judge it as prod (its caps, COMPLIANCE lock, sign-offs), not as the staging it claims.
        expect(
            violations.some((v) => v.policy === BUCKET_POLICY && v.message.includes("allowed in prod: COMPLIANCE")),
        ).toBe(true);
    });

    it("the pack refuses one hand-tagged resource claiming another environment", async () => {
        const { mandatory } = await guardRun({
            stack: "prod",
            program: withExtras((_o, stack) => {
                new aws.sns.Topic("side-topic", {
                    tags: { [AWS_TAG.environment]: "dev", [AWS_TAG.stack]: stack },
                });
            }),
        });
        expect(mandatory).toContainEqual(
            expect.objectContaining({
                policy: STACK_BINDING_POLICY,
                message: expect.stringContaining(
                    `aws:sns/topic:Topic "side-topic": maestro:environment is "dev" in the stack "prod"`,
                ),
            }),
        );
    });
});
