import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { GuardrailRules } from "../components/prometheusRules";
import { evidenceResolver, loadGovernance } from "../governance";
import { extractArtifacts } from "../offline/artifacts";
import {
    BACKLOG_ITEM,
    CADENCE_METRIC,
    COST_METRIC,
    COST_RECORD,
    DEFAULT_RUNBOOK_BASE_URL,
    GUARDRAIL_LABEL,
    K8S_LABEL,
    SEVERITY,
    SEVERITY_OF,
    SLO_RECORD,
    URGENCY,
    Urgency,
    urgencyLabels,
} from "../core/conventions";
import { registerEvidenceStamping } from "../core/evidence";
import { Guardrails, leLabel, leMatcher, loadGuardrails, renderMatchers, sliSelector } from "../core/guardrails";
import { readStackFile, RegisteredResource, runWithMocks } from "../offline/mockRuntime";
import { shippedStackConfig } from "../offline/shippedStacks";
import { parseStackConfig } from "../core/stackConfig";
import { StackConfig } from "../core/stackConfig";
import { repoRoot } from "../core/validation";
import {
    AlertingRule,
    BurnRateAlert,
    SLO_ALERT_NAME,
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
    SloScope,
    buildSloGroup,
    buildTelemetryGapGroup,
    cadenceTargets,
    sloLabels,
    sloPeriodWindow,
    sloSeriesSelector,
    slowRequestGate,
    TELEMETRY_ALERT,
    telemetryGroupName,
} from "../rules";
import {
    CADENCE_GRACE_DAYS,
    COST_DATA_MAX_AGE_HOURS,
    COST_FORECAST_MIN_ELAPSED_DAYS,
    COST_TELEMETRY_FOR,
    DASHBOARD_RATE_WINDOW,
    WORKBOOK_BURN_ALERTS,
    dashboardUrl,
    designWindows,
    durationSeconds,
    formatDuration,
    longestWindow,
    runbookUrl,
} from "../rules/design";
import { percent } from "../rules/slo";
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

describe("the alert design's helpers (rules/design.ts)", () => {
    it("writes a whole number of seconds in the largest unit that divides it", () => {
        const week = durationSeconds("1w");
        expect(formatDuration(week)).toBe("1w");
        expect(formatDuration(week * 2)).toBe("2w");
        expect(formatDuration(durationSeconds("1d") * 3)).toBe("3d");
        expect(formatDuration(durationSeconds("1h") * 30)).toBe("30h");
        expect(formatDuration(durationSeconds("1m") * 90)).toBe("90m");
        expect(formatDuration(59)).toBe("59s");
        expect(formatDuration(1)).toBe("1s");
    });

    it.each([0, -60, 1.5])("refuses %p seconds as a duration", (seconds) => {
        expect(() => formatDuration(seconds)).toThrow(
            `cannot write ${seconds} s as a Prometheus duration; need a positive whole number of seconds`,
        );
    });

    it.each(["5", "m", "5x", "1h30m", " 5m", "5m ", "-5m"])("refuses %p as a single-unit duration", (d) => {
        expect(() => durationSeconds(d)).toThrow(
            `"${d}" is not a single-unit Prometheus duration; allowed: <integer><s|m|h|d|w>, e.g. 30m`,
        );
    });

    it("lists a design's windows once each, shortest first, and its longest last", () => {
        for (const design of [SLO_BURN_ALERTS, WORKBOOK_BURN_ALERTS]) {
            const all = design.flatMap((a) => a.conditions.flatMap((c) => [c.shortWindow, c.longWindow]));
            const windows = designWindows(design);
            expect(new Set(windows)).toEqual(new Set(all));
            expect(windows).toHaveLength(new Set(all).size);
            const seconds = windows.map(durationSeconds);
            expect(seconds).toEqual([...seconds].sort((a, b) => a - b));
            expect(longestWindow(design)).toBe(windows[windows.length - 1]);
        }
    });

    it("links a runbook under its base, with or without a trailing slash, at the alert's lower-cased heading", () => {
        expect(runbookUrl("MaestroSLOFastBurn", { runbookBaseUrl: "https://docs.example/runbooks" })).toBe(
            "https://docs.example/runbooks/slo-alerting.md#maestroslofastburn",
        );
        expect(runbookUrl("MaestroSLOFastBurn", { runbookBaseUrl: "https://docs.example/runbooks/" })).toBe(
            "https://docs.example/runbooks/slo-alerting.md#maestroslofastburn",
        );
        expect(runbookUrl("MaestroSLOFastBurn")).toBe(`${DEFAULT_RUNBOOK_BASE_URL}slo-alerting.md#maestroslofastburn`);
    });

    it("puts a dashboard path under Grafana's base whatever its trailing slashes, and leaves it alone without one", () => {
        expect(dashboardUrl("/d/x", { grafanaUrl: "https://grafana.example" })).toBe("https://grafana.example/d/x");
        expect(dashboardUrl("/d/x", { grafanaUrl: "https://grafana.example//" })).toBe("https://grafana.example/d/x");
        expect(dashboardUrl("/d/x", { grafanaUrl: "" })).toBe("/d/x");
        expect(dashboardUrl("/d/x")).toBe("/d/x");
    });
});

describe("a downstream service's SLO rules (the scope the guardrail kit passes)", () => {
    const [first] = guardrails.slo.objectives;
    const scope: SloScope = {
        environment: "prod",
        sourceFile: "service-guardrails.ts",
        service: "search",
        grafanaUrl: "https://grafana.example",
        runbookBaseUrl: "https://docs.example/runbooks/",
    };

    it("names the group and every rule after the service, and reads only the service's own recordings", () => {
        const group = buildSloGroup(scope, guardrails, first);
        expect(group.name).toBe(`maestro-search-slo-${first.id}-prod`);
        for (const r of group.rules) {
            expect(r.labels).toMatchObject({ slo: first.id, env: "prod", service: "search" });
        }
        const own = sloSeriesSelector(first.id, "prod", "search");
        expect(own).toBe(`{slo="${first.id}",env="prod",service="search"}`);
        for (const a of group.rules.filter(isAlertingRule)) {
            expect(a.expr).toContain(own);
            expect(a.annotations.summary).toContain(`(search, prod)`);
            expect(a.annotations.dashboard).toBe(
                `https://grafana.example/d/maestro-svc-search-prod?var-slo=${first.id}`,
            );
        }
    });

    it("asks the stack's own recordings for no service label", () => {
        expect(sloSeriesSelector(first.id, "prod")).toBe(`{slo="${first.id}",env="prod",service=""}`);
        expect(sloLabels(first.id, { environment: "prod", sourceFile: "Pulumi.prod.yaml" })).toEqual({
            slo: first.id,
            env: "prod",
        });
    });

    it("names the service's telemetry-gap group after it", () => {
        const group = buildTelemetryGapGroup({ ...scope, slos: [first] });
        expect(group.name).toBe("maestro-search-telemetry-gaps-prod");
        expect(group.rules.map((r) => r.labels.service)).toEqual(["search", "search"]);
        expect(telemetryGroupName("prod")).toBe("maestro-telemetry-gaps-prod");
    });

    it("points a refused objective at the service's own file, not the stack's overrides", () => {
        const pageBurn = Math.min(...SLO_BURN_ALERTS[0].conditions.map((c) => c.burnRate));
        const loose = { ...first, objective: 1 - 1.5 / pageBurn };
        expect(() => buildSloGroup(scope, guardrails, loose)).toThrow(
            `(guardrails/guardrails.yaml /slo/objectives, or service-guardrails.ts) caps the burn rate`,
        );
        expect(() => buildSloGroup({ environment: "prod", sourceFile: "Pulumi.prod.yaml" }, guardrails, loose)).toThrow(
            `(guardrails/guardrails.yaml /slo/objectives, or Pulumi.prod.yaml guardrailOverrides) caps the burn rate`,
        );
    });
});

describe("rule files", () => {
    it("write every rule in full: no YAML anchors for shared labels, no folded long lines", () => {
        const groups = buildRuleGroups(configFor("prod"), guardrails);
        const text = renderRuleFile(groups);
        expect(text).not.toMatch(/[&*]ref_\d/);
        const longest = Math.max(...alerts(groups).map((a) => a.annotations.description.length));
        expect(longest).toBeGreaterThan(120);
        for (const a of alerts(groups)) {
            // The description as one YAML line (quoted as js-yaml quotes it), never folded over several.
            expect(text).toContain(yaml.dump({ description: a.annotations.description }, { lineWidth: -1 }).trim());
        }
    });
});

describe("cadence targets", () => {
    it("watch each cadence from the environment it deploys to, at the guardrails' interval", () => {
        expect(cadenceTargets(guardrails)).toEqual([
            expect.objectContaining({
                target: "staging",
                environment: "staging",
                intervalDays: guardrails.cadence.stagingCutIntervalDays,
            }),
            expect.objectContaining({
                target: "production",
                environment: "prod",
                intervalDays: guardrails.cadence.prodReleaseIntervalDays,
            }),
        ]);
    });

    it.each([
        ["staging", "staging"],
        ["production", "prod"],
    ])("refuse guardrails that do not list the environment the %s cadence is watched from", (target, environment) => {
        const without: Guardrails = {
            ...guardrails,
            environments: guardrails.environments.filter((e) => e !== environment),
        };
        expect(() => cadenceTargets(without)).toThrow(
            `guardrails/guardrails.yaml: /environments: the ${target} cadence is watched from environment "${environment}", which is not listed; allowed: a list containing it`,
        );
        expect(() => buildRuleGroups(configFor("dev"), without)).toThrow(`the ${target} cadence is watched from`);
    });
});

describe("the SLO rules' expressions", () => {
    const [first] = guardrails.slo.objectives;
    const scope = (): StackConfig => configFor("prod");
    const own = () => sloSeriesSelector(first.id, "prod");
    const ruleOf = (group: RuleGroup, record: string) => recordings([group]).find((r) => r.record === record);
    const pageBurn = Math.min(...SLO_BURN_ALERTS[0].conditions.map((c) => c.burnRate));

    it("count the period's error ratio by traffic, and as 0 over a period without traffic", () => {
        const period = sloPeriodWindow(guardrails);
        const sum = (record: string) => `sum_over_time(${record}${own()}[${period}])`;
        expect(ruleOf(buildSloGroup(scope(), guardrails, first), SLO_RECORD.errorRatio(period))?.expr).toBe(
            `(\n  ${sum(SLO_RECORD.slowRequestRate)}\n/\n  (${sum(SLO_RECORD.requestRate)} > 0)\n)\nor on () vector(0)`,
        );
    });

    it("count slow requests as the SLI's requests less those in its threshold bucket, per window and as rates", () => {
        const group = buildSloGroup(scope(), guardrails, first);
        // Written out rather than from the builder's own helpers: the metric's suffixes are what is under test.
        const bucket = `${first.sli.metric}_bucket{${renderMatchers([...first.sli.matchers, leMatcher(first.sli.thresholdSeconds)])}}`;
        const count = `${first.sli.metric}_count{${renderMatchers(first.sli.matchers)}}`;
        expect(sliSelector(first.sli, "_bucket", [leMatcher(first.sli.thresholdSeconds)])).toBe(bucket);
        const w = SLO_BURN_ALERTS[0].conditions[0].longWindow;
        expect(ruleOf(group, SLO_RECORD.errorRatio(w))?.expr).toBe(
            `1 - (sum(rate(${bucket}[${w}])) / sum(rate(${count}[${w}])))`,
        );
        const r = DASHBOARD_RATE_WINDOW;
        expect(ruleOf(group, SLO_RECORD.requestRate)?.expr).toBe(`sum(rate(${count}[${r}]))`);
        expect(ruleOf(group, SLO_RECORD.slowRequestRate)?.expr).toBe(
            `sum(rate(${count}[${r}])) - sum(rate(${bucket}[${r}]))`,
        );
    });

    it("record the latency at the objective's quantile over every bucket of the SLI", () => {
        expect(ruleOf(buildSloGroup(scope(), guardrails, first), SLO_RECORD.latencyP95)?.expr).toBe(
            `histogram_quantile(${first.objective}, sum by (le) (rate(${first.sli.metric}_bucket{${renderMatchers(first.sli.matchers)}}[5m])))`,
        );
    });

    it("gate each burn condition on more slow requests than the guardrails allow within its long window", () => {
        expect(slowRequestGate("b", "c", "30m", 2)).toBe("sum(increase(c[30m])) - sum(increase(b[30m])) >= 3");
        const page = alert(buildRuleGroups(scope(), guardrails), SLO_BURN_ALERTS[0].alert, { slo: first.id });
        const [condition] = SLO_BURN_ALERTS[0].conditions;
        expect(page.expr).toContain(
            `[${condition.longWindow}])) >= ${guardrails.slo.maxSlowRequestsWithoutAlert + 1}\n)`,
        );
    });

    it("write ratios as percentages to two decimals", () => {
        expect(percent(0.125)).toBe("12.5%");
        expect(percent(1 / 30)).toBe("3.33%");
        expect(percent(1)).toBe("100%");
    });

    it("say in each burn alert how much of the budget each condition spends and how soon the whole budget goes", () => {
        const page = alert(buildRuleGroups(scope(), guardrails), SLO_BURN_ALERTS[0].alert, { slo: first.id });
        const [c] = SLO_BURN_ALERTS[0].conditions;
        const days = guardrails.slo.periodDays;
        expect(page.annotations.summary).toBe(
            `${first.title} (prod): latency error budget burning at over ${c.burnRate}x`,
        );
        expect(page.annotations.description).toContain(
            `is above ${percent(c.burnRate * (1 - first.objective))} over both the last ${c.longWindow} and ${c.shortWindow} (objective: ${percent(first.objective)} within the threshold)`,
        );
        expect(page.annotations.description).toContain(
            `spends the ${days}-day error budget in ${Number((days / c.burnRate).toFixed(1))} days or less`,
        );
    });

    it("join a design's conditions with `or`, and summarise an alert by its lowest burn rate", () => {
        const group = buildSloGroup(scope(), guardrails, first, WORKBOOK_BURN_ALERTS);
        for (const design of WORKBOOK_BURN_ALERTS) {
            const a = group.rules.filter(isAlertingRule).find((r) => r.alert === design.alert);
            const lowest = Math.min(...design.conditions.map((c) => c.burnRate));
            expect(a?.expr.split("\nor\n")).toHaveLength(design.conditions.length);
            expect(a?.annotations.summary).toContain(`burning at over ${lowest}x`);
            const shares = design.conditions.map(
                (c) =>
                    `${percent(c.burnRate * (1 - first.objective))} over both the last ${c.longWindow} and ${c.shortWindow}`,
            );
            expect(a?.annotations.description).toContain(`is above ${shares.join(", or ")} (objective:`);
            expect(a?.annotations.description.split(", or ")).toHaveLength(design.conditions.length);
        }
    });

    it("summarise by the lowest burn rate wherever the design lists it", () => {
        // The workbook lists its lowest rate last; here it comes first.
        const design: BurnRateAlert[] = [
            {
                alert: "LowFirst",
                urgency: URGENCY.ticket,
                conditions: [
                    { longWindow: "6h", shortWindow: "30m", burnRate: 1 },
                    { longWindow: "1h", shortWindow: "5m", burnRate: 3 },
                ],
            },
        ];
        const [a] = buildSloGroup(scope(), guardrails, first, design).rules.filter(isAlertingRule);
        expect(a.annotations.summary).toContain("burning at over 1x");
        expect(a.annotations.description).toContain(`error budget in ${guardrails.slo.periodDays} days or less`);
    });

    it("refuse an objective exactly at the page's burn rate, naming the objective above which it can fire", () => {
        // A budget of a quarter caps the burn rate at exactly 4x: a 4x page could never fire.
        const design: BurnRateAlert[] = [
            {
                alert: "Quarter",
                urgency: URGENCY.page,
                conditions: [{ longWindow: "1h", shortWindow: "5m", burnRate: 4 }],
            },
        ];
        expect(() => buildSloGroup(scope(), guardrails, { ...first, objective: 0.75 }, design)).toThrow(
            "caps the burn rate at 4x, so Quarter (4x) could never fire; allowed: an objective above 0.75",
        );
        expect(() => buildSloGroup(scope(), guardrails, { ...first, objective: 0.76 }, design)).not.toThrow();
    });

    it("refuse a multi-condition alert only when even its lowest burn rate is out of reach, naming that rate", () => {
        const [slo] = guardrails.slo.objectives;
        const design: BurnRateAlert[] = [
            {
                alert: "Mixed",
                urgency: URGENCY.page,
                conditions: [
                    { longWindow: "1h", shortWindow: "5m", burnRate: 6 },
                    { longWindow: "6h", shortWindow: "30m", burnRate: 2 },
                ],
            },
        ];
        // A budget of a half caps the burn rate at exactly 2x: neither condition can fire.
        expect(() => buildSloGroup(configFor("prod"), guardrails, { ...slo, objective: 0.5 }, design)).toThrow(
            "caps the burn rate at 2x, so Mixed (2x) could never fire; allowed: an objective above 0.5",
        );
        // At 2.5x the 6x condition can never fire, but the 2x one can: the alert is kept.
        const [a] = buildSloGroup(configFor("prod"), guardrails, { ...slo, objective: 0.6 }, design).rules.filter(
            isAlertingRule,
        );
        expect(a.alert).toBe("Mixed");
        expect(a.expr.split("\nor\n")).toHaveLength(2);
    });

    it("name, when refusing, an objective the page can fire above", () => {
        const loose = { ...first, objective: 1 - 1.5 / pageBurn };
        let message = "";
        try {
            buildSloGroup(scope(), guardrails, loose);
        } catch (err) {
            message = (err as Error).message;
        }
        const above = Number(/allowed: an objective above ([\d.]+)$/.exec(message)?.[1]);
        expect(above).toBeGreaterThan(0);
        expect(above).toBeLessThan(1);
        expect(() => buildSloGroup(scope(), guardrails, { ...first, objective: above + 1e-6 })).not.toThrow();
    });
});

describe("the SRE workbook's design (the comparison only)", () => {
    it("pages at 2% of a 30-day budget in 1h or 5% in 6h, and tickets at 10% in 1d or in 3d", () => {
        // The workbook states its shares for a 30-day budget; burn rate = share x period / window.
        const share = (c: { longWindow: string; burnRate: number }) =>
            Number(((c.burnRate * durationSeconds(c.longWindow)) / durationSeconds("30d")).toFixed(4));
        expect(WORKBOOK_BURN_ALERTS.map((a) => [a.alert, a.urgency, a.conditions.map(share)])).toEqual([
            [SLO_ALERT_NAME.page, URGENCY.page, [0.02, 0.05]],
            [SLO_ALERT_NAME.ticket, URGENCY.ticket, [0.1, 0.1]],
        ]);
        expect(WORKBOOK_BURN_ALERTS.map((a) => a.conditions.map((c) => [c.longWindow, c.shortWindow]))).toEqual([
            [
                ["1h", "5m"],
                ["6h", "30m"],
            ],
            [
                ["1d", "2h"],
                ["3d", "6h"],
            ],
        ]);
    });
});

describe("the telemetry-gap, cost and cadence expressions", () => {
    const [first] = guardrails.slo.objectives;
    const count = `${first.sli.metric}_count{${renderMatchers(first.sli.matchers)}}`;

    it("alert when the SLI's count series is absent", () => {
        const a = alert(buildRuleGroups(configFor("prod"), guardrails), TELEMETRY_ALERT.absent, { slo: first.id });
        expect(a.expr).toBe(`absent(${count})`);
        expect(a.annotations.description).toContain(`No ${count} series for `);
    });

    it("alert when a count series has no bucket at the threshold", () => {
        const a = alert(buildRuleGroups(configFor("prod"), guardrails), TELEMETRY_ALERT.bucketMissing, {
            slo: first.id,
        });
        const bucket = `${first.sli.metric}_bucket{${renderMatchers(first.sli.matchers, [leMatcher(first.sli.thresholdSeconds)])}}`;
        expect(a.expr).toBe(`count(${count} unless ignoring(le) ${bucket}) > 0`);
        expect(a.annotations.description).toContain(
            `Some ${first.sli.metric} series for ${first.id} have no le="${leLabel(first.sli.thresholdSeconds)}" bucket`,
        );
    });

    it("compare each budget's month-to-date spend, the largest series of its category", () => {
        const groups = buildRuleGroups(configFor("prod"), guardrails);
        const spend = (b: string) => `max(${COST_METRIC.monthToDate}{category="${b}"})`;
        expect(alert(groups, COST_ALERT.exceeded, { budget: "total" }).expr).toBe(
            `${spend("total")} >= ${configFor("prod").monthlyBudgetUsd}`,
        );
        expect(alert(groups, COST_ALERT.exceeded, { budget: "llm" }).expr).toBe(
            `${spend("llm")} >= ${configFor("prod").llmBudgetUsd}`,
        );
    });

    it("forecast the month's end only after the first elapsed days, from the share of the month gone", () => {
        const forecast = recordings(buildRuleGroups(configFor("prod"), guardrails)).find(
            (r) => r.record === COST_RECORD.monthEndForecast,
        );
        const elapsed = "((day_of_month() - 1) * 86400 + time() % 86400)";
        expect(forecast?.expr).toBe(
            `max by (category) (${COST_METRIC.monthToDate})\n  / scalar(${elapsed} / (days_in_month() * 86400))\n` +
                `and on () (${elapsed} >= ${COST_FORECAST_MIN_ELAPSED_DAYS * durationSeconds("1d")})`,
        );
    });

    it("ticket when a budget's spend is absent or the billing data behind it is too old", () => {
        const a = alert(buildRuleGroups(configFor("prod"), guardrails), COST_ALERT.telemetry, { budget: "llm" });
        expect(a.expr).toBe(
            `absent(${COST_METRIC.monthToDate}{category="llm"})\nor\n(time() - max(${COST_METRIC.dataTimestamp}) > ${COST_DATA_MAX_AGE_HOURS * durationSeconds("1h")})`,
        );
        expect(a.for).toBe(COST_TELEMETRY_FOR);
    });

    it("label each cost alert with its env, urgency, the cost guardrail, and the budget and category it watches", () => {
        const groups = buildRuleGroups(configFor("prod"), guardrails);
        const cost = { env: "prod", guardrail: GUARDRAIL_LABEL.cost };
        expect(alert(groups, COST_ALERT.threshold, { budget: "llm" }).labels).toEqual({
            ...cost,
            ...urgencyLabels(URGENCY.ticket),
            budget: "llm",
            category: "llm",
        });
        expect(alert(groups, COST_ALERT.forecast, { budget: "total" }).labels).toEqual({
            ...cost,
            ...urgencyLabels(URGENCY.page),
            budget: "total",
            category: "total",
        });
    });

    it("name the monthly and the LLM budget apart", () => {
        const groups = buildRuleGroups(configFor("staging"), guardrails);
        expect(alert(groups, COST_ALERT.exceeded, { budget: "total" }).annotations.summary).toBe(
            `staging monthly budget of ${configFor("staging").monthlyBudgetUsd} USD exceeded`,
        );
        expect(alert(groups, COST_ALERT.exceeded, { budget: "llm" }).annotations.summary).toBe(
            `staging LLM budget of ${configFor("staging").llmBudgetUsd} USD exceeded`,
        );
    });

    it.each([
        ["staging", "staging", "cut from trunk to staging"],
        ["prod", "production", "released to production"],
    ])("alert in %s when the %s cut metric is absent, and say what is overdue", (stack, target, what) => {
        const groups = buildRuleGroups(configFor(stack), guardrails);
        expect(groups.map((g) => g.name)).toContain(`maestro-cadence-${stack}`);
        expect(alert(groups, CADENCE_ALERT.absent).expr).toBe(`absent(${CADENCE_METRIC.lastCut}{target="${target}"})`);
        expect(alert(groups, CADENCE_ALERT.overdue).annotations.summary).toContain(
            `Release cadence: nothing ${what} for over`,
        );
    });
});
