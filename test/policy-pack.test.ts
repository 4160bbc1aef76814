/**
 * The pack run the way the engine runs it: launched as the analyzer plugin (run-policy-pack running the built pack,
 * its port on stdout) and driven over the analyzer protocol with the resources of mocked runs. One pack process
 * serves the file (the one its jest worker shares: test/setup/policyPacks.ts), as synth uses it; each case sends its
 * own ConfigureStack and Configure. The synth command runs in-process against the same pack (synthInProcess).
 */
import { PROVIDERS_POLICY } from "../policies/providers";
import { STACK_BINDING_POLICY } from "../policies/stack";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AWS_TAG } from "../core/conventions";
import { MockRunResult, readStackFile } from "../offline/mockRuntime";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import {
    PolicyReport,
    StackAnalysis,
    analyzeRequest,
    analyzeRun,
    analyzeStackRequest,
    serializeAnalyzeRequest,
    serializeAnalyzeStackRequest,
    loadPolicyConfig,
    parsePolicyConfig,
    policyReportDocument,
    reconcileEnforcement,
    violationText,
} from "../offline/policyAnalyzer";
import { synthStack } from "../offline/synth";
import { repoRoot } from "../core/validation";
import { BUDGETS_POLICY } from "../policies/budgets";
import { EVIDENCE_FLOOR_POLICY, EVIDENCE_HOOKS_POLICY } from "../policies/evidence";
import { BUCKET_INPUTS_POLICY, RELEASE_POLICY } from "../policies/provenance";
import { SLO_POLICY } from "../policies/slo";
import { DASHBOARDS_POLICY } from "../policies/dashboards";
import { POLICY_PACK_NAME } from "../policies/all";
import { AWS_ACCOUNT_POLICY } from "../policies/accounts";
import { ANOMALY_POLICY } from "../policies/anomaly";
import { packAnalyzer } from "./fixtures/policies/packAnalyzer";
import { ProgramOptions, componentsProgram } from "./fixtures/policies/programs";
import { guardrails, KEY, STACKS, writeStackVariant, synthInProcess } from "./helpers";

const FIXTURES = path.join(repoRoot, "test", "fixtures", "policies");

const analyzer = packAnalyzer();

/** `synth --stack <stack> --config <its stack file, changed>` into a fresh folder. */
function synthVariant(stack: string, change: (config: Record<string, unknown>) => void) {
    const file = writeStackVariant(stack, change);
    return synthInProcess(
        "--stack",
        stack,
        "--config",
        file,
        "--out",
        fs.mkdtempSync(path.join(os.tmpdir(), "maestro-policy-")),
    );
}

async function analyzeProgram(
    stack: string,
    opts: ProgramOptions,
    policyConfigFile?: string,
): Promise<{ run: MockRunResult; report: PolicyReport }> {
    const result = await synthStack({ stack, program: componentsProgram(opts) });
    const report = await analyzeRun(analyzer(), result.run, {
        config: readStackFile(result.configFile),
        policyConfig: policyConfigFile ? loadPolicyConfig(policyConfigFile) : undefined,
        policyConfigFile,
    });
    return { run: result.run, report };
}

const mandatory = (report: PolicyReport, policy: string) =>
    report.violations.filter((v) => v.policyName === policy && v.enforcementLevel === "mandatory");

describe("the analyzer plugin", () => {
    it("serves the pack's name, its package.json version and every policy, mandatory by default", async () => {
        const info = await analyzer().getAnalyzerInfo();
        const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "policies", "package.json"), "utf8")) as {
            version: string;
        };
        expect(info.name).toBe(POLICY_PACK_NAME);
        expect(info.version).toBe(pkg.version);
        expect(info.supportsConfig).toBe(true);
        expect(info.policies.map((p) => [p.name, p.enforcementLevel])).toEqual(
            [
                EVIDENCE_HOOKS_POLICY,
                BUCKET_INPUTS_POLICY,
                EVIDENCE_FLOOR_POLICY,
                STACK_BINDING_POLICY,
                PROVIDERS_POLICY,
                SLO_POLICY,
                "guardrail-alerts-routed",
                BUDGETS_POLICY,
                "provenance-bucket-hardened",
                RELEASE_POLICY,
                DASHBOARDS_POLICY,
                AWS_ACCOUNT_POLICY,
                ANOMALY_POLICY,
            ].map((n) => [n, "mandatory"]),
        );
        expect(analyzer().startMs).toBeGreaterThan(0);
    });
});

/** What the generated serializer (the stubs' own `requestSerialize`) sends for a message. */
const generatedBytes = (m: { serializeBinary(): Uint8Array }) => Buffer.from(m.serializeBinary());

describe.each(STACKS)("the shipped %s stack", (stack) => {
    let synthesized: ReturnType<typeof synthStack> | undefined;
    const shipped = () => (synthesized ??= synthStack({ stack }));

    it("has no mandatory policy violation", async () => {
        const result = await shipped();
        const report = await analyzeRun(analyzer(), result.run, { config: readStackFile(result.configFile) });
        expect(
            report.violations
                .filter((v) => v.enforcementLevel === "mandatory")
                .map((v) => `${v.policyName}: ${violationText(v)}`),
        ).toEqual([]);
    });

    it("reaches the pack in the generated serializers' bytes: each Analyze and the AnalyzeStack", async () => {
        const { run } = await shipped();
        const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
        const differing = run.resources
            .map((r) => analyzeRequest(r, byUrn))
            .filter((req) => !serializeAnalyzeRequest(req).equals(generatedBytes(req)))
            .map((req) => req.getUrn());
        expect(differing).toEqual([]);
        const whole = analyzeStackRequest(run.resources, byUrn);
        const sent = serializeAnalyzeStackRequest(whole);
        expect(sent.equals(generatedBytes(whole))).toBe(true);
        // The stack carries what the native path is for: rendered files, many KiB each.
        expect(sent.length).toBeGreaterThan(100 * 1024);
        expect(analyzerpb.AnalyzeStackRequest.deserializeBinary(sent).toObject()).toEqual(whole.toObject());
    });
});

describe("the analyzer client's wire encoding", () => {
    const long = (unit: string) => unit.repeat(Math.ceil(200 / unit.length));
    // Long and short, one to four UTF-8 bytes a character, and strings that are not well-formed UTF-16 (a lone
    // surrogate at either end, a pair in the wrong order), which google-protobuf and TextEncoder encode differently.
    const strings = {
        empty: "",
        short: "dev",
        ascii: long("a"),
        twoBytes: long("é"),
        threeBytes: long("€"),
        pairs: long("😀"),
        mixed: long("p95 ≤ 350 ms 🚦 "),
        loneHighAtEnd: long("x") + "\uD83D",
        loneLowAtStart: "\uDE00" + long("x"),
        reversedPair: long("x") + "\uDE00\uD83D" + long("y"),
        shortLone: "\uD83D",
    };

    it.each(Object.entries(strings))("writes %s strings as the generated serializer does", (_name, text) => {
        const req = new analyzerpb.AnalyzeRequest();
        req.setUrn(`urn:pulumi:dev::maestro::${text}`);
        req.setType("maestro:index:Text");
        req.setName(text);
        req.setProperties(
            Struct.fromJavaScript({ text, nested: { list: [text, 1.5, -2, true, null, { deeper: text }] } }),
        );
        expect(serializeAnalyzeRequest(req).equals(generatedBytes(req))).toBe(true);
        const stack = new analyzerpb.AnalyzeStackRequest();
        const resource = new analyzerpb.AnalyzerResource();
        resource.setUrn(req.getUrn());
        resource.setProperties(req.getProperties());
        resource.setDependenciesList([text, text]);
        stack.setResourcesList([resource, resource]);
        expect(serializeAnalyzeStackRequest(stack).equals(generatedBytes(stack))).toBe(true);
    });
});

describe("the guardrail components under each stack's validated config", () => {
    it.each(STACKS)("pass the evidence, SLO, budget, provenance and release policies in %s", async (stack) => {
        const { report } = await analyzeProgram(stack, {});
        const failing = report.violations.filter((v) => v.policyName !== DASHBOARDS_POLICY);
        expect(failing.map((v) => `${v.policyName}: ${violationText(v)}`)).toEqual([]);
    });
});

describe("negative end-to-end cases", () => {
    describe("a stack file without aws:allowedAccountIds", () => {
        it("is refused by synth --config", async () => {
            const cli = await synthVariant("prod", (c) => delete c["aws:allowedAccountIds"]);
            expect(cli.status).toBe(1);
            expect(cli.stderr).toContain("aws:allowedAccountIds: missing; every stack pins its AWS account");
        });

        it("leaves the engine's default provider unpinned, which aws-account-pinned rejects", async () => {
            // The program validated the shipped file; the engine's default provider gets the config without the pin.
            const result = await synthStack({ stack: "prod" });
            const config = readStackFile(result.configFile);
            const unpinned = { ...config, values: { ...config.values } };
            delete unpinned.values["aws:allowedAccountIds"];
            const report = await analyzeRun(analyzer(), result.run, { config: unpinned });
            expect(mandatory(report, AWS_ACCOUNT_POLICY).map(violationText)).toEqual([
                expect.stringContaining(
                    `AWS provider "default" of the prod stack: pins no account (allowedAccountIds unset); allowed: ["${guardrails.accounts.prod.accountId}"]`,
                ),
            ]);
        });
    });

    it("an explicit aws.Provider in another region, handed to the budgets component, is rejected by aws-account-pinned", async () => {
        const declared = guardrails.accounts.staging;
        const elsewhere = declared.region === "eu-west-1" ? "us-west-2" : "eu-west-1";
        const { report } = await analyzeProgram("staging", {
            budgetsProvider: { region: elsewhere, allowedAccountIds: [declared.accountId] },
        });
        expect(mandatory(report, AWS_ACCOUNT_POLICY).map(violationText)).toEqual([
            expect.stringContaining(`AWS provider "elsewhere" of the staging stack: region is "${elsewhere}"`),
        ]);
    });

    describe("a loosened SLO threshold", () => {
        const slo = guardrails.slo.objectives[0];
        const looser = slo.sli.thresholdSeconds * 2;

        it("is refused by synth --config", async () => {
            const cli = await synthVariant(
                "staging",
                (c) => (c[KEY("guardrailOverrides")] = { slo: { [slo.id]: { thresholdSeconds: looser } } }),
            );
            expect(cli.status).toBe(1);
            expect(cli.stderr).toContain(
                `${KEY(`guardrailOverrides.slo.${slo.id}.thresholdSeconds`)}: ${looser} is looser than the guardrail`,
            );
        });

        it("in a deploy built from it, is rejected by slo-alerts-not-loosened", async () => {
            const { report } = await analyzeProgram("staging", {
                change: (c) => ({
                    ...c,
                    slos: c.slos.map((o) =>
                        o.id === slo.id ? { ...o, sli: { ...o.sli, thresholdSeconds: looser } } : o,
                    ),
                }),
            });
            const [v] = mandatory(report, SLO_POLICY);
            expect(violationText(v)).toContain(`SLO ${slo.id}:`);
            expect(violationText(v)).toContain(`looser than the guardrail threshold of ${slo.sli.thresholdSeconds} s`);
        });
    });

    describe("a budget over its cap", () => {
        const over = guardrails.cost.caps.dev.monthlyUsd * 2;

        it("is refused by synth --config", async () => {
            const cli = await synthVariant("dev", (c) => (c[KEY("monthlyBudgetUsd")] = over));
            expect(cli.status).toBe(1);
            expect(cli.stderr).toContain(`${KEY("monthlyBudgetUsd")}: ${over} is above the dev cost guardrail`);
        });

        it("built by hand, is rejected by budgets-within-caps", async () => {
            const { report } = await analyzeProgram("dev", { handMadeBudgetUsd: over });
            const [v] = mandatory(report, BUDGETS_POLICY);
            expect(violationText(v)).toContain(
                `limitAmount ${over} is over the dev cap; allowed: > 0 and <= ${guardrails.cost.caps.dev.monthlyUsd}`,
            );
            expect(v.urn).toContain("aws:budgets/budget:Budget::budgets-budget");
        });
    });

    describe("a missing release tag in prod", () => {
        it("is refused by synth --config", async () => {
            const cli = await synthVariant("prod", (c) => delete c[KEY("releaseTag")]);
            expect(cli.status).toBe(1);
            expect(cli.stderr).toContain(`${KEY("releaseTag")}: missing; a prod deploy is a release and needs its tag`);
        });

        it("in a deploy, is rejected by release-tag-and-signoffs", async () => {
            const { report } = await analyzeProgram("prod", { change: (c) => ({ ...c, releaseTag: undefined }) });
            const [v] = mandatory(report, RELEASE_POLICY);
            expect(violationText(v)).toContain("a prod deploy is a release, but");
            expect(violationText(v)).toContain("pulumi config set maestro-guardrails:releaseTag vX.Y.Z");
        });
    });

    it("an untagged resource (a test-only program) is rejected by evidence-hooks, naming it", async () => {
        const { report } = await analyzeProgram("dev", { strayTopic: true });
        const violations = mandatory(report, EVIDENCE_HOOKS_POLICY);
        expect(violations).toHaveLength(1);
        expect(violations[0].urn).toContain("aws:sns/topic:Topic::stray-topic");
        expect(violations[0].phase).toBe("analyze");
        expect(violationText(violations[0])).toContain(
            `aws:sns/topic:Topic "stray-topic": carries no maestro:environment`,
        );
    });
});

describe("analyses as the engine runs them", () => {
    const stray = { strayTopic: true };
    const levels = (report: PolicyReport, policy: string) => [
        ...new Set(report.violations.filter((v) => v.policyName === policy).map((v) => v.enforcementLevel)),
    ];

    it("Analyze streamed while the program registers gives the report an analysis after the run gives", async () => {
        const config = readStackFile(path.join(repoRoot, "Pulumi.dev.yaml"));
        const stream = new StackAnalysis(analyzer(), { stack: "dev", mode: "up" }, { config });
        let streamed = 0;
        const result = await synthStack({
            stack: "dev",
            program: componentsProgram(stray),
            onRegistered: (r) => {
                streamed++;
                stream.resource(r);
            },
        });
        expect(streamed).toBe(result.run.resources.length);
        const live = await stream.finish(result.run);
        const after = await analyzeRun(analyzer(), result.run, { config });
        expect(policyReportDocument(live)).toEqual(policyReportDocument(after));
        expect(live.mandatory).toBeGreaterThan(0);
    });

    it("two analyses of one pack take turns: each is judged under its own policy config", async () => {
        const result = await synthStack({ stack: "dev", program: componentsProgram(stray) });
        const config = readStackFile(result.configFile);
        const target = { stack: "dev", mode: result.run.mode };
        const lowered = new StackAnalysis(analyzer(), target, {
            config,
            policyConfig: loadPolicyConfig(path.join(FIXTURES, "evidence-advisory.json")),
        });
        const strict = new StackAnalysis(analyzer(), target, { config });
        // Interleaved as two stacks of one synth would be, were their analyses not to take turns.
        for (const r of result.run.resources) {
            lowered.resource(r);
            strict.resource(r);
        }
        const [a, b] = await Promise.all([lowered.finish(result.run), strict.finish(result.run)]);
        expect(a.enforcement[EVIDENCE_HOOKS_POLICY]).toBe("advisory");
        expect(levels(a, EVIDENCE_HOOKS_POLICY)).toEqual(["advisory"]);
        expect(b.enforcement[EVIDENCE_HOOKS_POLICY]).toBe("mandatory");
        expect(levels(b, EVIDENCE_HOOKS_POLICY)).toEqual(["mandatory"]);
    });

    it("an abandoned analysis (the program failed) ends its turn: the next one is analyzed", async () => {
        const result = await synthStack({ stack: "dev", program: componentsProgram(stray) });
        const config = readStackFile(result.configFile);
        const failed = new StackAnalysis(analyzer(), { stack: "dev", mode: "up" }, { config });
        failed.resource(result.run.resources[0]);
        failed.abandon();
        expect(() => failed.resource(result.run.resources[1])).toThrow(
            "registered after the analysis of stack dev ended",
        );
        const next = await analyzeRun(analyzer(), result.run, { config });
        expect(next.mandatory).toBeGreaterThan(0);
    }, 20_000);

    it("refuses the run of another stack or mode than it was started for, and ends its turn", async () => {
        const result = await synthStack({ stack: "dev" });
        const config = readStackFile(result.configFile);
        const wrong = new StackAnalysis(analyzer(), { stack: "dev", mode: "preview-fresh" }, { config });
        await expect(wrong.finish(result.run)).rejects.toThrow(
            "analysis of dev (preview-fresh) handed the run of dev (up)",
        );
        expect((await analyzeRun(analyzer(), result.run, { config })).mandatory).toBe(0);
    });
});

describe("policy config (--policy-pack-config)", () => {
    it("lowers a named policy to advisory", async () => {
        const { report } = await analyzeProgram("dev", {}, path.join(FIXTURES, "advisory-dashboards.json"));
        expect(report.enforcement[DASHBOARDS_POLICY]).toBe("advisory");
        const dashboards = report.violations.filter((v) => v.policyName === DASHBOARDS_POLICY);
        expect(dashboards.length).toBeGreaterThan(0);
        expect(new Set(dashboards.map((v) => v.enforcementLevel))).toEqual(new Set(["advisory"]));
    });

    it("may disable evidence-hooks in dev", async () => {
        const { report } = await analyzeProgram(
            "dev",
            { strayTopic: true },
            path.join(FIXTURES, "evidence-disabled.json"),
        );
        expect(report.violations.filter((v) => v.policyName.startsWith(EVIDENCE_HOOKS_POLICY))).toEqual([]);
    });

    it("cannot disable evidence-hooks in prod: the floor policy reports it and the untagged resource, mandatory", async () => {
        const { report } = await analyzeProgram(
            "prod",
            { strayTopic: true },
            path.join(FIXTURES, "evidence-disabled.json"),
        );
        const floor = mandatory(report, EVIDENCE_FLOOR_POLICY).map(violationText);
        expect(floor[0]).toContain(`${EVIDENCE_HOOKS_POLICY} did not run on`);
        expect(floor.some((m) => m.includes(`aws:sns/topic:Topic "stray-topic"`))).toBe(true);
    });

    it("cannot lower evidence-hooks in prod: a prod resource's violation stays mandatory over the protocol", async () => {
        const { report } = await analyzeProgram(
            "prod",
            { strayTopic: { [AWS_TAG.environment]: "prod" } },
            path.join(FIXTURES, "evidence-advisory.json"),
        );
        expect(report.enforcement[EVIDENCE_HOOKS_POLICY]).toBe("advisory");
        const [v, ...rest] = report.violations.filter((x) => x.policyName === EVIDENCE_HOOKS_POLICY);
        expect(rest).toEqual([]);
        expect(v.enforcementLevel).toBe("mandatory");
        expect(violationText(v)).toContain(`aws:sns/topic:Topic "stray-topic": carries no ${AWS_TAG.backlogItem}`);
    });

    it("lowers evidence-hooks outside prod", async () => {
        const { report } = await analyzeProgram(
            "staging",
            { strayTopic: { [AWS_TAG.environment]: "staging" } },
            path.join(FIXTURES, "evidence-advisory.json"),
        );
        expect(
            report.violations.filter((x) => x.policyName === EVIDENCE_HOOKS_POLICY).map((x) => x.enforcementLevel),
        ).toEqual(["advisory"]);
    });

    it("refuses a config naming a policy the pack does not have, or a level that does not exist", async () => {
        const info = await analyzer().getAnalyzerInfo();
        const file = path.join(FIXTURES, "unknown-policy.json");
        expect(() => reconcileEnforcement(info, loadPolicyConfig(file), "unknown-policy.json")).toThrow(
            `unknown-policy.json: /dashboards-provisoned: no policy "dashboards-provisoned" in pack ${POLICY_PACK_NAME}; allowed: all, ${EVIDENCE_HOOKS_POLICY},`,
        );
        expect(() => loadPolicyConfig(path.join(FIXTURES, "bad-level.json"))).toThrow(
            `/all: "strict" is not an enforcement level; allowed: advisory, mandatory, remediate, disabled`,
        );
        expect(() => parsePolicyConfig({ all: { enforcementLevel: "advisory", x: 1 } }, "f.json")).toThrow(
            `f.json: /all: "all" takes only an enforcement level`,
        );
        expect(() => loadPolicyConfig(path.join(FIXTURES, "no-such-config.json"))).toThrow(
            `no-such-config.json: /: does not exist; allowed: the path of a readable YAML or JSON file`,
        );
    });
});

describe("synth", () => {
    it("writes policy-report.json and exits non-zero exactly when a mandatory violation is reported", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-policy-"));
        const cli = await synthInProcess("--stack", "dev", "--out", out);
        const doc = JSON.parse(fs.readFileSync(path.join(out, "policy-report.json"), "utf8")) as {
            stack: string;
            policyPack: { name: string };
            enforcement: Record<string, string>;
            summary: { mandatory: number; passed: boolean };
            violations: unknown[];
        };
        expect(doc.stack).toBe("dev");
        expect(doc.policyPack.name).toBe(POLICY_PACK_NAME);
        expect(cli.status).toBe(doc.summary.mandatory > 0 ? 1 : 0);
        expect(cli.stdout).toContain(`policy pack ${POLICY_PACK_NAME}@`);
        // The violation count CI pushes as maestro_policy_violations: one series per enabled policy, summing to the report's.
        const metrics = fs.readFileSync(path.join(out, "metrics.prom"), "utf8");
        const samples = [
            ...metrics.matchAll(
                /^maestro_policy_violations\{stack="dev",policy="([^"]+)",enforcement_level="(\w+)"\} (\d+)$/gm,
            ),
        ];
        expect(samples.map((m) => m[1]).sort()).toEqual(
            Object.entries(doc.enforcement)
                .filter(([, l]) => l !== "disabled")
                .map(([p]) => p)
                .sort(),
        );
        expect(samples.reduce((n, m) => n + Number(m[3]), 0)).toBe(doc.violations.length);
    });

    it("refuses a policy config naming an unknown policy, naming the file and the allowed policies", async () => {
        const cli = await synthInProcess(
            "--stack",
            "dev",
            "--out",
            fs.mkdtempSync(path.join(os.tmpdir(), "maestro-policy-")),
            "--policy-config",
            path.join(FIXTURES, "unknown-policy.json"),
        );
        expect(cli.status).toBe(1);
        expect(cli.stderr).toContain(`no policy "dashboards-provisoned" in pack ${POLICY_PACK_NAME}; allowed: all,`);
    });
});
