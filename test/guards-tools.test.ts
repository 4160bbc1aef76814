/**
 * Guards that hold: inputs the tools must not mishandle. synth's --out never empties a folder it did not write;
 * YAML bombs and oversized documents fail fast with a message; config values are bounded by what the providers
 * accept; credentials under any credential-like key must be secrets.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../core/stackConfig";
import { MAX_DOCUMENT_BYTES, ValidationError, readDataFile, repoRoot } from "../core/validation";
import { readStackFile } from "../offline/mockRuntime";
import { SYNTH_MARKER, outDirProblem, synthStack, writeSynthOutput } from "../offline/synth";
import { KEY, flatConfig, guardrails, runScript } from "./helpers";

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
    ])("refuses %s in plaintext", (key, value, named) => {
        const msg = refusal("dev", (f) => (f[key] = value));
        expect(msg).toContain(`${key}: must be a secret; set it with \`pulumi config set --secret ${key} <value>\``);
        expect(msg).toContain(`holds a credential in plaintext: ${named}`);
        expect(msg).not.toContain(value);
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
