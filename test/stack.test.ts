/**
 * The composition root (index.ts) per stack: which components it builds and how resources hang under them, the
 * evidence audit (R2-EVIDENCE-AUDIT: every taggable resource carries its backlog item and the item's four hooks),
 * the outputs downstream workstreams read, and the preflight that refuses bad input before any resource exists.
 */
import { AWS_TAG_VALUE, EVIDENCE_HOOKS, dashboardUid, folderUid } from "../core/conventions";
import {
    FlatConfig,
    RegisteredResource,
    runWithMocks,
    SECRET_PLACEHOLDER,
    maskSecrets,
    unwrapSecrets,
} from "../offline/mockRuntime";
import { stackProgram } from "../offline/synth";
import { loadGovernance, requiredSignoffs } from "../governance";
import { evidenceCarrier, readStamp } from "../policies/resources";
import { SIGNOFF_KEY_LAYOUT, requiredWithFloor, signoffPrefix } from "../provenance/ledger";
import { StackOutputs } from "../core/stackOutputs";
import { accountSharedWith } from "../core/guardrails";
import { flatConfig, guardrails, KEY, STACKS } from "./helpers";

const governance = loadGovernance();
const items = new Map(governance.items.map((i) => [i.id, i]));

async function run(stack: string, config: FlatConfig = flatConfig(stack)) {
    const record: RegisteredResource[] = [];
    const result = await runWithMocks({
        stack,
        config,
        program: stackProgram(),
        configFileName: `Pulumi.${stack}.yaml`,
        record,
    });
    return {
        resources: record,
        outputs: unwrapSecrets(result.outputs) as StackOutputs,
        masked: maskSecrets(result.outputs) as Record<string, unknown>,
    };
}

/** AWS tag values: up to 256 Unicode letters, digits, spaces and `_.:/=+-@` (the Tagging API's pattern). */

const COMPONENTS = [
    "maestro:rules:GuardrailRules",
    "maestro:budgets:CostBudgets",
    "maestro:provenance:ProvenanceBucket",
    "maestro:provenance:SignoffLedger",
    "maestro:dashboards:GrafanaDashboards",
    "maestro:routing:AlertRouting",
];

describe.each(STACKS)("the %s stack", (stack) => {
    let resources: RegisteredResource[];
    let outputs: StackOutputs;
    let masked: Record<string, unknown>;
    beforeAll(async () => {
        ({ resources, outputs, masked } = await run(stack));
    });
    const byUrn = () => new Map(resources.map((r) => [r.urn, r]));

    it("builds each capability's component once, directly under the stack", () => {
        const root = resources.find((r) => r.type === "pulumi:pulumi:Stack")!;
        const top = resources.filter((r) => r.parent === root.urn).map((r) => r.type);
        // The cost collector only where the config enables it (on by default in dev and staging).
        const expected = [...COMPONENTS, ...(stack === "prod" ? [] : ["maestro:cost:CostCollector"])];
        expect(top.sort()).toEqual(expected.sort());
    });

    it("parents every cloud resource to a component, never to the stack itself", () => {
        const urns = byUrn();
        const orphans = resources
            .filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"))
            .filter((r) => !urns.get(r.parent ?? "")?.type.startsWith("maestro:"));
        expect(orphans.map((r) => r.urn)).toEqual([]);
    });

    it("stamps every taggable resource with its backlog item and that item's four hooks (the evidence audit)", () => {
        const taggable = resources.filter(
            (r) =>
                r.custom &&
                ["aws-tags", "k8s-metadata", "grafana-dashboard-tags"].includes(evidenceCarrier(r.type).kind),
        );
        expect(taggable.length).toBeGreaterThan(10);
        for (const r of taggable) {
            const stamp = readStamp(r.type, r.inputs)!;
            const item = items.get(stamp.backlogItem ?? "");
            expect({ urn: r.urn, stamped: stamp.backlogItem ?? "no backlog item", known: item !== undefined }).toEqual({
                urn: r.urn,
                stamped: expect.any(String),
                known: true,
            });
            expect({ urn: r.urn, hooks: stamp.hooks }).toEqual({ urn: r.urn, hooks: item!.hooks });
            expect({ urn: r.urn, environment: stamp.environment, release: stamp.release }).toEqual({
                urn: r.urn,
                environment: stack,
                release: stack === "dev" ? undefined : "v1.0.0",
            });
        }
        // Every type the stack registers is classified: carrying hooks, or exempt with a reason.
        expect(
            resources.filter((r) => r.custom && evidenceCarrier(r.type).kind === "unclassified").map((r) => r.type),
        ).toEqual([]);
    });

    it("gives AWS only tag values it accepts", () => {
        const bad = resources
            .filter((r) => r.type.startsWith("aws:") && r.inputs.tags)
            .flatMap((r) =>
                Object.entries(r.inputs.tags as Record<string, string>)
                    .filter(([, v]) => !AWS_TAG_VALUE.test(v))
                    .map(([k, v]) => `${r.name} ${k}=${v}`),
            );
        expect(bad).toEqual([]);
    });

    it("exports the rules, budget topic, provenance layout and dashboards downstream workstreams read", () => {
        expect(outputs.environment).toBe(stack);
        expect(masked.alertEmails).toBe(SECRET_PLACEHOLDER);
        // The unified document, whole, and this environment's effective targets within it.
        expect(outputs.guardrails).toEqual(JSON.parse(JSON.stringify(guardrails)));
        const cap = guardrails.cost.caps[stack];
        expect(outputs.targets).toMatchObject({
            environment: stack,
            monthlyCapUsd: cap.monthlyUsd,
            llmCapUsd: cap.llmMonthlyUsd ?? null,
            costAlertThreshold: guardrails.cost.alertThreshold,
        });
        expect(outputs.targets.monthlyBudgetUsd).toBeLessThanOrEqual(cap.monthlyUsd);
        expect(outputs.targets.slos.map((o) => o.id)).toEqual(guardrails.slo.objectives.map((o) => o.id));

        // Every object name carries the environment, so stacks sharing a namespace never write the same object.
        const slos = guardrails.slo.objectives.map((o) => `maestro-slo-${o.id}-${stack}`);
        const expectedRules = [
            ...slos,
            `maestro-telemetry-gaps-${stack}`,
            `maestro-cost-${stack}`,
            ...(stack === "dev" ? [] : [`maestro-cadence-${stack}`]),
        ];
        expect(outputs.rules).toEqual({
            kind: "prometheus-operator",
            namespace: "monitoring",
            ruleSelectorLabels: { release: "kube-prometheus-stack" },
            objectNames: expectedRules,
        });
        // Where the alerts are routed, and to whom, per environment: only prod pages the on-call engineer.
        expect(outputs.alertRouting).toEqual({
            kind: "prometheus-operator",
            location: "monitoring/maestro-guardrails",
            routes: {
                page: stack === "prod" ? "on-call" : "team-chat",
                ticket: stack === "prod" ? "team-tickets" : "team-chat",
                cost: "finops",
                cadence: stack === "dev" ? "team-chat" : "release-manager",
            },
        });
        expect(outputs.budgetAlertTopicArn).toMatch(/^arn:aws:sns:/);

        const p = outputs.provenance;
        expect(p.signoffKeyLayout).toBe(SIGNOFF_KEY_LAYOUT);
        expect(p.ledgerHead).toMatch(/^[0-9a-f]{64}$/);
        if (stack === "dev") {
            expect([p.signoffKeyPrefix, p.signoffObjectKeys]).toEqual(["", []]);
        } else {
            expect(p.signoffKeyPrefix).toBe(signoffPrefix(stack, "v1.0.0"));
            expect(p.signoffObjectKeys).toHaveLength(
                requiredWithFloor(guardrails, (t, e) => requiredSignoffs(governance, t, e), "v1.0.0", stack).length,
            );
            for (const key of p.signoffObjectKeys) {
                expect(key.startsWith(p.signoffKeyPrefix)).toBe(true);
            }
        }

        expect(outputs.grafana.folderUid).toBe(folderUid(stack));
        expect(outputs.grafana.prometheusDatasourceUid).toBe(`prometheus-${stack}`);
        for (const kind of ["slo", "cost", "summary"] as const) {
            expect(outputs.grafana.dashboardUids[kind]).toBe(dashboardUid(kind, stack));
            expect(outputs.grafana.dashboardUrls[kind]).toMatch(
                new RegExp(`^https://[^/]+/d/${dashboardUid(kind, stack)}$`),
            );
        }
    });

    it("renders the legacy Grafana dashboards (served by Grafana 10, 11 and 12) unless the stack file chooses apps", () => {
        const types = resources.filter((r) => r.type.startsWith("grafana:") && r.type.endsWith(":Dashboard"));
        expect(types.map((r) => r.type)).toEqual(Array(3).fill("grafana:oss/dashboard:Dashboard"));
    });

    it("watches the environment's spend for anomalies and notifies the budget topic", () => {
        const monitors = resources.filter((r) => r.type === "aws:costexplorer/anomalyMonitor:AnomalyMonitor");
        const subs = resources.filter((r) => r.type === "aws:costexplorer/anomalySubscription:AnomalySubscription");
        expect([monitors.length, subs.length]).toEqual([1, 1]);
        const sub = unwrapSecrets(subs[0].inputs) as { subscribers: Array<{ type: string; address: string }> };
        expect(sub.subscribers).toEqual([{ type: "SNS", address: outputs.budgetAlertTopicArn }]);
    });

    it("activates cost allocation tags exactly when the guardrails share the environment's account", () => {
        const shared = accountSharedWith(guardrails, stack).length > 0;
        const tags = resources.filter((r) => r.type === "aws:costexplorer/costAllocationTag:CostAllocationTag");
        expect(tags.length > 0).toBe(shared);
    });

    it("uploads one locked sign-off object per required role, after the bucket is hardened", () => {
        const uploads = resources.filter((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2");
        expect(uploads.map((u) => u.inputs.key)).toEqual(outputs.provenance.signoffObjectKeys);
        for (const u of uploads) {
            expect(u.inputs.objectLockMode).toBe(stack === "prod" ? "COMPLIANCE" : "GOVERNANCE");
            expect(u.dependsOn.length).toBeGreaterThan(0);
        }
    });
});

describe("preflight", () => {
    const refused = async (stack: string, change: (flat: Record<string, string>) => void) => {
        const record: RegisteredResource[] = [];
        const error = await runWithMocks({
            stack,
            config: flatConfig(stack, change),
            program: stackProgram(),
            configFileName: `Pulumi.${stack}.yaml`,
            record,
        }).then(
            () => undefined,
            (e: Error) => e,
        );
        return { error, types: record.map((r) => r.type) };
    };

    it("refuses a release without its sign-offs before any resource exists", async () => {
        const { error, types } = await refused("prod", (c) => (c[KEY("releaseTag")] = "v9.9.9"));
        expect(error?.message).toContain("the prod stack cannot deploy; nothing was registered:");
        expect(error?.message).toContain("release sign-offs: v9.9.9 cannot ship to prod");
        expect(types).toEqual(["pulumi:pulumi:Stack"]);
    });

    it("reports every failing component at once", async () => {
        const { error, types } = await refused("staging", (c) => {
            c[KEY("releaseTag")] = "v9.9.9";
            c["grafana:url"] = "ftp://grafana.example";
        });
        expect(error?.message).toContain("release sign-offs: v9.9.9 cannot ship to staging");
        expect(error?.message).toContain(
            'dashboards: grafana:url "ftp://grafana.example" (Pulumi.staging.yaml) has protocol ftp:; allowed: https: or http:',
        );
        expect(types).toEqual(["pulumi:pulumi:Stack"]);
    });

    it("refuses a declared Grafana 11 with grafanaApi apps before any resource exists, naming the stack file and key", async () => {
        const { error, types } = await refused("staging", (c) => {
            c[KEY("grafanaVersion")] = "11.6";
            c[KEY("grafanaApi")] = "apps";
        });
        expect(error?.message).toContain(
            `Pulumi.staging.yaml: ${KEY("grafanaApi")}: "apps" (the dashboard.grafana.app API) needs Grafana 12`,
        );
        expect(types).toEqual(["pulumi:pulumi:Stack"]);
    });

    it("provisions the apps dashboards when a Grafana 12 stack chooses them", async () => {
        const record: RegisteredResource[] = [];
        await runWithMocks({
            stack: "prod",
            config: flatConfig("prod", (c) => (c[KEY("grafanaApi")] = "apps")),
            program: stackProgram(),
            configFileName: "Pulumi.prod.yaml",
            record,
        });
        expect(record.filter((r) => r.type.includes("dashboard:Dashboard")).map((r) => r.type)).toEqual(
            Array(3).fill("grafana:apps/v1beta1/dashboard:Dashboard"),
        );
    });

    it("refuses a stack file that does not pin its AWS account, before any resource exists", async () => {
        const { error, types } = await refused("dev", (c) => delete c["aws:allowedAccountIds"]);
        expect(error?.message).toContain(
            "Pulumi.dev.yaml: aws:allowedAccountIds: missing; every stack pins its AWS account",
        );
        expect(types).toEqual(["pulumi:pulumi:Stack"]);
    });

    it("refuses a stack without grafana:url, naming the key", async () => {
        const { error, types } = await refused("dev", (c) => delete c["grafana:url"]);
        expect(error?.message).toMatch(/grafana:url/);
        expect(types).toEqual(["pulumi:pulumi:Stack"]);
    });

    it("names each hook of each backlog item the stack stamps", () => {
        // Guards the audit above against a vacuous pass: the items it reads define all four hooks.
        for (const item of items.values()) {
            expect(Object.keys(item.hooks).sort()).toEqual([...EVIDENCE_HOOKS].sort());
        }
    });
});
