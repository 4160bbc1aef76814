/**
 * Guards that hold: inputs the tools must not mishandle. synth's --out never empties a folder it did not write;
 * YAML bombs and oversized documents fail fast with a message; config values are bounded by what the providers
 * accept; credentials under any credential-like key must be secrets.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { credentialKeys, parseStackConfig } from "../core/stackConfig";
import { MAX_DOCUMENT_BYTES, ValidationError, readDataFile, repoRoot } from "../core/validation";
import { readStackFile } from "../offline/mockRuntime";
import { SYNTH_MARKER, outDirProblem, synthStack, writeSynthOutput } from "../offline/synth";
import { KEY, flatConfig, guardrails, runScript, stackConfig } from "./helpers";

jest.setTimeout(60_000);

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), "maestro-guards-"));
}

describe("synth --out writes only where synth wrote before", () => {
    it("refuses a non-empty folder without synth's marker, and leaves its files alone (the CLI, before anything runs)", () => {
        const dir = tempDir();
        const precious = path.join(dir, "notes.txt");
        fs.writeFileSync(precious, "keep me");
        try {
            const r = runScript("synth", "--stack", "dev", "--out", dir);
            expect(r.status).not.toBe(0);
            expect(r.stderr).toContain(`is a non-empty folder synth did not write (no ${SYNTH_MARKER} in it)`);
            expect(fs.readFileSync(precious, "utf8")).toBe("keep me");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses the same with --all, where DIR/<stack> is someone else's folder", () => {
        const dir = tempDir();
        fs.mkdirSync(path.join(dir, "staging"));
        fs.writeFileSync(path.join(dir, "staging", "index.ts"), "// a source file");
        try {
            const r = runScript("synth", "--all", "--out", dir);
            expect(r.status).not.toBe(0);
            expect(r.stderr).toContain(`${path.join(dir, "staging")} is a non-empty folder synth did not write`);
            expect(fs.existsSync(path.join(dir, "staging", "index.ts"))).toBe(true);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses a file, and the repository itself", () => {
        const dir = tempDir();
        try {
            fs.writeFileSync(path.join(dir, "f"), "");
            expect(outDirProblem(path.join(dir, "f"))).toContain("is a file, not a folder");
            expect(outDirProblem(repoRoot)).toContain("is a non-empty folder synth did not write");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("writes a missing or empty folder, marks it, and replaces its own earlier output", async () => {
        const dir = tempDir();
        try {
            const result = await synthStack({ stack: "dev" });
            const out = path.join(dir, "dev");
            writeSynthOutput(result, out);
            expect(fs.existsSync(path.join(out, SYNTH_MARKER))).toBe(true);
            fs.writeFileSync(path.join(out, "stale.json"), "{}");
            writeSynthOutput(result, out);
            expect(fs.existsSync(path.join(out, "stale.json"))).toBe(false);
            expect(fs.existsSync(path.join(out, "resources.json"))).toBe(true);
            fs.rmSync(path.join(out, SYNTH_MARKER));
            fs.writeFileSync(path.join(out, "stale.json"), "{}");
            expect(() => writeSynthOutput(result, out)).toThrow(ValidationError);
            expect(fs.existsSync(path.join(out, "stale.json"))).toBe(true);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

/** A YAML document of `levels` nested aliases, each repeating the previous nine times (9^levels values). */
function aliasBomb(levels: number, under = ""): string {
    const lines = [`${under}a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`];
    for (let i = 1; i <= levels; i++) {
        lines.push(
            `${under}a${i}: &a${i} [${Array(9)
                .fill(`*a${i - 1}`)
                .join(",")}]`,
        );
    }
    return lines.join("\n") + "\n";
}

describe("YAML parsing is bounded: alias expansion and document size fail within a second, with a message", () => {
    it("refuses a 1 KB alias bomb in a stack file", () => {
        const dir = tempDir();
        const file = path.join(dir, "Pulumi.dev.yaml");
        fs.writeFileSync(file, "config:\n  maestro-guardrails:environment: dev\n" + aliasBomb(9, "  "));
        try {
            expect(fs.statSync(file).size).toBeLessThan(1024);
            const started = Date.now();
            expect(() => readStackFile(file)).toThrow(/cannot parse: expands to more than \d+ values \(YAML aliases/);
            expect(Date.now() - started).toBeLessThan(1000);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses an alias bomb in a data file (the guardrails loader) and an oversized document", () => {
        const dir = tempDir();
        try {
            const bomb = path.join(dir, "guardrails.yaml");
            fs.writeFileSync(bomb, aliasBomb(8));
            const started = Date.now();
            expect(() => readDataFile(bomb)).toThrow(/allowed: at most \d+ values once aliases are expanded/);
            expect(Date.now() - started).toBeLessThan(1000);
            const big = path.join(dir, "big.yaml");
            fs.writeFileSync(big, `x: "${"y".repeat(MAX_DOCUMENT_BYTES)}"\n`);
            expect(() => readDataFile(big)).toThrow(`allowed: at most ${MAX_DOCUMENT_BYTES} bytes`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("still reads a document that uses a few aliases", () => {
        const dir = tempDir();
        try {
            const file = path.join(dir, "ok.yaml");
            fs.writeFileSync(file, aliasBomb(2));
            expect(readDataFile(file)).toHaveProperty("a2");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

function refusal(stack: string, change: (flat: Record<string, string>) => void, secretKeys?: string[]): string {
    const flat = flatConfig(stack, change);
    try {
        parseStackConfig(stack, flat.values, secretKeys ?? flat.secretKeys, guardrails);
    } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
    }
    throw new Error("expected a refusal");
}

describe("config values are bounded by what the providers accept", () => {
    it("refuses a 300-character owner (a Kubernetes label value holds 63)", () => {
        expect(refusal("prod", (f) => (f[KEY("owner")] = "a".repeat(300)))).toContain(
            `${KEY("owner")}: must NOT have more than 63 characters`,
        );
    });

    it("refuses empty ruleSelectorLabels (no Prometheus would load the rules), and a label value no selector can hold", () => {
        const target = (labels: Record<string, string>) => (f: Record<string, string>) =>
            (f[KEY("ruleTarget")] = JSON.stringify({
                kind: "prometheus-operator",
                namespace: "monitoring",
                ruleSelectorLabels: labels,
            }));
        expect(refusal("dev", target({}))).toContain(
            `${KEY("ruleTarget")}.ruleSelectorLabels: must NOT have fewer than 1 properties`,
        );
        expect(refusal("dev", target({ release: "x".repeat(64) }))).toContain(
            `${KEY("ruleTarget")}.ruleSelectorLabels.release: must NOT have more than 63 characters`,
        );
        expect(refusal("dev", target({ "not a label": "x" }))).toContain(`${KEY("ruleTarget")}.ruleSelectorLabels`);
    });

    it("refuses a namespace longer than a Kubernetes name", () => {
        expect(
            refusal(
                "staging",
                (f) =>
                    (f[KEY("ruleTarget")] = JSON.stringify({ kind: "prometheus-operator", namespace: "n".repeat(64) })),
            ),
        ).toContain(`${KEY("ruleTarget")}.namespace: must NOT have more than 63 characters`);
    });

    it("explains missing ruleSelectorLabels, and names any other key the rule target misses as it is", () => {
        const target = (t: Record<string, unknown>) => (f: Record<string, string>) =>
            (f[KEY("ruleTarget")] = JSON.stringify(t));
        const explained = `Pulumi.dev.yaml: ${KEY("ruleTarget.ruleSelectorLabels")}: missing; the PrometheusRule objects are loaded only if they carry the labels your Prometheus' ruleSelector matches; allowed: a map of labels, e.g. {release: <helm release name>} for kube-prometheus-stack`;
        expect(refusal("dev", target({ kind: "prometheus-operator", namespace: "monitoring" })).split("\n")).toContain(
            explained,
        );
        const noNamespace = refusal(
            "dev",
            target({ kind: "prometheus-operator", ruleSelectorLabels: { release: "prometheus" } }),
        ).split("\n");
        expect(noNamespace).toContain(`Pulumi.dev.yaml: ${KEY("ruleTarget")}: missing required key "namespace"`);
        expect(noNamespace).not.toContain(explained);
    });
});

describe("config keys and namespaces", () => {
    it("refuses a namespace no provider of the stack reads, naming the allowed ones", () => {
        expect(refusal("dev", (f) => (f["azure:location"] = "westeurope"))).toBe(
            `Pulumi.dev.yaml: azure:location: unknown config namespace "azure"; allowed: maestro-guardrails, aws, kubernetes, grafana, pulumi`,
        );
    });

    it("refuses an unknown key of the project, naming the allowed ones", () => {
        expect(refusal("dev", (f) => (f[KEY("enviroment")] = "dev"))).toContain(
            `Pulumi.dev.yaml: ${KEY("enviroment")}: unknown key; allowed keys: ${KEY("environment")}, ${KEY("owner")}, ${KEY("monthlyBudgetUsd")}, `,
        );
    });

    it("reports a structured value that does not parse once, not again as a missing key", () => {
        expect(refusal("dev", (f) => (f[KEY("ruleTarget")] = "monitoring"))).toBe(
            `Pulumi.dev.yaml: ${KEY("ruleTarget")}: expected a structured value (YAML map or list), got "monitoring"`,
        );
    });

    it.each([
        ["endpoints", JSON.stringify([{ s3: "http://127.0.0.1:9000" }]), "points services at custom endpoints"],
        ["httpsProxy", "http://proxy.example:3128", "sends requests through a proxy"],
        ["insecure", "true", "accepts any TLS certificate"],
    ])("refuses aws:%s, which sends the provider's requests elsewhere", (key, value, what) => {
        expect(refusal("dev", (f) => (f[`aws:${key}`] = value))).toBe(
            `Pulumi.dev.yaml: aws:${key}: ${what}, so resources would go where the guardrails never see them; allowed: unset (remove it from Pulumi.dev.yaml)`,
        );
    });

    it("reads those key names as the AWS provider's only: the same names in another provider's namespace pass", () => {
        const flat = flatConfig("dev", (f) => {
            f["kubernetes:insecure"] = "false";
            f["grafana:httpProxy"] = "http://proxy.example:3128";
        });
        expect(() => parseStackConfig("dev", flat.values, flat.secretKeys, guardrails)).not.toThrow();
    });

    it("ends the runbook base URL with exactly one slash, whether or not the stack file wrote one", () => {
        for (const url of ["https://docs.example/runbooks", "https://docs.example/runbooks/"]) {
            expect(stackConfig("dev", (f) => (f[KEY("runbookBaseUrl")] = url)).runbookBaseUrl).toBe(
                "https://docs.example/runbooks/",
            );
        }
    });
});

describe("the stack file pins the AWS account and region the guardrails declare", () => {
    it("refuses a stack file without the account pin, saying how to set it", () => {
        expect(refusal("dev", (f) => delete f["aws:allowedAccountIds"])).toBe(
            `Pulumi.dev.yaml: aws:allowedAccountIds: missing; every stack pins its AWS account; allowed: ["111122223333"] (guardrails/guardrails.yaml /accounts/dev), e.g. \`pulumi config set --path 'aws:allowedAccountIds[0]' 111122223333\``,
        );
    });

    it.each(["aws:skipRequestingAccountId", "aws:skipCredentialsValidation"])(
        "accepts %s set to false, and refuses true",
        (key) => {
            const flat = flatConfig("dev", (f) => (f[key] = "false"));
            expect(() => parseStackConfig("dev", flat.values, flat.secretKeys, guardrails)).not.toThrow();
            expect(refusal("dev", (f) => (f[key] = "true")).split("\n")).toContain(
                `Pulumi.dev.yaml: ${key}: "true" turns off the account check aws:allowedAccountIds relies on; allowed: false or absent`,
            );
        },
    );

    it("reads the switch's false however spaced or capitalised", () => {
        for (const off of ["False", " false ", "FALSE"]) {
            const flat = flatConfig("dev", (f) => (f["aws:skipRequestingAccountId"] = off));
            expect(() => parseStackConfig("dev", flat.values, flat.secretKeys, guardrails)).not.toThrow();
        }
    });

    it("hands the pinned region on (SNS receivers sign requests for it)", () => {
        expect(stackConfig("dev").awsRegion).toBe("us-east-1");
    });
});

describe("plaintext credentials under any credential-like key are refused", () => {
    it.each([
        [
            "kubernetes:kubeconfig",
            "apiVersion: v1\nusers: [{name: admin, user: {token: abc}}]",
            "kubernetes:kubeconfig",
        ],
        ["grafana:tlsKey", "-----BEGIN PRIVATE KEY-----", "grafana:tlsKey"],
        [
            "aws:assumeRole",
            JSON.stringify({ roleArn: "arn:aws:iam::123456789012:role/deploy", externalId: "s3cr3t" }),
            "aws:assumeRole.externalId",
        ],
        ["aws:secretKey", "AKIA...", "aws:secretKey"],
        // A credential name that only contains a path word (profile, direct) is no path.
        ["kubernetes:profileToken", "eyJhbGciOi", "kubernetes:profileToken"],
        ["grafana:directAuth", "admin:hunter2", "grafana:directAuth"],
        // A credential that only starts like a switch word is no switch.
        ["grafana:auth", "trueblue:hunter2", "grafana:auth"],
    ])("refuses %s in plaintext", (key, value, named) => {
        const msg = refusal("dev", (f) => (f[key] = value));
        expect(msg).toContain(`${key}: must be a secret; set it with \`pulumi config set --secret ${key} <value>\``);
        expect(msg).toContain(`holds a credential in plaintext: ${named}`);
        expect(msg).not.toContain(value);
    });

    it("finds credentials at any depth of a structured value, also after leading whitespace, naming each", () => {
        const value = ` \n${JSON.stringify({
            roleArn: "arn:aws:iam::111122223333:role/deploy",
            externalId: "s3cr3t",
            tags: { sessionToken: "t0k3n" },
        })}`;
        expect(refusal("dev", (f) => (f["aws:assumeRole"] = value))).toBe(
            "Pulumi.dev.yaml: aws:assumeRole: must be a secret; set it with `pulumi config set --secret aws:assumeRole <value>` (it holds a credential in plaintext: aws:assumeRole.externalId, aws:assumeRole.tags.sessionToken)",
        );
    });

    it.each([
        ["grafana:auth", "", "empty"],
        [
            "aws:assumeRole",
            JSON.stringify({ roleArn: "arn:aws:iam::111122223333:role/deploy", externalId: null }),
            "null in a structured value",
        ],
        [
            "aws:assumeRole",
            JSON.stringify({ roleArn: "arn:aws:iam::111122223333:role/deploy", sessionTokenFromEnvironment: true }),
            "a switch in a structured value",
        ],
        ["aws:skipCredentialsValidation", "false", "a switch"],
        ["aws:skipCredentialsValidation", " False ", "a switch spaced and capitalised, as the account check reads it"],
        [
            "aws:assumeRole",
            JSON.stringify({ roleArn: "arn:aws:iam::111122223333:role/deploy", sessionTokenFromEnvironment: "TRUE" }),
            "a switch written as text in a structured value",
        ],
    ])("accepts %s holding no credential (%#: %s)", (key, value) => {
        const flat = flatConfig("dev", (f) => (f[key] = value));
        expect(() => parseStackConfig("dev", flat.values, flat.secretKeys, guardrails)).not.toThrow();
    });

    it("finds no credential in a credential-named key left undefined (a value built in code, not read from a file)", () => {
        expect(credentialKeys("aws:assumeRole", { roleArn: "arn", externalId: undefined })).toEqual([]);
        expect(credentialKeys("aws:assumeRole", { roleArn: "arn", externalId: "s3cr3t" })).toEqual([
            "aws:assumeRole.externalId",
        ]);
    });

    it("accepts the same keys as secrets, and non-credential keys (a region, a credentials file path) in plaintext", () => {
        const flat = flatConfig("dev", (f) => {
            f["kubernetes:kubeconfig"] = "[secret]";
            f["aws:sharedCredentialsFiles"] = JSON.stringify(["/home/deploy/.aws/credentials"]);
            f["aws:profile"] = "deploy";
        });
        expect(() =>
            parseStackConfig("dev", flat.values, [...flat.secretKeys, "kubernetes:kubeconfig"], guardrails),
        ).not.toThrow();
    });
});
