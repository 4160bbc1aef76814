/**
 * evidence-hooks, evidence-hooks-prod-floor and stack-environment-bound, condition by condition, with the helpers
 * they read resources through (policies/resources.ts, policies/coverage.ts, policies/stack.ts): which types carry
 * hooks and where, each hook missing, dangling or undeclared, the level per environment (by the stack's name and by
 * the resource's stamp), the floor's unknown types and unchecked resources, and the stack's environment binding.
 */
import { AWS_TAG, GRAFANA_DASHBOARD_TYPE, K8S_ANNOTATION, K8S_LABEL } from "../core/conventions";
import { PackContext } from "../policies/context";
import { EVIDENCE_FLOOR_POLICY, EvidenceCoverage, reportDisabledFloor } from "../policies/coverage";
import {
    EVIDENCE_HOOKS_POLICY,
    evidenceFloorPolicy,
    evidenceHooksPolicy,
    evidenceProblems,
} from "../policies/evidence";
import {
    KNOWN_TYPES,
    boundEnvironment,
    dashboardModel,
    describeResource,
    engineStack,
    evidenceCarrier,
    knownInProduction,
    readStamp,
    stackEnvironment,
    stackUrn,
} from "../policies/resources";
import { STACK_BINDING_POLICY, environmentOrReport, environmentPolicy, stackBindingPolicy } from "../policies/stack";
import { providersPolicy } from "../policies/providers";
import {
    FixtureResource,
    FixtureStack,
    backlogItems,
    fixtureContext,
    happyStack,
    policyResources,
} from "./fixtures/policies/stackResources";
import { Reported, reporter, runResource, runStack, specJson } from "./fixtures/policies/run";
import { guardrails, STACKS } from "./fixtures/shipped";

const ctx = fixtureContext(guardrails);
const FIX =
    "Fix: create the resource inside a component that calls `declareEvidence(this, { backlogItem: BACKLOG_ITEM.<item>, creates: [<its type>, ...] })` " +
    "(core/evidence.ts, ids in core/conventions.ts); the stack then stamps the item's hooks from governance/backlog.json.";
const BACKLOG_FILE = "test/fixtures/policies/backlog-items.json";
const tagsOf = (r: FixtureResource) => r.props.tags as Record<string, string>;
const hooks = (s: FixtureStack, name: string) =>
    runResource(evidenceHooksPolicy(ctx, new EvidenceCoverage()), s.byName(name));
const problemsOf = (r: FixtureResource) => evidenceProblems(ctx, r.type, r.props);
const resource = (type: string, props: Record<string, unknown> = {}, name = "x", stack = "dev"): FixtureResource => ({
    urn: `urn:pulumi:${stack}::maestro-guardrails::${type}::${name}`,
    type,
    name,
    props,
    protect: false,
    deps: {},
});
const at = (reports: Reported[]) => reports.map((v) => v.level ?? "configured");

describe("which types carry evidence, and where (evidenceCarrier, knownInProduction)", () => {
    it.each([
        ["pulumi:pulumi:Stack", "exempt"],
        ["pulumi:providers:aws", "exempt"],
        ["maestro:budgets:CostBudgets", "exempt"],
        ["aws:sns/topicPolicy:TopicPolicy", "exempt"],
        ["aws:sns/topic:Topic", "aws-tags"],
        ["aws:someservice/newThing:NewThing", "aws-tags"],
        ["kubernetes:core/v1:ConfigMap", "k8s-metadata"],
        [GRAFANA_DASHBOARD_TYPE.apps, "grafana-dashboard-tags"],
        [GRAFANA_DASHBOARD_TYPE.legacy, "grafana-dashboard-tags"],
        ["grafana:oss/folder:Folder", "exempt"],
        ["grafana:oss/team:Team", "unclassified"],
        ["random:index/randomId:RandomId", "unclassified"],
    ])("classifies %s as %s", (type, kind) => {
        expect(evidenceCarrier(type).kind).toBe(kind);
    });

    it("says why an exempt type carries nothing", () => {
        expect(evidenceCarrier("pulumi:pulumi:Stack")).toEqual({
            kind: "exempt",
            reason: "the stack or a provider, not a managed resource",
        });
        expect(evidenceCarrier("maestro:x:Y")).toEqual({
            kind: "exempt",
            reason: "a component; its children carry its backlog item",
        });
        expect(evidenceCarrier("aws:sns/topicPolicy:TopicPolicy")).toEqual({
            kind: "exempt",
            reason: "takes no tags (a topic's policy document)",
        });
        expect(evidenceCarrier("grafana:oss/folder:Folder")).toEqual({
            kind: "exempt",
            reason: "takes no tags (a folder of tagged dashboards)",
        });
    });

    it("knows the stack's own types, pulumi and maestro packages, and allow-listed ones, in production", () => {
        for (const type of KNOWN_TYPES) {
            expect(knownInProduction(type, [])).toBe(true);
        }
        expect(knownInProduction("pulumi:providers:random", [])).toBe(true);
        expect(knownInProduction("maestro:any:Thing", [])).toBe(true);
        expect(knownInProduction("aws:ec2/instance:Instance", [])).toBe(false);
        expect(knownInProduction("aws:ec2/instance:Instance", ["aws:ec2/instance:Instance"])).toBe(true);
        expect(knownInProduction("maestrox:any:Thing", [])).toBe(false);
    });
});

describe("reading a resource's stamp (readStamp, dashboardModel, stackEnvironment)", () => {
    it("reads AWS tags, ignoring values that are not strings", () => {
        const s = happyStack(guardrails, "staging");
        const r = s.byName("budgets-total");
        tagsOf(r)[AWS_TAG.logs] = 5 as unknown as string;
        const stamp = readStamp(r.type, r.props)!;
        expect(stamp.where).toBe("tags");
        expect(stamp.environment).toBe("staging");
        expect(stamp.release).toBe(tagsOf(r)[AWS_TAG.release]);
        expect(stamp.backlogItem).toBe(tagsOf(r)[AWS_TAG.backlogItem]);
        // Only the hooks the resource carries, no key for the one it does not.
        expect(stamp.hooks).toStrictEqual({
            metrics: tagsOf(r)[AWS_TAG.metrics],
            tests: tagsOf(r)[AWS_TAG.tests],
            provenance: tagsOf(r)[AWS_TAG.provenance],
        });
        expect(stamp.keys).toEqual({
            backlogItem: AWS_TAG.backlogItem,
            environment: AWS_TAG.environment,
            release: AWS_TAG.release,
            logs: AWS_TAG.logs,
            metrics: AWS_TAG.metrics,
            tests: AWS_TAG.tests,
            provenance: AWS_TAG.provenance,
        });
    });

    it("reads no tags from a tags input that is not a map", () => {
        for (const tags of [null, ["maestro:environment"], "maestro:environment=dev"]) {
            expect(readStamp("aws:sns/topic:Topic", { tags })).toEqual(
                expect.objectContaining({ environment: undefined, backlogItem: undefined, hooks: {} }),
            );
        }
    });

    it("reads Kubernetes labels and annotations, naming where each is kept", () => {
        const s = happyStack(guardrails, "prod");
        const r = s.byName(`rules-${guardrails.slo.objectives[0].id}`);
        const meta = r.props.metadata as { labels: Record<string, string>; annotations: Record<string, string> };
        const stamp = readStamp(r.type, r.props)!;
        expect(stamp).toEqual({
            where: "metadata labels/annotations",
            backlogItem: meta.labels[K8S_LABEL.backlogItem],
            environment: "prod",
            release: meta.annotations[K8S_ANNOTATION.release],
            hooks: {
                logs: meta.annotations[K8S_ANNOTATION.logs],
                metrics: meta.annotations[K8S_ANNOTATION.metrics],
                tests: meta.annotations[K8S_ANNOTATION.tests],
                provenance: meta.annotations[K8S_ANNOTATION.provenance],
            },
            keys: {
                backlogItem: `label ${K8S_LABEL.backlogItem}`,
                environment: `label ${K8S_LABEL.environment}`,
                release: `annotation ${K8S_ANNOTATION.release}`,
                logs: `annotation ${K8S_ANNOTATION.logs}`,
                metrics: `annotation ${K8S_ANNOTATION.metrics}`,
                tests: `annotation ${K8S_ANNOTATION.tests}`,
                provenance: `annotation ${K8S_ANNOTATION.provenance}`,
            },
        });
        expect(readStamp("kubernetes:core/v1:ConfigMap", {})).toEqual(
            expect.objectContaining({ environment: undefined, hooks: {} }),
        );
        // Only the hooks the resource carries, no key for one it does not.
        delete meta.annotations[K8S_ANNOTATION.tests];
        expect(readStamp(r.type, r.props)!.hooks).toStrictEqual({
            logs: meta.annotations[K8S_ANNOTATION.logs],
            metrics: meta.annotations[K8S_ANNOTATION.metrics],
            provenance: meta.annotations[K8S_ANNOTATION.provenance],
        });
    });

    it("reads a dashboard's stamps from its model, and none from a model it cannot read", () => {
        const s = happyStack(guardrails, "dev");
        const r = s.byName("dashboard-cost");
        expect(readStamp(r.type, r.props)).toEqual(
            expect.objectContaining({ where: "spec.json tags and links", environment: "dev" }),
        );
        expect(readStamp(r.type, { spec: { json: "{" } })).toEqual(
            expect.objectContaining({ environment: undefined, hooks: {} }),
        );
        expect(readStamp("grafana:oss/folder:Folder", {})).toBeUndefined();
    });

    it("reads a dashboard's model, or says why not", () => {
        const apps = GRAFANA_DASHBOARD_TYPE.apps;
        expect(dashboardModel(apps, { spec: { json: '{"uid":"u"}' } })).toEqual({
            model: { uid: "u" },
            field: "spec.json",
        });
        expect(dashboardModel(apps, {})).toEqual({ field: "spec.json", error: "spec.json is missing" });
        for (const json of ["null", "[]", "5", '"text"']) {
            expect(dashboardModel(apps, { spec: { json } })).toEqual({
                field: "spec.json",
                error: "spec.json is not a JSON object",
            });
        }
        expect(dashboardModel(GRAFANA_DASHBOARD_TYPE.legacy, { configJson: "{" }).error).toMatch(
            /^configJson is not JSON \(.+\)$/,
        );
    });

    it("reads the environments a stack's resources claim, sorted, and the one they agree on", () => {
        const s = happyStack(guardrails, "staging");
        expect(stackEnvironment(s.resources)).toEqual({ environment: "staging", seen: ["staging"] });
        tagsOf(s.byName("budgets-total"))[AWS_TAG.environment] = "dev";
        expect(stackEnvironment(s.resources)).toEqual({ environment: undefined, seen: ["dev", "staging"] });
        tagsOf(s.byName("budgets-total"))[AWS_TAG.environment] = "";
        expect(stackEnvironment(s.resources).seen).toEqual(["staging"]);
        expect(stackEnvironment([])).toEqual({ environment: undefined, seen: [] });
    });

    it("reads the stack from the engine's URNs, only when they all name one", () => {
        const s = happyStack(guardrails, "prod");
        expect(engineStack(s.resources)).toBe("prod");
        expect(engineStack([...s.resources, resource("aws:sns/topic:Topic", {}, "y", "dev")])).toBeUndefined();
        expect(engineStack([...s.resources, { urn: "not-a-urn" }])).toBe("prod");
        expect(engineStack([])).toBeUndefined();
        expect(stackUrn(s.resources)).toBe(s.byName("maestro-guardrails-prod").urn);
        expect(stackUrn([...s.resources].reverse())).toBe(s.byName("maestro-guardrails-prod").urn);
        expect(stackUrn(s.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"))).toBeUndefined();
        expect(stackUrn([])).toBeUndefined();
        expect(describeResource({ type: "t:m:T", name: "n" })).toBe('t:m:T "n"');
    });

    it("binds a stack name to its environment, or a suffixed one, and no other", () => {
        const urn = (stack: string) => `urn:pulumi:${stack}::p::aws:sns/topic:Topic::t`;
        expect(boundEnvironment(ctx, urn("prod"))).toBe("prod");
        expect(boundEnvironment(ctx, urn("prod-eu"))).toBe("prod");
        expect(boundEnvironment(ctx, urn("production"))).toBeUndefined();
        expect(boundEnvironment(ctx, "not-a-urn")).toBeUndefined();
    });
});

describe(`${EVIDENCE_HOOKS_POLICY}: the hooks of one resource`, () => {
    it.each(STACKS)("passes every resource of the %s stack", (env) => {
        const s = happyStack(guardrails, env);
        for (const r of s.resources) {
            expect({ name: r.name, problems: problemsOf(r) }).toEqual({ name: r.name, problems: [] });
        }
    });

    it("refuses an unclassified type, whatever its props", () => {
        expect(problemsOf(resource("grafana:oss/team:Team", { tags: {} }))).toEqual([
            "type grafana:oss/team:Team has no evidence-hook convention; classify it in policies/resources.ts (UNTAGGABLE_AWS_TYPES or UNTAGGABLE_GRAFANA_TYPES) or teach core/evidence.ts to stamp it",
        ]);
    });

    it("refuses a dashboard whose model cannot be read, saying why", () => {
        expect(problemsOf(resource(GRAFANA_DASHBOARD_TYPE.apps, { spec: {} }))).toEqual([
            "spec.json is missing, so its evidence tags cannot be read",
        ]);
        expect(problemsOf(resource(GRAFANA_DASHBOARD_TYPE.legacy, { configJson: "[]" }))).toEqual([
            "configJson is not a JSON object, so its evidence tags cannot be read",
        ]);
    });

    it("refuses a resource without its environment and backlog item, and checks no hook then", () => {
        expect(problemsOf(resource("aws:sns/topic:Topic", { tags: {} }))).toEqual([
            `carries no ${AWS_TAG.environment} (in tags)`,
            `carries no ${AWS_TAG.backlogItem} (in tags), so it serves no backlog item`,
        ]);
    });

    it("refuses a backlog item governance does not have, listing the ones it has, and checks no hook then", () => {
        const r = happyStack(guardrails, "dev").byName("budgets-total");
        tagsOf(r)[AWS_TAG.backlogItem] = "R9-NOT-PLANNED";
        delete tagsOf(r)[AWS_TAG.logs];
        expect(problemsOf(r)).toEqual([
            `names backlog item "R9-NOT-PLANNED", which ${BACKLOG_FILE} does not have (a dangling hook); allowed: ${Object.keys(backlogItems).join(", ")}`,
        ]);
    });

    it("refuses each hook missing, differing, or undeclared by its item, one problem each", () => {
        const r = happyStack(guardrails, "dev").byName("budgets-total");
        const item = tagsOf(r)[AWS_TAG.backlogItem];
        delete tagsOf(r)[AWS_TAG.logs];
        tagsOf(r)[AWS_TAG.tests] = "elsewhere";
        expect(problemsOf(r)).toEqual([
            `carries no ${AWS_TAG.logs} (backlog item ${item} declares "${backlogItems[item].logs}")`,
            `${AWS_TAG.tests} is "elsewhere" but backlog item ${item} declares "${backlogItems[item].tests}" (a dangling hook)`,
        ]);
        const half: PackContext = {
            ...ctx,
            backlogItems: new Map([[item, { ...backlogItems[item], metrics: "", provenance: undefined }]]),
        };
        const t = happyStack(guardrails, "dev").byName("budgets-total");
        expect(evidenceProblems(half, t.type, t.props)).toEqual([
            `backlog item ${item} declares no "metrics" hook in ${BACKLOG_FILE}; every item needs logs, metrics, tests, provenance`,
            `backlog item ${item} declares no "provenance" hook in ${BACKLOG_FILE}; every item needs logs, metrics, tests, provenance`,
        ]);
    });

    it("compares each hook exactly: one differing from its item's only in case is a dangling hook", () => {
        const r = happyStack(guardrails, "dev").byName("budgets-total");
        const item = tagsOf(r)[AWS_TAG.backlogItem];
        const shouted = backlogItems[item].logs.toUpperCase();
        tagsOf(r)[AWS_TAG.logs] = shouted;
        expect(evidenceProblems(fixtureContext(guardrails), r.type, r.props)).toEqual([
            `${AWS_TAG.logs} is "${shouted}" but backlog item ${item} declares "${backlogItems[item].logs}" (a dangling hook)`,
        ]);
    });

    it("reports every problem of a resource in one violation on it, naming it and how to fix it", () => {
        const s = happyStack(guardrails, "dev");
        const r = s.byName("budgets-total");
        delete tagsOf(r)[AWS_TAG.logs];
        delete tagsOf(r)[AWS_TAG.metrics];
        const item = tagsOf(r)[AWS_TAG.backlogItem];
        expect(hooks(s, "budgets-total")).toEqual([
            {
                message: `aws:budgets/budget:Budget "budgets-total": carries no ${AWS_TAG.logs} (backlog item ${item} declares "${backlogItems[item].logs}"); carries no ${AWS_TAG.metrics} (backlog item ${item} declares "${backlogItems[item].metrics}"). ${FIX}`,
                urn: r.urn,
            },
        ]);
    });
});

describe(`${EVIDENCE_HOOKS_POLICY}: the level`, () => {
    const unstamped = (stack: string, env?: string) =>
        resource("aws:sns/topic:Topic", { tags: env ? { [AWS_TAG.environment]: env } : {} }, "t", stack);
    const level = (r: FixtureResource) => at(runResource(evidenceHooksPolicy(ctx, new EvidenceCoverage()), r));

    it("reports mandatory in a stack named for production, whatever the resource claims", () => {
        expect(level(unstamped("prod"))).toEqual(["mandatory"]);
        expect(level(unstamped("prod-eu", "dev"))).toEqual(["mandatory"]);
    });

    it("reports mandatory for a resource stamped prod in a stack bound to no environment", () => {
        expect(level(unstamped("sandbox", "prod"))).toEqual(["mandatory"]);
    });

    it("reports at the configured level elsewhere", () => {
        expect(level(unstamped("dev"))).toEqual(["configured"]);
        expect(level(unstamped("staging", "prod"))).toEqual(["configured"]);
        expect(level(unstamped("sandbox"))).toEqual(["configured"]);
        expect(level(unstamped("sandbox", "staging"))).toEqual(["configured"]);
    });

    it("records every resource it analyzed, exempt or not", () => {
        const coverage = new EvidenceCoverage();
        const s = happyStack(guardrails, "prod");
        runResource(evidenceHooksPolicy(ctx, coverage), s.byName("maestro-guardrails-prod"));
        runResource(evidenceHooksPolicy(ctx, coverage), s.byName("budgets-total"));
        expect(coverage.has(s.byName("maestro-guardrails-prod").urn)).toBe(true);
        expect(coverage.has(s.byName("budgets-total").urn)).toBe(true);
        expect(coverage.has(s.byName("budgets-llm").urn)).toBe(false);
    });
});

describe(EVIDENCE_FLOOR_POLICY, () => {
    const floor = (s: FixtureStack | FixtureResource[], coverage = new EvidenceCoverage(), c = ctx) =>
        runStack(evidenceFloorPolicy(c, coverage), Array.isArray(s) ? s : s.resources);
    const analyzed = (s: FixtureStack, except: string[] = []) => {
        const coverage = new EvidenceCoverage();
        s.resources.filter((r) => !except.includes(r.name)).forEach((r) => coverage.add(r.urn));
        return coverage;
    };
    const notRun = (n: number, env = "prod") =>
        `${EVIDENCE_HOOKS_POLICY} did not run on ${n} resource(s) of this ${env} stack: it may not be disabled in prod. Fix: remove "${EVIDENCE_HOOKS_POLICY}": "disabled" from the policy pack config (--policy-pack-config).`;

    it("stays quiet in prod when evidence-hooks analyzed every stamped resource (exempt ones need not be)", () => {
        const s = happyStack(guardrails, "prod");
        const exempt = s.resources.filter((r) => evidenceCarrier(r.type).kind === "exempt").map((r) => r.name);
        expect(floor(s, analyzed(s, exempt))).toEqual([]);
    });

    it("reports how many resources evidence-hooks skipped in prod, then redoes it on those with problems", () => {
        const s = happyStack(guardrails, "prod");
        delete tagsOf(s.byName("budgets-llm"))[AWS_TAG.logs];
        const reported = floor(s, analyzed(s, ["budgets-total", "budgets-llm"]));
        expect(reported).toEqual([
            { message: notRun(2), urn: s.byName("maestro-guardrails-prod").urn, level: "mandatory" },
            {
                message: expect.stringContaining(
                    `aws:budgets/budget:Budget "budgets-llm": carries no ${AWS_TAG.logs}`,
                ) as string,
                urn: s.byName("budgets-llm").urn,
                level: "mandatory",
            },
        ]);
    });

    it("counts the Kubernetes objects and dashboards evidence-hooks skipped in prod, not only AWS resources", () => {
        const s = happyStack(guardrails, "prod");
        const skipped = s.resources.filter((r) =>
            ["k8s-metadata", "grafana-dashboard-tags"].includes(evidenceCarrier(r.type).kind),
        );
        expect(skipped.length).toBeGreaterThan(0);
        const coverage = new EvidenceCoverage();
        s.resources.filter((r) => !skipped.includes(r)).forEach((r) => coverage.add(r.urn));
        expect(runStack(evidenceFloorPolicy(fixtureContext(guardrails), coverage), s.resources)).toEqual([
            { message: notRun(skipped.length), urn: s.byName("maestro-guardrails-prod").urn, level: "mandatory" },
        ]);
    });

    it("treats a stack whose resources claim prod as prod, whatever its name", () => {
        const s = happyStack(guardrails, "prod");
        const renamed = s.resources.map((r) => ({
            ...r,
            urn: r.urn.replace("urn:pulumi:prod::", "urn:pulumi:sandbox::"),
        }));
        expect(floor(renamed)[0].message).toContain(" resource(s) of this prod stack");
    });

    it("names every production environment at stake", () => {
        const two: PackContext = { ...ctx, productionEnvironments: ["staging", "prod"] };
        const s = happyStack(guardrails, "staging");
        tagsOf(s.byName("budgets-total"))[AWS_TAG.environment] = "prod";
        expect(floor(s, new EvidenceCoverage(), two)[0].message).toContain(
            " resource(s) of this staging/prod stack: it may not be disabled in staging, prod.",
        );
    });

    it("names every production environment at stake in its description and when it refuses an unknown type", () => {
        const two: PackContext = { ...ctx, productionEnvironments: ["staging", "prod"] };
        expect(evidenceFloorPolicy(two, new EvidenceCoverage()).description).toBe(
            `In production (staging, prod) the ${EVIDENCE_HOOKS_POLICY} policy runs on every resource, whatever the policy config says.`,
        );
        const s = happyStack(guardrails, "staging");
        tagsOf(s.byName("budgets-total"))[AWS_TAG.environment] = "prod";
        const vm = resource("aws:ec2/instance:Instance", { tags: tagsOf(s.byName("budgets-llm")) }, "vm", "staging");
        s.resources.push(vm);
        expect(floor(s, analyzed(s), two)).toEqual([
            {
                message: `aws:ec2/instance:Instance "vm": type aws:ec2/instance:Instance is not one the policy pack knows, and a staging/prod stack deploys only known types, whatever the policy config says; allowed: the types in policies/resources.ts KNOWN_TYPES or guardrails/guardrails.yaml /evidence/productionAllowedTypes. Fix: add the type there in a reviewed change.`,
                urn: vm.urn,
                level: "mandatory",
            },
        ]);
    });

    it.each(["dev", "staging"])("asks nothing of %s", (env) => {
        const s = happyStack(guardrails, env);
        s.resources.push(resource("aws:ec2/instance:Instance", {}, "vm", env));
        expect(floor(s)).toEqual([]);
    });

    it("refuses in prod a type the pack does not know, mandatory, unless the guardrails allow-list it", () => {
        const s = happyStack(guardrails, "prod");
        const vm = resource("aws:ec2/instance:Instance", { tags: tagsOf(s.byName("budgets-total")) }, "vm", "prod");
        s.resources.push(vm);
        const coverage = analyzed(s);
        expect(floor(s, coverage)).toEqual([
            {
                message: `aws:ec2/instance:Instance "vm": type aws:ec2/instance:Instance is not one the policy pack knows, and a prod stack deploys only known types, whatever the policy config says; allowed: the types in policies/resources.ts KNOWN_TYPES or guardrails/guardrails.yaml /evidence/productionAllowedTypes. Fix: add the type there in a reviewed change.`,
                urn: vm.urn,
                level: "mandatory",
            },
        ]);
        const allowing: PackContext = {
            ...ctx,
            guardrails: {
                ...guardrails,
                evidence: { ...guardrails.evidence, productionAllowedTypes: ["aws:ec2/instance:Instance"] },
            },
        };
        expect(floor(s, coverage, allowing)).toEqual([]);
        // Guardrails without the allow-list allow no type beyond the pack's own.
        const { productionAllowedTypes, ...withoutList } = guardrails.evidence;
        expect(productionAllowedTypes).toEqual([]);
        const unlisted: PackContext = { ...ctx, guardrails: { ...guardrails, evidence: withoutList } };
        expect(floor(s, coverage, unlisted).map((v) => v.urn)).toEqual([vm.urn]);
    });

    it("records that it ran, per stack", () => {
        const coverage = new EvidenceCoverage();
        floor(happyStack(guardrails, "dev"), coverage);
        expect(coverage.hasRun("dev", EVIDENCE_FLOOR_POLICY)).toBe(true);
        expect(coverage.hasRun("prod", EVIDENCE_FLOOR_POLICY)).toBe(false);
        floor([], coverage);
        expect(coverage.hasRun(undefined, EVIDENCE_FLOOR_POLICY)).toBe(true);
        expect(coverage.hasRun("", EVIDENCE_FLOOR_POLICY)).toBe(true);
        expect(coverage.hasRun("dev", "another-policy")).toBe(false);
    });
});

describe("a disabled floor (reportDisabledFloor, from stack-environment-bound and providers-not-redirected)", () => {
    const disabled = `${EVIDENCE_FLOOR_POLICY} did not run on this prod stack: it may not be disabled in prod. Fix: remove "${EVIDENCE_FLOOR_POLICY}": "disabled" from the policy pack config (--policy-pack-config).`;

    it.each([
        ["stack-environment-bound", (c: EvidenceCoverage) => stackBindingPolicy(ctx, c)],
        ["providers-not-redirected", (c: EvidenceCoverage) => providersPolicy(ctx, c)],
    ])("%s reports it in prod, mandatory, on the stack", (_name, policy) => {
        const s = happyStack(guardrails, "prod");
        expect(runStack(policy(new EvidenceCoverage()), s.resources)).toEqual([
            { message: disabled, urn: s.byName("maestro-guardrails-prod").urn, level: "mandatory" },
        ]);
    });

    it("is quiet once the floor ran on that stack, outside prod, and in an unbound stack", () => {
        const report = (resources: FixtureResource[], coverage: EvidenceCoverage) => {
            const [r, seen] = reporter();
            reportDisabledFloor(ctx, coverage, policyResources(resources), r);
            return seen;
        };
        const prod = happyStack(guardrails, "prod").resources;
        const ran = new EvidenceCoverage();
        ran.ran("prod", EVIDENCE_FLOOR_POLICY);
        expect(report(prod, ran)).toEqual([]);
        const elsewhere = new EvidenceCoverage();
        elsewhere.ran("prod-eu", EVIDENCE_FLOOR_POLICY);
        expect(report(prod, elsewhere)).toHaveLength(1);
        expect(report(happyStack(guardrails, "staging").resources, new EvidenceCoverage())).toEqual([]);
        const unbound = prod.map((r) => ({ ...r, urn: r.urn.replace("urn:pulumi:prod::", "urn:pulumi:sandbox::") }));
        expect(report(unbound, new EvidenceCoverage())).toEqual([]);
    });

    it("names every production environment it may not be disabled in", () => {
        const two: PackContext = { ...ctx, productionEnvironments: ["staging", "prod"] };
        const [r, seen] = reporter();
        reportDisabledFloor(two, new EvidenceCoverage(), policyResources(happyStack(guardrails, "prod").resources), r);
        expect(seen.map((v) => v.message)).toEqual([
            disabled.replace("disabled in prod.", "disabled in staging, prod."),
        ]);
    });

    it("is not checked by the policies when the pack gives them no coverage", () => {
        const s = happyStack(guardrails, "prod");
        expect(runStack(stackBindingPolicy(ctx), s.resources)).toEqual([]);
        expect(runStack(providersPolicy(ctx), s.resources)).toEqual([]);
    });
});

describe(STACK_BINDING_POLICY, () => {
    const allowed = guardrails.environments.map((e) => `${e} or ${e}-<suffix>`).join(", ");

    it.each(STACKS)("passes the %s stack, its resources stamped with its environment", (env) => {
        expect(runStack(stackBindingPolicy(ctx), happyStack(guardrails, env).resources)).toEqual([]);
    });

    it("refuses a stack bound to no environment, mandatory, naming the names allowed", () => {
        const s = happyStack(guardrails, "dev");
        const unbound = s.resources.map((r) => ({
            ...r,
            urn: r.urn.replace("urn:pulumi:dev::", "urn:pulumi:sandbox::"),
        }));
        expect(runStack(stackBindingPolicy(ctx), unbound)).toEqual([
            {
                message: `the stack "sandbox" is bound to no guardrail environment; allowed stack names: ${allowed}`,
                urn: unbound[0].urn,
                level: "mandatory",
            },
        ]);
    });

    it("refuses resources from several stacks as no single stack", () => {
        const s = happyStack(guardrails, "dev");
        const mixed = [...s.resources, { ...s.byName("budgets-total"), urn: "urn:pulumi:prod::p::t::x" }];
        expect(runStack(stackBindingPolicy(ctx), mixed)[0].message).toBe(
            `the stack (no single stack in the resources' URNs) is bound to no guardrail environment; allowed stack names: ${allowed}`,
        );
    });

    it("refuses each resource stamped with another environment, mandatory, saying where the stamp comes from", () => {
        const s = happyStack(guardrails, "prod");
        const r = s.byName("budgets-total");
        tagsOf(r)[AWS_TAG.environment] = "staging";
        const k = s.byName(`rules-${guardrails.slo.objectives[0].id}`);
        (k.props.metadata as { labels: Record<string, string> }).labels[K8S_LABEL.environment] = "dev";
        expect(runStack(stackBindingPolicy(ctx), s.resources)).toEqual([
            {
                message: `aws:budgets/budget:Budget "budgets-total": ${AWS_TAG.environment} is "staging" in the stack "prod", which its name binds to prod; allowed: "prod". Fix: set maestro-guardrails:environment to prod in Pulumi.prod.yaml (${AWS_TAG.environment} comes from it).`,
                urn: r.urn,
                level: "mandatory",
            },
            {
                message: expect.stringContaining(
                    `: label ${K8S_LABEL.environment} is "dev" in the stack "prod"`,
                ) as string,
                urn: k.urn,
                level: "mandatory",
            },
        ]);
    });

    it("binds a suffixed stack name to its environment, and takes resources without a stamp", () => {
        const s = happyStack(guardrails, "staging");
        const suffixed = s.resources.map((r) => ({
            ...r,
            urn: r.urn.replace("urn:pulumi:staging::", "urn:pulumi:staging-eu::"),
        }));
        delete tagsOf(suffixed.find((r) => r.name === "budgets-total")!)[AWS_TAG.environment];
        expect(runStack(stackBindingPolicy(ctx), suffixed)).toEqual([]);
    });
});

describe("a stack policy that judges one environment (environmentPolicy, environmentOrReport)", () => {
    it("runs its check with the bound environment, and reports a stack bound to none instead, naming the policy", () => {
        const seen: string[] = [];
        const policy = environmentPolicy(ctx, "some-policy", "does something", (env) => seen.push(env));
        expect(policy).toEqual(
            expect.objectContaining({
                name: "some-policy",
                description: "does something",
                enforcementLevel: "mandatory",
            }),
        );
        const s = happyStack(guardrails, "prod");
        expect(runStack(policy, s.resources)).toEqual([]);
        const unbound = s.resources.map((r) => ({
            ...r,
            urn: r.urn.replace("urn:pulumi:prod::", "urn:pulumi:sandbox::"),
        }));
        expect(runStack(policy, unbound)).toEqual([
            {
                message: `some-policy cannot tell the stack's environment: the stack "sandbox" is bound to no guardrail environment; allowed stack names: ${guardrails.environments.map((e) => `${e} or ${e}-<suffix>`).join(", ")}. Fix: name the stack after its environment (pulumi stack init prod).`,
                urn: unbound[0].urn,
            },
        ]);
        expect(seen).toEqual(["prod"]);
    });

    it("reports a set of resources naming no single stack", () => {
        const [report, seen] = reporter();
        expect(environmentOrReport(ctx, [], report, "p")).toBeUndefined();
        expect(seen[0].message).toContain(
            "p cannot tell the stack's environment: the stack (no single stack in the resources' URNs) is bound",
        );
        expect(seen[0].urn).toBeUndefined();
    });
});

describe("a dashboard's evidence", () => {
    it("is read from the model's tags and evidence links", () => {
        const s = happyStack(guardrails, "dev");
        const r = s.byName("dashboard-slo");
        const model = JSON.parse(specJson(r)) as { tags: string[]; links: unknown[] };
        expect(model.tags.length + model.links.length).toBeGreaterThan(0);
        expect(hooks(s, "dashboard-slo")).toEqual([]);
    });
});
