import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { GuardrailRules } from "../components/prometheusRules";
import { evidenceResolver, loadGovernance } from "../governance";
import { extractArtifacts } from "../offline/artifacts";
import {
    BACKLOG_ITEM,
    COST_RECORD,
    GUARDRAIL_LABEL,
    K8S_LABEL,
    SEVERITY,
    SEVERITY_OF,
    SLO_RECORD,
    URGENCY,
    Urgency,
} from "../core/conventions";
import { registerEvidenceStamping } from "../core/evidence";
import { Guardrails, leLabel, loadGuardrails } from "../core/guardrails";
import { readStackFile, RegisteredResource, runWithMocks } from "../offline/mockRuntime";
import { shippedStackConfig } from "../offline/shippedStacks";
import { parseStackConfig } from "../core/stackConfig";
import { StackConfig } from "../core/stackConfig";
import { repoRoot } from "../core/validation";
import {
    AlertingRule,
    buildRuleGroups,
    buildRuleSets,
    CADENCE_ALERT,
    COST_ALERT,
    isAlertingRule,
    isRecordingRule,
    renderRuleFile,
    RuleGroup,
    SLO_BURN_ALERTS,
    SLO_WINDOWS,
    sloPeriodWindow,
    TELEMETRY_ALERT,
} from "../rules";
import { CADENCE_GRACE_DAYS, durationSeconds, formatDuration } from "../rules/design";
import { counterValues, labelValueFor } from "../verify/synthetic";
import { guardrails, KEY, STACKS, writeStackVariant } from "./helpers";

const FIXTURES = path.join(repoRoot, "test", "fixtures", "rules");

const configFor = (stack: string, g: Guardrails = guardrails, file?: string): StackConfig =>
    shippedStackConfig(stack, g, file);

/** The parts of the guardrails document the tests change (the loader validates the whole document afterwards). */
interface GuardrailsDoc {
    slo: { periodDays: number; objectives: Array<{ objective: number; sli: { thresholdSeconds: number } }> };
    cadence: { prodReleaseIntervalDays: number };
}

/** The shipped guardrails file with one change, written to a temp file and loaded through the real loader. */
function guardrailsVariant(change: (doc: GuardrailsDoc) => void): Guardrails {
    const doc = yaml.load(
        fs.readFileSync(path.join(repoRoot, "guardrails", "guardrails.yaml"), "utf8"),
    ) as GuardrailsDoc;
    change(doc);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-guardrails-")), "guardrails.yaml");
    fs.writeFileSync(file, yaml.dump(doc));
    return loadGuardrails(file);
}

const alerts = (groups: readonly RuleGroup[]) => groups.flatMap((g) => g.rules).filter(isAlertingRule);
const recordings = (groups: readonly RuleGroup[]) => groups.flatMap((g) => g.rules).filter(isRecordingRule);
const alert = (groups: readonly RuleGroup[], name: string, labels: Record<string, string> = {}): AlertingRule => {
    const found = alerts(groups).filter(
        (a) => a.alert === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
    );
    expect(found).toHaveLength(1);
    return found[0];
};

describe.each(STACKS)("rules of %s", (stack) => {
    // Built in each test (not while the file loads), so mutation testing sees which tests reach which rule code.
    let config: StackConfig;
    let groups: RuleGroup[];
    beforeEach(() => {
        config = configFor(stack);
        groups = buildRuleGroups(config, guardrails);
    });

    it("labels every alert with a conventional severity and its urgency, a guardrail and env, and annotates it with absolute runbook and dashboard links", () => {
        const doc = fs.readFileSync(path.join(repoRoot, "docs", "slo-alerting.md"), "utf8");
        expect(alerts(groups).length).toBeGreaterThan(0);
        for (const a of alerts(groups)) {
            expect(Object.values(URGENCY)).toContain(a.labels.urgency);
            // critical for a page, warning for a ticket: the values receivers and silences already match.
            expect(a.labels.severity).toBe(SEVERITY_OF[a.labels.urgency as Urgency]);
            expect(Object.values(SEVERITY)).toContain(a.labels.severity);
            expect(Object.values(GUARDRAIL_LABEL)).toContain(a.labels.guardrail);
            expect(a.labels.env).toBe(stack);
            if (a.labels.guardrail === GUARDRAIL_LABEL.slo || a.labels.guardrail === GUARDRAIL_LABEL.telemetry) {
                expect(config.slos.map((s) => s.id)).toContain(a.labels.slo);
                expect(a.annotations.dashboard).toBe(
                    `${config.grafanaUrl}/d/maestro-slo-${stack}?var-slo=${a.labels.slo}`,
                );
            }
            if (a.labels.guardrail === GUARDRAIL_LABEL.cost) {
                expect(["total", "llm"]).toContain(a.labels.budget);
            }
            for (const key of ["summary", "description", "runbook_url", "dashboard"]) {
                expect(a.annotations[key]).toMatch(/\S/);
            }
            // Both links open from a pager app or a mail client: absolute, under the configured bases.
            const grafana = new URL(a.annotations.dashboard);
            expect(grafana.origin).toBe(new URL(config.grafanaUrl).origin);
            expect(a.annotations.runbook_url.startsWith(config.runbookBaseUrl)).toBe(true);
            // The runbook link points at a heading that exists.
            const runbook = new URL(a.annotations.runbook_url);
            expect(runbook.pathname.endsWith("/slo-alerting.md")).toBe(true);
            expect(doc).toMatch(new RegExp(`^#+ ${runbook.hash.slice(1)}$`, "im"));
        }
    });

    it("prints the value the alert fired with in the description of every alert whose value means something", () => {
        const withValue = alerts(groups).filter((a) => a.annotations.description.includes("{{ $value"));
        const templated = new Set(withValue.map((a) => a.alert));
        for (const name of [
            ...SLO_BURN_ALERTS.map((a) => a.alert),
            COST_ALERT.threshold,
            COST_ALERT.exceeded,
            COST_ALERT.forecast,
            TELEMETRY_ALERT.bucketMissing,
        ]) {
            expect(templated).toContain(name);
        }
        if (stack !== "dev") {
            expect(templated).toContain(CADENCE_ALERT.overdue);
        }
    });

    it("links to the runbook base and the Grafana of the stack file, whatever they are", () => {
        const shipped = readStackFile(path.join(repoRoot, `Pulumi.${stack}.yaml`));
        const moved = parseStackConfig(
            stack,
            {
                ...shipped.values,
                "grafana:url": "https://grafana.elsewhere.example/",
                [KEY("runbookBaseUrl")]: "https://docs.elsewhere.example/runbooks",
            },
            shipped.secretKeys,
            guardrails,
        );
        for (const a of alerts(buildRuleGroups(moved, guardrails))) {
            expect(a.annotations.runbook_url).toMatch(
                /^https:\/\/docs\.elsewhere\.example\/runbooks\/slo-alerting\.md#/,
            );
            expect(a.annotations.dashboard).toMatch(/^https:\/\/grafana\.elsewhere\.example\/d\//);
        }
    });

    it("has, per SLO, one page and one ticket burn alert and both telemetry-gap alerts", () => {
        for (const slo of config.slos) {
            const own = alerts(groups).filter((a) => a.labels.slo === slo.id);
            expect(
                own
                    .filter((a) => a.labels.guardrail === GUARDRAIL_LABEL.slo)
                    .map((a) => a.labels.urgency)
                    .sort(),
            ).toEqual([URGENCY.page, URGENCY.ticket]);
            expect(
                own
                    .filter((a) => a.labels.guardrail === GUARDRAIL_LABEL.telemetry)
                    .map((a) => a.alert)
                    .sort(),
            ).toEqual([TELEMETRY_ALERT.absent, TELEMETRY_ALERT.bucketMissing].sort());
        }
    });

    it("records every series the dashboards query, labelled slo and env (and budget for cost)", () => {
        const recs = recordings(groups);
        const has = (record: string, labels: Record<string, string>) =>
            expect(
                recs.filter((r) => r.record === record && Object.entries(labels).every(([k, v]) => r.labels[k] === v)),
            ).toHaveLength(1);
        for (const slo of config.slos) {
            const labels = { slo: slo.id, env: stack };
            for (const w of [...SLO_WINDOWS, sloPeriodWindow(guardrails)]) {
                has(SLO_RECORD.errorRatio(w), labels);
            }
            for (const r of [
                SLO_RECORD.requestRate,
                SLO_RECORD.latencyP95,
                SLO_RECORD.errorBudgetRemaining,
                SLO_RECORD.objective,
                SLO_RECORD.thresholdSeconds,
            ]) {
                has(r, labels);
            }
        }
        has(COST_RECORD.budget, { budget: "total", env: stack });
        has(COST_RECORD.budget, { budget: "llm", env: stack });
        has(COST_RECORD.monthEndForecast, { env: stack });
        expect(recs.find((r) => r.record === COST_RECORD.budget && r.labels.budget === "total")?.expr).toBe(
            `vector(${config.monthlyBudgetUsd})`,
        );
        expect(recs.find((r) => r.record === COST_RECORD.budget && r.labels.budget === "llm")?.expr).toBe(
            `vector(${config.llmBudgetUsd})`,
        );
    });

    it("reads the SLO threshold bucket and objective from the guardrails", () => {
        for (const slo of config.slos) {
            const rule = recordings(groups).find(
                (r) => r.record === SLO_RECORD.errorRatio(SLO_WINDOWS[0]) && r.labels.slo === slo.id,
            );
            expect(rule?.expr).toContain(`le="${leLabel(slo.sli.thresholdSeconds)}"`);
            expect(rule?.expr).toContain(slo.sli.metric);
            const page = alert(groups, SLO_BURN_ALERTS[0].alert, { slo: slo.id });
            expect(page.expr).toContain(`(1 - ${slo.objective})`);
        }
    });

    it("tickets at the alert threshold and pages at the cap and on the forecast, for the total and the LLM budget", () => {
        for (const [budget, cap] of [
            ["total", config.monthlyBudgetUsd],
            ["llm", config.llmBudgetUsd],
        ] as const) {
            expect(alert(groups, COST_ALERT.threshold, { budget }).expr).toMatch(
                new RegExp(`>= ${config.costAlertThreshold} \\* ${cap}$`),
            );
            expect(alert(groups, COST_ALERT.threshold, { budget }).labels.urgency).toBe(URGENCY.ticket);
            expect(alert(groups, COST_ALERT.exceeded, { budget }).expr).toMatch(new RegExp(`>= ${cap}$`));
            expect(alert(groups, COST_ALERT.forecast, { budget }).expr).toMatch(new RegExp(`> ${cap}$`));
            expect(alert(groups, COST_ALERT.forecast, { budget }).labels.urgency).toBe(URGENCY.page);
        }
    });

    it("alerts on the release cadence of the target this stack receives, after the guardrail interval plus the grace period", () => {
        const cadence = alerts(groups).filter((a) => a.labels.guardrail === GUARDRAIL_LABEL.cadence);
        const expected: Record<string, [string, number] | undefined> = {
            dev: undefined,
            staging: ["staging", guardrails.cadence.stagingCutIntervalDays],
            prod: ["production", guardrails.cadence.prodReleaseIntervalDays],
        };
        const want = expected[stack];
        if (!want) {
            expect(cadence).toEqual([]);
            return;
        }
        expect(cadence.map((a) => a.labels.target)).toEqual([want[0], want[0]]);
        expect(alert(groups, CADENCE_ALERT.overdue).expr).toBe(
            `time() - max(maestro_release_last_cut_timestamp_seconds{target="${want[0]}"}) > ${want[1] + CADENCE_GRACE_DAYS} * 86400`,
        );
    });

    it("renders a rule file that parses back to the same groups", () => {
        expect(yaml.load(renderRuleFile(groups))).toEqual(JSON.parse(JSON.stringify({ groups })));
    });

    it("is deterministic", () => {
        expect(renderRuleFile(buildRuleGroups(configFor(stack), guardrails))).toBe(renderRuleFile(groups));
    });
});

describe("rules follow the guardrails file", () => {
    const [first] = guardrails.slo.objectives;

    it("a changed threshold changes the bucket, the threshold series and the alert text", () => {
        const doubled = first.sli.thresholdSeconds * 2;
        const g = guardrailsVariant((doc) => (doc.slo.objectives[0].sli.thresholdSeconds = doubled));
        const groups = buildRuleGroups(configFor("prod", g), g);
        const own = recordings(groups).filter((r) => r.labels.slo === first.id);
        expect(own.find((r) => r.record === SLO_RECORD.thresholdSeconds)?.expr).toBe(`vector(${doubled})`);
        expect(own.find((r) => r.record === SLO_RECORD.errorRatio(SLO_WINDOWS[0]))?.expr).toContain(
            `le="${leLabel(doubled)}"`,
        );
        expect(own.find((r) => r.record === SLO_RECORD.errorRatio(SLO_WINDOWS[0]))?.expr).not.toContain(
            `le="${leLabel(first.sli.thresholdSeconds)}"`,
        );
        expect(alert(groups, TELEMETRY_ALERT.bucketMissing, { slo: first.id }).expr).toContain(
            `le="${leLabel(doubled)}"`,
        );
        expect(alert(groups, SLO_BURN_ALERTS[0].alert, { slo: first.id }).annotations.description).toContain(
            `slower than ${doubled} s`,
        );
        // The other SLOs are untouched.
        const second = guardrails.slo.objectives[1];
        expect(
            recordings(groups).find((r) => r.labels.slo === second.id && r.record === SLO_RECORD.thresholdSeconds)
                ?.expr,
        ).toBe(`vector(${second.sli.thresholdSeconds})`);
    });

    it("a tighter objective changes every burn threshold and the budget arithmetic", () => {
        const tighter = 1 - (1 - first.objective) / 2;
        const g = guardrailsVariant((doc) => (doc.slo.objectives[0].objective = tighter));
        const groups = buildRuleGroups(configFor("dev", g), g);
        for (const a of alerts(groups).filter(
            (x) => x.labels.slo === first.id && x.labels.guardrail === GUARDRAIL_LABEL.slo,
        )) {
            expect(a.expr).toContain(`(1 - ${tighter})`);
            expect(a.expr).not.toContain(`(1 - ${first.objective})`);
        }
        expect(
            recordings(groups).find((r) => r.labels.slo === first.id && r.record === SLO_RECORD.objective)?.expr,
        ).toBe(`vector(${tighter})`);
    });

    it("a per-environment override in the stack file changes only that stack's rules", () => {
        const tighter = first.sli.thresholdSeconds / 2;
        const file = writeStackVariant(
            "staging",
            (c) => (c[KEY("guardrailOverrides")] = { slo: { [first.id]: { thresholdSeconds: tighter } } }),
        );
        const groups = buildRuleGroups(configFor("staging", guardrails, file), guardrails);
        expect(
            recordings(groups).find((r) => r.labels.slo === first.id && r.record === SLO_RECORD.thresholdSeconds)?.expr,
        ).toBe(`vector(${tighter})`);
        expect(
            recordings(buildRuleGroups(configFor("prod"), guardrails)).find(
                (r) => r.labels.slo === first.id && r.record === SLO_RECORD.thresholdSeconds,
            )?.expr,
        ).toBe(`vector(${first.sli.thresholdSeconds})`);
    });

    it("the SLO period sets the budget window", () => {
        const g = guardrailsVariant((doc) => (doc.slo.periodDays = guardrails.slo.periodDays / 2));
        const window = formatDuration((guardrails.slo.periodDays / 2) * 86400);
        expect(sloPeriodWindow(g)).toBe(window);
        const groups = buildRuleGroups(configFor("prod", g), g);
        expect(recordings(groups).some((r) => r.record === SLO_RECORD.errorRatio(window))).toBe(true);
        expect(recordings(groups).find((r) => r.record === SLO_RECORD.errorBudgetRemaining)?.expr).toContain(
            SLO_RECORD.errorRatio(window),
        );
    });

    it("cost budgets and the alert threshold come from the stack config", () => {
        const lower = guardrails.cost.caps.prod.monthlyUsd / 2;
        const earlier = guardrails.cost.alertThreshold / 2;
        const file = writeStackVariant("prod", (c) => {
            c[KEY("monthlyBudgetUsd")] = lower;
            c[KEY("guardrailOverrides")] = { costAlertThreshold: earlier };
        });
        const groups = buildRuleGroups(configFor("prod", guardrails, file), guardrails);
        expect(alert(groups, COST_ALERT.threshold, { budget: "total" }).expr).toMatch(
            new RegExp(`>= ${earlier} \\* ${lower}$`),
        );
        expect(alert(groups, COST_ALERT.exceeded, { budget: "total" }).expr).toMatch(new RegExp(`>= ${lower}$`));
    });

    it("cadence intervals come from the guardrails", () => {
        const longer = guardrails.cadence.prodReleaseIntervalDays * 2;
        const g = guardrailsVariant((doc) => (doc.cadence.prodReleaseIntervalDays = longer));
        expect(alert(buildRuleGroups(configFor("prod", g), g), CADENCE_ALERT.overdue).expr).toMatch(
            new RegExp(`> ${longer + CADENCE_GRACE_DAYS} \\* 86400$`),
        );
    });

    it("refuses an objective so loose the page could never fire, naming the SLO and the allowed objectives", () => {
        const config = configFor("dev");
        const pageBurn = Math.min(...SLO_BURN_ALERTS[0].conditions.map((c) => c.burnRate));
        // Max burn 1 / (1 - objective) = two thirds of the page's factor: the page could never fire.
        const loose = 1 - 1.5 / pageBurn;
        const bad: StackConfig = { ...config, slos: [{ ...config.slos[0], objective: loose }] };
        expect(() => buildRuleGroups(bad, guardrails)).toThrow(`SLO "${first.id}": objective ${loose}`);
        expect(() => buildRuleGroups(bad, guardrails)).toThrow(/could never fire; allowed: an objective above/);
    });
});

describe("rule rendering and synthetic series", () => {
    it("refuses two groups with one name", () => {
        const g: RuleGroup = { name: "x", rules: [] };
        expect(() => renderRuleFile([g, g])).toThrow('rule group "x" appears twice');
    });

    it("writes counters in promtool's expanding notation, stale markers included", () => {
        expect(
            counterValues([
                { minutes: 3, perMinute: 10 },
                { minutes: 2, gone: true },
                { minutes: 1, perMinute: 5 },
            ]),
        ).toBe("0 10+10x2 stale _x1 35");
    });

    it("picks label values that the SLI's matchers select", () => {
        expect(labelValueFor({ label: "hops", op: "=~", value: "2|3" })).toBe("2");
        expect(labelValueFor({ label: "a", op: "!=", value: "x" })).toBeUndefined();
        expect(() => labelValueFor({ label: "a", op: "=~", value: ".+" })).toThrow(
            'cannot synthesize a series for matcher a=~".+"',
        );
    });

    it("parses and formats durations", () => {
        expect(durationSeconds("6h")).toBe(21600);
        expect(formatDuration(durationSeconds("30d"))).toBe("30d");
        expect(() => durationSeconds("1h30m")).toThrow("not a single-unit Prometheus duration");
    });
});

/** The component under Pulumi's mocks, with the stack's evidence transformation, as index.ts runs it. */
async function deploy(
    stack: string,
    file = path.join(repoRoot, `Pulumi.${stack}.yaml`),
): Promise<{ resources: RegisteredResource[]; config: StackConfig }> {
    const config = configFor(stack, guardrails, file);
    const resolve = evidenceResolver(loadGovernance());
    const result = await runWithMocks({
        stack,
        config: readStackFile(file),
        program: () => {
            registerEvidenceStamping(
                { environment: config.environment, owner: config.owner, stack, releaseTag: config.releaseTag },
                resolve,
            );
            const rules = new GuardrailRules("guardrail-rules", { config, guardrails });
            return { names: rules.ruleObjectNames };
        },
    });
    return { resources: [...result.resources], config };
}

describe.each(STACKS)("GuardrailRules component in %s", (stack) => {
    let resources: RegisteredResource[];
    let config: StackConfig;
    beforeEach(async () => {
        ({ resources, config } = await deploy(stack));
    });

    it("creates one PrometheusRule per rule set, in the configured namespace, with the ruleSelector labels and the rule groups", () => {
        const sets = buildRuleSets(config, guardrails);
        const objects = resources.filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
        expect(objects.map((o) => (o.inputs.metadata as { name: string }).name).sort()).toEqual(
            sets.map((s) => s.name).sort(),
        );
        const target = config.ruleTarget;
        if (target.kind !== "prometheus-operator") {
            throw new Error("shipped stacks use the prometheus-operator");
        }
        for (const s of sets) {
            const o = objects.find((x) => (x.inputs.metadata as { name: string }).name === s.name);
            const meta = o?.inputs.metadata as { namespace: string; labels: Record<string, string> };
            expect(meta.namespace).toBe(target.namespace);
            expect(meta.labels).toEqual(expect.objectContaining(target.ruleSelectorLabels));
            // Evidence tags name the backlog item of the nested component that holds the set.
            expect(meta.labels[K8S_LABEL.backlogItem]).toBe(BACKLOG_ITEM[s.backlogItem]);
            expect((o?.inputs.spec as { groups: unknown }).groups).toEqual(JSON.parse(JSON.stringify(s.groups)));
        }
    });

    it("nests the objects under one component per backlog item", () => {
        const types = resources
            .filter((r) => r.type.startsWith("maestro:rules:"))
            .map((r) => r.type)
            .sort();
        const expected = [
            "maestro:rules:CostAlertRules",
            "maestro:rules:GuardrailRules",
            "maestro:rules:SloAlertRules",
            "maestro:rules:TelemetryGapAlerts",
        ];
        if (stack !== "dev") {
            expected.push("maestro:rules:CadenceAlertRules");
        }
        expect(types).toEqual(expected.sort());
        for (const o of resources.filter((r) => r.type.startsWith("kubernetes:"))) {
            expect(o.parent).toMatch(
                /maestro:rules:(SloAlertRules|TelemetryGapAlerts|CostAlertRules|CadenceAlertRules)/,
            );
        }
    });

    it("renders the same groups as synth artifacts under prometheus/", () => {
        const artifacts = extractArtifacts(resources);
        for (const s of buildRuleSets(config, guardrails)) {
            const a = artifacts.find((x) => x.path === `prometheus/${s.name}.yaml`);
            expect(yaml.load(a?.content ?? "")).toEqual(yaml.load(renderRuleFile(s.groups)));
        }
    });
});

describe("GuardrailRules to Amazon Managed Service for Prometheus", () => {
    it("creates a workspace when none is given, and one rule group namespace per rule set holding the rule file", async () => {
        const { resources, config } = await deploy("prod", path.join(FIXTURES, "Pulumi.prod-amp.yaml"));
        expect(resources.filter((r) => r.type.startsWith("kubernetes:"))).toEqual([]);
        const workspaces = resources.filter((r) => r.type === "aws:amp/workspace:Workspace");
        expect(workspaces).toHaveLength(1);
        const namespaces = resources.filter((r) => r.type === "aws:amp/ruleGroupNamespace:RuleGroupNamespace");
        const sets = buildRuleSets(config, guardrails);
        expect(namespaces.map((n) => n.inputs.name).sort()).toEqual(sets.map((s) => s.name).sort());
        for (const n of namespaces) {
            const set = sets.find((s) => s.name === n.inputs.name);
            expect(n.inputs.data).toBe(renderRuleFile(set?.groups ?? []));
            expect(n.inputs.workspaceId).toBe(`${workspaces[0].name}-id`);
            expect((n.inputs.tags as Record<string, string>)["maestro:backlog-item"]).toBe(
                BACKLOG_ITEM[set?.backlogItem ?? "sloRules"],
            );
        }
    });

    it("uses the given workspace and creates none", async () => {
        const source = yaml.load(fs.readFileSync(path.join(FIXTURES, "Pulumi.prod-amp.yaml"), "utf8")) as {
            config: Record<string, unknown>;
        };
        source.config[KEY("ruleTarget")] = { kind: "amp", workspaceId: "ws-existing" };
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-amp-")), "Pulumi.prod.yaml");
        fs.writeFileSync(file, yaml.dump(source));
        const { resources } = await deploy("prod", file);
        expect(resources.filter((r) => r.type === "aws:amp/workspace:Workspace")).toEqual([]);
        for (const n of resources.filter((r) => r.type === "aws:amp/ruleGroupNamespace:RuleGroupNamespace")) {
            expect(n.inputs.workspaceId).toBe("ws-existing");
        }
    });
});
