import { GRAFANA_MIN_MAJOR, parseStackConfig, StackConfig } from "../core/stackConfig";
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
        ).toContain(`allowed: a number > 0 and <= ${guardrails.cost.alertThreshold}`);
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
        expect(refusal(stack, (f) => delete f[KEY("releaseTag")])).toContain(
            `${KEY("releaseTag")}: missing; a ${stack} deploy is a release and needs its tag; allowed: ${guardrails.cadence.tagFormat}`,
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
});
