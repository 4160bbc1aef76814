/**
 * The example downstream program (examples/service-stack), run under Pulumi's mocks with its StackReference answered
 * by this stack's real outputs (from a mocked run of the stack itself), as a Workstream's program would run.
 */
import { RegisteredResource, runWithMocks, unwrapSecrets } from "../offline/mockRuntime";
import { stackProgram } from "../offline/synth";
import { SLO_RECORD } from "../core/conventions";
import { flatConfig, guardrails } from "./helpers";
import { StackOutputs } from "../core/stackOutputs";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const example = require("../examples/service-stack/index") as () => unknown;

const REF = "acme/maestro-guardrails/prod";
const SERVICE_CONFIG = { "checkout-service:guardrailsStack": REF, "checkout-service:releaseTag": "v1.0.0" };

let prodOutputs: StackOutputs;

const unified = (id: string) => guardrails.slo.objectives.find((o) => o.id === id)!;

/** The outputs as plain JSON, for tests to break. */
interface MutableOutputs {
    targets: { slos: Array<{ id: string; sli: { thresholdSeconds: number } }> };
    grafana: Partial<Record<string, unknown>>;
    rules: Partial<Record<string, unknown>>;
}

/** The prod outputs with one change applied (a deep copy). */
function changedOutputs(change: (o: MutableOutputs) => void): Record<string, unknown> {
    const copy = JSON.parse(JSON.stringify(prodOutputs)) as MutableOutputs & Record<string, unknown>;
    change(copy);
    return copy;
}

/** Every resource the run registered, other than the root stack. */
const registered = (resources: readonly RegisteredResource[]) =>
    resources.filter((r) => r.type !== "pulumi:pulumi:Stack").map((r) => r.type);

beforeAll(async () => {
    const run = await runWithMocks({
        stack: "prod",
        config: flatConfig("prod"),
        program: stackProgram(),
        configFileName: "Pulumi.prod.yaml",
    });
    prodOutputs = unwrapSecrets(run.outputs) as StackOutputs;
});

async function runExample(
    values: Record<string, string>,
    outputs: Record<string, unknown> = prodOutputs as unknown as Record<string, unknown>,
) {
    const record: RegisteredResource[] = [];
    const result = await runWithMocks({
        stack: "prod",
        project: "checkout-service",
        config: { values, secretKeys: [] },
        program: example,
        record,
        stackReferences: { [REF]: outputs },
    }).then(
        (r) => ({ outputs: unwrapSecrets(r.outputs) as Record<string, unknown>, error: undefined }),
        (error: unknown) => ({ outputs: undefined, error: error as Error }),
    );
    return { ...result, resources: record };
}

describe("examples/service-stack", () => {
    it("provisions the service's rules beside the stack's and its dashboard in the stack's folder, at the stack's targets", async () => {
        const run = await runExample(SERVICE_CONFIG);
        expect(run.error?.message ?? "").toBe("");
        const kit = run.resources.find((r) => r.type === "maestro:kit:ServiceGuardrails")!;
        const children = run.resources.filter((r) => r.parent === kit.urn);
        const rules = children.filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
        const ruleName = (r: RegisteredResource) => (r.inputs.metadata as { name: string }).name;
        const spec = (name: string) =>
            (
                rules.find((r) => ruleName(r) === name)!.inputs.spec as {
                    groups: Array<{ rules: Array<{ record?: string; expr: string; labels: Record<string, string> }> }>;
                }
            ).groups[0].rules;
        expect(rules.map(ruleName).sort()).toEqual([
            "maestro-checkout-slo-api-read-latency-prod",
            "maestro-checkout-slo-api-write-latency-prod",
            "maestro-checkout-telemetry-gaps-prod",
        ]);
        const rulesOut = prodOutputs.rules as { namespace: string; ruleSelectorLabels: Record<string, string> };
        for (const r of rules) {
            const meta = r.inputs.metadata as {
                namespace: string;
                labels: Record<string, string>;
                annotations: Record<string, string>;
            };
            expect(meta.namespace).toBe(rulesOut.namespace);
            expect(meta.labels).toMatchObject({
                ...rulesOut.ruleSelectorLabels,
                "maestro.io/backlog-item": "R2-CHECKOUT-SLOS",
                "maestro.io/environment": "prod",
            });
            expect(Object.keys(meta.annotations)).toEqual(
                expect.arrayContaining([
                    "maestro.io/evidence-logs",
                    "maestro.io/evidence-metrics",
                    "maestro.io/evidence-tests",
                    "maestro.io/evidence-provenance",
                ]),
            );
        }
        // The read SLO is measured at the unified threshold, on the service's own histogram, labelled with the service.
        const read = spec("maestro-checkout-slo-api-read-latency-prod");
        const unifiedRead = unified("api-read-latency");
        const threshold = read.find((r) => r.record === SLO_RECORD.thresholdSeconds)!;
        expect(threshold).toMatchObject({
            expr: `vector(${unifiedRead.sli.thresholdSeconds})`,
            labels: { slo: "api-read-latency", env: "prod", service: "checkout" },
        });
        expect(read.find((r) => r.record === SLO_RECORD.errorRatio("5m"))!.expr).toContain(
            `checkout_graphql_request_duration_seconds_bucket{operation_type="query",le="${unifiedRead.sli.thresholdSeconds}"}`,
        );
        // Without a threshold of its own, the write SLO takes the unified one.
        const write = spec("maestro-checkout-slo-api-write-latency-prod");
        expect(write.find((r) => r.record === SLO_RECORD.thresholdSeconds)!.expr).toBe(
            `vector(${unified("api-write-latency").sli.thresholdSeconds})`,
        );

        // The legacy dashboard API: every Grafana the stack supports (10 and later) serves it.
        const dashboard = children.find((r) => r.type === "grafana:oss/dashboard:Dashboard")!;
        expect(dashboard.inputs.folder).toBe(prodOutputs.grafana.folderUid);
        const model = JSON.parse(dashboard.inputs.configJson as string) as {
            uid: string;
            tags: string[];
            templating: { list: Array<{ name: string; current: { value: unknown } }> };
        };
        expect(model.uid).toBe("maestro-svc-checkout-prod");
        expect(model.tags).toContain("maestro:backlog-item=R2-CHECKOUT-SLOS");
        expect(model.templating.list.find((v) => v.name === "datasource")!.current.value).toBe(
            prodOutputs.grafana.prometheusDatasourceUid,
        );
        // The bucket layout the service is told to export has a bound at each threshold it is measured at.
        expect(run.outputs!.buckets).toEqual(
            expect.arrayContaining([
                unifiedRead.sli.thresholdSeconds,
                unified("api-write-latency").sli.thresholdSeconds,
            ]),
        );
        expect(run.outputs!.dashboardUrl).toBe(
            prodOutputs.grafana.dashboardUrls.slo.replace(/\/d\/.*$/, "/d/maestro-svc-checkout-prod"),
        );
    });

    it("holds the service to a tighter threshold it asks for", async () => {
        const run = await runExample({ ...SERVICE_CONFIG, "checkout-service:writeThresholdSeconds": "0.5" });
        const slos = run.outputs!.slos as Array<{ id: string; sli: { thresholdSeconds: number } }>;
        expect(slos.find((s) => s.id === "api-write-latency")!.sli.thresholdSeconds).toBe(0.5);
    });

    it("inherits the environment's effective targets from the stack, tighter overrides included", async () => {
        const tighter = 0.25;
        const run = await runExample(
            SERVICE_CONFIG,
            changedOutputs((o) => {
                o.targets.slos[0].sli.thresholdSeconds = tighter;
            }),
        );
        const slos = run.outputs!.slos as Array<{ id: string; sli: { thresholdSeconds: number } }>;
        expect(slos.find((s) => s.id === prodOutputs.targets.slos[0].id)!.sli.thresholdSeconds).toBe(tighter);
    });

    it("refuses a service threshold looser than the unified one, registering nothing", async () => {
        const looser = unified("api-write-latency").sli.thresholdSeconds * 2;
        const run = await runExample({ ...SERVICE_CONFIG, "checkout-service:writeThresholdSeconds": String(looser) });
        expect(run.error).toBeDefined();
        const message = run.error?.message ?? "";
        expect(message).toContain("the checkout-service prod stack cannot deploy; nothing was registered");
        expect(message).toContain(
            `/slos/1/thresholdSeconds: ${looser} s is looser than the unified api-write-latency threshold`,
        );
        expect(message).toContain(`allowed: a number <= ${unified("api-write-latency").sli.thresholdSeconds}`);
        expect(registered(run.resources)).toEqual([]);
    });

    it("refuses a threshold the service's histogram has no bucket for", async () => {
        const run = await runExample({ ...SERVICE_CONFIG, "checkout-service:writeThresholdSeconds": "0.6" });
        expect(run.error?.message ?? "").toContain("/slos/1/buckets: no bucket at the 0.6 s threshold");
        expect(registered(run.resources)).toEqual([]);
    });

    it("refuses a referenced stack whose exported targets are looser than the guardrails", async () => {
        const looser = unified(prodOutputs.targets.slos[0].id).sli.thresholdSeconds * 2;
        const run = await runExample(
            SERVICE_CONFIG,
            changedOutputs((o) => {
                o.targets.slos[0].sli.thresholdSeconds = looser;
            }),
        );
        const message = run.error?.message ?? "";
        expect(message).toContain(
            `stack reference ${REF}: output "targets"/slos/0/sli/thresholdSeconds: ${looser} s is looser`,
        );
        expect(registered(run.resources)).toEqual([]);
    });

    it("names the missing output when the referenced stack predates it", async () => {
        const run = await runExample(
            SERVICE_CONFIG,
            changedOutputs((o) => {
                delete o.grafana.prometheusDatasourceUid;
                delete o.rules.ruleSelectorLabels;
            }),
        );
        const message = run.error?.message ?? "";
        expect(message).toContain(
            `stack reference ${REF}: output "grafana"/prometheusDatasourceUid: missing; allowed: a non-empty string`,
        );
        expect(message).toContain(
            `stack reference ${REF}: output "rules"/ruleSelectorLabels: is undefined; allowed: the non-empty string labels`,
        );
        expect(registered(run.resources)).toEqual([]);
    });
});
