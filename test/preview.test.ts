/**
 * `synth --preview`: the program and the pack see what `pulumi preview` shows them. The mock runtime's unknowns are
 * the engine's (the SDK serializes the program's requests through the same code the language host runs, and the
 * pack deserializes them with @pulumi/policy's own reader); every mandatory policy decides in a first preview and
 * in an update preview of every stack; a value the pack cannot know during a preview blocks a prod deploy.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
    MockRunResult,
    RegisteredResource,
    UNKNOWN,
    readStackFile,
    runWithMocks,
    unwrapSecrets,
} from "../offline/mockRuntime";
import { PolicyReport, analyzeRequest, analyzeRun, violationText } from "../offline/policyAnalyzer";
import { readPriorState, resourcesDocument, synthStack, writeSynthOutput } from "../offline/synth";
import { ValidationError } from "../core/validation";
import { BUCKET_POLICY, RELEASE_POLICY } from "../policies/provenance";
import { bucketPolicyFromArnOutput, editedSignoffObject, signoffObjectsElsewhere } from "./fixtures/preview/programs";
import { STACKS, runScript, synthInProcess } from "./helpers";
import { packAnalyzer } from "./fixtures/policies/packAnalyzer";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "maestro-preview-"));
const byName = (run: MockRunResult, name: string): RegisteredResource => {
    const r = run.resources.find((x) => x.name === name);
    if (!r) {
        throw new Error(`no resource ${name}`);
    }
    return r;
};
// How @pulumi/policy's server reads a request's properties (internal to the package, so not in its typings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deserializeProperties } = require("@pulumi/policy/deserialize") as {
    deserializeProperties: (s: unknown, keepUnknowns: boolean) => unknown;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy: (v: unknown) => unknown };
const SECRET_SIG = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig };

describe("the mock runtime's unknowns, as the engine sends them", () => {
    let run: MockRunResult;
    let dryRun: boolean | undefined;
    let readArn: string | undefined;
    beforeAll(async () => {
        run = await runWithMocks({
            stack: "dev",
            config: { values: {}, secretKeys: [] },
            preview: true,
            program: () => {
                dryRun = pulumi.runtime.isDryRun();
                // A resource read by ID exists: a preview reads it, so its outputs are known.
                aws.s3.Bucket.get("existing", "existing-bucket").arn.apply((a) => (readArn = a));
                const bucket = new aws.s3.Bucket("made", { bucket: "made-by-name" });
                new aws.s3.BucketPolicy("uses", {
                    bucket: bucket.bucket,
                    policy: pulumi.interpolate`{"Resource":"${bucket.arn}"}`,
                });
                new aws.sns.Topic("shapes", {
                    name: "shapes",
                    tags: { nested: bucket.arn, known: "k" },
                    deliveryPolicy: pulumi.secret(bucket.arn),
                    displayName: pulumi.secret("shown"),
                });
                new aws.s3.Bucket("listed", {
                    bucket: "listed",
                    corsRules: [{ allowedMethods: ["GET"], allowedOrigins: [bucket.arn, "x"] }],
                });
                return {};
            },
        });
    });

    it("runs the program as a preview", () => {
        expect(dryRun).toBe(true);
        expect(run.mode).toBe("preview-fresh");
    });

    it("reads an existing resource (Resource.get) with known outputs", () => {
        expect(readArn).toMatch(/^arn:aws:s3:.*existing$/);
    });

    it("leaves a created resource's ID and computed outputs unknown, its inputs echoed", () => {
        const made = byName(run, "made");
        expect(made.id).toBeUndefined();
        expect(made.outputs?.arn).toBe(UNKNOWN);
        expect(made.outputs?.bucket).toBe("made-by-name");
    });

    it("sends an unknown nested in an object, in an array, in an interpolation and in a secret as the sentinel", () => {
        expect(byName(run, "shapes").inputs.tags).toEqual({ nested: UNKNOWN, known: "k" });
        expect(
            (byName(run, "listed").inputs.corsRules as Array<{ allowedOrigins: unknown[] }>)[0].allowedOrigins,
        ).toEqual([UNKNOWN, "x"]);
        // An interpolation with one unknown part is unknown whole: the engine never sees the known parts.
        expect(byName(run, "uses").inputs.policy).toBe(UNKNOWN);
        // The SDK serializes an unknown before it looks at secretness: an unknown secret arrives as the bare sentinel,
        // a known one wrapped.
        expect(byName(run, "shapes").inputs.deliveryPolicy).toBe(UNKNOWN);
        expect(byName(run, "shapes").inputs.displayName).toEqual({ ...SECRET_SIG, value: "shown" });
        // A setting that depends on a bucket's name (an input) stays known.
        expect(byName(run, "uses").inputs.bucket).toBe("made-by-name");
    });

    it("reaches a policy over the analyzer protocol as a value it cannot read during a preview", () => {
        const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
        const wire = analyzeRequest(byName(run, "shapes"), byUrn).getProperties();
        const props = unknownCheckingProxy(deserializeProperties(wire, false)) as Record<
            string,
            Record<string, unknown>
        >;
        expect(props.tags.known).toBe("k");
        expect(() => props.tags.nested).toThrow("string value at .tags.nested can't be known during preview");
        expect(() => props.deliveryPolicy).toThrow("string value at .deliveryPolicy can't be known during preview");
        const uses = unknownCheckingProxy(
            deserializeProperties(analyzeRequest(byName(run, "uses"), byUrn).getProperties(), false),
        ) as Record<string, unknown>;
        expect(() => uses.policy).toThrow("string value at .policy can't be known during preview");
    });
});

/** Paths (`.a.b[0]`) of every unknown value in `v`. */
function unknownPaths(v: unknown, at = ""): string[] {
    if (v === UNKNOWN) {
        return [at];
    }
    if (Array.isArray(v)) {
        return v.flatMap((x, i) => unknownPaths(x, `${at}[${i}]`));
    }
    if (v !== null && typeof v === "object") {
        return Object.entries(v).flatMap(([k, x]) => unknownPaths(x, `${at}.${k}`));
    }
    return [];
}

describe.each(STACKS)("a first preview of %s", (stack) => {
    it("knows every input but the KMS key's and the anomaly monitor's generated IDs and ARNs", async () => {
        const run = (await synthStack({ stack, preview: true })).run;
        const unknown = [...new Set(run.resources.flatMap((r) => unknownPaths(r.inputs).map((p) => `${r.type} ${p}`)))];
        // AWS generates a key's ID and an anomaly monitor's ARN; nothing the pack reads is derived from their values
        // (the encryption policy checks that a KMS key is named, not which; the anomaly policy follows the
        // subscription's property dependency to the monitor). Names and ARNs of buckets, topics and IAM roles and
        // policies are built from their names.
        expect(unknown.sort()).toEqual([
            "aws:costexplorer/anomalySubscription:AnomalySubscription .monitorArnLists[0]",
            "aws:kms/alias:Alias .targetKeyId",
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration .rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId",
        ]);
        const topic = run.resources.find((r) => r.type === "aws:sns/topic:Topic");
        const budgets = run.resources.filter((r) => r.type === "aws:budgets/budget:Budget");
        expect(budgets.length).toBeGreaterThan(0);
        for (const b of budgets) {
            for (const n of b.inputs.notifications as Array<{ subscriberSnsTopicArns: string[] }>) {
                expect(n.subscriberSnsTopicArns).toEqual([
                    `arn:aws:sns:us-east-1:123456789012:${String(topic?.inputs.name)}`,
                ]);
            }
        }
    });
});

describe("prior state", () => {
    /** dev as deployed: a synth's output folder, whose resources.json is the prior state. */
    let dir: string;
    let file: string;
    beforeAll(async () => {
        dir = tmp();
        writeSynthOutput(await synthStack({ stack: "dev" }), dir);
        file = path.join(dir, "resources.json");
    });

    it("keeps an existing resource's ID and outputs", async () => {
        const prior = readPriorState(file, "dev");
        const update = await synthStack({ stack: "dev", preview: true, prior });
        expect(update.run.mode).toBe("preview-update");
        for (const r of update.run.resources.filter((x) => x.custom)) {
            expect(r.id).toBe(prior.get(r.urn)?.id);
            expect(JSON.stringify(r.inputs)).not.toContain(UNKNOWN);
        }
    });

    it("refuses a prior of another stack, one with unknowns, and a missing one", async () => {
        expect(() => readPriorState(file, "prod")).toThrow(
            /resources\.json: \/stack: "dev"; the prior state must be stack "prod"/,
        );

        const fresh = await synthStack({ stack: "dev", preview: true });
        const freshFile = path.join(tmp(), "resources.json");
        fs.writeFileSync(freshFile, JSON.stringify(resourcesDocument(fresh)));
        expect(() => readPriorState(freshFile, "dev")).toThrow(ValidationError);
        expect(() => readPriorState(freshFile, "dev")).toThrow(/\/resources\/\d+\/id: .* has no id and outputs/);
        expect(() => readPriorState(path.join(dir, "missing.json"), "dev")).toThrow(/missing\.json: \/: not found/);
    });

    it("a changed resource keeps its ID and what the provider computed, and takes its new inputs", async () => {
        const up = await synthStack({ stack: "dev" });
        const prior = new Map(
            up.run.resources
                .filter((r) => r.custom)
                .map((r) => [
                    r.urn,
                    {
                        id: `${r.name}-deployed`,
                        inputs: { changed: true },
                        outputs: { ...(unwrapSecrets(r.outputs) as Record<string, unknown>), computedOnly: "kept" },
                    },
                ]),
        );
        const update = await synthStack({ stack: "dev", preview: true, prior });
        const bucket = update.run.resources.find((r) => r.type === "aws:s3/bucket:Bucket");
        expect(bucket?.id).toBe(`${bucket?.name}-deployed`);
        expect(bucket?.outputs?.computedOnly).toBe("kept");
        expect(bucket?.outputs?.bucket).toBe(bucket?.inputs.bucket);
    });
});

describe("the pack during previews", () => {
    // The pack process this jest worker shares (test/setup/policyPacks.ts).
    const analyzer = packAnalyzer();

    const analyze = async (
        stack: string,
        opts: { preview?: boolean; prior?: boolean; program?: () => unknown } = {},
    ) => {
        let prior;
        if (opts.prior) {
            const dir = tmp();
            writeSynthOutput(await synthStack({ stack, program: opts.program }), dir);
            prior = readPriorState(path.join(dir, "resources.json"), stack);
        }
        const result = await synthStack({ stack, preview: opts.preview, prior, program: opts.program });
        return analyzeRun(analyzer(), result.run, { config: readStackFile(result.configFile) });
    };
    const undecided = (report: PolicyReport) =>
        report.violations.filter((v) => /during (this )?preview/.test(v.message));

    describe.each(STACKS)("%s", (stack) => {
        it.each([
            ["a first preview", { preview: true }, "preview-fresh"],
            ["an update preview", { preview: true, prior: true }, "preview-update"],
        ] as const)("every mandatory policy decides in %s, and the stack passes", async (_what, opts, mode) => {
            const report = await analyze(stack, opts);
            expect(report.mode).toBe(mode);
            expect(Object.values(report.enforcement).every((l) => l === "mandatory")).toBe(true);
            expect(undecided(report)).toEqual([]);
            expect(report.violations.map((v) => `${v.policyName}: ${violationText(v)}`)).toEqual([]);
        });
    });

    it("blocks a prod preview whose bucket policy is unknown until the bucket exists; an up passes it", async () => {
        const preview = await analyze("prod", { preview: true, program: bucketPolicyFromArnOutput() });
        const v = preview.violations.filter((x) => x.policyName === BUCKET_POLICY);
        expect(v).toHaveLength(1);
        expect(v[0].enforcementLevel).toBe("mandatory");
        expect(violationText(v[0])).toContain(
            `${BUCKET_POLICY} cannot decide during this preview: string value at .policy can't be known during preview`,
        );
        const up = await analyze("prod", { program: bucketPolicyFromArnOutput() });
        expect(up.violations).toEqual([]);
        // The same program's update preview knows the bucket (it exists): decided, and it passes.
        const update = await analyze("prod", { preview: true, prior: true, program: bucketPolicyFromArnOutput() });
        expect(update.violations).toEqual([]);
    });

    it("keeps the engine's advisory note outside production", async () => {
        const report = await analyze("dev", { preview: true, program: bucketPolicyFromArnOutput() });
        expect(report.mandatory).toBe(0);
        expect(report.violations.map((v) => [v.policyName, v.enforcementLevel])).toEqual([[BUCKET_POLICY, "advisory"]]);
        expect(report.violations[0].message).toContain("during preview: string value at .policy can't be known");
    });

    it("reads a prod release's sign-offs from the statements the stack uploads: an edited one is refused", async () => {
        const report = await analyze("prod", { preview: true, program: editedSignoffObject() });
        const v = report.violations.filter((x) => x.policyName === RELEASE_POLICY);
        expect(v.map((x) => x.enforcementLevel)).toEqual(["mandatory"]);
        expect(violationText(v[0])).toContain("signature does not verify with a key governance/signers.json lists");
        expect(violationText(v[0])).toContain("is missing the sign-off of");
    });

    it("refuses a prod release whose sign-offs are not uploaded under the release's prefix", async () => {
        const report = await analyze("prod", { program: signoffObjectsElsewhere() });
        const v = report.violations.filter((x) => x.policyName === RELEASE_POLICY);
        expect(v.map((x) => x.enforcementLevel)).toEqual(["mandatory"]);
        expect(violationText(v[0])).toContain("uploaded by this stack: none");
    });
});

describe("the synth command's preview", () => {
    it("refuses a --prior folder that holds no previous render, before loading anything", () => {
        const r = runScript("synth", "--all", "--prior", tmp());
        expect(r.status).toBe(2);
        expect(r.stderr).toContain("outputs.json not found; allowed: a previous synth's output folder");
    });

    // The command in-process, against the worker's shared pack (the script's own process: test/synth.test.ts).
    it("previews every stack fresh and as an update of a previous synth, and says so in policy-report.json", async () => {
        const up = tmp();
        expect((await synthInProcess("--all", "--out", up)).status).toBe(0);
        const fresh = tmp();
        const r1 = await synthInProcess("--all", "--preview", "--out", fresh);
        expect(r1.stderr).toBe("");
        expect(r1.status).toBe(0);
        const update = tmp();
        const r2 = await synthInProcess("--all", "--preview", "--prior", up, "--out", update);
        expect(r2.stderr).toBe("");
        expect(r2.status).toBe(0);
        for (const s of STACKS) {
            const mode = (dir: string) =>
                (JSON.parse(fs.readFileSync(path.join(dir, s, "policy-report.json"), "utf8")) as { mode: string }).mode;
            expect([mode(up), mode(fresh), mode(update)]).toEqual(["up", "preview-fresh", "preview-update"]);
        }
    }, 240000);
});
