/**
 * Stacks whose rules one Prometheus evaluates: SLI scoping (sliMatchers), rule object names unique per environment,
 * and the refusal of two stacks that would share a rule object, a series or SLI traffic, in `npm run validate` and
 * in the program's preflight. Each guard with the passing value, the refused one and the ways around it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { parseStackConfig } from "../core/stackConfig";
import { ValidationError } from "../core/validation";
import { RegisteredResource, runWithMocks } from "../offline/mockRuntime";
import { stackProgram } from "../offline/synth";
import {
    RuleSet,
    buildRuleSets,
    isAlertingRule,
    isRecordingRule,
    separatingLabel,
    stacksApart,
    writtenSeries,
} from "../rules";
import { stacksApartProblems } from "../rules/placement";
import { flatConfig, guardrails, KEY, runScript, stackFileDoc, STACKS, toAmp } from "./helpers";

function config(stack: string, change: (flat: Record<string, string>) => void = () => undefined, as = stack) {
    const flat = flatConfig(stack, change);
    return parseStackConfig(as, flat.values, flat.secretKeys, guardrails, `Pulumi.${as}.yaml`);
}

function refusal(stack: string, change: (flat: Record<string, string>) => void): string {
    try {
        config(stack, change);
    } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
    }
    throw new Error(`expected the ${stack} variant to be refused`);
}

const CLUSTER = "kubernetes:context";
const shippedContext = (stack: string) => flatConfig(stack).values[CLUSTER];
/** Put a stack's rules where prod's go (same cluster, same namespace). */
const besideProd = (f: Record<string, string>) => (f[CLUSTER] = shippedContext("prod"));
const scope = (m: Record<string, string>) => (f: Record<string, string>) => (f[KEY("sliMatchers")] = JSON.stringify(m));
const both =
    (...changes: Array<(f: Record<string, string>) => void>) =>
    (f: Record<string, string>) =>
        changes.forEach((c) => c(f));

describe("sliMatchers (extra SLI matchers per stack)", () => {
    it("are empty by default, so the shipped SLI selectors are the guardrails' own", () => {
        for (const stack of STACKS) {
            const c = config(stack);
            expect(c.sliMatchers).toEqual({});
            expect(c.slos.map((s) => s.sli.matchers)).toEqual(guardrails.slo.objectives.map((o) => o.sli.matchers));
        }
    });

    it("are added to every SLI selector of every SLO and telemetry rule", () => {
        const c = config("prod", scope({ namespace: "maestro-prod", cluster: "eks-1" }));
        const exprs = buildRuleSets(c, guardrails)
            .filter((s) => s.backlogItem === "sloRules" || s.backlogItem === "telemetryGapAlerts")
            .flatMap((s) => s.groups.flatMap((g) => g.rules))
            .map((r) => r.expr);
        const selectors = exprs.flatMap((e) => [...e.matchAll(/[a-z_]+_(?:bucket|count)\{[^}]*\}/g)].map((m) => m[0]));
        expect(selectors.length).toBeGreaterThan(guardrails.slo.objectives.length * 4);
        for (const s of selectors) {
            expect(s).toContain('namespace="maestro-prod"');
            expect(s).toContain('cluster="eks-1"');
        }
        // Only the raw SLI series: recordings keep their own labels (the dashboards read them unchanged).
        const rules = buildRuleSets(c, guardrails).flatMap((s) => s.groups.flatMap((g) => g.rules));
        for (const r of rules.filter(isRecordingRule)) {
            expect(Object.keys(r.labels)).not.toContain("namespace");
        }
        expect(rules.filter(isAlertingRule).length).toBeGreaterThan(0);
    });

    it.each([
        ["le", "1", `"le" is reserved`],
        ["__name__", "x", `"__name__" is reserved`],
        [
            guardrails.slo.objectives[0].sli.matchers[0].label,
            "other",
            `conflicts with SLO ${guardrails.slo.objectives[0].id}'s own matcher`,
        ],
    ])("refuses the label %s, naming the key and what is allowed", (label, value, why) => {
        const msg = refusal("dev", scope({ [label]: value }));
        expect(msg).toContain(`Pulumi.dev.yaml: ${KEY(`sliMatchers.${label}`)}: ${why}`);
        expect(msg).toContain("allowed:");
    });

    it("refuses an empty value (it would select series without the label), a bad label name and a non-string", () => {
        expect(refusal("dev", scope({ namespace: "" }))).toContain(KEY("sliMatchers.namespace"));
        expect(refusal("dev", scope({ "1abc": "x" }))).toContain(KEY("sliMatchers"));
        expect(refusal("dev", (f) => (f[KEY("sliMatchers")] = JSON.stringify({ namespace: 1 })))).toContain(
            KEY("sliMatchers.namespace"),
        );
        expect(refusal("dev", (f) => (f[KEY("sliMatchers")] = JSON.stringify(["namespace=dev"])))).toContain(
            KEY("sliMatchers"),
        );
    });
});

describe("stacks sharing a Prometheus", () => {
    const shipped = STACKS.map((s) => config(s));

    it("the shipped stacks each send their rules to their own cluster, and nothing is refused", () => {
        expect(new Set(shipped.map((c) => c.rulePlacement)).size).toBe(STACKS.length);
        expect(stacksApart(shipped, guardrails)).toEqual([]);
    });

    it("rule object names carry the environment, so no two environments share one", () => {
        const names = shipped.map((c) => buildRuleSets(c, guardrails).map((s) => s.name));
        shipped.forEach((c, i) => {
            for (const n of names[i]) {
                expect(n.endsWith(`-${c.environment}`)).toBe(true);
                names.filter((_, j) => j !== i).forEach((other) => expect(other).not.toContain(n));
            }
        });
    });

    it("refuses two unscoped stacks in one namespace of one cluster: their SLIs would read each other's traffic", () => {
        const dev = config("dev", besideProd);
        const problems = stacksApart([config("prod"), dev], guardrails);
        expect(problems).toEqual([
            {
                file: "Pulumi.dev.yaml",
                path: KEY("sliMatchers"),
                message: expect.stringContaining(
                    `stacks prod (Pulumi.prod.yaml) and dev share namespace monitoring of cluster ${shippedContext("prod")}, and their SLI selectors can read the same series`,
                ) as string,
            },
        ]);
        expect(problems[0].message).toContain("allowed: sliMatchers giving a label both stacks set a different value");
    });

    it("accepts them once sliMatchers set one label to different values", () => {
        const prod = config("prod", scope({ namespace: "maestro-prod" }));
        const dev = config("dev", both(besideProd, scope({ namespace: "maestro-dev" })));
        expect(separatingLabel(prod, dev)).toBe("namespace");
        expect(stacksApart([prod, dev], guardrails)).toEqual([]);
    });

    it.each<[string, Record<string, string>, Record<string, string>]>([
        ["scopes on different labels (a series can carry both)", { namespace: "maestro-prod" }, { cluster: "dev" }],
        ["the same scope on both", { namespace: "shared" }, { namespace: "shared" }],
        ["only one stack scoped", { namespace: "maestro-prod" }, {}],
    ])("still refuses %s", (_what, prodScope, devScope) => {
        const prod = config("prod", scope(prodScope));
        const dev = config("dev", both(besideProd, scope(devScope)));
        expect(stacksApart([prod, dev], guardrails).map((p) => p.path)).toEqual([KEY("sliMatchers")]);
    });

    it("is not fooled by other ruleSelectorLabels in the same namespace (one Prometheus may select both)", () => {
        const dev = config(
            "dev",
            both(besideProd, (f) => {
                const target = JSON.parse(f[KEY("ruleTarget")]) as Record<string, unknown>;
                f[KEY("ruleTarget")] = JSON.stringify({ ...target, ruleSelectorLabels: { prometheus: "dev" } });
            }),
        );
        expect(stacksApart([config("prod"), dev], guardrails).map((p) => p.path)).toEqual([KEY("sliMatchers")]);
    });

    it("refuses a second stack of the same environment there, even scoped apart: same objects, same series", () => {
        const prod = config("prod", scope({ namespace: "eu" }));
        const second = config("prod", scope({ namespace: "us" }), "prod-us");
        const problems = stacksApart([prod, second], guardrails);
        expect(problems.map((p) => [p.file, p.path])).toEqual([
            ["Pulumi.prod-us.yaml", KEY("environment")],
            ["Pulumi.prod-us.yaml", KEY("environment")],
        ]);
        expect(problems[0].message).toContain(`would both write rule object maestro-slo-`);
        expect(problems[1].message).toMatch(/would both write the series \S+\{.*env="prod"/);
        // Elsewhere (its own cluster) the same environment is fine: nothing is shared.
        const elsewhere = config("prod", (f) => (f[CLUSTER] = "another-cluster"), "prod-us");
        expect(stacksApart([prod, elsewhere], guardrails)).toEqual([]);
    });

    it("treats one AMP workspace as one Prometheus, and a workspace the stack creates as its own", () => {
        const amp = (id?: string) => (f: Record<string, string>) => toAmp(f, id);
        const shared = stacksApart([config("prod", amp("ws-shared")), config("dev", amp("ws-shared"))], guardrails);
        expect(shared.map((p) => p.path)).toEqual([KEY("sliMatchers")]);
        expect(shared[0].message).toContain("share AMP workspace ws-shared");
        expect(stacksApart([config("prod", amp()), config("dev", amp())], guardrails)).toEqual([]);
    });

    it("`kubernetes:cluster` names the cluster over the context, so a context alias does not hide a shared cluster", () => {
        const prod = config("prod", (f) => (f["kubernetes:cluster"] = "eks-shared"));
        const dev = config("dev", (f) => (f["kubernetes:cluster"] = "eks-shared"));
        expect(prod.rulePlacement).toBe(dev.rulePlacement);
        expect(stacksApart([prod, dev], guardrails).map((p) => p.path)).toEqual([KEY("sliMatchers")]);
    });
});

describe("the refusal runs where stacks are deployed and checked", () => {
    function stacksDir(change: (stack: string, config: Record<string, unknown>) => void): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-stacks-"));
        for (const stack of STACKS) {
            const doc = stackFileDoc(stack);
            change(stack, doc.config);
            fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), yaml.dump(doc));
        }
        return dir;
    }

    it("npm run validate passes the shipped stack files and refuses two that share a Prometheus", () => {
        const ok = runScript("validate");
        expect(ok.status).toBe(0);
        expect(ok.stdout).toContain("stacks: dev, prod, staging valid");
        const dir = stacksDir((stack, c) => {
            if (stack === "dev") {
                c[CLUSTER] = shippedContext("prod");
            }
        });
        const bad = runScript("validate", "--stacks", dir);
        expect(bad.status).toBe(1);
        expect(bad.stderr).toContain(
            `Pulumi.prod.yaml: ${KEY("sliMatchers")}: stacks dev (Pulumi.dev.yaml) and prod share`,
        );
    });

    it("npm run validate reports a stack file that does not validate", () => {
        const dir = stacksDir((stack, c) => {
            if (stack === "staging") {
                c[KEY("sliMatchers")] = { le: "1" };
            }
        });
        const bad = runScript("validate", "--stacks", dir);
        expect(bad.status).toBe(1);
        expect(bad.stderr).toContain(`Pulumi.staging.yaml: ${KEY("sliMatchers.le")}`);
    });

    it("the program's preflight refuses a stack that moves beside a sibling, before any resource exists", async () => {
        const record: RegisteredResource[] = [];
        const error = await runWithMocks({
            stack: "dev",
            config: flatConfig("dev", besideProd),
            program: stackProgram(),
            configFileName: "Pulumi.dev.yaml",
            record,
        }).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(error?.message).toContain("the dev stack cannot deploy; nothing was registered:");
        expect(error?.message).toContain(
            `guardrail rules: Pulumi.dev.yaml: ${KEY("sliMatchers")}: stacks prod (Pulumi.prod.yaml) and dev share namespace monitoring`,
        );
        expect(record.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
    });
});

describe("what the check compares", () => {
    const set = (name: string, rules: RuleSet["groups"][number]["rules"]): RuleSet => ({
        name,
        backlogItem: "sloRules",
        groups: [{ name, rules }],
    });

    it("writes each series once, by name and sorted labels (an alert as ALERTS with its alertname), in order", () => {
        const sets = [
            set("one", [
                { record: "b:rate5m", expr: "1", labels: { z: "1", a: "2" } },
                { alert: "Late", expr: "1", labels: { env: "prod" }, annotations: {} },
            ]),
            set("two", [{ record: "b:rate5m", expr: "2", labels: { a: "2", z: "1" } }]),
        ];
        expect(writtenSeries(sets)).toEqual(['ALERTS{alertname="Late",env="prod"}', 'b:rate5m{a="2",z="1"}']);
    });

    it("finds a label that separates two scopes only where both set it to different values", () => {
        const prod = config("prod", scope({ namespace: "maestro-prod", cluster: "eks" }));
        expect(separatingLabel(prod, config("dev", scope({ namespace: "maestro-dev" })))).toBe("namespace");
        expect(separatingLabel(prod, config("dev", scope({ cluster: "eks", team: "x" })))).toBeUndefined();
        expect(separatingLabel(config("prod"), prod)).toBeUndefined();
    });

    it("names the first shared object and series alone, and counts the others", () => {
        const prod = config("prod", scope({ namespace: "a" }));
        const dev = config("dev", both(besideProd, scope({ namespace: "b" })));
        const rule = (n: number) => ({ record: `r${n}`, expr: "1", labels: { env: "x" } });
        const one = stacksApartProblems([
            { config: prod, sets: [set("x", [rule(1)])] },
            { config: dev, sets: [set("x", [rule(1)]), set("y", [rule(2)])] },
        ]);
        expect(one.map((p) => p.message)).toEqual([
            expect.stringContaining("and would both write rule object x; allowed:"),
            expect.stringContaining('and would both write the series r1{env="x"}; allowed:'),
        ]);
        const three = stacksApartProblems([
            { config: prod, sets: [set("x", [rule(1), rule(2), rule(3)]), set("y", []), set("z", [])] },
            { config: dev, sets: [set("x", [rule(1), rule(2), rule(3)]), set("y", []), set("z", [])] },
        ]);
        expect(three.map((p) => p.message)).toEqual([
            expect.stringContaining("and would both write rule object x (and 2 more); allowed:"),
            expect.stringContaining('and would both write the series r1{env="x"} (and 2 more); allowed:'),
        ]);
    });

    it("suggests a label the first stack already scopes on, or namespace", () => {
        const unscoped = stacksApart([config("prod"), config("dev", besideProd)], guardrails);
        expect(unscoped[0].message).toContain("(e.g. namespace)");
        const teams = stacksApart(
            [config("prod", scope({ team: "a" })), config("dev", both(besideProd, scope({ team: "a" })))],
            guardrails,
        );
        expect(teams[0].message).toContain("(e.g. team)");
    });
});
