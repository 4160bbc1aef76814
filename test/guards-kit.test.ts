/**
 * Guards that hold in the guardrail kit: the baseline is the guardrails the kit ships, not what a referenced stack
 * says about itself; rules go where a Prometheus selects them; evidence hooks name items of the service's own
 * backlog file, validated by the same schema as governance/backlog.json.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Guardrails } from "../core/guardrails";
import { GuardrailTargets, ServiceGuardrailsArgs, parseStackTargets, planServiceGuardrails } from "../kit";
import { loadServiceBacklog } from "../kit/backlog";
import { guardrails } from "./helpers";

const BACKLOG = loadServiceBacklog(path.join(__dirname, "fixtures", "kit", "backlog.json"));
const ITEM = BACKLOG.items.get("R2-SEARCH-SLOS")!;
const slo = guardrails.slo.objectives[0];

/** A referenced stack's outputs, with one change (its self-report). */
function outputs(
    change: (o: { guardrails: Guardrails; targets: { slos: unknown[] }; rules: Record<string, unknown> }) => void,
) {
    const o = JSON.parse(
        JSON.stringify({
            environment: "prod",
            guardrails,
            targets: { environment: "prod", slos: guardrails.slo.objectives },
            rules: {
                kind: "prometheus-operator",
                namespace: "monitoring",
                ruleSelectorLabels: { role: "alert-rules" },
            },
            grafana: { folderUid: "maestro-conductor-prod", prometheusDatasourceUid: "prometheus-prod" },
        }),
    ) as { guardrails: Guardrails; targets: { slos: unknown[] }; rules: Record<string, unknown> } & Record<
        string,
        unknown
    >;
    change(o);
    return (name: string) => Promise.resolve(o[name]);
}

/** Loosen every SLO to `thresholdSeconds` / `objective` in a guardrails-shaped document. */
function loosened(g: Guardrails, thresholdSeconds: number, objective: number) {
    return g.slo.objectives.map((o) => ({ ...o, objective, sli: { ...o.sli, thresholdSeconds } }));
}

describe("the kit's baseline is the guardrails it ships", () => {
    const looseThreshold = slo.sli.thresholdSeconds * 20;
    const looseObjective = Number((slo.objective - 0.05).toFixed(6));

    it("refuses a referenced stack that reports looser guardrails and matching looser targets (its self-report)", async () => {
        const read = outputs((o) => {
            o.guardrails = {
                ...o.guardrails,
                slo: { ...o.guardrails.slo, objectives: loosened(o.guardrails, looseThreshold, looseObjective) },
            };
            o.targets.slos = loosened(guardrails, looseThreshold, looseObjective);
        });
        const err = await parseStackTargets("stack reference acme/maestro-guardrails/prod", read).catch(
            (e: Error) => e,
        );
        expect(err).toBeInstanceOf(Error);
        const msg = (err as Error).message;
        expect(msg).toContain(
            `output "guardrails"/slo/objectives/0/sli/thresholdSeconds: ${looseThreshold} s is looser than the unified ${slo.id} threshold (${slo.sli.thresholdSeconds} s, the kit's guardrails, guardrails/guardrails.yaml); allowed: a number <= ${slo.sli.thresholdSeconds}`,
        );
        expect(msg).toContain(
            `output "targets"/slos/0/objective: ${looseObjective} is looser than the unified ${slo.id} objective (${slo.objective}`,
        );
    });

    it("refuses a stack that drops an SLO from its guardrails, and measures targets against the baseline", async () => {
        const dropped = await parseStackTargets(
            "ref",
            outputs((o) => {
                o.guardrails = {
                    ...o.guardrails,
                    slo: { ...o.guardrails.slo, objectives: o.guardrails.slo.objectives.slice(1) },
                };
            }),
        ).catch((e: Error) => e.message);
        expect(dropped).toContain(`output "guardrails"/slo/objectives: has no SLO "${slo.id}"; the kit's guardrails`);
        // A stricter report is fine, but the targets returned hold the kit's baseline as the guardrails.
        const strict = await parseStackTargets(
            "ref",
            outputs((o) => {
                o.guardrails = {
                    ...o.guardrails,
                    slo: {
                        ...o.guardrails.slo,
                        objectives: loosened(o.guardrails, slo.sli.thresholdSeconds / 2, 0.99),
                    },
                };
            }),
        );
        expect(strict.guardrails.slo.objectives).toEqual(guardrails.slo.objectives);
    });

    it("refuses rules sent where no Prometheus selects them (empty selector labels), from the stack or the arguments", async () => {
        const fromStack = await parseStackTargets(
            "ref",
            outputs((o) => (o.rules.ruleSelectorLabels = {})),
        ).catch((e: Error) => e.message);
        expect(fromStack).toContain(`output "rules"/ruleSelectorLabels: is {}; allowed: the non-empty string labels`);
        const targets = await parseStackTargets(
            "ref",
            outputs(() => undefined),
        );
        expect(() =>
            planServiceGuardrails(
                args(
                    targets,
                    (a) => (a.rules = { kind: "prometheus-operator", namespace: "search", ruleSelectorLabels: {} }),
                ),
                "prod",
            ),
        ).toThrow("/rules/ruleSelectorLabels: empty, so no Prometheus ruleSelector would load the service's rules");
    });
});

function args(
    targets: GuardrailTargets,
    change: (a: { -readonly [K in keyof ServiceGuardrailsArgs]: ServiceGuardrailsArgs[K] }) => void = () => undefined,
): ServiceGuardrailsArgs {
    const a: { -readonly [K in keyof ServiceGuardrailsArgs]: ServiceGuardrailsArgs[K] } = {
        service: "search",
        owner: "workstream-4",
        targets,
        slos: [
            {
                id: slo.id,
                metric: "search_request_duration_seconds",
                buckets: [slo.sli.thresholdSeconds / 2, slo.sli.thresholdSeconds, slo.sli.thresholdSeconds * 2],
            },
        ],
        evidence: ITEM,
        backlog: BACKLOG,
    };
    change(a);
    return a;
}

describe("downstream evidence hooks name items of the service's own backlog", () => {
    let targets: GuardrailTargets;
    beforeAll(async () => {
        targets = await parseStackTargets(
            "ref",
            outputs(() => undefined),
        );
    });

    it("accepts the service's planned item with its declared hooks", () => {
        expect(planServiceGuardrails(args(targets), "prod").tagContext.environment).toBe("prod");
    });

    it("refuses a junk item id and junk hooks", () => {
        expect(() =>
            planServiceGuardrails(
                args(
                    targets,
                    (a) => (a.evidence = { id: "X", hooks: { logs: "x", metrics: "x", tests: "x", provenance: "x" } }),
                ),
                "prod",
            ),
        ).toThrow(`/evidence/id: "X" is not an item of ${BACKLOG.file}; allowed: R2-SEARCH-SLOS`);
        let message = "";
        try {
            planServiceGuardrails(
                args(targets, (a) => (a.evidence = { ...ITEM, hooks: { ...ITEM.hooks, tests: "x" } })),
                "prod",
            );
        } catch (err) {
            message = (err as Error).message;
        }
        expect(message).toContain(
            `/evidence/hooks/tests: "x" is not what ${BACKLOG.file} item R2-SEARCH-SLOS declares; allowed: "${ITEM.hooks.tests}"`,
        );
    });

    it("refuses a backlog file the governance schema rejects, naming the file and path", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-kit-backlog-"));
        try {
            const file = path.join(dir, "backlog.json");
            fs.writeFileSync(file, JSON.stringify({ items: [{ id: "X", hooks: { logs: "x" } }] }));
            expect(() => loadServiceBacklog(file)).toThrow(/backlog\.json: \/items\/0/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
