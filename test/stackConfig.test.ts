import * as pulumi from "@pulumi/pulumi";
import { COST_COLLECTOR_MIN_REFRESH_MINUTES } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import {
    COST_COLLECTOR_DEFAULT_IMAGE,
    GRAFANA_MIN_MAJOR,
    parseStackConfig,
    StackConfig,
    stackConfigFromPulumi,
} from "../core/stackConfig";
import { ValidationError } from "../core/validation";
import { flatConfig, guardrails, KEY, STACKS, toAmp } from "./helpers";

function parse(stack: string, change?: (flat: Record<string, string>) => void, secretKeys?: string[]): StackConfig {
    const flat = flatConfig(stack, change);
    return parseStackConfig(stack, flat.values, secretKeys ?? flat.secretKeys, guardrails);
}

function refusal(stack: string, change: (flat: Record<string, string>) => void, secretKeys?: string[]): string {
    try {
        parse(stack, change, secretKeys);
    } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
    }
    throw new Error(`expected Pulumi.${stack}.yaml variant to be refused`);
}

/** The message of the ValidationError `run` throws. */
function refused(run: () => unknown): string {
    try {
        run();
    } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
    }
    throw new Error("expected the config to be refused");
}

describe.each(STACKS)("shipped stack config of %s", (stack) => {
    const config = parse(stack);
    const cap = guardrails.cost.caps[stack];

    it("is valid and names its environment", () => {
        expect(config.environment).toBe(stack);
        expect(config.stack).toBe(stack);
        expect(config.sourceFile).toBe(`Pulumi.${stack}.yaml`);
    });

    it("keeps the budgets at or under the guardrail caps", () => {
        expect(config.monthlyBudgetUsd).toBeLessThanOrEqual(cap.monthlyUsd);
        expect(config.llmBudgetUsd).toBeGreaterThan(0);
        expect(config.llmBudgetUsd).toBeLessThanOrEqual(
            Math.min(cap.llmMonthlyUsd ?? Infinity, config.monthlyBudgetUsd),
        );
    });

    it("deploys every guardrail SLO, none looser", () => {
        expect(config.slos.map((o) => o.id)).toEqual(guardrails.slo.objectives.map((o) => o.id));
        config.slos.forEach((o, i) => {
            expect(o.sli.thresholdSeconds).toBeLessThanOrEqual(guardrails.slo.objectives[i].sli.thresholdSeconds);
            expect(o.objective).toBeGreaterThanOrEqual(guardrails.slo.objectives[i].objective);
        });
    });

    it("refuses a monthly budget above the cap, naming file, key and allowed value", () => {
        const over = cap.monthlyUsd + 1;
        expect(refusal(stack, (f) => (f[KEY("monthlyBudgetUsd")] = String(over)))).toBe(
            `Pulumi.${stack}.yaml: ${KEY("monthlyBudgetUsd")}: ${over} is above the ${stack} cost guardrail; allowed: a number > 0 and <= ${cap.monthlyUsd}`,
        );
    });

    it("refuses an SLO threshold looser than the guardrail", () => {
        const slo = guardrails.slo.objectives[0];
        const looser = slo.sli.thresholdSeconds * 2;
        const msg = refusal(
            stack,
            (f) => (f[KEY("guardrailOverrides")] = JSON.stringify({ slo: { [slo.id]: { thresholdSeconds: looser } } })),
        );
        expect(msg).toBe(
            `Pulumi.${stack}.yaml: ${KEY(`guardrailOverrides.slo.${slo.id}.thresholdSeconds`)}: ${looser} is looser than the guardrail; allowed: a number > 0 and <= ${slo.sli.thresholdSeconds}`,
        );
    });

    it("refuses a lower objective than the guardrail", () => {
        const slo = guardrails.slo.objectives[1];
        const lower = slo.objective / 2;
        expect(
            refusal(
                stack,
                (f) => (f[KEY("guardrailOverrides")] = JSON.stringify({ slo: { [slo.id]: { objective: lower } } })),
            ),
        ).toContain(
            `${KEY(`guardrailOverrides.slo.${slo.id}.objective`)}: ${lower} is looser than the guardrail; allowed: a number >= ${slo.objective}`,
        );
    });

    it("applies a tighter SLO override", () => {
        const slo = guardrails.slo.objectives[2];
        const tighter = slo.sli.thresholdSeconds / 2;
        const c = parse(
            stack,
            (f) =>
                (f[KEY("guardrailOverrides")] = JSON.stringify({ slo: { [slo.id]: { thresholdSeconds: tighter } } })),
        );
        expect(c.slos[2].sli.thresholdSeconds).toBe(tighter);
        expect(c.slos[0]).toEqual(guardrails.slo.objectives[0]);
    });

    it("refuses a cost alert threshold later than the guardrail", () => {
        const later = (1 + guardrails.cost.alertThreshold) / 2;
        expect(
            refusal(stack, (f) => (f[KEY("guardrailOverrides")] = JSON.stringify({ costAlertThreshold: later }))),
        ).toBe(
            `Pulumi.${stack}.yaml: ${KEY("guardrailOverrides.costAlertThreshold")}: ${later} alerts later than the guardrail; allowed: a number > 0 and <= ${guardrails.cost.alertThreshold}`,
        );
    });

    it("refuses an unknown key and lists the allowed ones", () => {
        expect(refusal(stack, (f) => (f[KEY("monthlyBudget")] = "10"))).toMatch(
            new RegExp(
                `^Pulumi\\.${stack}\\.yaml: maestro-guardrails:monthlyBudget: unknown key; allowed keys: .*maestro-guardrails:monthlyBudgetUsd`,
            ),
        );
    });

    it("refuses a missing required key", () => {
        expect(refusal(stack, (f) => delete f[KEY("owner")])).toBe(
            `Pulumi.${stack}.yaml: ${KEY("owner")}: missing required key "owner"`,
        );
    });

    it("refuses a value of the wrong type", () => {
        expect(refusal(stack, (f) => (f[KEY("llmBudgetUsd")] = "lots"))).toBe(
            `Pulumi.${stack}.yaml: ${KEY("llmBudgetUsd")}: "lots" is not a number`,
        );
        expect(refusal(stack, (f) => (f[KEY("alertEmails")] = JSON.stringify(["not-an-email"])))).toContain(
            `${KEY("alertEmails[0]")}: must match format "email"`,
        );
    });

    it.each(["monthlyBudgetUsd", "llmBudgetUsd"])(
        "refuses a %s that is blank, spaces, text or past any number, instead of reading it as 0 or infinity",
        (key) => {
            // Number("") and Number("  ") are 0, Number("1e999") is Infinity: each would pass as a number.
            for (const value of ["", "  ", "12 USD", "1e999", "-1e999", "NaN"]) {
                expect(refusal(stack, (f) => (f[KEY(key)] = value))).toBe(
                    `Pulumi.${stack}.yaml: ${KEY(key)}: "${value}" is not a number`,
                );
            }
        },
    );

    it.each(["monthlyBudgetUsd", "llmBudgetUsd"])(
        "refuses a %s of zero or below, and takes the smallest amount",
        (key) => {
            for (const value of ["0", "-0", "-1"]) {
                expect(refusal(stack, (f) => (f[KEY(key)] = value))).toBe(
                    `Pulumi.${stack}.yaml: ${KEY(key)}: must be > 0`,
                );
            }
            // The LLM budget is at most the monthly one: the smallest amount for both.
            const smallest = parse(stack, (f) => (f[KEY("monthlyBudgetUsd")] = f[KEY("llmBudgetUsd")] = "0.01"));
            expect(smallest[key as "llmBudgetUsd"]).toBe(0.01);
        },
    );

    it("reads a numeric key written with spaces or as an exponent as the number it spells", () => {
        expect(parse(stack, (f) => (f[KEY("monthlyBudgetUsd")] = ` ${cap.monthlyUsd} `)).monthlyBudgetUsd).toBe(
            cap.monthlyUsd,
        );
        expect(parse(stack, (f) => (f[KEY("llmBudgetUsd")] = "1e2")).llmBudgetUsd).toBe(100);
    });

    it("refuses an unknown rule target kind", () => {
        expect(refusal(stack, (f) => (f[KEY("ruleTarget")] = JSON.stringify({ kind: "thanos" })))).toContain(
            `${KEY("ruleTarget.kind")}: must be one of "prometheus-operator", "amp"`,
        );
    });

    it("requires ruleSelectorLabels for prometheus-operator: no default that a standard install ignores", () => {
        const target = config.ruleTarget;
        expect(target.kind).toBe("prometheus-operator");
        // kube-prometheus-stack's ruleSelector matches its Helm release name.
        expect(Object.keys(target.kind === "prometheus-operator" ? target.ruleSelectorLabels : {})).toEqual([
            "release",
        ]);
        const without = { kind: "prometheus-operator", namespace: "monitoring" };
        expect(refusal(stack, (f) => (f[KEY("ruleTarget")] = JSON.stringify(without)))).toContain(
            `Pulumi.${stack}.yaml: ${KEY("ruleTarget.ruleSelectorLabels")}: missing; the PrometheusRule objects are loaded only if they carry the labels your Prometheus' ruleSelector matches; allowed: a map of labels, e.g. {release: <helm release name>} for kube-prometheus-stack`,
        );
        // An empty map would select nothing either (and a PrometheusRule without labels is silently ignored).
        expect(
            refusal(stack, (f) => (f[KEY("ruleTarget")] = JSON.stringify({ ...without, ruleSelectorLabels: {} }))),
        ).toContain(`${KEY("ruleTarget.ruleSelectorLabels")}: `);
        // A value no Kubernetes label can hold would be refused by the API server after other resources exist.
        expect(
            refusal(
                stack,
                (f) =>
                    (f[KEY("ruleTarget")] = JSON.stringify({
                        ...without,
                        ruleSelectorLabels: { release: "my release" },
                    })),
            ),
        ).toContain(`${KEY("ruleTarget.ruleSelectorLabels.release")}: `);
        // The AMP target needs none (its receivers must be SNS topics: AMP's alert manager sends nowhere else).
        expect(parse(stack, (f) => toAmp(f)).ruleTarget).toEqual({ kind: "amp" });
    });

    it("requires an absolute grafana:url and runbook base, the links every alert carries", () => {
        expect(config.grafanaUrl).toMatch(/^https:\/\//);
        expect(config.runbookBaseUrl).toMatch(/^https:\/\/.*\/$/);
        expect(refusal(stack, (f) => delete f["grafana:url"])).toContain(
            `Pulumi.${stack}.yaml: grafana:url: missing; the Grafana provider connects to it and every alert links to its dashboards`,
        );
        expect(refusal(stack, (f) => (f[KEY("runbookBaseUrl")] = "docs/"))).toContain(
            `${KEY("runbookBaseUrl")}: "docs/" is not an absolute URL`,
        );
        // A scheme no browser opens from a notification is refused too.
        expect(refusal(stack, (f) => (f[KEY("runbookBaseUrl")] = "file:///srv/docs/"))).toContain(
            `${KEY("runbookBaseUrl")}: "file:///srv/docs/" is not an absolute URL`,
        );
        expect(parse(stack, (f) => (f[KEY("runbookBaseUrl")] = "https://wiki.example/runbooks")).runbookBaseUrl).toBe(
            "https://wiki.example/runbooks/",
        );
    });

    it("refuses a config namespace that no provider of the stack owns", () => {
        expect(refusal(stack, (f) => (f["gcp:project"] = "x"))).toContain("gcp:project: unknown config namespace");
    });

    it("refuses Grafana credentials that are not a Pulumi secret", () => {
        expect(refusal(stack, (f) => (f["grafana:auth"] = "admin:admin"))).toContain(
            "grafana:auth: must be a secret; set it with `pulumi config set --secret grafana:auth <value>`",
        );
        expect(() =>
            parse(stack, (f) => (f["grafana:auth"] = "[secret]"), [...flatConfig(stack).secretKeys, "grafana:auth"]),
        ).not.toThrow();
    });

    it("refuses a release tag that is not vX.Y.Z", () => {
        expect(refusal(stack, (f) => (f[KEY("releaseTag")] = "1.0"))).toContain(
            `${KEY("releaseTag")}: "1.0" is not a release tag; allowed: ${guardrails.cadence.tagFormat}`,
        );
    });
});

describe("per-environment rules", () => {
    it.each(["staging", "prod"])("%s needs a release tag", (stack) => {
        expect(refusal(stack, (f) => delete f[KEY("releaseTag")])).toBe(
            `Pulumi.${stack}.yaml: ${KEY("releaseTag")}: missing; a ${stack} deploy is a release and needs its tag; allowed: ${guardrails.cadence.tagFormat}, e.g. set it with \`pulumi config set ${KEY("releaseTag")} v1.2.0\``,
        );
    });

    it("dev may deploy without a release tag", () => {
        expect(parse("dev", (f) => delete f[KEY("releaseTag")]).releaseTag).toBeUndefined();
    });

    it("prod's LLM budget defaults to the LLM cap and may not exceed it", () => {
        const llmCap = guardrails.cost.caps.prod.llmMonthlyUsd!;
        expect(parse("prod", (f) => delete f[KEY("llmBudgetUsd")]).llmBudgetUsd).toBe(llmCap);
        expect(refusal("prod", (f) => (f[KEY("llmBudgetUsd")] = String(llmCap + 1)))).toContain(
            `${KEY("llmBudgetUsd")}: ${llmCap + 1} is above the prod LLM cost guardrail; allowed: a number > 0 and <= ${llmCap}`,
        );
    });

    it("names the limit an LLM budget passes: the LLM cap up to a monthly budget as large, else the monthly budget", () => {
        const llmCap = guardrails.cost.caps.prod.llmMonthlyUsd!;
        const budgets = (monthly: number, llm: number) => (f: Record<string, string>) => {
            f[KEY("monthlyBudgetUsd")] = String(monthly);
            f[KEY("llmBudgetUsd")] = String(llm);
        };
        expect(refusal("prod", budgets(llmCap, llmCap + 1))).toBe(
            `Pulumi.prod.yaml: ${KEY("llmBudgetUsd")}: ${llmCap + 1} is above the prod LLM cost guardrail; allowed: a number > 0 and <= ${llmCap}`,
        );
        expect(refusal("prod", budgets(llmCap - 1000, llmCap - 500))).toBe(
            `Pulumi.prod.yaml: ${KEY("llmBudgetUsd")}: ${llmCap - 500} is above the environment's monthly budget; allowed: a number > 0 and <= ${llmCap - 1000}`,
        );
        expect(parse("prod", budgets(llmCap - 1000, llmCap - 1000)).llmBudgetUsd).toBe(llmCap - 1000);
    });

    it("prod's monthly budget defaults to its cap", () => {
        expect(parse("prod", (f) => delete f[KEY("monthlyBudgetUsd")]).monthlyBudgetUsd).toBe(
            guardrails.cost.caps.prod.monthlyUsd,
        );
    });

    it.each(["dev", "staging"])("%s must set its own LLM budget, within the environment budget", (stack) => {
        expect(refusal(stack, (f) => delete f[KEY("llmBudgetUsd")])).toContain(
            `${KEY("llmBudgetUsd")}: missing; the guardrails set no LLM cap for ${stack}`,
        );
        const over = guardrails.cost.caps[stack].monthlyUsd + 1;
        expect(refusal(stack, (f) => (f[KEY("llmBudgetUsd")] = String(over)))).toContain(
            "is above the environment's monthly budget",
        );
    });

    it("prod evidence must be locked in COMPLIANCE mode", () => {
        expect(
            refusal(
                "prod",
                (f) => (f[KEY("provenance")] = JSON.stringify({ objectLockMode: "GOVERNANCE", retentionDays: 1 })),
            ),
        ).toContain(
            `${KEY("provenance.objectLockMode")}: "GOVERNANCE" lets privileged users delete prod evidence; allowed in prod: "COMPLIANCE"`,
        );
    });

    it("an environment outside the guardrails is refused", () => {
        expect(refusal("dev", (f) => (f[KEY("environment")] = "qa"))).toContain(
            `${KEY("environment")}: "qa" is not a guardrail environment; allowed: ${guardrails.environments.join(", ")}`,
        );
    });

    it("an environment outside the guardrails has no cap: its LLM budget is missing with no upper limit", () => {
        expect(
            refusal("dev", (f) => {
                f[KEY("environment")] = "qa";
                delete f[KEY("llmBudgetUsd")];
            }).split("\n"),
        ).toEqual([
            `Pulumi.dev.yaml: ${KEY("environment")}: "qa" is not a guardrail environment; allowed: ${guardrails.environments.join(", ")}`,
            `Pulumi.dev.yaml: ${KEY("environment")}: "qa" in the stack "dev", which is bound to dev by its name; allowed: "dev"`,
            `Pulumi.dev.yaml: ${KEY("llmBudgetUsd")}: missing; the guardrails set no LLM cap for qa, so give one; allowed: a number > 0 and <= Infinity`,
        ]);
    });

    it("a stack's name binds it to an environment: a stack named for none, or for another, is refused", () => {
        const dev = flatConfig("dev");
        const validate = (stack: string) => () => parseStackConfig(stack, dev.values, dev.secretKeys, guardrails);
        expect(validate("dev-eu")().environment).toBe("dev");
        expect(refused(validate("sandbox"))).toBe(
            `Pulumi.sandbox.yaml: ${KEY("environment")}: the stack "sandbox" is bound to no guardrail environment; allowed stack names: dev or dev-<suffix>, staging or staging-<suffix>, prod or prod-<suffix>`,
        );
        expect(refused(validate("prod"))).toBe(
            `Pulumi.prod.yaml: ${KEY("environment")}: "dev" in the stack "prod", which is bound to prod by its name; allowed: "prod"`,
        );
    });

    it("an override for an SLO id the guardrails do not define is refused, naming the key and the known ids", () => {
        const known = guardrails.slo.objectives[0];
        const overrides = {
            slo: { [known.id]: { objective: known.objective }, "api-typo-latency": { objective: known.objective } },
        };
        expect(refusal("dev", (f) => (f[KEY("guardrailOverrides")] = JSON.stringify(overrides)))).toBe(
            `Pulumi.dev.yaml: ${KEY("guardrailOverrides.slo.api-typo-latency")}: unknown SLO id; allowed: ${guardrails.slo.objectives.map((o) => o.id).join(", ")}`,
        );
        const knownOnly = JSON.stringify({ slo: { [known.id]: { objective: known.objective } } });
        expect(parse("dev", (f) => (f[KEY("guardrailOverrides")] = knownOnly)).slos[0]).toEqual(known);
    });

    it("lists every problem at once", () => {
        const msg = refusal("prod", (f) => {
            delete f[KEY("owner")];
            f[KEY("bogus")] = "1";
        });
        expect(msg.split("\n")).toHaveLength(2);
    });
});

describe("Grafana version and dashboard API", () => {
    it.each(STACKS)("%s defaults to the legacy dashboard API, which every supported Grafana serves", (stack) => {
        const c = parse(stack);
        expect(c.grafanaApi).toBe("legacy");
        expect(Number(c.grafanaVersion.split(".")[0])).toBeGreaterThanOrEqual(GRAFANA_MIN_MAJOR.legacy);
    });

    it("accepts the legacy API on the first Grafana the dashboard models support", () => {
        const c = parse("dev", (f) => (f[KEY("grafanaVersion")] = `${GRAFANA_MIN_MAJOR.legacy}.0`));
        expect(c.grafanaVersion).toBe(`${GRAFANA_MIN_MAJOR.legacy}.0`);
        expect(c.grafanaApi).toBe("legacy");
    });

    it("accepts the apps API on the first Grafana that serves it", () => {
        const c = parse("dev", (f) => {
            f[KEY("grafanaVersion")] = `${GRAFANA_MIN_MAJOR.apps}.0`;
            f[KEY("grafanaApi")] = "apps";
        });
        expect(c.grafanaApi).toBe("apps");
    });

    it("refuses the apps API on an older Grafana, naming the stack file, the key and what is allowed", () => {
        const older = `${GRAFANA_MIN_MAJOR.apps - 1}.6.2`;
        expect(
            refusal("prod", (f) => {
                f[KEY("grafanaVersion")] = older;
                f[KEY("grafanaApi")] = "apps";
            }),
        ).toBe(
            `Pulumi.prod.yaml: ${KEY("grafanaApi")}: "apps" (the dashboard.grafana.app API) needs Grafana ${GRAFANA_MIN_MAJOR.apps} or later, and ${KEY("grafanaVersion")} declares "${older}"; allowed with that version: "legacy" (the default)`,
        );
    });

    it("refuses a Grafana older than the dashboard models need, whatever the API", () => {
        expect(refusal("dev", (f) => (f[KEY("grafanaVersion")] = `${GRAFANA_MIN_MAJOR.legacy - 1}.4`))).toContain(
            `${KEY("grafanaVersion")}: "${GRAFANA_MIN_MAJOR.legacy - 1}.4": the dashboard models need Grafana ${GRAFANA_MIN_MAJOR.legacy} or later`,
        );
    });

    it("refuses a stack file that does not say which Grafana it runs, or an API it does not know", () => {
        expect(refusal("dev", (f) => delete f[KEY("grafanaVersion")])).toBe(
            `Pulumi.dev.yaml: ${KEY("grafanaVersion")}: missing required key "grafanaVersion"`,
        );
        expect(refusal("dev", (f) => (f[KEY("grafanaApi")] = "v2"))).toContain(
            `${KEY("grafanaApi")}: must be one of "legacy", "apps"`,
        );
        expect(refusal("dev", (f) => (f[KEY("grafanaVersion")] = "latest"))).toContain(`${KEY("grafanaVersion")}:`);
    });
});

describe("AWS account and region pinned per stack", () => {
    const declared = (env: string) => guardrails.accounts[env];
    const at = (env: string) => `(guardrails/guardrails.yaml /accounts/${env})`;

    it.each(STACKS)("%s pins the account and region the guardrails declare for it", (stack) => {
        const c = parse(stack);
        expect(c.aws).toEqual({
            accountId: declared(stack).accountId,
            region: declared(stack).region,
            sharedWith: STACKS.filter((e) => e !== stack && declared(e).accountId === declared(stack).accountId),
        });
    });

    it.each(STACKS)("%s: a stack file without aws:allowedAccountIds is refused, naming the key", (stack) => {
        expect(refusal(stack, (f) => delete f["aws:allowedAccountIds"])).toContain(
            `Pulumi.${stack}.yaml: aws:allowedAccountIds: missing; every stack pins its AWS account; allowed: ["${declared(stack).accountId}"] ${at(stack)}`,
        );
    });

    it("refuses another environment's account, and a list that adds one to the right account", () => {
        const other = STACKS.find((e) => declared(e).accountId !== declared("prod").accountId)!;
        const foreign = JSON.stringify([declared(other).accountId]);
        expect(refusal("prod", (f) => (f["aws:allowedAccountIds"] = foreign))).toBe(
            `Pulumi.prod.yaml: aws:allowedAccountIds: ${foreign} is not the prod account; allowed: exactly ["${declared("prod").accountId}"] ${at("prod")}`,
        );
        const widened = JSON.stringify([declared("prod").accountId, declared(other).accountId]);
        expect(refusal("prod", (f) => (f["aws:allowedAccountIds"] = widened))).toContain(
            `aws:allowedAccountIds: ${widened} is not the prod account`,
        );
    });

    it("refuses a missing or different region", () => {
        expect(refusal("staging", (f) => (f["aws:region"] = "eu-west-1"))).toContain(
            `aws:region: "eu-west-1" is not the staging region; allowed: "${declared("staging").region}" ${at("staging")}`,
        );
        expect(refusal("staging", (f) => delete f["aws:region"])).toContain(`aws:region: missing; allowed:`);
    });

    it.each(["aws:skipRequestingAccountId", "aws:skipCredentialsValidation"])(
        "refuses %s, which would let the provider skip the account check",
        (key) => {
            expect(refusal("dev", (f) => (f[key] = "true"))).toContain(
                `${key}: "true" turns off the account check aws:allowedAccountIds relies on; allowed: false or absent`,
            );
            expect(() => parse("dev", (f) => (f[key] = "false"))).not.toThrow();
        },
    );

    it.each(["1", "yes", "on", " TRUE "])(
        "refuses aws:skipRequestingAccountId %j: any word but false (any case, spaced) turns the account check off",
        (value) => {
            expect(refusal("dev", (f) => (f["aws:skipRequestingAccountId"] = value))).toContain(
                `aws:skipRequestingAccountId: "${value}" turns off the account check aws:allowedAccountIds relies on; allowed: false or absent`,
            );
        },
    );
});

describe("runbook links", () => {
    it("takes an http URL as well as an https one, and refuses another scheme even with a host", () => {
        expect(parse("dev", (f) => (f[KEY("runbookBaseUrl")] = "http://wiki.internal/runbooks")).runbookBaseUrl).toBe(
            "http://wiki.internal/runbooks/",
        );
        expect(refusal("dev", (f) => (f[KEY("runbookBaseUrl")] = "ftp://docs.example/runbooks/"))).toBe(
            `Pulumi.dev.yaml: ${KEY("runbookBaseUrl")}: "ftp://docs.example/runbooks/" is not an absolute URL, so no notification could open a runbook; allowed: an absolute http(s) URL of the docs folder`,
        );
    });
});

describe("rule placement: where a stack's rules are evaluated", () => {
    it("names the namespace and the cluster: kubernetes:cluster, else kubernetes:context, else the ambient one", () => {
        expect(parse("dev").rulePlacement).toBe("namespace monitoring of cluster maestro-dev");
        expect(parse("dev", (f) => (f["kubernetes:cluster"] = "eks-shared")).rulePlacement).toBe(
            "namespace monitoring of cluster eks-shared",
        );
        expect(parse("dev", (f) => delete f["kubernetes:context"]).rulePlacement).toBe(
            "namespace monitoring of the ambient kubeconfig's cluster",
        );
    });

    it("names the AMP workspace, or the one the stack creates", () => {
        expect(parse("dev", (f) => toAmp(f, "ws-0123abcd")).rulePlacement).toBe("AMP workspace ws-0123abcd");
        expect(parse("dev", (f) => toAmp(f)).rulePlacement).toBe("the AMP workspace stack dev creates (its own)");
    });
});

describe("sliMatchers", () => {
    const scope = (m: Record<string, string>) => (f: Record<string, string>) =>
        (f[KEY("sliMatchers")] = JSON.stringify(m));

    it("appends each matcher to every SLI selector", () => {
        const c = parse("dev", scope({ namespace: "dev" }));
        expect(c.sliMatchers).toEqual({ namespace: "dev" });
        expect(c.slos.map((o) => o.sli.matchers)).toEqual(
            guardrails.slo.objectives.map((o) => [...o.sli.matchers, { label: "namespace", op: "=", value: "dev" }]),
        );
    });

    it.each(["le", "__name__", "__meta"])("refuses the reserved label %s", (label) => {
        expect(refusal("dev", scope({ [label]: "x" }))).toBe(
            `Pulumi.dev.yaml: ${KEY(`sliMatchers.${label}`)}: "${label}" is reserved (the bucket bound, or Prometheus' own); allowed: a label of the SLI series such as namespace, cluster or env`,
        );
    });

    it("refuses a label an SLO's own selector matches on", () => {
        const slo = guardrails.slo.objectives[0];
        const label = slo.sli.matchers[0].label;
        expect(refusal("dev", scope({ [label]: "x" }))).toBe(
            `Pulumi.dev.yaml: ${KEY(`sliMatchers.${label}`)}: conflicts with SLO ${slo.id}'s own matcher on "${label}" (guardrails/guardrails.yaml /slo/objectives); allowed: a label no SLI selects on`,
        );
    });

    it("refuses a label any one of an SLO's several matchers uses", () => {
        const [first, ...rest] = guardrails.slo.objectives;
        const twoMatchers: Guardrails = {
            ...guardrails,
            slo: {
                ...guardrails.slo,
                objectives: [
                    {
                        ...first,
                        sli: {
                            ...first.sli,
                            matchers: [...first.sli.matchers, { label: "service", op: "=", value: "api" }],
                        },
                    },
                    ...rest,
                ],
            },
        };
        const flat = flatConfig("dev", scope({ service: "x" }));
        expect(refused(() => parseStackConfig("dev", flat.values, flat.secretKeys, twoMatchers))).toBe(
            `Pulumi.dev.yaml: ${KEY("sliMatchers.service")}: conflicts with SLO ${first.id}'s own matcher on "service" (guardrails/guardrails.yaml /slo/objectives); allowed: a label no SLI selects on`,
        );
    });
});

describe("keys and values as Pulumi hands them over", () => {
    it("refuses a key without a namespace", () => {
        expect(refusal("dev", (f) => (f["owner"] = "platform-team"))).toBe(
            `Pulumi.dev.yaml: owner: unknown config namespace ""; allowed: maestro-guardrails, aws, kubernetes, grafana, pulumi`,
        );
    });

    it("refuses a structured key given a plain string", () => {
        expect(refusal("dev", (f) => (f[KEY("ruleTarget")] = "monitoring"))).toBe(
            `Pulumi.dev.yaml: ${KEY("ruleTarget")}: expected a structured value (YAML map or list), got "monitoring"`,
        );
    });

    it("names a list item by its index and a map entry by its name, digits or not", () => {
        const emails = [...Array.from({ length: 10 }, (_, i) => `team${i}@maestro.example`), "not-an-email"];
        expect(refusal("dev", (f) => (f[KEY("alertEmails")] = JSON.stringify(emails)))).toBe(
            `Pulumi.dev.yaml: ${KEY("alertEmails[10]")}: must match format "email"`,
        );
        expect(refusal("dev", (f) => (f[KEY("sliMatchers")] = JSON.stringify({ ns1: "" })))).toContain(
            `Pulumi.dev.yaml: ${KEY("sliMatchers.ns1")}: `,
        );
        const labels = { release: "kube-prometheus-stack", "2nd": "not a label value" };
        expect(
            refusal(
                "dev",
                (f) =>
                    (f[KEY("ruleTarget")] = JSON.stringify({
                        kind: "prometheus-operator",
                        namespace: "monitoring",
                        ruleSelectorLabels: labels,
                    })),
            ),
        ).toContain(`Pulumi.dev.yaml: ${KEY("ruleTarget.ruleSelectorLabels.2nd")}: `);
    });
});

describe("cost collector", () => {
    const shipped = JSON.parse(flatConfig("dev").values[KEY("costCollector")]) as { oidcProviderArn: string };
    const collector = (c: Record<string, unknown>) => (f: Record<string, string>) =>
        (f[KEY("costCollector")] = JSON.stringify(c));

    it("defaults: on in dev with the rule target's namespace, off in prod; no ARN unless given", () => {
        expect(parse("dev").costCollector).toStrictEqual({
            enabled: true,
            namespace: "monitoring",
            oidcProviderArn: shipped.oidcProviderArn,
            image: COST_COLLECTOR_DEFAULT_IMAGE,
            refreshMinutes: COST_COLLECTOR_MIN_REFRESH_MINUTES,
        });
        expect(parse("prod").costCollector).toStrictEqual({
            enabled: false,
            namespace: "monitoring",
            image: COST_COLLECTOR_DEFAULT_IMAGE,
            refreshMinutes: COST_COLLECTOR_MIN_REFRESH_MINUTES,
        });
        // An AMP target names no namespace: none is needed while the collector is off.
        expect(parse("prod", (f) => toAmp(f)).costCollector.namespace).toBe("");
    });

    it("refuses an enabled collector without a namespace (AMP target)", () => {
        expect(refusal("dev", (f) => toAmp(f, undefined, { collectorNamespace: false }))).toBe(
            `Pulumi.dev.yaml: ${KEY("costCollector.namespace")}: missing; the AMP rule target names no namespace, so give the collector's; allowed: a Kubernetes namespace name`,
        );
    });

    it("refuses an enabled collector without the OIDC provider, saying why it is on", () => {
        const allowed = `allowed: arn:aws:iam::<account>:oidc-provider/<issuer>, or set ${KEY("costCollector.enabled")} to false`;
        expect(refusal("dev", (f) => delete f[KEY("costCollector")])).toBe(
            `Pulumi.dev.yaml: ${KEY("costCollector.oidcProviderArn")}: missing; the collector is on by default in dev and its role is assumed through the cluster's OIDC provider; ${allowed}`,
        );
        expect(refusal("prod", collector({ enabled: true }))).toBe(
            `Pulumi.prod.yaml: ${KEY("costCollector.oidcProviderArn")}: missing; the collector is enabled and its role is assumed through the cluster's OIDC provider; ${allowed}`,
        );
    });

    it("refreshes at most once an hour", () => {
        const every = (minutes: number) => collector({ ...shipped, refreshMinutes: minutes });
        const min = COST_COLLECTOR_MIN_REFRESH_MINUTES;
        expect(refusal("dev", every(min - 1))).toBe(
            `Pulumi.dev.yaml: ${KEY("costCollector.refreshMinutes")}: ${min - 1} would call Cost Explorer (billed per request) more than once an hour; allowed: an integer >= ${min}`,
        );
        expect(parse("dev", every(min)).costCollector.refreshMinutes).toBe(min);
        expect(parse("dev", every(2 * min)).costCollector.refreshMinutes).toBe(2 * min);
    });
});

describe("stackConfigFromPulumi: the config the Pulumi runtime hands the program", () => {
    async function fromPulumi(stack: string, flat: { values: Record<string, string>; secretKeys: string[] }) {
        await pulumi.runtime.setMocks(
            { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs },
            "maestro-guardrails",
            stack,
        );
        pulumi.runtime.setAllConfig(flat.values, flat.secretKeys);
        return stackConfigFromPulumi(guardrails);
    }

    it("validates the stack's config with the secrets the runtime flags", async () => {
        const c = await fromPulumi("dev", flatConfig("dev"));
        expect(c.stack).toBe("dev");
        expect(c.sourceFile).toBe("Pulumi.dev.yaml");
        expect(Object.keys(c.alertSecrets)).toEqual(["team-chat-webhook"]);
    });

    it("refuses a credential the runtime does not flag as secret, naming the stack file", async () => {
        await expect(
            fromPulumi(
                "dev",
                flatConfig("dev", (f) => (f["grafana:auth"] = "admin:admin")),
            ),
        ).rejects.toThrow(
            "Pulumi.dev.yaml: grafana:auth: must be a secret; set it with `pulumi config set --secret grafana:auth <value>`",
        );
    });

    it("names the file MAESTRO_STACK_CONFIG_FILE gives", async () => {
        const previous = process.env.MAESTRO_STACK_CONFIG_FILE;
        process.env.MAESTRO_STACK_CONFIG_FILE = "stacks/dev.yaml";
        try {
            await expect(
                fromPulumi(
                    "dev",
                    flatConfig("dev", (f) => delete f[KEY("owner")]),
                ),
            ).rejects.toThrow(
                new ValidationError([
                    { file: "stacks/dev.yaml", path: KEY("owner"), message: 'missing required key "owner"' },
                ]),
            );
        } finally {
            if (previous === undefined) {
                delete process.env.MAESTRO_STACK_CONFIG_FILE;
            } else {
                process.env.MAESTRO_STACK_CONFIG_FILE = previous;
            }
        }
    });
});
