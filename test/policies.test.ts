import * as fs from "fs";
import * as path from "path";
import { StackValidationPolicy } from "@pulumi/policy";
import * as yaml from "js-yaml";
import { AWS_TAG, BACKLOG_ITEM, GRAFANA_DASHBOARD_TYPE, K8S_ANNOTATION, URGENCY } from "../core/conventions";
import { awsEvidenceTags } from "../core/evidence";
import { leLabel } from "../core/guardrails";
import { repoRoot } from "../core/validation";
import { packPolicies } from "../policies/all";
import { accountSharedWith } from "../core/guardrails";
import { LLM_SERVICE_FILTER, environmentScope } from "../budgets/specs";
import { BUDGETS_POLICY, budgetsPolicy } from "../policies/budgets";
import { AWS_ACCOUNT_POLICY, awsAccountPolicy } from "../policies/accounts";
import { ANOMALY_POLICY, anomalyPolicy, anomalyThresholdUsd } from "../policies/anomaly";
import { PackContext } from "../policies/context";
import { DASHBOARDS_POLICY, dashboardsPolicy } from "../policies/dashboards";
import {
    EVIDENCE_FLOOR_POLICY,
    EVIDENCE_HOOKS_POLICY,
    EvidenceCoverage,
    evidenceFloorPolicy,
    evidenceHooksPolicy,
} from "../policies/evidence";
import {
    BUCKET_INPUTS_POLICY,
    BUCKET_POLICY,
    RELEASE_POLICY,
    provenanceBucketInputsPolicy,
    provenanceBucketPolicy,
    releasePolicy,
} from "../policies/provenance";
import { ROUTING_POLICY, routingPolicy } from "../policies/routing";
import { SLO_POLICY, sloPolicy } from "../policies/slo";
import { buildAlertmanagerConfig, renderAmpDefinition } from "../routing";
import { buildSloGroup } from "../rules";
import { MAX_DOCUMENT_NODES } from "../core/validation";
import { durationSeconds } from "../rules/design";
import { ROUTE_TIMINGS } from "../routing/build";
import {
    FixtureResource,
    FixtureStack,
    FIXTURE_ROUTING,
    RELEASE,
    backlogItems,
    fixtureContext,
    happyStack,
    ledgerText,
} from "./fixtures/policies/stackResources";
import { Reported, runResource, runStack, setSpecJson, specJson } from "./fixtures/policies/run";
import { guardrails, STACKS } from "./fixtures/shipped";

/** Every policy over a stack, as the engine runs them: Analyze per resource, then AnalyzeStack. */
async function runPack(ctx: PackContext, stack: FixtureStack): Promise<Array<Reported & { policy: string }>> {
    const pending: Promise<unknown>[] = [];
    const seen: Array<[string, Reported[]]> = [];
    for (const policy of packPolicies(ctx)) {
        if ("validateResource" in policy && policy.validateResource) {
            stack.resources.forEach((r) => seen.push([policy.name, runResource(policy, r, pending)]));
        } else if ("validateStack" in policy) {
            seen.push([policy.name, runStack(policy, stack.resources, pending)]);
        }
    }
    // Every validation awaited before reading what it reported.
    await Promise.all(pending);
    return seen.flatMap(([policy, reported]) => reported.map((v) => ({ ...v, policy })));
}

const ctx = fixtureContext(guardrails);
const tagsOf = (r: FixtureResource) => r.props.tags as Record<string, string>;

describe.each(STACKS)("the happy-path %s stack", (env) => {
    it("passes every policy of the pack", async () => {
        expect(await runPack(ctx, happyStack(guardrails, env))).toEqual([]);
    });

    it("ignores types that carry no evidence (the stack, components, untaggable AWS types, folders)", () => {
        const s = happyStack(guardrails, env);
        for (const name of [
            `maestro-guardrails-${env}`,
            "budgets",
            "budgets-alerts-policy",
            "folder",
            "prov-bucket-versioning",
        ]) {
            expect(runResource(evidenceHooksPolicy(ctx, new EvidenceCoverage()), s.byName(name))).toEqual([]);
        }
    });
});

/** A kilobyte of YAML whose nested aliases expand to billions of values, under `key`. */
function aliasBomb(key: string): string {
    const lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]'];
    for (let i = 1; i < 10; i++) {
        lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(", ")}]`);
    }
    lines.push(`${key}: *a9`);
    return lines.join("\n");
}

describe(EVIDENCE_HOOKS_POLICY, () => {
    const policy = () => evidenceHooksPolicy(ctx, new EvidenceCoverage());

    it("rejects an untagged AWS resource, naming it and how to fix it", () => {
        const r = happyStack(guardrails, "dev").byName("budgets-total");
        delete r.props.tags;
        const [v] = runResource(policy(), r);
        expect(v.message).toContain(`aws:budgets/budget:Budget "budgets-total": carries no ${AWS_TAG.environment}`);
        expect(v.message).toContain(`carries no ${AWS_TAG.backlogItem} (in tags), so it serves no backlog item`);
        expect(v.message).toContain(
            "declareEvidence(this, { backlogItem: BACKLOG_ITEM.<item>, creates: [<its type>, ...] })",
        );
        expect(v.urn).toBe(r.urn);
    });

    it("rejects a dangling backlog item that governance does not have", () => {
        const r = happyStack(guardrails, "dev").byName("budgets-total");
        tagsOf(r)[AWS_TAG.backlogItem] = "R9-NOT-PLANNED";
        expect(runResource(policy(), r)[0].message).toContain(
            `names backlog item "R9-NOT-PLANNED", which test/fixtures/policies/backlog-items.json does not have (a dangling hook)`,
        );
    });

    it("rejects a hook that differs from the one its backlog item declares", () => {
        const r = happyStack(guardrails, "dev").byName("budgets-total");
        tagsOf(r)[AWS_TAG.logs] = "/somewhere/else";
        expect(runResource(policy(), r)[0].message).toContain(
            `${AWS_TAG.logs} is "/somewhere/else" but backlog item ${BACKLOG_ITEM.costBudgets} declares "${backlogItems[BACKLOG_ITEM.costBudgets].logs}" (a dangling hook)`,
        );
    });

    it("rejects a missing hook", () => {
        const r = happyStack(guardrails, "dev").byName("prov-bucket");
        delete tagsOf(r)[AWS_TAG.tests];
        expect(runResource(policy(), r)[0].message).toContain(
            `carries no ${AWS_TAG.tests} (backlog item ${BACKLOG_ITEM.provenanceBucket} declares`,
        );
    });

    it("rejects a backlog item that does not declare all four hooks", () => {
        const r = happyStack(guardrails, "dev").byName("budgets-total");
        r.props.tags = awsEvidenceTags(
            { environment: "dev", owner: "o", stack: "dev" },
            {
                id: "R1-HALF-HOOKED",
                hooks: { logs: "/fixture/half/logs", metrics: "fixture_half_metric", tests: "", provenance: "" },
            },
        );
        const [v] = runResource(policy(), r);
        expect(v.message).toContain(
            `backlog item R1-HALF-HOOKED declares no "tests" hook in test/fixtures/policies/backlog-items.json`,
        );
        expect(v.message).toContain(`declares no "provenance" hook`);
    });

    it("reads Kubernetes hooks from labels and annotations", () => {
        const r = happyStack(guardrails, "dev").byName(`rules-${guardrails.slo.objectives[0].id}`);
        delete (r.props.metadata as { annotations: Record<string, string> }).annotations[K8S_ANNOTATION.metrics];
        expect(runResource(policy(), r)[0].message).toContain(`carries no annotation ${K8S_ANNOTATION.metrics}`);
    });

    it("reads Grafana hooks from the dashboard model's tags and evidence links, and rejects a model it cannot read", () => {
        const s = happyStack(guardrails, "dev");
        const r = s.byName("dashboard-cost");
        const model = JSON.parse(specJson(r)) as { tags: string[]; links: Array<{ title: string }> };
        // A hook short enough is also a tag; drop it from both places.
        const withoutMetrics = {
            ...model,
            tags: model.tags.filter((t) => !t.startsWith(`${AWS_TAG.metrics}=`)),
            links: model.links.filter((l) => l.title !== AWS_TAG.metrics),
        };
        setSpecJson(r, JSON.stringify(withoutMetrics));
        expect(runResource(policy(), r)[0].message).toContain(
            `carries no ${AWS_TAG.metrics} (backlog item R1-DASH-COST declares`,
        );
        setSpecJson(r, JSON.stringify({ ...model, tags: [] }));
        expect(runResource(policy(), r)[0].message).toContain(
            `carries no ${AWS_TAG.backlogItem} (in spec.json tags and links)`,
        );
        setSpecJson(r, "{not json");
        expect(runResource(policy(), r)[0].message).toContain("spec.json is not JSON");
    });

    it("reads a legacy grafana:oss/dashboard:Dashboard's model from configJson", () => {
        const r = happyStack(guardrails, "dev").byName("dashboard-cost");
        const legacy = { ...r, type: GRAFANA_DASHBOARD_TYPE.legacy, props: { configJson: specJson(r) } };
        expect(runResource(policy(), legacy)).toEqual([]);
        legacy.props.configJson = JSON.stringify({ ...(JSON.parse(specJson(r)) as object), tags: [] });
        expect(runResource(policy(), legacy)[0].message).toContain(
            `carries no ${AWS_TAG.backlogItem} (in configJson tags and links)`,
        );
    });

    it("rejects a type it has no convention for", () => {
        const r: FixtureResource = {
            urn: "urn:pulumi:dev::p::random:index/randomId:RandomId::x",
            type: "random:index/randomId:RandomId",
            name: "x",
            props: {},
            protect: false,
            deps: {},
        };
        expect(runResource(policy(), r)[0].message).toContain(
            "type random:index/randomId:RandomId has no evidence-hook convention; classify it in policies/resources.ts",
        );
    });

    it("reports at the configured level outside prod, and always mandatory in prod", () => {
        for (const env of STACKS) {
            const r = happyStack(guardrails, env).byName("budgets-total");
            delete tagsOf(r)[AWS_TAG.metrics];
            expect(runResource(policy(), r)[0].level).toBe(env === "prod" ? "mandatory" : undefined);
        }
    });
});

describe(EVIDENCE_FLOOR_POLICY, () => {
    it("in prod, reports a disabled evidence-hooks and redoes its check, mandatory", () => {
        const s = happyStack(guardrails, "prod");
        delete tagsOf(s.byName("budgets-llm"))[AWS_TAG.provenance];
        const reported = runStack(evidenceFloorPolicy(ctx, new EvidenceCoverage()), s.resources);
        expect(reported.map((v) => v.level)).toEqual(["mandatory", "mandatory"]);
        expect(reported[0].message).toContain(`${EVIDENCE_HOOKS_POLICY} did not run on`);
        expect(reported[0].message).toContain(
            `remove "${EVIDENCE_HOOKS_POLICY}": "disabled" from the policy pack config`,
        );
        expect(reported[1].message).toContain(
            `aws:budgets/budget:Budget "budgets-llm": carries no ${AWS_TAG.provenance}`,
        );
    });

    it("stays quiet when evidence-hooks analyzed every resource", () => {
        const s = happyStack(guardrails, "prod");
        const coverage = new EvidenceCoverage();
        s.resources.forEach((r) => runResource(evidenceHooksPolicy(ctx, coverage), r));
        expect(runStack(evidenceFloorPolicy(ctx, coverage), s.resources)).toEqual([]);
    });

    it.each(["dev", "staging"])("lets %s disable evidence-hooks", (env) => {
        expect(
            runStack(evidenceFloorPolicy(ctx, new EvidenceCoverage()), happyStack(guardrails, env).resources),
        ).toEqual([]);
    });
});

describe(SLO_POLICY, () => {
    const slo = guardrails.slo.objectives[0];
    const rulesOf = (r: FixtureResource) =>
        (r.props.spec as { groups: Array<{ rules: Array<Record<string, unknown>> }> }).groups[0].rules;
    const pageOf = (r: FixtureResource) =>
        rulesOf(r).find((x) => (x.labels as Record<string, string>).urgency === URGENCY.page) as Record<
            string,
            unknown
        >;
    const messages = (rs: readonly FixtureResource[]) =>
        runStack(sloPolicy(ctx), rs)
            .map((v) => v.message)
            .join("\n");

    it("rejects a threshold looser than the guardrail, naming the SLO, the rule and the allowed bound", () => {
        const s = happyStack(guardrails, "staging");
        const rule = rulesOf(s.byName(`rules-${slo.id}`))[0];
        rule.expr = String(rule.expr).replace(
            `le="${leLabel(slo.sli.thresholdSeconds)}"`,
            `le="${leLabel(slo.sli.thresholdSeconds * 2)}"`,
        );
        const text = messages(s.resources);
        expect(text).toContain(`SLO ${slo.id}: recording`);
        expect(text).toContain(
            `counts requests within le="${leLabel(slo.sli.thresholdSeconds * 2)}" s as good, looser than the guardrail threshold of ${slo.sli.thresholdSeconds} s`,
        );
        expect(text).toContain(`allowed: le <= ${slo.sli.thresholdSeconds}`);
    });

    it("accepts rules built with a tighter threshold and rejects +Inf", () => {
        const s = happyStack(guardrails, "dev");
        const tighter = { ...slo, sli: { ...slo.sli, thresholdSeconds: slo.sli.thresholdSeconds / 2 } };
        const group = buildSloGroup({ environment: "dev", sourceFile: "x" }, guardrails, tighter);
        (s.byName(`rules-${slo.id}`).props.spec as { groups: unknown[] }).groups = [
            JSON.parse(JSON.stringify(group)) as unknown,
        ];
        expect(runStack(sloPolicy(ctx), s.resources)).toEqual([]);
        const rule = rulesOf(s.byName(`rules-${slo.id}`))[0];
        rule.expr = String(rule.expr).replace(`le="${leLabel(tighter.sli.thresholdSeconds)}"`, `le="+Inf"`);
        expect(messages(s.resources)).toContain(`le="+Inf"`);
    });

    it("reads a regex le matcher as its alternatives: both spellings of the bound pass, a looser or open one is refused", () => {
        const s = happyStack(guardrails, "dev");
        const rule = rulesOf(s.byName(`rules-${slo.id}`))[0];
        const original = String(rule.expr);
        const own = `le="${leLabel(slo.sli.thresholdSeconds)}"`;
        const spelled = (values: string) => original.replace(own, `le=~${JSON.stringify(values)}`);
        // Two spellings of the guardrail's own bound (as the rules emit `1|1\\.0` for an integer one).
        const bound = leLabel(slo.sli.thresholdSeconds);
        rule.expr = spelled([bound, `${bound}0`].map((v) => v.replace(/\./g, "\\.")).join("|"));
        expect(runStack(sloPolicy(ctx), s.resources)).toEqual([]);
        // One looser alternative hidden beside the right one.
        rule.expr = spelled(`${leLabel(slo.sli.thresholdSeconds)}|${leLabel(slo.sli.thresholdSeconds * 2)}`);
        expect(messages(s.resources)).toContain(`le="${leLabel(slo.sli.thresholdSeconds * 2)}" s as good`);
        // A pattern rather than a number counts as unbounded.
        rule.expr = spelled(".*");
        expect(messages(s.resources)).toContain(`le=".*" s as good`);
        // Another quoting of the same loose bound.
        rule.expr = original.replace(own, `le='${leLabel(slo.sli.thresholdSeconds * 2)}'`);
        expect(messages(s.resources)).toContain(`le="${leLabel(slo.sli.thresholdSeconds * 2)}" s as good`);
    });

    it("rejects an objective looser than the guardrail", () => {
        const s = happyStack(guardrails, "dev");
        const looser = Number((slo.objective - (1 - slo.objective)).toFixed(6));
        const alert = pageOf(s.byName(`rules-${slo.id}`));
        alert.expr = String(alert.expr).split(`(1 - ${slo.objective})`).join(`(1 - ${looser})`);
        expect(messages(s.resources)).toContain(
            `uses objective ${looser}, looser than the guardrail objective ${slo.objective}`,
        );
    });

    it("rejects an SLO without alert rules, and one without its ticket alert", () => {
        const s = happyStack(guardrails, "dev");
        const missing = s.resources.filter((r) => r.name !== `rules-${slo.id}`);
        expect(messages(missing)).toContain(
            `SLO ${slo.id} (guardrails/guardrails.yaml /slo/objectives/0) has no alert rules deployed`,
        );
        const rules = rulesOf(s.byName(`rules-${slo.id}`));
        rules.splice(
            rules.findIndex((r) => (r.labels as Record<string, string>).urgency === URGENCY.ticket),
            1,
        );
        expect(messages(s.resources)).toContain(`SLO ${slo.id} has no ticket alert`);
    });

    it("rejects an alert labelled with another environment", () => {
        const s = happyStack(guardrails, "prod");
        (pageOf(s.byName(`rules-${slo.id}`)).labels as Record<string, string>).env = "dev";
        expect(messages(s.resources)).toContain(`is labelled env="dev" in the prod stack; allowed: env="prod"`);
    });

    it("refuses an AMP rule file that is a YAML alias bomb, naming the cap, instead of walking it", () => {
        const s = happyStack(guardrails, "dev");
        const k8s = s.byName(`rules-${slo.id}`);
        Object.assign(k8s, {
            type: "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
            props: { name: "x", workspaceId: "ws", data: aliasBomb("groups"), tags: tagsOf(s.byName("budgets-total")) },
        });
        expect(messages(s.resources)).toContain(`expands to more than ${MAX_DOCUMENT_NODES} values`);
    });

    it("reads AMP rule group namespaces (a rule file in data) the same way", () => {
        const s = happyStack(guardrails, "dev");
        const k8s = s.byName(`rules-${slo.id}`);
        const groups = (k8s.props.spec as { groups: unknown }).groups;
        Object.assign(k8s, {
            type: "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
            props: {
                name: "x",
                workspaceId: "ws",
                data: yaml.dump({ groups }),
                tags: tagsOf(s.byName("budgets-total")),
            },
        });
        expect(runStack(sloPolicy(ctx), s.resources)).toEqual([]);
        k8s.props.data = String(k8s.props.data)
            .split(`le="${leLabel(slo.sli.thresholdSeconds)}"`)
            .join(`le="${leLabel(slo.sli.thresholdSeconds * 2)}"`);
        expect(messages(s.resources)).toContain("looser than the guardrail threshold");
        k8s.props.data = "groups: [";
        expect(messages(s.resources)).toContain("data is not a Prometheus rule file");
    });
});

describe(ROUTING_POLICY, () => {
    type Spec = {
        route: { routes: Array<Record<string, unknown>> };
        receivers: Array<{ name: string } & Record<string, unknown>>;
    };
    const specOf = (s: FixtureStack) => s.byName("alert-routing-config").props.spec as Spec;
    const violations = (s: FixtureStack) => runStack(routingPolicy(ctx), s.resources);

    it.each(STACKS)("passes the %s stack, whose every guardrail alert reaches a receiver that sends", (env) => {
        expect(violations(happyStack(guardrails, env))).toEqual([]);
    });

    it("rejects a receiver emptied of its integrations (a null route), naming the alert and the receiver", () => {
        const s = happyStack(guardrails, "prod");
        const onCall = specOf(s).receivers.find((r) => r.name === FIXTURE_ROUTING.routes.page)!;
        delete onCall.pagerdutyConfigs;
        const v = violations(s);
        // One per SLO's page; the tickets still reach the team.
        expect(v).toHaveLength(guardrails.slo.objectives.length);
        expect(v[0].message).toMatch(
            /^alert MaestroSLOFastBurn \{.*urgency="page"\} \(group maestro-slo-.*\) reaches nobody: kubernetes:monitoring.coreos.com\/v1alpha1:AlertmanagerConfig "alert-routing-config" sends it to receiver "on-call", which has no integration\./,
        );
        expect(v[0].urn).toBe(s.byName("alert-routing-config").urn);
    });

    /** The route the fixture sends SLO pages to (the first whose matchers say urgency="page"). */
    const pageRoute = (s: FixtureStack) =>
        specOf(s).route.routes.find((r) =>
            (r.matchers as Array<{ name: string; value: string }>).some((m) => m.value === "page"),
        )!;

    it("rejects the page route muted by a time interval, or active only within one", () => {
        const s = happyStack(guardrails, "prod");
        pageRoute(s).muteTimeIntervals = ["always"];
        const v = violations(s);
        expect(v).toHaveLength(guardrails.slo.objectives.length);
        expect(v[0].message).toContain(
            `sends it to receiver "on-call", whose route is muted by time intervals (always); allowed: none on a guardrail route`,
        );
        const t = happyStack(guardrails, "prod");
        pageRoute(t).activeTimeIntervals = ["never"];
        expect(violations(t)[0].message).toContain("whose route is muted by time intervals (never)");
    });

    it("rejects a group wait that holds the first notification back past the design's longest, and one it cannot read", () => {
        const longest = Math.max(...Object.values(ROUTE_TIMINGS).map((x) => durationSeconds(x.groupWait)));
        const s = happyStack(guardrails, "staging");
        pageRoute(s).groupWait = `${longest + 1}s`;
        expect(violations(s)[0].message).toContain(
            `whose route waits ${longest + 1}s before the first notification; allowed: at most ${longest}s`,
        );
        pageRoute(s).groupWait = `${longest}s`;
        expect(violations(s)).toEqual([]);
        pageRoute(s).groupWait = "1h30m";
        expect(violations(s)[0].message).toContain("whose route waits 1h30m");
    });

    it("rejects a group wait inherited from a slow root route", () => {
        const s = happyStack(guardrails, "dev");
        const spec = specOf(s) as Spec & { route: Record<string, unknown> };
        spec.route.groupWait = "8760h";
        spec.route.routes.forEach((r) => delete r.groupWait);
        expect(violations(s).length).toBeGreaterThan(0);
        expect(violations(s)[0].message).toContain("whose route waits 8760h");
    });

    it("rejects an inhibit rule outside the design that mutes guardrail alerts, and keeps the designed ones", () => {
        const s = happyStack(guardrails, "prod");
        const spec = specOf(s) as Spec & { inhibitRules: Array<Record<string, unknown>> };
        expect(spec.inhibitRules.length).toBeGreaterThan(0);
        expect(violations(s)).toEqual([]);
        spec.inhibitRules.push({
            sourceMatch: [{ name: "alertname", value: "Watchdog", matchType: "=" }],
            targetMatch: [{ name: "guardrail", value: ".+", matchType: "=~" }],
            equal: [],
        });
        const v = violations(s);
        expect(v.length).toBeGreaterThan(guardrails.slo.objectives.length);
        expect(v[0].message).toContain(
            `inhibits it while alertname="Watchdog" fires, an inhibit rule not in the design (routing/build.ts INHIBIT_RULES)`,
        );
    });

    it("accepts an extra inhibit rule whose targets are no guardrail alert", () => {
        const s = happyStack(guardrails, "dev");
        const spec = specOf(s) as Spec & { inhibitRules: Array<Record<string, unknown>> };
        spec.inhibitRules.push({
            sourceMatch: [{ name: "alertname", value: "NodeDown", matchType: "=" }],
            targetMatch: [{ name: "alertname", value: "PodNotReady", matchType: "=" }],
            equal: ["node"],
        });
        expect(violations(s)).toEqual([]);
    });

    it("rejects a route placed first that catches the alerts for an empty receiver, and accepts it when it continues", () => {
        const s = happyStack(guardrails, "dev");
        const spec = specOf(s);
        spec.receivers.push({ name: "devnull" });
        spec.route.routes.unshift({
            receiver: "devnull",
            matchers: [{ name: "guardrail", value: ".+", matchType: "=~" }],
        });
        // Every alert of the fixture (page and ticket per SLO) now stops at devnull.
        expect(violations(s)).toHaveLength(guardrails.slo.objectives.length * 2);
        expect(violations(s)[0].message).toContain('sends it to receiver "devnull", which has no integration');
        // `continue: true` lets the alert go on to its own route: it reaches on-call or the team again.
        spec.route.routes[0].continue = true;
        expect(violations(s)).toEqual([]);
    });

    it("rejects a route to a receiver the config does not define, and one that matches no alert", () => {
        const s = happyStack(guardrails, "staging");
        const spec = specOf(s);
        spec.route.routes[0].receiver = "pager-typo";
        expect(violations(s)[0].message).toContain('sends it to receiver "pager-typo", which has no integration');
        const t = happyStack(guardrails, "staging");
        // Matching another environment's alerts only: this stack's alerts match no route.
        (specOf(t).route as Record<string, unknown>).matchers = [{ name: "env", value: "elsewhere", matchType: "=" }];
        expect(violations(t)[0].message).toContain("reaches nobody: no route matches it");
    });

    it("rejects a stack with alert rules and no routing object at all", () => {
        const s = happyStack(guardrails, "prod");
        const rest = s.resources.filter((r) => r.name !== "alert-routing-config");
        expect(runStack(routingPolicy(ctx), rest)[0].message).toMatch(
            /guardrail alert rules but no AlertmanagerConfig or AMP alert manager definition/,
        );
    });

    it("reads AMP's alert manager definition (alertmanager.yml under alertmanager_config) the same way", () => {
        const s = happyStack(guardrails, "dev");
        const r = s.byName("alert-routing-config");
        const spec = buildAlertmanagerConfig({
            environment: "dev",
            alertRouting: {
                receivers: { sns: { sns: { topicArn: "arn:aws:sns:us-east-1:123456789012:alerts" } } },
                routes: { page: "sns", ticket: "sns", cost: "sns", cadence: "sns" },
            },
        });
        Object.assign(r, {
            type: "aws:amp/alertManagerDefinition:AlertManagerDefinition",
            props: { workspaceId: "ws-1", definition: renderAmpDefinition(spec) },
        });
        expect(violations(s)).toEqual([]);
        // The same file with its receiver's integration gone: a null route in AMP is refused as well.
        const emptied = yaml.load(String(r.props.definition)) as { alertmanager_config: string };
        const inner = yaml.load(emptied.alertmanager_config) as { receivers: Array<Record<string, unknown>> };
        delete inner.receivers[0].sns_configs;
        r.props.definition = yaml.dump({ alertmanager_config: yaml.dump(inner) });
        expect(violations(s)[0].message).toContain('sends it to receiver "sns", which has no integration');
        r.props.definition = "alertmanager_config: [";
        expect(violations(s)[0].message).toContain("its routing cannot be read");
        r.props.definition = yaml.dump({ alertmanager_config: aliasBomb("route") });
        expect(violations(s)[0].message).toContain(`expands to more than ${MAX_DOCUMENT_NODES} values`);
    });
});

describe(BUDGETS_POLICY, () => {
    it.each(STACKS)("rejects a %s budget over its cap", (env) => {
        const s = happyStack(guardrails, env);
        s.byName("budgets-total").props.limitAmount = String(guardrails.cost.caps[env].monthlyUsd * 2);
        const [v, ...rest] = runStack(budgetsPolicy(ctx), s.resources);
        expect(rest).toEqual([]);
        expect(v.message).toContain(
            `aws:budgets/budget:Budget "budgets-total": limitAmount ${guardrails.cost.caps[env].monthlyUsd * 2} is over the ${env} cap; allowed: > 0 and <= ${guardrails.cost.caps[env].monthlyUsd}`,
        );
    });

    it("rejects a stack without a total budget", () => {
        const s = happyStack(guardrails, "staging");
        expect(
            runStack(
                budgetsPolicy(ctx),
                s.resources.filter((r) => r.name !== "budgets-total"),
            )[0].message,
        ).toContain("the staging stack has no monthly cost budget");
    });

    it("requires the LLM budget in prod, at or under the LLM cap", () => {
        const cap = guardrails.cost.caps.prod;
        const s = happyStack(guardrails, "prod");
        expect(
            runStack(
                budgetsPolicy(ctx),
                s.resources.filter((r) => r.name !== "budgets-llm"),
            )[0].message,
        ).toContain(`the prod stack has no LLM budget`);
        s.byName("budgets-llm").props.limitAmount = String((cap.llmMonthlyUsd as number) * 2);
        expect(runStack(budgetsPolicy(ctx), s.resources)[0].message).toContain(
            `is over the prod LLM cap; allowed: > 0 and <= ${cap.llmMonthlyUsd}`,
        );
    });

    it("rejects alerts later than the guardrail threshold, or with nobody to tell", () => {
        const percent = Math.round(guardrails.cost.alertThreshold * 100);
        const s = happyStack(guardrails, "dev");
        const notifications = s.byName("budgets-total").props.notifications as Array<Record<string, unknown>>;
        notifications[1].threshold = percent + (100 - percent) / 2;
        expect(runStack(budgetsPolicy(ctx), s.resources)[0].message).toContain(
            `no FORECASTED notification at ${percent}% of the limit or earlier`,
        );
        notifications[1].threshold = percent;
        notifications[0].subscriberSnsTopicArns = [];
        notifications[0].subscriberEmailAddresses = [];
        expect(runStack(budgetsPolicy(ctx), s.resources)[0].message).toContain(
            `its ACTUAL notification at ${percent}% has no subscriber`,
        );
    });

    it("rejects a budget that is not a monthly cost budget in the guardrail currency", () => {
        const s = happyStack(guardrails, "dev");
        Object.assign(s.byName("budgets-total").props, { budgetType: "USAGE", timeUnit: "ANNUALLY", limitUnit: "EUR" });
        const [v] = runStack(budgetsPolicy(ctx), s.resources);
        expect(v.message).toContain(`budgetType is "USAGE"; allowed: "COST"`);
        expect(v.message).toContain(`timeUnit is "ANNUALLY"`);
        expect(v.message).toContain(`limitUnit is "EUR"; allowed: "${guardrails.cost.currency}"`);
    });
});

describe(`${BUDGETS_POLICY} in an account two environments share`, () => {
    // The shipped guardrails put dev and staging in one account; derived, not typed.
    const env = STACKS.find((e) => accountSharedWith(guardrails, e).length > 0)!;
    const messages = (s: FixtureStack) => runStack(budgetsPolicy(ctx), s.resources).map((v) => v.message);

    it("passes the budgets scoped to the environment's tags, with the tags active", () => {
        expect(messages(happyStack(guardrails, env))).toEqual([]);
    });

    it("refuses a budget without the environment filter, added beside the scoped ones", () => {
        const s = happyStack(guardrails, env);
        const extra = { ...s.byName("budgets-total"), name: "extra", urn: `${s.byName("budgets-total").urn}-extra` };
        extra.props = { ...extra.props };
        delete extra.props.filterExpression;
        s.resources.push(extra);
        expect(messages(s)).toEqual([
            expect.stringContaining(`aws:budgets/budget:Budget "extra": the ${env} account is shared with`),
        ]);
    });

    it("refuses the LLM budget filtered by service alone, or by the legacy costFilters", () => {
        const s = happyStack(guardrails, env);
        s.byName("budgets-llm").props.filterExpression = LLM_SERVICE_FILTER;
        expect(messages(s)).toEqual([expect.stringContaining(`"budgets-llm": the ${env} account is shared with`)]);
        const t = happyStack(guardrails, env);
        t.byName("budgets-total").props.costFilters = [
            { name: "TagKeyValue", values: [`user:maestro:environment$${env}`] },
        ];
        expect(messages(t).join("\n")).toContain(`"budgets-total": the ${env} account is shared with`);
    });

    it("refuses a filter that ORs the environment with anything else", () => {
        const s = happyStack(guardrails, env);
        s.byName("budgets-total").props.filterExpression = {
            ors: [...(environmentScope(env).ors ?? []), { tags: { key: AWS_TAG.environment, values: ["prod"] } }],
        };
        expect(messages(s).join("\n")).toContain(`"budgets-total": the ${env} account is shared with`);
    });

    it("refuses a stack that does not activate the cost allocation tags, or leaves one inactive", () => {
        const s = happyStack(guardrails, env);
        s.resources.splice(s.resources.indexOf(s.byName("budgets-cost-tag-1")), 1);
        expect(messages(s)).toEqual([
            expect.stringContaining(`does not activate the cost allocation tag(s) iamPrincipal/`),
        ]);
        const t = happyStack(guardrails, env);
        t.byName("budgets-cost-tag-0").props.status = "Inactive";
        expect(messages(t)).toEqual([expect.stringContaining(`cost allocation tag(s) ${AWS_TAG.environment} `)]);
    });

    it("in an account of its own, counts the whole account and needs no tags", () => {
        const own = STACKS.find((e) => accountSharedWith(guardrails, e).length === 0)!;
        const s = happyStack(guardrails, own);
        expect(s.resources.filter((r) => r.type === "aws:costexplorer/costAllocationTag:CostAllocationTag")).toEqual(
            [],
        );
        expect(messages(s)).toEqual([]);
    });
});

describe(AWS_ACCOUNT_POLICY, () => {
    const messages = (s: FixtureStack) => runStack(awsAccountPolicy(ctx), s.resources).map((v) => v.message);
    const declared = (env: string) => guardrails.accounts[env];
    const otherRegion = (env: string) => (declared(env).region === "eu-west-1" ? "us-west-2" : "eu-west-1");
    const provider = (s: FixtureStack) => s.resources.find((r) => r.type === "pulumi:providers:aws")!;

    it.each(STACKS)("passes the %s stack whose default provider pins the declared account and region", (env) => {
        expect(messages(happyStack(guardrails, env))).toEqual([]);
    });

    it.each(STACKS)("refuses a %s stack file without allowedAccountIds (the default provider's inputs)", (env) => {
        const s = happyStack(guardrails, env);
        delete provider(s).props.allowedAccountIds;
        expect(messages(s)).toEqual([
            expect.stringContaining(
                `AWS provider "default_7_48_0" of the ${env} stack: pins no account (allowedAccountIds unset); allowed: ["${declared(env).accountId}"] (guardrails/guardrails.yaml /accounts/${env})`,
            ),
        ]);
    });

    /** The stack plus an IAM role trusting `statement` (built from the budget, so it has the stack's provider). */
    const withRole = (env: string, statement: Record<string, unknown>) => {
        const s = happyStack(guardrails, env);
        const budget = s.byName("budgets-total");
        s.resources.push({
            ...budget,
            type: "aws:iam/role:Role",
            name: "admin",
            urn: budget.urn.replace(/aws:budgets\/budget:Budget::budgets-total$/, "aws:iam/role:Role::admin"),
            props: { assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }) },
        });
        return messages(s);
    };
    const assume = (Principal: unknown) => ({ Effect: "Allow", Principal, Action: "sts:AssumeRole" });
    const foreignAccount = (env: string) => String(Number(declared(env).accountId) + 1).padStart(12, "0");

    it.each(STACKS)("refuses a %s role that another account's principal may assume (by id or by ARN)", (env) => {
        const other = foreignAccount(env);
        expect(withRole(env, assume({ AWS: other }))).toEqual([
            expect.stringContaining(
                `aws:iam/role:Role "admin" trusts principals outside the ${env} account ${declared(env).accountId}: AWS ${other}`,
            ),
        ]);
        expect(withRole(env, assume({ AWS: [`arn:aws:iam::${other}:root`] }))[0]).toContain(
            `AWS arn:aws:iam::${other}:root`,
        );
    });

    it("refuses a role anyone may assume, or everyone but one principal (NotPrincipal)", () => {
        expect(withRole("prod", assume("*"))[0]).toContain("outside the prod account");
        expect(withRole("prod", assume({ AWS: "*" }))[0]).toContain("AWS *");
        const notPrincipal = { Effect: "Allow", NotPrincipal: { AWS: "x" }, Action: "sts:AssumeRole" };
        expect(withRole("prod", notPrincipal)[0]).toContain("NotPrincipal (everyone else)");
    });

    it("refuses a web identity from another account's identity provider, or from a non-IAM one", () => {
        const other = foreignAccount("dev");
        expect(withRole("dev", assume({ Federated: `arn:aws:iam::${other}:oidc-provider/x` }))[0]).toContain(
            `Federated arn:aws:iam::${other}:oidc-provider/x`,
        );
        expect(withRole("dev", assume({ Federated: "accounts.google.com" }))[0]).toContain(
            "Federated accounts.google.com",
        );
    });

    it("accepts a role for an AWS service, for the account's own principals and identity provider, and a Deny", () => {
        const own = declared("staging").accountId;
        expect(withRole("staging", assume({ Service: "budgets.amazonaws.com" }))).toEqual([]);
        expect(withRole("staging", assume({ AWS: [own, `arn:aws:iam::${own}:role/ops`] }))).toEqual([]);
        expect(withRole("staging", assume({ Federated: `arn:aws:iam::${own}:oidc-provider/oidc.eks` }))).toEqual([]);
        expect(withRole("staging", { Effect: "Deny", Principal: "*", Action: "sts:AssumeRole" })).toEqual([]);
    });

    it("refuses another environment's account, or a list that adds one", () => {
        const other = STACKS.find((e) => declared(e).accountId !== declared("prod").accountId)!;
        const s = happyStack(guardrails, "prod");
        provider(s).props.allowedAccountIds = JSON.stringify([declared("prod").accountId, declared(other).accountId]);
        expect(messages(s)).toEqual([expect.stringContaining(`allowed: exactly ["${declared("prod").accountId}"]`)]);
    });

    it("refuses an explicit aws.Provider with another region, used by one resource beside the default provider", () => {
        const s = happyStack(guardrails, "prod");
        const explicit = {
            ...provider(s),
            name: "elsewhere",
            urn: provider(s).urn.replace("default_7_48_0", "elsewhere"),
            props: { ...provider(s).props, region: otherRegion("prod") },
        };
        s.resources.push(explicit);
        s.byName("budgets-total").provider = explicit.urn;
        expect(messages(s)).toEqual([
            expect.stringContaining(`AWS provider "elsewhere" of the prod stack: region is "${otherRegion("prod")}"`),
        ]);
    });

    it("refuses an unused provider resource that skips the account check", () => {
        const s = happyStack(guardrails, "dev");
        s.resources.push({
            ...provider(s),
            name: "skipper",
            urn: provider(s).urn.replace("default_7_48_0", "skipper"),
            props: { ...provider(s).props, skipRequestingAccountId: "true" },
        });
        expect(messages(s)).toEqual([
            expect.stringContaining(`AWS provider "skipper" of the dev stack: skipRequestingAccountId is "true"`),
        ]);
    });

    it("refuses a resource that overrides its region (AWS provider 7's per-resource region)", () => {
        const s = happyStack(guardrails, "staging");
        s.byName("budgets-alerts-policy").props.region = otherRegion("staging");
        expect(messages(s)).toEqual([
            expect.stringContaining(
                `aws:sns/topicPolicy:TopicPolicy "budgets-alerts-policy" overrides its region to "${otherRegion("staging")}"`,
            ),
        ]);
    });

    it("refuses AWS resources the engine sent without a provider, since their account cannot be checked", () => {
        const s = happyStack(guardrails, "dev");
        s.resources.splice(s.resources.indexOf(provider(s)), 1);
        for (const r of s.resources) {
            delete r.provider;
        }
        expect(messages(s)).toEqual([expect.stringContaining("came without their provider")]);
    });
});

describe(ANOMALY_POLICY, () => {
    const messages = (s: FixtureStack) => runStack(anomalyPolicy(ctx), s.resources).map((v) => v.message);
    const sub = (s: FixtureStack) => s.byName("budgets-anomaly-subscription");
    const dimension = (s: FixtureStack) =>
        (sub(s).props.thresholdExpression as { dimension: { values: string[]; key: string } }).dimension;
    const shared = STACKS.find((e) => accountSharedWith(guardrails, e).length > 0)!;
    const own = STACKS.find((e) => accountSharedWith(guardrails, e).length === 0)!;

    it.each(STACKS)("passes the %s monitor and subscription at the guardrail's share of the cap", (env) => {
        expect(messages(happyStack(guardrails, env))).toEqual([]);
    });

    it("refuses a threshold above the guardrail's, naming the allowed value", () => {
        const s = happyStack(guardrails, "prod");
        const allowed = anomalyThresholdUsd(ctx, "prod");
        dimension(s).values = [String(allowed * 10)];
        const out = messages(s);
        expect(out[0]).toContain(
            `one value <= ${allowed} USD (guardrails/guardrails.yaml /cost/anomalyImpactShareOfCap)`,
        );
        expect(out[1]).toContain("the prod stack has no Cost Anomaly Detection subscription");
    });

    it("refuses a percentage threshold, or an extra condition beside the absolute one", () => {
        const s = happyStack(guardrails, "dev");
        dimension(s).key = "ANOMALY_TOTAL_IMPACT_PERCENTAGE";
        expect(messages(s)[0]).toContain("allowed: dimension ANOMALY_TOTAL_IMPACT_ABSOLUTE");
        const t = happyStack(guardrails, "dev");
        (sub(t).props.thresholdExpression as Record<string, unknown>).ands = [{ dimension: { key: "X" } }];
        expect(messages(t)[0]).toContain("thresholdExpression is");
    });

    it("refuses a subscription to a literal monitor ARN, or to a monitor of another environment's spend", () => {
        const s = happyStack(guardrails, "staging");
        sub(s).deps = { ...sub(s).deps, monitorArnLists: [] };
        expect(messages(s)[0]).toContain("monitorArnLists must be the ARNs of this stack's environment monitors");
        const t = happyStack(guardrails, shared);
        t.byName("budgets-anomaly-monitor").props.monitorSpecification = JSON.stringify({
            Tags: { Key: AWS_TAG.environment, Values: ["prod"], MatchOptions: ["EQUALS"] },
        });
        expect(messages(t)[0]).toContain("in a shared account the monitor watches only the environment's tagged spend");
    });

    it("refuses a services monitor in a shared account, and a tag monitor in an account of its own", () => {
        const s = happyStack(guardrails, shared);
        Object.assign(s.byName("budgets-anomaly-monitor").props, {
            monitorType: "DIMENSIONAL",
            monitorDimension: "SERVICE",
        });
        expect(messages(s)[0]).toContain("in a shared account");
        const t = happyStack(guardrails, own);
        Object.assign(t.byName("budgets-anomaly-monitor").props, {
            monitorType: "CUSTOM",
            monitorSpecification: JSON.stringify({ Tags: { Key: AWS_TAG.environment, Values: [own] } }),
        });
        expect(messages(t)[0]).toContain("in an account of its own the monitor watches every AWS service");
    });

    it("refuses a subscription that notifies only an email address, or a topic outside the stack", () => {
        const s = happyStack(guardrails, "prod");
        sub(s).props.subscribers = [{ type: "EMAIL", address: "someone@maestro.example" }];
        expect(messages(s)[0]).toContain("no SNS subscriber that is a topic of this stack");
        const t = happyStack(guardrails, "prod");
        sub(t).deps = { ...sub(t).deps, subscribers: [] };
        expect(messages(t)[0]).toContain("no SNS subscriber that is a topic of this stack");
    });

    it("refuses a stack without any subscription", () => {
        const s = happyStack(guardrails, "dev");
        s.resources.splice(s.resources.indexOf(sub(s)), 1);
        expect(messages(s)).toEqual([
            expect.stringContaining("the dev stack has no Cost Anomaly Detection subscription"),
        ]);
    });
});

describe(BUCKET_INPUTS_POLICY, () => {
    const inline = (name: string, props: Record<string, unknown>) => {
        const s = happyStack(guardrails, "prod");
        const r = s.byName(name);
        return runResource(provenanceBucketInputsPolicy(), { ...r, props: { ...r.props, ...props } });
    };

    it("passes the buckets as designed", () => {
        expect(inline("prov-bucket", {})).toEqual([]);
        expect(inline("prov-logs", {})).toEqual([]);
    });

    it("refuses a setting written inline on either bucket, naming the input and what is allowed", () => {
        expect(inline("prov-bucket", { versioning: { enabled: false } })[0].message).toContain(
            `"prov-bucket" (a provenance bucket) sets versioning on the bucket itself; allowed: only bucket, tags, objectLockEnabled, forceDestroy`,
        );
        expect(inline("prov-logs", { policy: "{}" })[0].message).toContain(`sets policy on the bucket itself`);
    });

    it("judges only the provenance buckets (by their evidence item), not another bucket or type", () => {
        const s = happyStack(guardrails, "prod");
        const other = { ...s.byName("prov-bucket"), name: "other", props: { bucket: "other", versioning: {} } };
        expect(runResource(provenanceBucketInputsPolicy(), other)).toEqual([]);
    });
});

describe(BUCKET_POLICY, () => {
    const broken = (change: (s: FixtureStack) => void, env = "dev") => {
        const s = happyStack(guardrails, env);
        change(s);
        const reported = runStack(provenanceBucketPolicy(ctx), s.resources);
        expect(reported).toHaveLength(1);
        return reported[0].message;
    };

    it("rejects a stack without the provenance bucket", () => {
        expect(broken((s) => s.resources.splice(s.resources.indexOf(s.byName("prov-bucket")), 1))).toContain(
            `the dev stack has no provenance bucket`,
        );
    });

    it("rejects each setting that differs from the design, naming it and the designed value", () => {
        expect(broken((s) => (s.byName("prov-bucket").protect = false))).toContain(
            `not protected (set \`protect: true\`): aws:s3/bucket:Bucket "prov-bucket"`,
        );
        expect(broken((s) => (s.byName("prov-bucket").props.objectLockEnabled = false))).toContain(
            "objectLockEnabled is false; allowed: true",
        );
        expect(
            broken((s) => (s.byName("prov-bucket-versioning").props.versioningConfiguration = { status: "Suspended" })),
        ).toContain(`versioningConfiguration is {"status":"Suspended"}; allowed: {"status":"Enabled"}`);
        expect(
            broken(
                (s) =>
                    (s.byName("prov-bucket-encryption").props.rules = [
                        { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
                    ]),
            ),
        ).toContain(
            `"prov-bucket-encryption": rules is [{"applyServerSideEncryptionByDefault":{"sseAlgorithm":"AES256"}}]`,
        );
        expect(broken((s) => (s.byName("prov-bucket-public-access").props.restrictPublicBuckets = false))).toContain(
            "restrictPublicBuckets is false; allowed: true",
        );
        expect(
            broken((s) => (s.byName("prov-bucket-policy").props.policy = JSON.stringify({ Statement: [] }))),
        ).toContain(`policy statement DenyInsecureTransport is missing`);
        expect(broken((s) => (s.byName("prov-bucket-policy").protect = false))).toContain(
            `aws:s3/bucketPolicy:BucketPolicy "prov-bucket-policy"`,
        );
        expect(broken((s) => (s.byName("prov-bucket-versioning").deps = {}))).toContain(
            `no aws:s3/bucketVersioning:BucketVersioning (none); allowed: exactly one`,
        );
    });

    it("requires COMPLIANCE Object Lock in prod only", () => {
        const governance = (s: FixtureStack) =>
            ((
                s.byName("prov-bucket-object-lock").props.rule as { defaultRetention: { mode: string } }
            ).defaultRetention.mode = "GOVERNANCE");
        expect(broken(governance, "prod")).toContain(
            `Object Lock default retention mode is "GOVERNANCE"; allowed in prod: COMPLIANCE`,
        );
        const s = happyStack(guardrails, "staging");
        governance(s);
        expect(runStack(provenanceBucketPolicy(ctx), s.resources)).toEqual([]);
    });
});

describe(RELEASE_POLICY, () => {
    const dropRelease = (s: FixtureStack) =>
        s.resources.forEach((r) => {
            if (r.props.tags) {
                delete tagsOf(r)[AWS_TAG.release];
            }
            const meta = r.props.metadata as { annotations?: Record<string, string> } | undefined;
            delete meta?.annotations?.[K8S_ANNOTATION.release];
            if (r.type === GRAFANA_DASHBOARD_TYPE.apps) {
                const model = JSON.parse(specJson(r)) as { tags: string[] };
                setSpecJson(
                    r,
                    JSON.stringify({ ...model, tags: model.tags.filter((t) => !t.startsWith(`${AWS_TAG.release}=`)) }),
                );
            }
        });

    it.each(["staging", "prod"])("rejects a %s deploy without a release tag, saying how to set it", (env) => {
        const s = happyStack(guardrails, env);
        dropRelease(s);
        const [v, ...rest] = runStack(releasePolicy(ctx), s.resources);
        expect(rest).toEqual([]);
        expect(v.message).toContain(`a ${env} deploy is a release, but`);
        expect(v.message).toContain("pulumi config set maestro-guardrails:releaseTag vX.Y.Z");
    });

    it("lets dev deploy without a release", () => {
        expect(runStack(releasePolicy(ctx), happyStack(guardrails, "dev").resources)).toEqual([]);
    });

    it("rejects a tag that is not vX.Y.Z, and two releases in one deploy", () => {
        const s = happyStack(guardrails, "staging");
        s.resources.filter((r) => r.props.tags).forEach((r) => (tagsOf(r)[AWS_TAG.release] = "1.0"));
        expect(
            runStack(
                releasePolicy(ctx),
                s.resources.filter((r) => r.props.tags || !r.type.includes(":") || r.type.startsWith("pulumi")),
            )[0].message,
        ).toContain(`release tag "1.0" is not vX.Y.Z`);
        const t = happyStack(guardrails, "staging");
        tagsOf(t.byName("budgets-total"))[AWS_TAG.release] = "v9.9.9";
        expect(runStack(releasePolicy(ctx), t.resources)[0].message).toContain(
            `resources name several releases (${RELEASE}, v9.9.9)`,
        );
    });

    it("rejects a prod release missing a required sign-off, naming the role and how to record it", () => {
        const partial = fixtureContext(guardrails, ledgerText(guardrails, ["Release Manager"]));
        const [v] = runStack(releasePolicy(partial), happyStack(guardrails, "prod").resources);
        expect(v.message).toContain(`${RELEASE} cannot ship to prod`);
        expect(v.message).toContain("is missing the sign-off of Sec Lead");
        expect(v.message).toContain("npm run provenance -- record");
    });

    it("rejects a prod release whose ledger chain is broken", () => {
        const lines = ledgerText(guardrails, ["Release Manager", "Sec Lead"]).split("\n");
        // Flip the first signature's leading bytes: the entry no longer verifies with its signer's key.
        lines[0] = lines[0].replace(/"sig":"[A-Za-z0-9+/]{4}/, '"sig":"AAAA');
        const [v] = runStack(
            releasePolicy(fixtureContext(guardrails, lines.join("\n"))),
            happyStack(guardrails, "prod").resources,
        );
        expect(v.message).toContain(
            "fixture-ledger.jsonl:1: seq 1 (Release Manager, v1.0.0 prod): signature does not verify",
        );
    });
});

describe(DASHBOARDS_POLICY, () => {
    it.each(STACKS)("rejects a %s stack missing its cost dashboard, naming the uid", (env) => {
        const s = happyStack(guardrails, env);
        const [v, ...rest] = runStack(
            dashboardsPolicy(ctx),
            s.resources.filter((r) => r.name !== "dashboard-cost"),
        );
        expect(rest).toEqual([]);
        expect(v.message).toContain(
            `the ${env} stack provisions no cost dashboard (a grafana:oss/dashboard:Dashboard or grafana:apps/v1beta1/dashboard:Dashboard whose model has uid "maestro-cost-${env}")`,
        );
    });

    it("rejects a dashboard without panels, and one whose model is not JSON", () => {
        const s = happyStack(guardrails, "dev");
        const r = s.byName("dashboard-slo");
        setSpecJson(r, JSON.stringify({ ...(JSON.parse(specJson(r)) as object), panels: [] }));
        expect(runStack(dashboardsPolicy(ctx), s.resources)[0].message).toContain(
            `(uid "maestro-slo-dev") has no panels`,
        );
        setSpecJson(r, "{");
        expect(runStack(dashboardsPolicy(ctx), s.resources).map((v) => v.message)).toEqual([
            expect.stringContaining(`grafana:apps/v1beta1/dashboard:Dashboard "dashboard-slo": spec.json is not JSON`),
            expect.stringContaining("provisions no slo dashboard"),
        ]);
    });
});

describe("the stack's environment", () => {
    it("is read from the engine's stack name; a stack bound to no environment is a violation of every stack policy", () => {
        const unbound = happyStack(guardrails, "dev").resources.map((r) => ({
            ...r,
            urn: r.urn.replace("urn:pulumi:dev::", "urn:pulumi:sandbox::"),
        }));
        for (const policy of [
            sloPolicy(ctx),
            budgetsPolicy(ctx),
            provenanceBucketPolicy(ctx),
            releasePolicy(ctx),
            dashboardsPolicy(ctx),
        ]) {
            expect(
                runStack(policy, unbound).some((v) =>
                    v.message.includes(`${policy.name} cannot tell the stack's environment: the stack "sandbox"`),
                ),
            ).toBe(true);
        }
    });
});

describe("the pack's policies", () => {
    it("are the ones docs/policies.md lists, each of the kind it says, mandatory by default and described", () => {
        const documented = fs
            .readFileSync(path.join(repoRoot, "docs", "policies.md"), "utf8")
            .split("\n")
            .map((line) => /^\| `([a-z-]+)` \| (resource|stack) \|/.exec(line))
            .filter((m): m is RegExpExecArray => m !== null)
            .map((m) => ({ name: m[1], kind: m[2], level: "mandatory", described: true }));
        const pack = packPolicies(ctx).map((p) => ({
            name: p.name,
            kind: "validateResource" in p ? "resource" : "stack",
            level: p.enforcementLevel,
            described: p.description.trim().length > 0,
        }));
        const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
        expect(pack.sort(byName)).toEqual(documented.sort(byName));
    });
});

describe("the in-process policy runners", () => {
    it("refuse an asynchronous policy rather than lose the violations it reports later", () => {
        const late: StackValidationPolicy = {
            name: "reports-late",
            description: "reports after a promise",
            validateStack: (_args, report) => Promise.resolve().then(() => report("late")),
        };
        expect(() => runStack(late, [])).toThrow("policy reports-late validates asynchronously");
    });
});
