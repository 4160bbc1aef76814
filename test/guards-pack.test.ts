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
import { EVIDENCE_FLOOR_POLICY, EVIDENCE_HOOKS_POLICY } from "../policies/evidence";
import { PROVIDERS_POLICY } from "../policies/providers";
import { knownInProduction } from "../policies/resources";
import { componentsProgram } from "./fixtures/policies/programs";
import { Violation, guardRun, policyResourcesOf, runPackInProcess, sharedContext } from "./fixtures/guards/harness";
import { Extra, evidenceBucketName, logBucketName, withExtras } from "./fixtures/guards/programs";
import { STACKS, guardrails } from "./helpers";

jest.setTimeout(60_000);

/** The messages one policy reported. */
function messagesOf(violations: readonly Violation[], policy: string): string[] {
    return violations.filter((v) => v.policy === policy).map((v) => v.message);
}

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
        expect(messagesOf(mandatory, STACK_BINDING_POLICY)).toContainEqual(
            expect.stringContaining(
                `aws:sns/topic:Topic "side-topic": maestro:environment is "dev" in the stack "prod"`,
            ),
        );
    });
});

describe("providers: no custom endpoints, proxies or skipped checks (program and pack)", () => {
    const prodFile = () => readStackFile(path.join(repoRoot, "Pulumi.prod.yaml"));

    it.each([
        ["aws:endpoints", JSON.stringify([{ s3: "http://127.0.0.1:9000" }])],
        ["aws:skipCredentialsValidation", "true"],
        ["aws:skipRequestingAccountId", "true"],
    ])("the program refuses %s in the stack file, before any resource", async (key, value) => {
        const config = prodFile();
        const record: RegisteredResource[] = [];
        await expect(
            runWithMocks({
                stack: "prod",
                config: { ...config, values: { ...config.values, [key]: value } },
                program: stackProgram(),
                record,
            }),
        ).rejects.toThrow(`Pulumi.prod.yaml: ${key}: `);
        expect(record.filter((r) => r.custom)).toEqual([]);
    });

    it("the pack refuses an explicit aws.Provider with custom endpoints, naming the provider and who uses it", async () => {
        const { mandatory } = await guardRun({
            stack: "prod",
            program: withExtras((_o, stack) => {
                const elsewhere = new aws.Provider("elsewhere", {
                    region: "us-east-1",
                    endpoints: [{ s3: "https://s3.attacker.example", budgets: "https://budgets.attacker.example" }],
                });
                new aws.sns.Topic("redirected", { tags: { [AWS_TAG.stack]: stack } }, { provider: elsewhere });
            }),
        });
        const v = mandatory.filter((x) => x.policy === PROVIDERS_POLICY);
        expect(v).toHaveLength(1);
        expect(v[0].message).toContain(
            `provider pulumi:providers:aws "elsewhere", used by 1 resource(s), e.g. aws:sns/topic:Topic "redirected": endpoints is`,
        );
        expect(v[0].message).toContain("(points services at custom endpoints); allowed: unset");
    });

    it("the pack refuses a provider that skips the credential and account checks (a default provider's config as the engine sends it)", async () => {
        const { mandatory } = await guardRun({
            stack: "staging",
            program: withExtras(() => {
                // The engine registers the default provider from the stack's aws:* config, values as strings.
                new aws.Provider("default_7_0_0", {
                    region: "us-east-1",
                    skipCredentialsValidation: true,
                    skipRequestingAccountId: true,
                });
            }),
        });
        const v = mandatory.filter((x) => x.policy === PROVIDERS_POLICY);
        expect(v).toHaveLength(1);
        expect(v[0].message).toContain(
            `skipCredentialsValidation is "true" (skips validating the credentials); allowed: unset`,
        );
        expect(v[0].message).toContain(`skipRequestingAccountId is "true"`);
    });
});

/** A resource of a package the pack has never heard of. */
class Widget extends pulumi.CustomResource {
    constructor(name: string, props: Record<string, unknown>) {
        super("acme:index:Widget", name, props);
    }
}

describe("the production floor no policy config can lower", () => {
    it("refuses an unclassified resource type in prod with evidence-hooks set to advisory", async () => {
        const { mandatory } = await guardRun({
            stack: "prod",
            levels: { [EVIDENCE_HOOKS_POLICY]: "advisory" },
            program: withExtras(() => {
                new Widget("widget", { size: 3 });
            }),
        });
        expect(messagesOf(mandatory, EVIDENCE_HOOKS_POLICY)).toContainEqual(
            expect.stringContaining(
                `acme:index:Widget "widget": type acme:index:Widget has no evidence-hook convention`,
            ),
        );
        expect(messagesOf(mandatory, EVIDENCE_FLOOR_POLICY)).toContainEqual(
            expect.stringContaining(
                `acme:index:Widget "widget": type acme:index:Widget is not one the policy pack knows`,
            ),
        );
    });

    it("refuses a taggable AWS type the pack does not know in prod, with evidence-hooks disabled and hooks copied by hand", async () => {
        const violations = await guardRun({
            stack: "prod",
            levels: { [EVIDENCE_HOOKS_POLICY]: "disabled", all: "advisory" },
            program: withExtras((o, stack) => {
                void o;
                new aws.iam.Role("admin", {
                    assumeRolePolicy: "{}",
                    tags: { [AWS_TAG.environment]: "prod", [AWS_TAG.stack]: stack },
                });
            }),
        });
        expect(messagesOf(violations.mandatory, EVIDENCE_FLOOR_POLICY)).toContainEqual(
            expect.stringContaining(
                `aws:iam/role:Role "admin": type aws:iam/role:Role is not one the policy pack knows, and a prod stack deploys only known types, whatever the policy config says`,
            ),
        );
    });

    it("lets a type through once the guardrails file allow-lists it (the hooks are still checked), and only in that file", async () => {
        const base = sharedContext();
        const ctx = {
            ...base,
            guardrails: {
                ...base.guardrails,
                evidence: { ...base.guardrails.evidence, productionAllowedTypes: ["acme:index:Widget"] },
            },
        };
        const { mandatory } = await guardRun({
            stack: "prod",
            ctx,
            program: withExtras(() => {
                new Widget("widget", { size: 3 });
            }),
        });
        expect(mandatory.filter((v) => v.policy === EVIDENCE_FLOOR_POLICY)).toEqual([]);
        expect(mandatory.filter((v) => v.policy === EVIDENCE_HOOKS_POLICY)).toHaveLength(1);
    });

    it("knows every type the shipped stacks register (so the floor never trips on the stack's own)", async () => {
        for (const stack of STACKS) {
            const run = await runWithMocks({
                stack,
                config: readStackFile(path.join(repoRoot, `Pulumi.${stack}.yaml`)),
                program: stackProgram(),
            });
            expect(run.resources.map((r) => r.type).filter((t) => !knownInProduction(t))).toEqual([]);
        }
    });
});
