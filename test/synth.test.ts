import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    maskSecrets,
    readStackFile,
    RegisteredResource,
    runWithMocks,
    SECRET_PLACEHOLDER,
} from "../offline/mockRuntime";
import { stackProgram, synthStack, writeSynthOutput } from "../offline/synth";
import { guardrails, KEY, STACKS, writeStackVariant, runScript } from "./helpers";
import { repoRoot } from "../core/validation";
import { copyOfTree } from "../verify/treeCopy";
import { Frame, formatterOf, isSdkBookkeeping, plainStack, setFormatter } from "../offline/sdkStacks";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "maestro-synth-"));

describe.each(STACKS)("synth of %s", (stack) => {
    it("writes resources.json with every registered resource and its options, and outputs.json with secrets masked", async () => {
        const result = await synthStack({ stack });
        const out = tmp();
        const files = writeSynthOutput(result, out);
        expect(files).toEqual(expect.arrayContaining(["resources.json", "outputs.json"]));
        const doc = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as {
            stack: string;
            resources: Array<{ urn: string; options: Record<string, unknown> }>;
        };
        expect(doc.stack).toBe(stack);
        expect(doc.resources.map((r) => r.urn)).toContain(
            `urn:pulumi:${stack}::maestro-guardrails::pulumi:pulumi:Stack::maestro-guardrails-${stack}`,
        );
        for (const r of doc.resources) {
            expect(Object.keys(r.options).sort()).toEqual([
                "additionalSecretOutputs",
                "deleteBeforeReplace",
                "dependsOn",
                "ignoreChanges",
                "protect",
                "provider",
                "retainOnDelete",
            ]);
        }
        const outputs = JSON.parse(fs.readFileSync(path.join(out, "outputs.json"), "utf8")) as Record<string, unknown>;
        expect(outputs.alertEmails).toBe(SECRET_PLACEHOLDER);
        expect(outputs.environment).toBe(stack);
    });

    it("is deterministic: two runs write the same bytes", async () => {
        const [a, b] = [tmp(), tmp()];
        writeSynthOutput(await synthStack({ stack }), a);
        writeSynthOutput(await synthStack({ stack }), b);
        for (const f of ["resources.json", "outputs.json"]) {
            expect(fs.readFileSync(path.join(a, f), "utf8")).toBe(fs.readFileSync(path.join(b, f), "utf8"));
        }
    });

    it("refuses bad config before registering anything but the root stack", async () => {
        const file = writeStackVariant(
            stack,
            (c) => (c[KEY("monthlyBudgetUsd")] = guardrails.cost.caps[stack].monthlyUsd * 2),
        );
        const registered: RegisteredResource[] = [];
        await expect(
            runWithMocks({
                stack,
                config: readStackFile(file),
                program: stackProgram(),
                configFileName: "bad.yaml",
                record: registered,
            }),
        ).rejects.toThrow(
            `bad.yaml: ${KEY("monthlyBudgetUsd")}: ${guardrails.cost.caps[stack].monthlyUsd * 2} is above the ${stack} cost guardrail`,
        );
        expect(registered.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
    });
});

describe("stack files", () => {
    it("reads secure values as flagged secrets and structured values as JSON, the way the CLI passes them", () => {
        const dir = tmp();
        const file = path.join(dir, "Pulumi.x.yaml");
        fs.writeFileSync(
            file,
            "config:\n  grafana:auth:\n    secure: v1:abc\n  maestro-guardrails:alertEmails:\n    - a@b.example\n  maestro-guardrails:monthlyBudgetUsd: 10\n",
        );
        expect(readStackFile(file)).toEqual({
            values: {
                "grafana:auth": SECRET_PLACEHOLDER,
                [KEY("alertEmails")]: '["a@b.example"]',
                [KEY("monthlyBudgetUsd")]: "10",
            },
            secretKeys: ["grafana:auth"],
        });
    });

    it("refuses an unknown top-level key, naming the file", () => {
        const file = path.join(tmp(), "Pulumi.x.yaml");
        fs.writeFileSync(file, "confg:\n  a: b\n");
        expect(() => readStackFile(file)).toThrow(
            /Pulumi\.x\.yaml: \/confg: unknown top-level key; allowed: config, encryptionsalt/,
        );
    });

    it("masks secrets nested anywhere", () => {
        const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "pw" };
        expect(maskSecrets({ a: [secret], b: { c: secret }, d: 1 })).toEqual({
            a: [SECRET_PLACEHOLDER],
            b: { c: SECRET_PLACEHOLDER },
            d: 1,
        });
    });
});

describe("the synth command", () => {
    it("synthesizes every stack with --all and exits 0", () => {
        const out = tmp();
        const r = runScript("synth", "--all", "--out", out);
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(`${STACKS.length} of ${STACKS.length} stacks synthesized`);
        for (const s of STACKS) {
            expect(fs.existsSync(path.join(out, s, "resources.json"))).toBe(true);
        }
    });

    it("exits 1 and names file, key and allowed value for a bad --config", () => {
        const file = writeStackVariant("prod", (c) => (c[KEY("releaseTag")] = "latest"));
        const r = runScript("synth", "--stack", "prod", "--config", file, "--out", tmp());
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(
            `${KEY("releaseTag")}: "latest" is not a release tag; allowed: ${guardrails.cadence.tagFormat}`,
        );
        expect(r.stderr).toContain("Pulumi.prod.variant.yaml");
    });

    it.each([
        [["--stack", "qa"], 'unknown stack "qa" for --stack; allowed: dev, staging, prod'],
        [["--stak", "dev"], 'unknown flag "--stak"; allowed flags: --stack <value>'],
        [["--all", "--config", "x.yaml"], "--config names one stack's file; use it with --stack, not --all"],
        [[], "give exactly one of --stack <stack> or --all"],
        [["--stack"], "flag --stack needs a value"],
    ])("refuses %j with a usage error (exit 2)", (args, message) => {
        const r = runScript("synth", ...args);
        expect(r.status).toBe(2);
        expect(r.stderr).toContain(message);
        expect(r.stderr).toContain("usage: npm run synth");
    });

    it("refuses a policy config naming an unknown policy for every stack, from the pack's client thread, as a refusal", () => {
        const config = path.join(repoRoot, "test", "fixtures", "policies", "unknown-policy.json");
        const r = runScript("synth", "--all", "--out", tmp(), "--policy-config", config);
        expect(r.status).toBe(1);
        for (const s of STACKS) {
            expect(r.stderr).toContain(
                `stack ${s}: FAILED\ntest/fixtures/policies/unknown-policy.json: /dashboards-provisoned: no policy "dashboards-provisoned" in pack`,
            );
        }
        // A refusal is its message alone (the RunError flag crossed the thread with the problems), no stack trace.
        expect(r.stderr).not.toMatch(/^\s+at /m);
        expect(r.stdout).toContain(
            `0 of ${STACKS.length} stacks synthesized and passed the policy pack, ${STACKS.length} failed`,
        );
    });

    it("fails the stack with the pack's own error when the pack's thread cannot start it", () => {
        // In a copy of the tree: the repository's pack is the one every other test file starts.
        const tree = copyOfTree("maestro-synth-nopack-");
        fs.writeFileSync(path.join(tree, "policies", "PulumiPolicy.yaml"), "runtime: python\n");
        const r = spawnSync(process.execPath, [path.join(tree, "bin", "scripts", "synth.js"), "--stack", "dev"], {
            cwd: tree,
            encoding: "utf8",
            timeout: 60000,
        });
        expect(r.signal).toBeNull();
        expect(r.status).toBe(1);
        expect(r.stderr).toBe(
            `stack dev: FAILED\npolicies/PulumiPolicy.yaml: /runtime: "python"; this harness runs Node.js packs; allowed: nodejs\n`,
        );
        expect(r.stdout).toContain("0 of 1 stacks synthesized and passed the policy pack, 1 failed");
    });

    it("reports a missing --config file by name", () => {
        const r = runScript("synth", "--stack", "dev", "--config", "/nonexistent/Pulumi.dev.yaml", "--out", tmp());
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("/nonexistent/Pulumi.dev.yaml: /: stack config file not found");
    });
});

describe("synth's V8 settings for a short run (offline/shortRunFlags.ts)", () => {
    const optimizes = (nodeArgs: string[]) => {
        const r = spawnSync(
            process.execPath,
            [...nodeArgs, path.join(repoRoot, "test", "fixtures", "v8", "optimizes.js")],
            {
                cwd: repoRoot,
                encoding: "utf8",
                timeout: 30000,
            },
        );
        expect(r.stderr).toBe("");
        return r.stdout;
    };

    it("leave V8 without TurboFan: a hot function TurboFan compiles in a plain process stays uncompiled", () => {
        expect(optimizes([])).toBe("turbofan");
        expect(optimizes(["--require", path.join(repoRoot, "bin", "offline", "useShortRunFlags.js")])).toBe(
            "no turbofan",
        );
    });

    it("are set by synth's script right after the code cache's hook, before anything else loads", () => {
        const text = fs.readFileSync(path.join(repoRoot, "scripts", "synth.ts"), "utf8");
        expect(text.match(/^import .*$/gm)?.slice(0, 2)).toEqual([
            'import "../offline/useCodeCache";',
            'import "../offline/useShortRunFlags";',
        ]);
    });
});

/**
 * The stacks the SDK captures for its own bookkeeping go unformatted while synth runs a program (offline/sdkStacks.ts):
 * a quarter of a run's time, and nothing reads them under the mock runtime. Seen from a plain node process, as synth
 * runs (this file's own stacks go through jest's environment, which skips them already).
 */
describe("the SDK's bookkeeping stacks during a program run", () => {
    const probe = (nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}) => {
        const r = spawnSync(
            process.execPath,
            [...nodeArgs, path.join(repoRoot, "test", "fixtures", "sdk-stacks", "probe.js")],
            { cwd: repoRoot, encoding: "utf8", env: { ...process.env, REPO: repoRoot, ...env }, timeout: 60000 },
        );
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        return JSON.parse(r.stdout) as {
            during: Record<string, number | string | boolean>;
            ran: string[];
            after: { sdkCallsites: number; sameFormatter: boolean };
            thrown: string;
            afterThrow: { sameFormatter: boolean };
            setDuring: { kept: boolean };
        };
    };
    const withoutLeakDebugging = { PULUMI_DEBUG_PROMISE_LEAKS: "" };
    // The plain run, seen by three tests: one process.
    let plain: ReturnType<typeof probe> | undefined;
    const plainRun = () => (plain ??= probe([], withoutLeakDebugging));

    it("are the bare error line, while every other stack keeps its frames, a lookalike of the SDK's function too", () => {
        const seen = plainRun();
        expect(seen.ran).toEqual(["test:index:Thing", "pulumi:pulumi:Stack"]);
        expect(seen.during).toMatchObject({ sdkCallsites: 0, sdkPromise: 0, mineLine: "Error: mine" });
        expect(seen.during.mine).toBeGreaterThan(2);
        expect(seen.during.lookalike).toBeGreaterThan(2);
    });

    it("are formatted again after the run, whether it passed or threw; a formatter the program set stays", () => {
        const seen = plainRun();
        expect(seen.after).toEqual({ sdkCallsites: expect.any(Number), sameFormatter: true });
        expect(seen.after.sdkCallsites).toBeGreaterThan(0);
        expect(seen.thrown).toBe("the program failed");
        expect(seen.afterThrow.sameFormatter).toBe(true);
        expect(seen.setDuring.kept).toBe(true);
    });

    it("keep their frames with PULUMI_DEBUG_PROMISE_LEAKS (the leak report prints them)", () => {
        const seen = probe([], { PULUMI_DEBUG_PROMISE_LEAKS: "true" });
        expect(seen.during.sdkCallsites).toBeGreaterThan(2);
        expect(seen.during.sdkPromise).toBeGreaterThan(2);
    });

    it("leave Node's source maps at work for every other stack (--enable-source-maps)", () => {
        expect(plainRun().during.mapsToSources).toBe(false);
        const mapped = probe(["--enable-source-maps"], withoutLeakDebugging);
        expect(mapped.during).toMatchObject({ sdkCallsites: 0, sdkPromise: 0, mapsToSources: true });
    });

    it("are nothing the run records: the same resources and outputs with every capture formatted", async () => {
        const skipped = await synthStack({ stack: "dev" });
        const formatter = formatterOf(Error);
        const leaks = process.env.PULUMI_DEBUG_PROMISE_LEAKS;
        // Every stack formatted in full, as with no skipping anywhere (jest's environment's formatter set aside).
        setFormatter(Error, plainStack);
        process.env.PULUMI_DEBUG_PROMISE_LEAKS = "true";
        try {
            const formatted = await synthStack({ stack: "dev" });
            expect(formatted.run).toEqual(skipped.run);
        } finally {
            setFormatter(Error, formatter);
            if (leaks === undefined) {
                delete process.env.PULUMI_DEBUG_PROMISE_LEAKS;
            } else {
                process.env.PULUMI_DEBUG_PROMISE_LEAKS = leaks;
            }
        }
    });
});

describe("which stacks are the SDK's bookkeeping", () => {
    const frame = (file: string, fn: string | null, method: string | null = null) =>
        ({ getFileName: () => file, getFunctionName: () => fn, getMethodName: () => method }) as unknown as Frame;
    const sdk = path.join(repoRoot, "node_modules", "@pulumi", "pulumi");
    const mine = path.join(repoRoot, "bin", "components", "stack.js");

    it.each([
        ["the SDK's promise tracking", [frame(path.join(sdk, "runtime", "debuggable.js"), "debuggablePromise")]],
        ["the SDK's resource call sites", [frame(path.join(sdk, "resource.js"), "callsites")]],
        ["the call sites as a method", [frame(path.join(sdk, "resource.js"), null, "callsites")]],
    ])("%s: yes", (_what, frames) => {
        expect(isSdkBookkeeping(frames)).toBe(true);
    });

    it.each([
        ["another function of the SDK's file", [frame(path.join(sdk, "resource.js"), "Resource")]],
        ["a function named as the SDK's, in another file", [frame(mine, "callsites")]],
        ["a package whose path ends as the SDK's", [frame("/x/@pulumi/pulumi-fake/resource.js", "callsites")]],
        [
            "the SDK's function below the first frame",
            [frame(mine, "f"), frame(path.join(sdk, "resource.js"), "callsites")],
        ],
        ["no frames", []],
    ])("%s: no", (_what, frames) => {
        expect(isSdkBookkeeping(frames)).toBe(false);
    });
});
