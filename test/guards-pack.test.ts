/**
 * Guards that hold: the policy pack, run in-process over the real program's registrations (the shipped stacks, and
 * the same program with one way around a guardrail added). Each class of bypass is tried at least two ways, and
 * each is refused by name: the resource, the policy, the allowed value.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as grafana from "@pulumiverse/grafana";
import * as pulumi from "@pulumi/pulumi";
import { BUCKET_INPUTS_POLICY, BUCKET_POLICY } from "../policies/provenance";
import { BUCKET_OWN_INPUTS, BUCKET_SETTING_KINDS, SETTING_INPUTS } from "../provenance/bucketDesign";
import * as fs from "fs";
import * as path from "path";
import { AWS_TAG, COST_RECORD, GRAFANA_DASHBOARD_TYPE, SLO_RECORD } from "../core/conventions";
import { BUDGETS_POLICY } from "../policies/budgets";
import { DASHBOARDS_POLICY } from "../policies/dashboards";
import { SLO_POLICY } from "../policies/slo";
import { SLO_ALERT_NAME, SLO_BURN_ALERTS, SLO_WINDOWS } from "../rules";
import { repoRoot } from "../core/validation";
import { RegisteredResource, readStackFile, runWithMocks } from "../offline/mockRuntime";
import { stackProgram } from "../offline/synth";
import { STACK_BINDING_POLICY } from "../policies/stack";
import { EVIDENCE_FLOOR_POLICY, EVIDENCE_HOOKS_POLICY } from "../policies/evidence";
import { PROVIDERS_POLICY } from "../policies/providers";
import { AWS_ACCOUNT_POLICY } from "../policies/accounts";
import { DASHBOARD_TYPES, knownInProduction } from "../policies/resources";
import { shippedStackConfig, shippedStackFile } from "../offline/shippedStacks";
import { accountSharedWith } from "../core/guardrails";
import { componentsProgram } from "./fixtures/policies/programs";
import { Violation, guardRun, packView, runPackInProcess, sharedContext } from "./fixtures/guards/harness";
import { Extra, evidenceBucketName, logBucketName, withExtras, withTransformation } from "./fixtures/guards/programs";
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

    it("refuses a setting written inline on the bucket (from the inputs, which the engine's outputs cannot tell apart)", async () => {
        const { mandatory } = await guardRun({
            stack: "prod",
            program: withTransformation((args) =>
                args.type === "aws:s3/bucket:Bucket" && args.name === "provenance-bucket"
                    ? { props: { ...args.props, versioning: { enabled: false } }, opts: args.opts }
                    : undefined,
            ),
        });
        expect(messagesOf(mandatory, BUCKET_INPUTS_POLICY)).toEqual([
            expect.stringContaining(
                `aws:s3/bucket:Bucket "provenance-bucket" (a provenance bucket) sets versioning on the bucket itself; allowed: only ${BUCKET_OWN_INPUTS.join(", ")}`,
            ),
        ]);
    });

    it("refuses a region or any other input on the log bucket too, which carries the same evidence item", async () => {
        const { mandatory } = await guardRun({
            stack: "dev",
            program: withTransformation((args) =>
                args.type === "aws:s3/bucket:Bucket" && args.name === "provenance-logs"
                    ? { props: { ...args.props, region: "eu-west-1", acl: "public-read" }, opts: args.opts }
                    : undefined,
            ),
        });
        expect(messagesOf(mandatory, BUCKET_INPUTS_POLICY)).toEqual([
            expect.stringContaining(`"provenance-logs" (a provenance bucket) sets acl, region on the bucket itself`),
        ]);
    });

    it("refuses an extra input on a designed setting (versioning with mfa), even on the component's own resource", async () => {
        const { mandatory } = await guardRun({
            stack: "staging",
            program: withTransformation((args) =>
                args.name === "provenance-bucket-versioning"
                    ? { props: { ...args.props, mfa: "arn:aws:iam::123456789012:mfa/root 123456" }, opts: args.opts }
                    : undefined,
            ),
        });
        expect(messagesOf(mandatory, BUCKET_POLICY).join("\n")).toContain(
            `"provenance-bucket-versioning": mfa is "arn:aws:iam::123456789012:mfa/root 123456"; allowed: unset`,
        );
    });

    it("accepts computed outputs beside the inputs, empty values, and an input at its provider default", async () => {
        const config = shippedStackFile("prod");
        const run = await runWithMocks({ stack: "prod", config, program: stackProgram() });
        const view = packView(run, config);
        // What a real provider returns for a deployed setting: ids, ARNs, its region, echoed empties, its defaults.
        const outputs = view.outputs.map((r) =>
            r.name === "provenance-object-lock" || r.name === "provenance-bucket-lifecycle"
                ? {
                      ...r,
                      props: {
                          ...r.props,
                          id: "x",
                          region: "us-east-1",
                          expectedBucketOwner: "",
                          token: null,
                          ...(r.name === "provenance-object-lock"
                              ? { objectLockEnabled: "Enabled" }
                              : { transitionDefaultMinimumObjectSize: "all_storage_classes_128K" }),
                      },
                  }
                : r,
        );
        const violations = await runPackInProcess(sharedContext(), { inputs: view.inputs, outputs });
        expect(violations).toEqual([]);
    });

    it("refuses an input set off its provider default (lifecycle transitions by storage class)", async () => {
        const config = shippedStackFile("prod");
        const run = await runWithMocks({ stack: "prod", config, program: stackProgram() });
        const view = packView(run, config);
        const outputs = view.outputs.map((r) =>
            r.name === "provenance-bucket-lifecycle"
                ? { ...r, props: { ...r.props, transitionDefaultMinimumObjectSize: "varies_by_storage_class" } }
                : r,
        );
        const violations = await runPackInProcess(sharedContext(), { inputs: view.inputs, outputs });
        expect(messagesOf(violations, BUCKET_POLICY).join("\n")).toContain(
            `"provenance-bucket-lifecycle": transitionDefaultMinimumObjectSize is "varies_by_storage_class"; allowed: unset`,
        );
    });

    it("names every input of each setting's resource type, as @pulumi/aws declares them (minus region)", () => {
        const dts = path.join(repoRoot, "node_modules", "@pulumi", "aws", "s3");
        for (const [kind, types] of Object.entries(BUCKET_SETTING_KINDS)) {
            const name = types[0].split(":")[2];
            const file = fs.readFileSync(path.join(dts, `${name[0].toLowerCase()}${name.slice(1)}.d.ts`), "utf8");
            const body = file.slice(file.indexOf(`export interface ${name}Args {`));
            const declared = [...body.slice(0, body.indexOf("\n}")).matchAll(/^ {4}(\w+)\??:/gm)].map((m) => m[1]);
            expect([kind, [...SETTING_INPUTS[kind as keyof typeof SETTING_INPUTS]].sort()]).toEqual([
                kind,
                declared.filter((k) => k !== "region").sort(),
            ]);
        }
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

    /** An IAM policy of `statements`, created beside the stack; the messages the bucket policy reports for it. */
    const grant = (stack: string, statements: Array<Record<string, unknown>>) =>
        refused(stack, () => {
            new aws.iam.Policy("grant", { policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) });
        });
    const refusedGrant = `aws:iam/policy:Policy "grant" targets the provenance bucket`;

    it("refuses a grant that reaches the bucket through a wildcard ARN, or through any resource", async () => {
        const prefix = evidenceBucketName("prod").split("-prod-")[0];
        const viaPrefix = await grant("prod", [
            { Effect: "Allow", Action: "s3:Delete*", Resource: `arn:aws:s3:::${prefix}-*/*` },
        ]);
        expect(viaPrefix).toContainEqual(expect.stringContaining(refusedGrant));
        const viaStar = await grant("prod", [{ Effect: "Allow", Action: ["s3:*"], Resource: "*" }]);
        expect(viaStar).toContainEqual(expect.stringContaining(refusedGrant));
    });

    it("refuses a grant that reaches the bucket through NotResource or NotAction", async () => {
        const viaNotResource = await grant("staging", [
            { Effect: "Allow", Action: "s3:PutObject", NotResource: "arn:aws:s3:::some-other-bucket/*" },
        ]);
        expect(viaNotResource).toContainEqual(expect.stringContaining(refusedGrant));
        const viaNotAction = await grant("staging", [
            { Effect: "Allow", NotAction: "iam:*", Resource: `arn:aws:s3:::${evidenceBucketName("staging")}*` },
        ]);
        expect(viaNotAction).toContainEqual(expect.stringContaining(refusedGrant));
    });

    it("lets a grant through that cannot reach the bucket: another bucket's pattern, a non-S3 action, a Deny", async () => {
        const msgs = await grant("dev", [
            { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::reports-*/*" },
            { Effect: "Allow", Action: "ce:GetCostAndUsage", Resource: "*" },
            { Effect: "Deny", Action: "s3:*", Resource: "*" },
        ]);
        expect(msgs.filter((m) => m.includes(`"grant"`))).toEqual([]);
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
        const config = readStackFile(path.join(repoRoot, "Pulumi.prod.yaml"));
        const run = await runWithMocks({
            stack: "prod",
            config,
            program: componentsProgram({
                change: (c) => ({
                    ...c,
                    environment: "staging",
                    monthlyBudgetUsd: guardrails.cost.caps.staging.monthlyUsd,
                    llmBudgetUsd: guardrails.cost.caps.staging.monthlyUsd / 2,
                    provenance: { ...c.provenance, objectLockMode: "GOVERNANCE" },
                    aws: { ...c.aws, sharedWith: accountSharedWith(guardrails, "staging") },
                }),
            }),
        });
        const violations = await runPackInProcess(sharedContext(), packView(run, config), { all: "advisory" });
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
        // Skipping the account checks is the account pin's concern (aws-account-pinned), once, for every provider.
        const v = mandatory.filter((x) => x.policy === AWS_ACCOUNT_POLICY);
        expect(v).toHaveLength(1);
        expect(v[0].message).toContain(
            `skipCredentialsValidation is "true", which turns off the account check; allowed: false or unset`,
        );
        expect(v[0].message).toContain(`skipRequestingAccountId is "true"`);
        expect(mandatory.filter((x) => x.policy === PROVIDERS_POLICY)).toEqual([]);
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
                new aws.iam.User("admin", {
                    tags: { [AWS_TAG.environment]: "prod", [AWS_TAG.stack]: stack },
                });
            }),
        });
        expect(messagesOf(violations.mandatory, EVIDENCE_FLOOR_POLICY)).toContainEqual(
            expect.stringContaining(
                `aws:iam/user:User "admin": type aws:iam/user:User is not one the policy pack knows, and a prod stack deploys only known types, whatever the policy config says`,
            ),
        );
    });

    it("refuses a prod stack whose policy config disables the floor too (the policies after it notice)", async () => {
        const { mandatory } = await guardRun({
            stack: "prod",
            levels: { [EVIDENCE_HOOKS_POLICY]: "disabled", [EVIDENCE_FLOOR_POLICY]: "disabled" },
        });
        expect(messagesOf(mandatory, STACK_BINDING_POLICY)).toContainEqual(
            expect.stringContaining(
                `${EVIDENCE_FLOOR_POLICY} did not run on this prod stack: it may not be disabled in prod`,
            ),
        );
        const staging = await guardRun({
            stack: "staging",
            levels: { [EVIDENCE_HOOKS_POLICY]: "disabled", [EVIDENCE_FLOOR_POLICY]: "disabled" },
        });
        expect(staging.mandatory).toEqual([]);
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
            expect(run.resources.map((r) => r.type).filter((t) => !knownInProduction(t, []))).toEqual([]);
        }
    });
});

describe("guardrail alerts checked whole (expression, windows, burn factors, for, objective, selector labels)", () => {
    type Group = { name: string; rules: Array<Record<string, unknown>> };
    /** Rewrite the rules of the first SLO's PrometheusRule object. */
    const rewriteRules = (edit: (rules: Array<Record<string, unknown>>) => void): pulumi.ResourceTransformation => {
        const slo = guardrails.slo.objectives[0];
        return (args) => {
            const spec = args.props.spec as { groups?: Group[] } | undefined;
            if (args.type.endsWith(":PrometheusRule") && spec?.groups?.[0]?.name.startsWith(`maestro-slo-${slo.id}-`)) {
                const groups = JSON.parse(JSON.stringify(spec.groups)) as Group[];
                edit(groups[0].rules);
                return { props: { ...args.props, spec: { ...spec, groups } }, opts: args.opts };
            }
            return undefined;
        };
    };
    const sloMessages = async (stack: string, program: () => Promise<unknown>) =>
        messagesOf((await guardRun({ stack, program })).mandatory, SLO_POLICY);
    const slo = guardrails.slo.objectives[0];

    it("refuses a page alert held for a year (for: 8760h)", async () => {
        const msgs = await sloMessages(
            "prod",
            withTransformation(
                rewriteRules((rules) => {
                    rules.find((r) => r.alert === SLO_ALERT_NAME.page)!.for = "8760h";
                }),
            ),
        );
        expect(msgs).toContainEqual(
            expect.stringContaining(`SLO ${slo.id}: alert ${SLO_ALERT_NAME.page} (group maestro-slo-${slo.id}`),
        );
        expect(msgs.join("\n")).toContain(`for is "8760h"; allowed: none`);
    });

    it("refuses a burn factor multiplied so the ticket can never fire", async () => {
        const ticket = SLO_BURN_ALERTS.find((a) => a.alert === SLO_ALERT_NAME.ticket)!;
        const factor = ticket.conditions[0].burnRate;
        const msgs = await sloMessages(
            "staging",
            withTransformation(
                rewriteRules((rules) => {
                    const r = rules.find((x) => x.alert === SLO_ALERT_NAME.ticket)!;
                    r.expr = String(r.expr)
                        .split(`(${factor} * (1 - `)
                        .join(`(${factor * 100} * (1 - `);
                }),
            ),
        );
        expect(msgs.join("\n")).toContain(`SLO ${slo.id}: alert ${SLO_ALERT_NAME.ticket}`);
        expect(msgs.join("\n")).toContain(`(${factor * 100} * (1 - ${slo.objective}))`);
        expect(msgs.join("\n")).toContain(`allowed: \``);
    });

    it("refuses a second recording of the SLO's error ratio with a regex matcher at another bucket", async () => {
        const ratio = SLO_RECORD.errorRatio(SLO_WINDOWS[0]);
        const msgs = await sloMessages(
            "dev",
            withExtras(() => {
                new k8s.apiextensions.CustomResource("shadow", {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PrometheusRule",
                    metadata: { name: "shadow", namespace: "monitoring", labels: { role: "alert-rules" } },
                    spec: {
                        groups: [
                            {
                                name: "shadow",
                                rules: [
                                    {
                                        record: ratio,
                                        expr: `1 - (sum(rate(${slo.sli.metric}_bucket{le=~".*"}[${SLO_WINDOWS[0]}])) / sum(rate(${slo.sli.metric}_count[${SLO_WINDOWS[0]}])))`,
                                        labels: { slo: slo.id, env: "dev" },
                                    },
                                ],
                            },
                        ],
                    },
                });
            }),
        );
        expect(msgs.join("\n")).toContain(`SLO ${slo.id}: recording ${ratio} (group shadow`);
    });

    it('refuses a shadow recording that sets service="" (the same series in Prometheus) or names no SLO', async () => {
        const ratio = SLO_RECORD.errorRatio(SLO_WINDOWS[0]);
        const msgs = await sloMessages(
            "prod",
            withExtras(() => {
                new k8s.apiextensions.CustomResource("shadow-2", {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PrometheusRule",
                    metadata: { name: "shadow-2", namespace: "monitoring", labels: { role: "alert-rules" } },
                    spec: {
                        groups: [
                            {
                                name: "shadow-2",
                                rules: [
                                    {
                                        record: ratio,
                                        expr: "vector(0)",
                                        labels: { slo: slo.id, env: "prod", service: "" },
                                    },
                                    { record: ratio, expr: `label_replace(vector(0), "slo", "${slo.id}", "", "")` },
                                ],
                            },
                        ],
                    },
                });
            }),
        );
        expect(msgs.join("\n")).toContain(`SLO ${slo.id}: recording ${ratio} (group shadow-2`);
        expect(msgs.join("\n")).toContain(
            `recording ${ratio} (group shadow-2, kubernetes:monitoring.coreos.com/v1:PrometheusRule "shadow-2") writes a maestro_slo:* series labelled slo="", which no guardrail SLO or service owns`,
        );
    });

    it("refuses rule objects that carry no selector label (no Prometheus would load them)", async () => {
        const msgs = await sloMessages(
            "dev",
            withTransformation((args) => {
                if (!args.type.endsWith(":PrometheusRule")) {
                    return undefined;
                }
                const metadata = args.props.metadata as { labels?: Record<string, string> };
                const selector = shippedStackConfig("dev").ruleTarget;
                const labels = Object.fromEntries(
                    Object.entries(metadata.labels ?? {}).filter(
                        ([k]) => !(selector.kind === "prometheus-operator" && k in (selector.ruleSelectorLabels ?? {})),
                    ),
                );
                return { props: { ...args.props, metadata: { ...metadata, labels } }, opts: args.opts };
            }),
        );
        expect(msgs).toContainEqual(
            expect.stringContaining(
                `carries no selector label (only evidence labels), so no Prometheus ruleSelector loads it`,
            ),
        );
    });
});

describe("budgets: active period, configured recipients, designed types", () => {
    const budgetMessages = async (stack: string, program: () => Promise<unknown>) =>
        messagesOf((await guardRun({ stack, program })).mandatory, BUDGETS_POLICY);
    const editBudgets =
        (edit: (props: Record<string, unknown>) => Record<string, unknown>): pulumi.ResourceTransformation =>
        (args) =>
            args.type === "aws:budgets/budget:Budget" ? { props: edit({ ...args.props }), opts: args.opts } : undefined;

    it("refuses a budget whose period starts in 2099", async () => {
        const msgs = await budgetMessages(
            "prod",
            withTransformation(editBudgets((p) => ({ ...p, timePeriodStart: "2099-01-01_00:00" }))),
        );
        expect(msgs.join("\n")).toContain(`timePeriodStart 2099-01-01_00:00 is in the future`);
    });

    it("refuses a budget that ended, and one that counts credits", async () => {
        const msgs = await budgetMessages(
            "dev",
            withTransformation(
                editBudgets((p) => ({
                    ...p,
                    timePeriodEnd: "2020-01-01_00:00",
                    costTypes: { includeCredit: true, includeRefund: false },
                })),
            ),
        );
        expect(msgs.join("\n")).toContain(`timePeriodEnd 2020-01-01_00:00 ends the budget; allowed: unset`);
        expect(msgs.join("\n")).toContain(`costTypes.includeCredit is true; allowed: false`);
    });

    it("refuses a budget that notifies an address nobody configured", async () => {
        const msgs = await budgetMessages(
            "staging",
            withTransformation((args) => {
                if (args.type !== "aws:budgets/budget:Budget" || !args.name.endsWith("llm")) {
                    return undefined;
                }
                const notifications = (args.props.notifications as Array<Record<string, unknown>>).map((n) => ({
                    ...n,
                    subscriberEmailAddresses: ["someone@elsewhere.example"],
                }));
                return { props: { ...args.props, notifications }, opts: args.opts };
            }),
        );
        expect(msgs.join("\n")).toContain(
            `go to someone@elsewhere.example, whom the stack's other budget notifications do not notify, and leave out platform-alerts@maestro.example`,
        );
    });
});

describe("dashboards have their required panels; Grafana datasources and notification settings are the stack's own", () => {
    /** Rewrite the model of the dashboard `uid`, whichever Grafana API resource carries it. */
    const editDashboard =
        (
            uid: string,
            edit: (model: Record<string, unknown>) => Record<string, unknown>,
        ): pulumi.ResourceTransformation =>
        (args) => {
            if (!DASHBOARD_TYPES.includes(args.type)) {
                return undefined;
            }
            const apps = args.type === GRAFANA_DASHBOARD_TYPE.apps;
            const spec = args.props.spec as Record<string, unknown> | undefined;
            const json = pulumi
                .output((apps ? spec?.json : args.props.configJson) as pulumi.Input<string>)
                .apply((j) => {
                    const model = JSON.parse(j) as Record<string, unknown>;
                    return model.uid === uid ? JSON.stringify(edit(model)) : j;
                });
            const props = apps ? { ...args.props, spec: { ...spec, json } } : { ...args.props, configJson: json };
            return { props, opts: args.opts };
        };

    it("refuses an SLO dashboard reduced to one empty text panel", async () => {
        const { mandatory } = await guardRun({
            stack: "prod",
            program: withTransformation(
                editDashboard("maestro-slo-prod", (model) => ({
                    ...model,
                    panels: [{ id: 1, type: "text", options: { content: "" } }],
                })),
            ),
        });
        const msgs = messagesOf(mandatory, DASHBOARDS_POLICY).join("\n");
        expect(msgs).toContain(
            `(uid "maestro-slo-prod") lacks required panels: no panel queries ${SLO_RECORD.latencyP95}`,
        );
        expect(msgs).toContain(`no panel queries ${SLO_RECORD.errorBudgetRemaining}`);
    });

    it("refuses a cost dashboard without its LLM budget panel", async () => {
        const { mandatory } = await guardRun({
            stack: "dev",
            program: withTransformation(
                editDashboard("maestro-cost-dev", (model) => ({
                    ...model,
                    panels: (model.panels as Array<{ targets?: Array<{ expr?: string }> }>).filter(
                        (p) => !(p.targets ?? []).some((t) => t.expr?.includes('"llm"')),
                    ),
                })),
            ),
        });
        expect(messagesOf(mandatory, DASHBOARDS_POLICY).join("\n")).toContain(
            `no panel queries ${COST_RECORD.budget}{budget="llm"} (the llm cap)`,
        );
    });

    it("refuses a summary panel pointed at a fixed datasource instead of the dashboard's Prometheus variable", async () => {
        const { mandatory } = await guardRun({
            stack: "staging",
            program: withTransformation(
                editDashboard("maestro-summary-staging", (model) => {
                    const panels = model.panels as Array<{ targets?: Array<Record<string, unknown>> }>;
                    panels[0].targets = (panels[0].targets ?? []).map((t) => ({
                        ...t,
                        datasource: { type: "prometheus", uid: "elsewhere" },
                    }));
                    return model;
                }),
            ),
        });
        expect(messagesOf(mandatory, DASHBOARDS_POLICY).join("\n")).toContain(
            `reads datasource "elsewhere"; allowed: "\${datasource}" (the dashboard's Prometheus variable)`,
        );
    });

    it("refuses a Grafana datasource and a notification policy created outside the stack's components", async () => {
        const { mandatory } = await guardRun({
            stack: "staging",
            program: withExtras(() => {
                new grafana.oss.DataSource("prometheus-staging", {
                    type: "prometheus",
                    name: "prometheus-staging",
                    uid: "prometheus-staging",
                    url: "http://127.0.0.1:9/elsewhere",
                });
                new grafana.alerting.NotificationPolicy("drop-all", {
                    contactPoint: "void",
                    groupBies: ["..."],
                });
            }),
        });
        const msgs = messagesOf(mandatory, DASHBOARDS_POLICY).join("\n");
        expect(msgs).toContain(`grafana:oss/dataSource:DataSource "prometheus-staging" is not the stack's own`);
        expect(msgs).toContain(
            `grafana:alerting/notificationPolicy:NotificationPolicy "drop-all" is not the stack's own`,
        );
    });
});
