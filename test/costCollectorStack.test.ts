/**
 * The cost collector as the stack deploys it (components/costCollector.ts, plan in collector/plan.ts), run under
 * Pulumi's mocks per stack: on in dev and staging, off in prod; its ServiceMonitor selected like the rule objects
 * and valid against the prometheus-operator CRD; its role assumable only by its service account and allowed only
 * the two read-only Cost Explorer actions; every object carrying its backlog item's evidence; bad config refused
 * before anything is registered.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import {
    COLLECTOR_IAM_ACTIONS,
    COLLECTOR_NAME,
    CONFIGMAP_MAX_BYTES,
    collectorPlan,
    readCollectorBundle,
} from "../collector/plan";
import { parseSettings } from "../collector";
import { BACKLOG_ITEM, COST_COLLECTOR_MIN_REFRESH_MINUTES, K8S_LABEL } from "../core/conventions";
import { repoRoot } from "../core/validation";
import { RegisteredResource } from "../offline/mockRuntime";
import { synthStack } from "../offline/synth";
import { KEY, STACKS, guardrails, stackConfig, stackFileDoc, toAmp, writeStackVariant } from "./helpers";

const CRD = path.join(repoRoot, "reference", "prometheus-operator-crds", "monitoring.coreos.com_servicemonitors.yaml");

/** ajv over the CRD's OpenAPI schema: Go's `(?i)` prefix becomes JavaScript's `i` flag; int32/int64 are numbers. */
function serviceMonitorValidator() {
    const crd = yaml.load(fs.readFileSync(CRD, "utf8")) as {
        spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: object } }> };
    };
    const regExp = Object.assign(
        (pattern: string, flags: string) =>
            pattern.startsWith("(?i)") ? new RegExp(pattern.slice(4), `${flags}i`) : new RegExp(pattern, flags),
        { code: "new RegExp" },
    );
    const ajv = new Ajv({ strict: false, allErrors: true, code: { regExp } });
    addFormats(ajv);
    ajv.addFormat("int32", true).addFormat("int64", true);
    return ajv.compile(crd.spec.versions.find((v) => v.name === "v1")!.schema.openAPIV3Schema);
}

const COLLECTOR_TYPES = [
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
];

const collectorResources = (resources: readonly RegisteredResource[]) =>
    resources.filter((r) => r.urn.includes("maestro:cost:CostCollector$"));

const results = new Map<string, RegisteredResource[]>();
beforeAll(async () => {
    for (const stack of STACKS) {
        results.set(stack, [...(await synthStack({ stack })).run.resources]);
    }
}, 120000);

describe.each(["dev", "staging"])("%s: the collector is deployed where the rules go", (stack) => {
    const mine = () => collectorResources(results.get(stack)!);
    const one = (type: string) => mine().find((r) => r.type === type)!;
    const config = stackConfig(stack);

    it("registers its role, inline policy, service account, ConfigMap, Deployment, Service and ServiceMonitor", () => {
        expect(
            mine()
                .map((r) => r.type)
                .sort(),
        ).toEqual([...COLLECTOR_TYPES].sort());
        expect(config.costCollector.enabled).toBe(true);
    });

    it("selects its ServiceMonitor with the rule selector labels, in the rules' namespace, valid against the CRD", () => {
        const sm = one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor").inputs as {
            metadata: { labels: Record<string, string>; namespace: string };
            spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string }> };
        };
        const target = config.ruleTarget;
        if (target.kind !== "prometheus-operator") {
            throw new Error("shipped dev and staging deploy rules to a prometheus-operator");
        }
        expect(sm.metadata.labels).toMatchObject(target.ruleSelectorLabels);
        expect(sm.metadata.namespace).toBe(target.namespace);
        const validate = serviceMonitorValidator();
        expect(validate(sm)).toBe(true);
        // The validator can refuse: an endpoint interval the operator would reject.
        const broken = { ...sm, spec: { ...sm.spec, endpoints: [{ ...sm.spec.endpoints[0], interval: "1 minute" }] } };
        expect(validate(broken)).toBe(false);
        expect(JSON.stringify(validate.errors)).toContain("/spec/endpoints/0/interval");
        // The Service it selects carries those labels and the port it names.
        const svc = one("kubernetes:core/v1:Service").inputs as {
            metadata: { labels: Record<string, string> };
            spec: { ports: Array<{ name: string }> };
        };
        expect(svc.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
        expect(svc.spec.ports.map((p) => p.name)).toContain(sm.spec.endpoints[0].port);
    });

    it("runs the bundled collector from its ConfigMap in a stock Node image, one replica, with settings the collector accepts", () => {
        const dep = one("kubernetes:apps/v1:Deployment").inputs as {
            spec: {
                replicas: number;
                template: {
                    spec: {
                        serviceAccountName: string;
                        containers: Array<{ image: string; command: string[] }>;
                        volumes: Array<{ configMap: { name: string } }>;
                    };
                };
            };
        };
        const cm = one("kubernetes:core/v1:ConfigMap").inputs as { data: Record<string, string> };
        expect(dep.spec.replicas).toBe(1);
        expect(dep.spec.template.spec.containers[0].image).toBe(config.costCollector.image);
        expect(dep.spec.template.spec.containers[0].command.join(" ")).toMatch(/^node \S+\/collector\.js$/);
        expect(dep.spec.template.spec.volumes[0].configMap.name).toBe(COLLECTOR_NAME);
        expect(dep.spec.template.spec.serviceAccountName).toBe(COLLECTOR_NAME);
        expect(cm.data["collector.js"]).toBe(readCollectorBundle());
        const settings = parseSettings(cm.data["settings.json"], "settings.json");
        expect(settings.environment).toBe(stack);
        expect(settings.refreshSeconds).toBe(config.costCollector.refreshMinutes * 60);
    });

    it("lets only its service account assume its role (IRSA), for the two read-only Cost Explorer actions", () => {
        const role = one("aws:iam/role:Role").inputs as { assumeRolePolicy: string };
        const trust = JSON.parse(role.assumeRolePolicy) as {
            Statement: Array<{ Principal: { Federated: string }; Condition: { StringEquals: Record<string, string> } }>;
        };
        expect(trust.Statement).toHaveLength(1);
        expect(trust.Statement[0].Principal.Federated).toBe(config.costCollector.oidcProviderArn);
        expect(Object.entries(trust.Statement[0].Condition.StringEquals)).toEqual(
            expect.arrayContaining([
                [
                    expect.stringMatching(/:sub$/),
                    `system:serviceaccount:${config.costCollector.namespace}:${COLLECTOR_NAME}`,
                ],
                [expect.stringMatching(/:aud$/), "sts.amazonaws.com"],
            ]),
        );
        const policy = JSON.parse((one("aws:iam/rolePolicy:RolePolicy").inputs as { policy: string }).policy) as {
            Statement: Array<{ Effect: string; Action: string[] }>;
        };
        expect(policy.Statement.flatMap((s) => s.Action).sort()).toEqual([...COLLECTOR_IAM_ACTIONS].sort());
        expect(policy.Statement.every((s) => s.Effect === "Allow")).toBe(true);
        const sa = one("kubernetes:core/v1:ServiceAccount").inputs as {
            metadata: { annotations: Record<string, string> };
        };
        expect(sa.metadata.annotations["eks.amazonaws.com/role-arn"]).toBeDefined();
    });

    it("stamps every collector object with the collector's backlog item", () => {
        for (const r of mine().filter((x) => x.type.startsWith("kubernetes:"))) {
            const labels = (r.inputs.metadata as { labels: Record<string, string> }).labels;
            expect([r.type, labels[K8S_LABEL.backlogItem]]).toEqual([r.type, BACKLOG_ITEM.costCollector]);
        }
        const tags = one("aws:iam/role:Role").inputs.tags as Record<string, string>;
        expect(tags["maestro:backlog-item"]).toBe(BACKLOG_ITEM.costCollector);
    });
});

describe("where the collector is off, or deployed elsewhere", () => {
    it("prod has no collector by default (the billing exporter covers it)", () => {
        expect(collectorResources(results.get("prod")!)).toEqual([]);
        expect(stackConfig("prod").costCollector.enabled).toBe(false);
    });

    it("dev with the collector disabled registers none of it", async () => {
        const file = writeStackVariant("dev", (c) => (c[KEY("costCollector")] = { enabled: false }));
        const run = await synthStack({ stack: "dev", configFile: file });
        expect(collectorResources(run.run.resources)).toEqual([]);
    });

    it("with an AMP rule target: the same workload, no ServiceMonitor, a Service the remote-writing agent discovers", () => {
        const config = stackConfig("dev", (flat) => {
            toAmp(flat);
            flat[KEY("costCollector")] = JSON.stringify({
                ...(JSON.parse(flat[KEY("costCollector")]) as object),
                namespace: "finops",
            });
        });
        const plan = collectorPlan(config, guardrails, "bundle");
        expect(plan.serviceMonitor).toBeUndefined();
        expect(plan.deployment.metadata.namespace).toBe("finops");
        expect(plan.service.metadata.annotations).toMatchObject({ "prometheus.io/scrape": "true" });
    });
});

describe("collector config refused before anything is registered", () => {
    const refused = (stack: string, change: (flat: Record<string, string>) => void) => () => stackConfig(stack, change);
    const collectorKey = KEY("costCollector");
    const shipped = (stack: string) => stackFileDoc(stack).config[collectorKey] as Record<string, unknown>;

    it("on by default without an OIDC provider: refused naming the key and the way out", () => {
        expect(refused("dev", (f) => delete f[collectorKey])).toThrow(
            /Pulumi\.dev\.yaml: maestro-guardrails:costCollector\.oidcProviderArn: missing; the collector is on by default in dev .*allowed: arn:aws:iam::<account>:oidc-provider\/<issuer>, or set maestro-guardrails:costCollector\.enabled to false/,
        );
        // Around it: enabling it in prod explicitly, or pointing it at something that is not an OIDC provider.
        expect(refused("prod", (f) => (f[collectorKey] = JSON.stringify({ enabled: true })))).toThrow(
            /costCollector\.oidcProviderArn: missing; the collector is enabled/,
        );
        expect(
            refused(
                "dev",
                (f) => (f[collectorKey] = JSON.stringify({ oidcProviderArn: "arn:aws:iam::111122223333:role/admin" })),
            ),
        ).toThrow(/maestro-guardrails:costCollector\.oidcProviderArn/);
    });

    it("a refresh under an hour is refused (Cost Explorer bills per request), however it is written", () => {
        const at = (refreshMinutes: unknown) => (f: Record<string, string>) =>
            (f[collectorKey] = JSON.stringify({ ...shipped("dev"), refreshMinutes }));
        expect(stackConfig("dev", at(COST_COLLECTOR_MIN_REFRESH_MINUTES * 2)).costCollector.refreshMinutes).toBe(
            COST_COLLECTOR_MIN_REFRESH_MINUTES * 2,
        );
        expect(refused("dev", at(COST_COLLECTOR_MIN_REFRESH_MINUTES - 1))).toThrow(
            `maestro-guardrails:costCollector.refreshMinutes: ${COST_COLLECTOR_MIN_REFRESH_MINUTES - 1} would call Cost Explorer (billed per request) more than once an hour; allowed: an integer >= ${COST_COLLECTOR_MIN_REFRESH_MINUTES}`,
        );
        for (const around of [
            COST_COLLECTOR_MIN_REFRESH_MINUTES - 0.5,
            String(COST_COLLECTOR_MIN_REFRESH_MINUTES),
            0,
        ]) {
            expect(refused("dev", at(around))).toThrow(/costCollector\.refreshMinutes/);
        }
    });

    it("an AMP rule target names no namespace, so the collector must: refused without one", () => {
        expect(refused("dev", (f) => toAmp(f, undefined, { collectorNamespace: false }))).toThrow(
            /maestro-guardrails:costCollector\.namespace: missing; the AMP rule target names no namespace/,
        );
    });

    it("a missing bundle is refused by the plan (preflight), naming the file and the command that writes it", () => {
        const missing = path.join(repoRoot, "bin", "cost-collector", "not-built.js");
        expect(() => readCollectorBundle(missing)).toThrow(
            "bin/cost-collector/not-built.js: the bundled cost collector is missing; run `npm run build`",
        );
        // Around it: a bundle too big for a ConfigMap is refused too, before Kubernetes would.
        const huge = "x".repeat(CONFIGMAP_MAX_BYTES);
        expect(() => collectorPlan(stackConfig("dev"), guardrails, huge)).toThrow(
            new RegExp(`would hold \\d+ bytes; Kubernetes allows at most ${CONFIGMAP_MAX_BYTES}`),
        );
    });
});
