/**
 * The guardrail kit (kit/): targets from the guardrails file and from stack outputs, the service plan and each way it
 * refuses, the component under mocks (both rule destinations), and promtool proving a service's rules and the
 * stack's share recording names without ever writing the same series.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import {
    GuardrailTargets,
    ServiceGuardrails,
    ServiceGuardrailsArgs,
    ServiceSlo,
    guardrailTargets,
    guardrailTargetsFromFile,
    guardrailTargetsFromStack,
    parseStackTargets,
    planServiceGuardrails,
    recommendedBuckets,
} from "../kit";
import { histogramRequirements } from "../core/instrumentation";
import type { MatchOp, SloObjective } from "../core/guardrails";
import { ServiceBacklog, loadServiceBacklog, serviceBacklog } from "../kit/backlog";
import type { EvidenceItem } from "../core/evidence";
import { EVIDENCE_HOOKS, SLO_RECORD } from "../core/conventions";
import { RegisteredResource, runWithMocks } from "../offline/mockRuntime";
import { ValidationError, repoRoot } from "../core/validation";
import { buildRuleSets, isAlertingRule, renderRuleFile, sloPeriodWindow } from "../rules";
import { shippedStackConfig } from "../offline/shippedStacks";
import { SLO_ALERT_NAME } from "../rules/design";
import { promtool } from "../verify/promtool";
import { sliHistogram } from "../verify/synthetic";
import { renderAnnotations } from "../verify/alertTemplates";
import { guardrails, STACKS } from "./helpers";

const READ = guardrails.slo.objectives[0];
/** The service's histogram: the unified SLI's matchers on a metric of its own, with a bucket at every unified threshold. */
const BUCKETS = [...new Set([0.1, ...guardrails.slo.objectives.map((o) => o.sli.thresholdSeconds), 5])].sort(
    (a, b) => a - b,
);
const readSlo: ServiceSlo = {
    id: READ.id,
    metric: "search_request_duration_seconds",
    matchers: READ.sli.matchers,
    buckets: BUCKETS,
};

/** The service's own backlog (same schema as governance/backlog.json); its item is the service's evidence. */
const BACKLOG = loadServiceBacklog(path.join(__dirname, "fixtures", "kit", "backlog.json"));
const EVIDENCE = BACKLOG.items.get("R2-SEARCH-SLOS")!;
const DESTINATIONS = {
    rules: { kind: "prometheus-operator", namespace: "monitoring", ruleSelectorLabels: { role: "alert-rules" } },
    grafana: { folderUid: "maestro-conductor-x", prometheusDatasourceUid: "prometheus-x" },
} as const;

function args(
    targets: GuardrailTargets,
    change: (a: { -readonly [K in keyof ServiceGuardrailsArgs]: ServiceGuardrailsArgs[K] }) => void = () => undefined,
): ServiceGuardrailsArgs {
    const a = {
        service: "search",
        owner: "workstream-4",
        targets,
        slos: [readSlo],
        evidence: EVIDENCE,
        backlog: BACKLOG,
        ...DESTINATIONS,
    };
    change(a);
    return a;
}

/** Every problem a refused plan reports, as `path: message`. */
function refusal(a: ServiceGuardrailsArgs): string[] {
    try {
        planServiceGuardrails(a, "ws4-prod");
    } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).problems.map((p) => `${p.path}: ${p.message}`);
    }
    throw new Error("the plan was not refused");
}

describe.each(STACKS)("the kit in %s", (env) => {
    const targets = guardrailTargetsFromFile(env);

    it("plans one rule set per SLO and the telemetry gaps, at the unified numbers, on the service's own histogram", () => {
        const plan = planServiceGuardrails(args(targets), "ws4");
        // The environment is part of every object name, so two environments' services never share an object.
        expect(plan.ruleSets.map((s) => s.name)).toEqual([
            `maestro-search-slo-${READ.id}-${env}`,
            `maestro-search-telemetry-gaps-${env}`,
        ]);
        expect(plan.slos).toEqual([
            {
                id: READ.id,
                title: READ.title,
                objective: READ.objective,
                sli: {
                    metric: readSlo.metric,
                    matchers: READ.sli.matchers,
                    thresholdSeconds: READ.sli.thresholdSeconds,
                },
            },
        ]);
        const rules = plan.ruleSets.flatMap((s) => s.groups.flatMap((g) => g.rules));
        for (const r of rules) {
            expect(r.labels).toMatchObject({ slo: READ.id, env, service: "search" });
        }
        expect(rules.filter(isAlertingRule).map((r) => r.alert)).toEqual([
            SLO_ALERT_NAME.page,
            SLO_ALERT_NAME.ticket,
            "MaestroSLITelemetryAbsent",
            "MaestroSLIThresholdBucketMissing",
        ]);
        expect(rules.map((r) => r.expr).join("\n")).not.toContain(READ.sli.metric);
        expect(plan.dashboard.uid).toBe(`maestro-svc-search-${env}`);
        const model = JSON.parse(plan.dashboardJson) as {
            tags: string[];
            panels: Array<{ targets?: Array<{ expr: string }> }>;
        };
        expect(model.tags).toEqual(
            expect.arrayContaining([`maestro:backlog-item=${EVIDENCE.id}`, `maestro:environment=${env}`]),
        );
        const exprs = model.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
        expect(exprs.length).toBeGreaterThan(0);
        for (const e of exprs) {
            expect(e).toContain('service="search"');
        }
    });

    it("accepts tighter targets and uses them", () => {
        const tighter = BUCKETS[BUCKETS.indexOf(READ.sli.thresholdSeconds) - 1];
        const objective = (1 + READ.objective) / 2;
        const plan = planServiceGuardrails(
            args(targets, (a) => (a.slos = [{ ...readSlo, thresholdSeconds: tighter, objective }])),
            "ws4",
        );
        expect(plan.slos[0]).toMatchObject({ objective, sli: { thresholdSeconds: tighter } });
        const recorded = plan.ruleSets[0].groups[0].rules.find(
            (r) => "record" in r && r.record === SLO_RECORD.thresholdSeconds,
        )!;
        expect(recorded.expr).toBe(`vector(${tighter})`);
    });

    it("refuses a looser threshold and a lower objective, naming the path and the allowed value", () => {
        const problems = refusal(
            args(
                targets,
                (a) =>
                    (a.slos = [
                        { ...readSlo, thresholdSeconds: BUCKETS[BUCKETS.length - 1], objective: READ.objective - 0.01 },
                    ]),
            ),
        );
        expect(problems).toEqual([
            expect.stringMatching(
                new RegExp(
                    `^/slos/0/thresholdSeconds: .* looser than the unified ${READ.id} threshold .*allowed: a number <= ${READ.sli.thresholdSeconds}$`,
                ),
            ),
            expect.stringMatching(
                new RegExp(
                    `^/slos/0/objective: .* looser than the unified ${READ.id} objective .*allowed: a number >= ${READ.objective} and < 1$`,
                ),
            ),
        ]);
    });
});

describe("the kit's refusals", () => {
    const targets = guardrailTargetsFromFile("prod");
    const cases: Array<
        [string, (a: { -readonly [K in keyof ServiceGuardrailsArgs]: ServiceGuardrailsArgs[K] }) => void, string]
    > = [
        [
            "an unknown SLO id",
            (a) => (a.slos = [{ ...readSlo, id: "api-typo-latency" }]),
            '/slos/0/id: unknown SLO id "api-typo-latency"; allowed: ',
        ],
        ["an SLO twice", (a) => (a.slos = [readSlo, readSlo]), `/slos/1/id: "${READ.id}" appears twice`],
        [
            "no bucket at the threshold",
            (a) => (a.slos = [{ ...readSlo, buckets: BUCKETS.filter((b) => b !== READ.sli.thresholdSeconds) }]),
            `/slos/0/buckets: no bucket at the ${READ.sli.thresholdSeconds} s threshold`,
        ],
        [
            "unsorted buckets",
            (a) => (a.slos = [{ ...readSlo, buckets: [...BUCKETS].reverse() }]),
            "/slos/0/buckets: allowed: the histogram's bucket bounds in seconds, positive and ascending",
        ],
        [
            "a series name instead of a histogram",
            (a) => (a.slos = [{ ...readSlo, metric: "search_request_duration_seconds_bucket" }]),
            "/slos/0/metric: ",
        ],
        [
            "a matcher on a label the recordings own",
            (a) => (a.slos = [{ ...readSlo, matchers: [{ label: "service", op: "=", value: "x" }] }]),
            '/slos/0/matchers/0/label: "service"; allowed: a Prometheus label name other than le, slo, env, service',
        ],
        [
            "a missing evidence hook",
            (a) => (a.evidence = { ...EVIDENCE, hooks: { ...EVIDENCE.hooks, tests: "" } }),
            "/evidence/hooks/tests: missing; every resource carries all four evidence hooks",
        ],
        [
            "a backlog id Kubernetes cannot label",
            (a) => (a.evidence = { ...EVIDENCE, id: "WS4 search" }),
            '/evidence/id: "WS4 search"; allowed: ',
        ],
        [
            "no rule location with file targets",
            (a) => (a.rules = undefined),
            "/rules: missing, and the targets (from a file) name no rule location",
        ],
        [
            "no Grafana folder with file targets",
            (a) => (a.grafana = undefined),
            "/grafana: missing, and the targets (from a file) name no Grafana folder",
        ],
        [
            "a service name that is not a label",
            (a) => (a.service = "Search_API"),
            '/service: "Search_API"; allowed: lower-case letters',
        ],
        [
            "a service name too long for a dashboard uid",
            (a) => (a.service = "a-very-long-service-name-indeed"),
            "longer than Grafana's 40 characters",
        ],
        ["no SLOs", (a) => (a.slos = []), "/slos: empty"],
    ];
    it.each(cases)("refuses %s", (_what, change, expected) => {
        expect(refusal(args(targets, change)).join("\n")).toContain(expected);
    });

    it("accepts a service name whose dashboard uid is exactly Grafana's 40 characters, and refuses one longer", () => {
        const targets = guardrailTargetsFromFile("prod");
        // maestro-svc-<service>-prod: 17 characters around the name.
        const longest = `s${"e".repeat(22)}`;
        expect(
            planServiceGuardrails(
                args(targets, (a) => (a.service = longest)),
                "ws4",
            ).dashboard.uid,
        ).toHaveLength(40);
        expect(refusal(args(targets, (a) => (a.service = `${longest}e`)))).toEqual([
            `/service: "${longest}e" makes the dashboard uid "maestro-svc-${longest}e-prod" longer than Grafana's 40 characters; allowed: a shorter name`,
        ]);
    });

    it("refuses an operator rule location with no ruleSelectorLabels", () => {
        const targets = guardrailTargetsFromFile("prod");
        expect(refusal(args(targets, (a) => (a.rules = { ...DESTINATIONS.rules, ruleSelectorLabels: {} })))).toEqual([
            "/rules/ruleSelectorLabels: empty, so no Prometheus ruleSelector would load the service's rules; allowed: at least one label the stack's Prometheus selects",
        ]);
    });

    it("refuses a bucket bound of 0 or a bound repeated, and accepts the smallest positive one", () => {
        const targets = guardrailTargetsFromFile("prod");
        const allowed = "/slos/0/buckets: allowed: the histogram's bucket bounds in seconds, positive and ascending";
        for (const buckets of [
            [0, ...BUCKETS],
            [BUCKETS[0], ...BUCKETS],
        ]) {
            expect(refusal(args(targets, (a) => (a.slos = [{ ...readSlo, buckets }])))).toEqual([allowed]);
        }
        const smallest = [Number.MIN_VALUE, ...BUCKETS];
        expect(
            planServiceGuardrails(
                args(targets, (a) => (a.slos = [{ ...readSlo, buckets: smallest }])),
                "ws4",
            ).slos,
        ).toHaveLength(1);
    });

    it("refuses, at the SLO's objective, a target so loose the page could never fire", () => {
        const [read, ...rest] = guardrails.slo.objectives;
        const loose = {
            ...guardrails,
            slo: { ...guardrails.slo, objectives: [{ ...read, objective: 0.75 }, ...rest] },
        };
        const targets = guardrailTargets(loose, "prod");
        // The dashboard then reads recordings no rule defines, which is reported too.
        expect(refusal(args(targets)).filter((p) => p.startsWith("/slos/"))).toEqual([
            `/slos/0/objective: SLO "${read.id}": objective 0.75 (guardrails/guardrails.yaml /slo/objectives, or ServiceGuardrails "search" (targets from guardrails model)) caps the burn rate at 4x, so ${SLO_ALERT_NAME.page} (5x) could never fire; allowed: an objective above 0.8`,
        ]);
    });

    it("refuses a matcher operator PromQL does not have, and a service name ending in a dash", () => {
        const targets = guardrailTargetsFromFile("prod");
        // What an untyped (JavaScript) program could pass.
        const op = "==" as string as MatchOp;
        expect(
            refusal(args(targets, (a) => (a.slos = [{ ...readSlo, matchers: [{ label: "team", op, value: "x" }] }]))),
        ).toEqual(['/slos/0/matchers/0/op: "=="; allowed: =, !=, =~, !~']);
        expect(refusal(args(targets, (a) => (a.service = "search-")))).toEqual([
            '/service: "search-"; allowed: lower-case letters, digits and dashes, starting with a letter',
        ]);
    });

    it("reports every problem at once", () => {
        const problems = refusal(
            args(targets, (a) => {
                a.owner = "";
                a.slos = [{ ...readSlo, id: "nope" }];
            }),
        );
        expect(problems.map((p) => p.split(":")[0])).toEqual(["/owner", "/slos/0/id"]);
    });

    it("refuses an empty owner with what is allowed", () => {
        expect(refusal(args(targets, (a) => (a.owner = "")))).toEqual([
            "/owner: missing; allowed: the accountable team's name",
        ]);
    });

    it("refuses an unknown SLO id with every unified id, and a series name with what a histogram's base name is", () => {
        expect(refusal(args(targets, (a) => (a.slos = [{ ...readSlo, id: "api-typo-latency" }])))).toEqual([
            `/slos/0/id: unknown SLO id "api-typo-latency"; allowed: ${guardrails.slo.objectives.map((u) => u.id).join(", ")}`,
        ]);
        expect(
            refusal(args(targets, (a) => (a.slos = [{ ...readSlo, metric: "search_request_duration_seconds_count" }]))),
        ).toEqual([
            '/slos/0/metric: "search_request_duration_seconds_count"; allowed: a histogram\'s base name (a Prometheus metric name without _bucket, _count or _sum)',
        ]);
    });

    it("accepts a histogram whose name has _sum, _count or _bucket inside it, not at its end", () => {
        for (const metric of ["search_summary_duration_seconds", "search_bucket_count_seconds"]) {
            expect(
                planServiceGuardrails(
                    args(targets, (a) => (a.slos = [{ ...readSlo, metric }])),
                    "ws4",
                ).slos[0].sli.metric,
            ).toBe(metric);
        }
    });

    it("refuses no bucket bounds at all, and a bound that is not a number, as bounds that are not ascending", () => {
        const allowed = "/slos/0/buckets: allowed: the histogram's bucket bounds in seconds, positive and ascending";
        expect(refusal(args(targets, (a) => (a.slos = [{ ...readSlo, buckets: [] }])))).toEqual([allowed]);
        // What an untyped (JavaScript) program could pass: a number's spelling, in its place among the bounds.
        const spelled = [String(BUCKETS[0]), ...BUCKETS.slice(1)] as unknown as number[];
        expect(refusal(args(targets, (a) => (a.slos = [{ ...readSlo, buckets: spelled }])))).toEqual([allowed]);
    });

    it("refuses rule selector labels Kubernetes cannot hold, naming the label, and accepts a value of 63 characters", () => {
        const value = `a${"b".repeat(61)}c`;
        expect(
            planServiceGuardrails(
                args(targets, (a) => (a.rules = { ...DESTINATIONS.rules, ruleSelectorLabels: { role: value } })),
                "ws4",
            ).rules,
        ).toEqual({ ...DESTINATIONS.rules, ruleSelectorLabels: { role: value } });
        const allowed = "allowed: a Kubernetes label value (letters, digits, '-', '_', '.', at most 63)";
        expect(
            refusal(
                args(
                    targets,
                    (a) =>
                        (a.rules = {
                            ...DESTINATIONS.rules,
                            ruleSelectorLabels: { role: "alert-rules", team: "search team", tier: `${value}d` },
                        }),
                ),
            ),
        ).toEqual([
            `/rules/ruleSelectorLabels/team: "search team"; ${allowed}`,
            `/rules/ruleSelectorLabels/tier: "${value}d"; ${allowed}`,
        ]);
    });

    it("refuses a target the rules cannot hold at the index of the SLO that has it", () => {
        const [read, ...rest] = guardrails.slo.objectives;
        const loose = guardrailTargets(
            { ...guardrails, slo: { ...guardrails.slo, objectives: [{ ...read, objective: 0.75 }, ...rest] } },
            "prod",
        );
        const write: ServiceSlo = { ...readSlo, id: rest[0].id, matchers: rest[0].sli.matchers };
        expect(refusal(args(loose, (a) => (a.slos = [write, readSlo]))).filter((p) => p.startsWith("/slos/"))).toEqual([
            `/slos/1/objective: SLO "${read.id}": objective 0.75 (guardrails/guardrails.yaml /slo/objectives, or ServiceGuardrails "search" (targets from guardrails model)) caps the burn rate at 4x, so ${SLO_ALERT_NAME.page} (5x) could never fire; allowed: an objective above 0.8`,
        ]);
    });
});

describe("the kit's evidence: an item of the service's own backlog, with exactly the hooks it declares", () => {
    const targets = guardrailTargetsFromFile("prod");
    const declared = (hook: keyof EvidenceItem["hooks"]) =>
        `${BACKLOG.file} item ${EVIDENCE.id} declares; allowed: ${JSON.stringify(EVIDENCE.hooks[hook])}`;
    const missing = (hook: string) =>
        `/evidence/hooks/${hook}: missing; every resource carries all four evidence hooks (logs, metrics, tests, provenance): a concrete reference`;
    /** The fixture backlog with more items, copies of its one item under other ids. */
    const backlogWith = (...ids: string[]): ServiceBacklog => {
        const doc = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "kit", "backlog.json"), "utf8")) as {
            items: Array<Record<string, unknown>>;
        };
        return serviceBacklog(
            { ...doc, items: [...doc.items, ...ids.map((id) => ({ ...doc.items[0], id }))] },
            "search/backlog.json",
        );
    };

    it("refuses a plan without a backlog", () => {
        expect(refusal(args(targets, (a) => (a.backlog = undefined as unknown as ServiceBacklog)))).toEqual([
            "/backlog: missing; allowed: loadServiceBacklog(<the service's backlog file>)",
        ]);
        // From plain JavaScript: null is as missing, not a crash.
        expect(refusal(args(targets, (a) => (a.backlog = null as unknown as ServiceBacklog)))).toEqual([
            "/backlog: missing; allowed: loadServiceBacklog(<the service's backlog file>)",
        ]);
    });

    it("refuses a backlog built by hand, even a copy of a validated one, and an item set on one after it was read", () => {
        const notValidated = [
            { file: "search/backlog.json", items: new Map([[EVIDENCE.id, EVIDENCE]]) },
            { ...BACKLOG },
            Object.create(BACKLOG) as ServiceBacklog,
        ];
        for (const backlog of notValidated) {
            expect(refusal(args(targets, (a) => (a.backlog = backlog)))).toEqual([
                "/backlog: not a backlog the kit validated (built by hand, it skips the schema); allowed: loadServiceBacklog(<the service's backlog file>)",
            ]);
        }
        const read = backlogWith();
        const invented = { id: "R2-SEARCH-INVENTED", hooks: { ...EVIDENCE.hooks, tests: "none" } };
        (read.items as Map<string, EvidenceItem>).set(invented.id, invented);
        expect(
            refusal(
                args(targets, (a) => {
                    a.backlog = read;
                    a.evidence = invented;
                }),
            ),
        ).toEqual([
            '/evidence/id: "R2-SEARCH-INVENTED" is not an item of search/backlog.json; allowed: R2-SEARCH-SLOS',
        ]);
        // The same backlog object, its items untouched, still plans.
        expect(
            planServiceGuardrails(
                args(targets, (a) => (a.backlog = read)),
                "ws4",
            ).dashboard.backlogItem,
        ).toBe(EVIDENCE.id);
    });

    it("refuses an item the backlog does not have, listing the ones it has, and accepts each one it has", () => {
        const backlog = backlogWith("R2-SEARCH-DASHBOARDS");
        expect(
            refusal(
                args(targets, (a) => {
                    a.backlog = backlog;
                    a.evidence = { ...EVIDENCE, id: "R2-SEARCH-TYPO" };
                }),
            ),
        ).toEqual([
            '/evidence/id: "R2-SEARCH-TYPO" is not an item of search/backlog.json; allowed: R2-SEARCH-SLOS, R2-SEARCH-DASHBOARDS',
        ]);
        for (const id of ["R2-SEARCH-SLOS", "R2-SEARCH-DASHBOARDS"]) {
            const plan = planServiceGuardrails(
                args(targets, (a) => {
                    a.backlog = backlog;
                    a.evidence = backlog.items.get(id)!;
                }),
                "ws4",
            );
            expect(plan.dashboard.backlogItem).toBe(id);
        }
    });

    it("refuses a hook other than the backlog item's, naming the hook, the file and the declared value", () => {
        expect(
            refusal(
                args(
                    targets,
                    (a) => (a.evidence = { ...EVIDENCE, hooks: { ...EVIDENCE.hooks, tests: "test/other.test.ts" } }),
                ),
            ),
        ).toEqual([`/evidence/hooks/tests: "test/other.test.ts" is not what ${declared("tests")}`]);
        // Not even the same reference spelled with a space more.
        expect(
            refusal(
                args(
                    targets,
                    (a) =>
                        (a.evidence = { ...EVIDENCE, hooks: { ...EVIDENCE.hooks, logs: ` ${EVIDENCE.hooks.logs}` } }),
                ),
            ),
        ).toEqual([`/evidence/hooks/logs: " ${EVIDENCE.hooks.logs}" is not what ${declared("logs")}`]);
    });

    it("refuses hooks that are missing, absent or blank as missing, and as not what the item declares", () => {
        // What an untyped (JavaScript) program could pass.
        const withoutTests = Object.fromEntries(Object.entries(EVIDENCE.hooks).filter(([h]) => h !== "tests"));
        expect(
            refusal(args(targets, (a) => (a.evidence = { ...EVIDENCE, hooks: withoutTests as EvidenceItem["hooks"] }))),
        ).toEqual([missing("tests"), `/evidence/hooks/tests: undefined is not what ${declared("tests")}`]);
        expect(
            refusal(args(targets, (a) => (a.evidence = { ...EVIDENCE, hooks: { ...EVIDENCE.hooks, metrics: " \t" } }))),
        ).toEqual([missing("metrics"), `/evidence/hooks/metrics: " \\t" is not what ${declared("metrics")}`]);
        expect(refusal(args(targets, (a) => (a.evidence = { id: EVIDENCE.id } as EvidenceItem)))).toEqual([
            ...EVIDENCE_HOOKS.map(missing),
            ...EVIDENCE_HOOKS.map((h) => `/evidence/hooks/${h}: undefined is not what ${declared(h)}`),
        ]);
    });

    it("refuses an item id without a value, or one Kubernetes cannot label (64 characters), and a backlog's longest (63) at its dashboard tag", () => {
        const allowed = "allowed: a backlog item id of letters, digits, '-', '_' and '.' (at most 63)";
        expect(
            refusal(args(targets, (a) => (a.evidence = { ...EVIDENCE, id: undefined as unknown as string }))),
        ).toEqual([
            `/evidence/id: undefined; ${allowed}`,
            `/evidence/id: undefined is not an item of ${BACKLOG.file}; allowed: ${EVIDENCE.id}`,
        ]);
        const longest = `R2-${"S".repeat(60)}`;
        const backlog = backlogWith(longest);
        expect(
            refusal(
                args(targets, (a) => {
                    a.backlog = backlog;
                    a.evidence = { ...EVIDENCE, id: `${longest}S` };
                }),
            ),
        ).toEqual([
            `/evidence/id: "${longest}S"; ${allowed}`,
            `/evidence/id: "${longest}S" is not an item of search/backlog.json; allowed: ${EVIDENCE.id}, ${longest}`,
        ]);
        // The id is a label value, but Grafana's dashboard tags hold 50 characters: maestro:backlog-item= and 29.
        expect(
            refusal(
                args(targets, (a) => {
                    a.backlog = backlog;
                    a.evidence = backlog.items.get(longest)!;
                }),
            ),
        ).toEqual([
            `/evidence: Grafana dashboard tags "maestro:backlog-item=${longest}" are over 50 characters, which Grafana refuses; shorten the value`,
        ]);
    });

    it("accepts an item id whose dashboard tag is exactly Grafana's 50 characters, and refuses one longer", () => {
        const fits = `R2-${"S".repeat(26)}`;
        const backlog = backlogWith(fits, `${fits}S`);
        const withItem = (id: string) =>
            args(targets, (a) => {
                a.backlog = backlog;
                a.evidence = backlog.items.get(id)!;
            });
        expect(JSON.parse(planServiceGuardrails(withItem(fits), "ws4").dashboardJson)).toMatchObject({
            tags: expect.arrayContaining([`maestro:backlog-item=${fits}`]) as unknown,
        });
        expect(refusal(withItem(`${fits}S`))).toEqual([
            `/evidence: Grafana dashboard tags "maestro:backlog-item=${fits}S" are over 50 characters, which Grafana refuses; shorten the value`,
        ]);
    });
});

describe("targets from a guardrails model", () => {
    it("are the model's SLOs for a known environment, and refuse an unknown one with the allowed list", () => {
        expect(guardrailTargets(guardrails, "dev").slos).toBe(guardrails.slo.objectives);
        expect(() => guardrailTargets(guardrails, "qa")).toThrow(
            `guardrails model: /environments: no environment "qa"; allowed: ${guardrails.environments.join(", ")}`,
        );
    });
});

describe("targets from stack outputs", () => {
    const outputs = (change: (o: Record<string, unknown>) => void = () => undefined) => {
        const o: Record<string, unknown> = JSON.parse(
            JSON.stringify({
                environment: "prod",
                guardrails,
                targets: { environment: "prod", slos: guardrails.slo.objectives },
                rules: { kind: "amp", workspaceId: "ws-123", objectNames: [] },
                grafana: {
                    folderUid: "maestro-conductor-prod",
                    prometheusDatasourceUid: "prometheus-prod",
                    dashboardUrls: { slo: "https://grafana.example/base/d/maestro-slo-prod" },
                },
            }),
        ) as Record<string, unknown>;
        change(o);
        return (name: string) => Promise.resolve(o[name]);
    };

    it("reads the environment, the effective SLOs and where rules and dashboards go", async () => {
        const t = await parseStackTargets("ref", outputs());
        expect(t).toMatchObject({
            environment: "prod",
            rules: { kind: "amp", workspaceId: "ws-123" },
            grafana: { folderUid: "maestro-conductor-prod", url: "https://grafana.example/base" },
        });
        expect(t.slos).toEqual(guardrails.slo.objectives);
    });

    it.each([
        [
            "a missing guardrails output",
            (o: Record<string, unknown>) => delete o.guardrails,
            'ref: output "guardrails": missing; allowed: the unified guardrails document',
        ],
        [
            "an environment the guardrails do not know",
            (o: Record<string, unknown>) => (o.environment = "qa"),
            'ref: output "environment": "qa" is not a guardrails environment; allowed: ',
        ],
        [
            "an SLO missing from the targets",
            (o: Record<string, unknown>) => (o.targets = { slos: guardrails.slo.objectives.slice(1) }),
            `has no entry for SLO "${READ.id}"`,
        ],
        [
            "a lower exported objective",
            (o: Record<string, unknown>) =>
                (o.targets = {
                    slos: [{ ...READ, objective: READ.objective / 2 }, ...guardrails.slo.objectives.slice(1)],
                }),
            'output "targets"/slos/0/objective: ',
        ],
        [
            "an unknown rule location",
            (o: Record<string, unknown>) => (o.rules = { kind: "thanos" }),
            'output "rules"/kind: is "thanos"; allowed: "prometheus-operator" or "amp"',
        ],
    ])("refuses %s", async (_what, change, expected) => {
        await expect(parseStackTargets("ref", outputs(change))).rejects.toThrow(expected);
    });

    /** Every problem a refused read of the outputs reports, as `path: message`. */
    const problemsOf = async (read: (name: string) => Promise<unknown>): Promise<string[]> => {
        const err: unknown = await parseStackTargets("ref", read).then(
            () => new Error("the outputs were not refused"),
            (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).problems.map((p) => `${p.path}: ${p.message}`);
    };
    const nonEmpty =
        "allowed: a non-empty string (deploy the maestro-guardrails stack first, or reference the right one)";

    it("refuses an environment output that is missing or empty, and reads a one-letter one as a name", async () => {
        expect(await problemsOf(outputs((o) => delete o.environment))).toEqual([
            `output "environment": missing; ${nonEmpty}`,
        ]);
        expect(await problemsOf(outputs((o) => (o.environment = "")))).toEqual([
            `output "environment": is ""; ${nonEmpty}`,
        ]);
        expect(await problemsOf(outputs((o) => (o.environment = "p")))).toEqual([
            `output "environment": "p" is not a guardrails environment; allowed: ${guardrails.environments.join(", ")}`,
        ]);
    });

    it("refuses exported guardrails that drop a guardrail SLO, naming the SLO", async () => {
        const [first] = guardrails.slo.objectives;
        const problems = await problemsOf(
            outputs((o) => {
                const g = o.guardrails as { slo: { objectives: unknown[] } };
                g.slo.objectives = g.slo.objectives.slice(1);
            }),
        );
        expect(problems).toContain(
            `output "guardrails"/slo/objectives: has no SLO "${first.id}"; the kit's guardrails (guardrails/guardrails.yaml) enforce it`,
        );
    });

    it("passes on an error that is not a validation problem while reading the guardrails output", async () => {
        const read = outputs((o) => {
            o.guardrails = Object.defineProperty({}, "slo", {
                enumerable: true,
                get: () => {
                    throw new TypeError("unreadable guardrails output");
                },
            });
        });
        await expect(parseStackTargets("ref", read)).rejects.toThrow(new TypeError("unreadable guardrails output"));
    });

    it("refuses effective targets that are missing, name an unknown SLO, or lack a number", async () => {
        expect(await problemsOf(outputs((o) => delete o.targets))).toEqual([
            'output "targets"/slos: missing; allowed: the list of effective SLOs the stack exports',
        ]);
        const [first, ...rest] = guardrails.slo.objectives;
        const typo = await problemsOf(outputs((o) => (o.targets = { slos: [...rest, { ...first, id: "api-typo" }] })));
        expect(typo).toEqual([
            `output "targets"/slos/${rest.length}/id: unknown SLO id "api-typo"; allowed: ${guardrails.slo.objectives.map((u) => u.id).join(", ")}`,
            `output "targets"/slos: has no entry for SLO "${first.id}"; every guardrail SLO is enforced in every environment`,
        ]);
        const noObjective = { ...first, objective: undefined };
        expect(await problemsOf(outputs((o) => (o.targets = { slos: [noObjective, ...rest] })))).toEqual([
            'output "targets"/slos/0: needs sli.thresholdSeconds and objective as numbers',
        ]);
    });

    it("refuses an effective objective of 1 (no error budget), and accepts one just under it", async () => {
        const [first, ...rest] = guardrails.slo.objectives;
        expect(await problemsOf(outputs((o) => (o.targets = { slos: [{ ...first, objective: 1 }, ...rest] })))).toEqual(
            [
                `output "targets"/slos/0/objective: 1 is looser than the unified ${first.id} objective (${first.objective}, the kit's guardrails, guardrails/guardrails.yaml); allowed: a number >= ${first.objective} and < 1`,
            ],
        );
        const t = await parseStackTargets(
            "ref",
            outputs((o) => (o.targets = { slos: [{ ...first, objective: 0.9999 }, ...rest] })),
        );
        expect(t.slos[0].objective).toBe(0.9999);
    });

    it("refuses a Prometheus Operator location without a namespace or with ruleSelectorLabels no Prometheus can select", async () => {
        const operator = (change: Record<string, unknown>) =>
            outputs(
                (o) =>
                    (o.rules = {
                        kind: "prometheus-operator",
                        namespace: "monitoring",
                        ruleSelectorLabels: { role: "alert-rules" },
                        ...change,
                    }),
            );
        const labelsAllowed =
            "allowed: the non-empty string labels the Prometheus ruleSelector matches (at least one: without them no Prometheus loads the rules)";
        expect((await parseStackTargets("ref", operator({}))).rules).toEqual({
            kind: "prometheus-operator",
            namespace: "monitoring",
            ruleSelectorLabels: { role: "alert-rules" },
        });
        expect(await problemsOf(operator({ namespace: "" }))).toEqual([
            'output "rules"/namespace: missing; allowed: the namespace the stack\'s PrometheusRule objects live in',
        ]);
        for (const labels of [{}, null, { role: "alert-rules", team: "" }, { role: "alert-rules", tier: 1 }]) {
            expect(await problemsOf(operator({ ruleSelectorLabels: labels }))).toEqual([
                `output "rules"/ruleSelectorLabels: is ${JSON.stringify(labels)}; ${labelsAllowed}`,
            ]);
        }
    });

    it("refuses exported guardrails the schema refuses, naming the reference and the output", async () => {
        const [first] = guardrails.slo.objectives;
        const n = guardrails.slo.objectives.length;
        const err: unknown = await parseStackTargets(
            "ref",
            outputs((o) => {
                const g = o.guardrails as { slo: { objectives: unknown[] } };
                g.slo.objectives.push({ ...first });
            }),
        ).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).message).toBe(
            `ref output "guardrails": /slo/objectives/${n}/id: duplicate SLO id "${first.id}"; ids must be unique`,
        );
    });

    it("refuses exported guardrails looser than the kit's, at the output's path and against the kit's file", async () => {
        const [, second] = guardrails.slo.objectives;
        const looser = await problemsOf(
            outputs((o) => {
                const g = o.guardrails as { slo: { objectives: SloObjective[] } };
                g.slo.objectives[1] = {
                    ...second,
                    objective: 0.9,
                    sli: { ...second.sli, thresholdSeconds: second.sli.thresholdSeconds * 2 },
                };
            }),
        );
        expect(looser).toEqual([
            `output "guardrails"/slo/objectives/1/sli/thresholdSeconds: ${second.sli.thresholdSeconds * 2} s is looser than the unified ${second.id} threshold (${second.sli.thresholdSeconds} s, the kit's guardrails, guardrails/guardrails.yaml); allowed: a number <= ${second.sli.thresholdSeconds}`,
            `output "guardrails"/slo/objectives/1/objective: 0.9 is looser than the unified ${second.id} objective (${second.objective}, the kit's guardrails, guardrails/guardrails.yaml); allowed: a number >= ${second.objective} and < 1`,
        ]);
    });

    it("refuses an effective threshold looser than the kit's, at its path", async () => {
        const [first, ...rest] = guardrails.slo.objectives;
        const slower = { ...first, sli: { ...first.sli, thresholdSeconds: first.sli.thresholdSeconds + 0.05 } };
        expect(await problemsOf(outputs((o) => (o.targets = { slos: [slower, ...rest] })))).toEqual([
            `output "targets"/slos/0/sli/thresholdSeconds: ${slower.sli.thresholdSeconds} s is looser than the unified ${first.id} threshold (${first.sli.thresholdSeconds} s, the kit's guardrails, guardrails/guardrails.yaml); allowed: a number <= ${first.sli.thresholdSeconds}`,
        ]);
    });

    it("checks the effective targets against the kit's guardrails even when the guardrails output is missing", async () => {
        const [first, ...rest] = guardrails.slo.objectives;
        expect(
            await problemsOf(
                outputs((o) => {
                    delete o.guardrails;
                    o.targets = { slos: [{ ...first, objective: 0.9 }, ...rest] };
                }),
            ),
        ).toEqual([
            'output "guardrails": missing; allowed: the unified guardrails document the stack exports',
            `output "targets"/slos/0/objective: 0.9 is looser than the unified ${first.id} objective (${first.objective}, the kit's guardrails, guardrails/guardrails.yaml); allowed: a number >= ${first.objective} and < 1`,
        ]);
    });

    it("refuses a missing Grafana output, naming each field it needs", async () => {
        expect(await problemsOf(outputs((o) => delete o.grafana))).toEqual([
            `output "grafana"/folderUid: missing; ${nonEmpty}`,
            `output "grafana"/prometheusDatasourceUid: missing; ${nonEmpty}`,
        ]);
    });

    it("refuses an AMP location with an empty workspace id", async () => {
        expect(await problemsOf(outputs((o) => (o.rules = { kind: "amp", workspaceId: "" })))).toEqual([
            'output "rules"/workspaceId: missing; allowed: the AMP workspace id the stack\'s rules live in',
        ]);
    });

    it("reads the outputs through a StackReference to the deployed stack", async () => {
        const ref = "acme/maestro-guardrails/prod";
        const stackOutputs = {
            environment: "prod",
            guardrails,
            targets: { environment: "prod", slos: guardrails.slo.objectives },
            rules: { kind: "amp", workspaceId: "ws-123", objectNames: [] },
            grafana: { folderUid: "maestro-conductor-prod", prometheusDatasourceUid: "prometheus-prod" },
        };
        const run = await runWithMocks({
            stack: "prod",
            project: "search",
            config: { values: {}, secretKeys: [] },
            stackReferences: { [ref]: JSON.parse(JSON.stringify(stackOutputs)) as Record<string, unknown> },
            program: async () => {
                const t = await guardrailTargetsFromStack(ref);
                return {
                    source: t.source,
                    environment: t.environment,
                    workspace: t.rules?.kind === "amp" ? t.rules.workspaceId : "",
                };
            },
        });
        expect(run.outputs).toMatchObject({
            source: `stack reference ${ref}`,
            environment: "prod",
            workspace: "ws-123",
        });
    });

    it("knows Grafana's base only from a dashboard page under /d/", async () => {
        const t = await parseStackTargets(
            "ref",
            outputs(
                (o) =>
                    ((o.grafana as { dashboardUrls: { slo: string } }).dashboardUrls.slo = "https://grafana.example/x"),
            ),
        );
        expect(t.grafana).toEqual({
            folderUid: "maestro-conductor-prod",
            prometheusDatasourceUid: "prometheus-prod",
            url: undefined,
        });
    });
});

describe("the buckets the kit recommends for an SLO's histogram", () => {
    it("are the instrumentation requirements of that SLO's metric, and an unknown SLO id is refused with the known ones", () => {
        const targets = guardrailTargetsFromFile("prod");
        const last = targets.slos[targets.slos.length - 1];
        const requirement = histogramRequirements(
            guardrails,
            targets.slos.map((s) => s.sli),
        ).find((h) => h.metric === last.sli.metric)!;
        expect(recommendedBuckets(targets, last.id)).toEqual([...requirement.recommendedBuckets]);
        expect(recommendedBuckets(targets, last.id)).toContain(last.sli.thresholdSeconds);
        expect(() => recommendedBuckets(targets, "api-typo")).toThrow(
            `unknown SLO id "api-typo" (guardrails/guardrails.yaml); allowed: ${targets.slos.map((s) => s.id).join(", ")}`,
        );
    });
});

describe("ServiceGuardrails under mocks", () => {
    const provision = async (a: ServiceGuardrailsArgs) => {
        const record: RegisteredResource[] = [];
        const run = await runWithMocks({
            stack: "prod",
            project: "search",
            config: { values: {}, secretKeys: [] },
            record,
            program: () => ({ names: new ServiceGuardrails("search", a).ruleObjectNames }),
        }).then(
            () => undefined,
            (e: unknown) => e as Error,
        );
        return { error: run, resources: record };
    };

    it("writes AMP rule group namespaces, tagged with the service's evidence, into the given workspace", async () => {
        const { error, resources } = await provision(
            args(guardrailTargetsFromFile("prod"), (a) => (a.rules = { kind: "amp", workspaceId: "ws-123" })),
        );
        expect(error).toBeUndefined();
        const kit = resources.find((r) => r.type === "maestro:kit:ServiceGuardrails")!;
        const namespaces = resources.filter((r) => r.type === "aws:amp/ruleGroupNamespace:RuleGroupNamespace");
        expect(namespaces.map((n) => n.inputs.name).sort()).toEqual([
            `maestro-search-slo-${READ.id}-prod`,
            "maestro-search-telemetry-gaps-prod",
        ]);
        for (const n of namespaces) {
            expect(n.parent).toBe(kit.urn);
            expect(n.inputs.workspaceId).toBe("ws-123");
            expect(n.inputs.tags).toMatchObject({
                "maestro:backlog-item": EVIDENCE.id,
                "maestro:owner": "workstream-4",
                "maestro:evidence-tests": EVIDENCE.hooks.tests,
            });
            expect((yaml.load(n.inputs.data as string) as { groups: unknown[] }).groups).toHaveLength(1);
        }
        const dashboard = resources.find((r) => r.type === "grafana:oss/dashboard:Dashboard")!;
        expect(dashboard.parent).toBe(kit.urn);
    });

    it("registers no child when constructed with a looser target", async () => {
        const { error, resources } = await provision(
            args(guardrailTargetsFromFile("prod"), (a) => (a.slos = [{ ...readSlo, objective: READ.objective / 2 }])),
        );
        expect(error?.message).toContain("/slos/0/objective");
        expect(
            resources.filter(
                (r) => r.parent && !r.type.startsWith("pulumi:") && r.type !== "maestro:kit:ServiceGuardrails",
            ),
        ).toEqual([]);
    });
});

describe("the kit's rules hold on real traffic, as the stack's do", () => {
    // A unified SLO whose threshold a service can tighten to a whole number of seconds (the kit accepts tighter).
    const unified = guardrails.slo.objectives.find((o) => Math.floor(o.sli.thresholdSeconds) >= 1)!;
    const whole = Math.floor(unified.sli.thresholdSeconds);
    const service: ServiceSlo = {
        id: unified.id,
        metric: "search_graph_duration_seconds",
        matchers: unified.sli.matchers,
        buckets: [...new Set([...BUCKETS, whole])].sort((a, b) => a - b),
        thresholdSeconds: whole,
    };
    const plan = planServiceGuardrails(
        args(guardrailTargetsFromFile("prod"), (a) => (a.slos = [service])),
        "ws4",
    );
    const rules = plan.ruleSets.flatMap((s) => s.groups.flatMap((g) => g.rules));

    it("select an integer threshold's bucket in both spellings (client `1`, Prometheus 3 `1.0`), SLO and telemetry rules alike", () => {
        const buckets = rules.flatMap((r) =>
            [...r.expr.matchAll(/search_graph_duration_seconds_bucket\{([^}]*)\}/g)].map((m) => m[1]),
        );
        // Window ratios, the slow-request rate, the two gates, the bucket-missing alert (the p95 reads every bucket).
        expect(buckets.filter((b) => b.includes("le")).length).toBeGreaterThanOrEqual(6);
        for (const b of buckets.filter((x) => x.includes("le"))) {
            expect(b).toContain(`le=~${JSON.stringify(`${whole}|${whole}\\.0`)}`);
        }
        const missing = rules.find((r) => isAlertingRule(r) && r.alert === "MaestroSLIThresholdBucketMissing")!;
        expect(missing.expr).toContain(`le=~${JSON.stringify(`${whole}|${whole}\\.0`)}`);
    });

    it("gate pages and tickets on more than the guardrails' number of slow requests", () => {
        const gate = `>= ${guardrails.slo.maxSlowRequestsWithoutAlert + 1}`;
        for (const alert of [SLO_ALERT_NAME.page, SLO_ALERT_NAME.ticket]) {
            const rule = rules.find((r) => isAlertingRule(r) && r.alert === alert)!;
            expect(rule.expr).toContain("and on ()\n  sum(increase(search_graph_duration_seconds_count{");
            expect(rule.expr).toContain(gate);
        }
    });

    it("count the service's period budget by its traffic, and its object names carry the environment", () => {
        const period = rules.find(
            (r) => !isAlertingRule(r) && r.record === SLO_RECORD.errorRatio(sloPeriodWindow(guardrails)),
        )!;
        expect(period.expr).toContain(
            `sum_over_time(${SLO_RECORD.slowRequestRate}{slo="${unified.id}",env="prod",service="search"}`,
        );
        expect(period.expr).toContain("or on () vector(0)");
        expect(plan.ruleSets.map((s) => s.name)).toEqual([
            `maestro-search-slo-${unified.id}-prod`,
            "maestro-search-telemetry-gaps-prod",
        ]);
    });
});

describe("promtool: a service's rules beside the stack's", () => {
    it("share recording names, never a series: a slow service pages with its label, the stack's own budget stays whole", () => {
        const config = shippedStackConfig("prod");
        const stackSet = buildRuleSets(config, guardrails).find((s) => s.name === `maestro-slo-${READ.id}-prod`)!;
        const plan = planServiceGuardrails(args(guardrailTargetsFromFile("prod")), "ws4");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-kit-"));
        fs.writeFileSync(path.join(dir, "stack.yml"), renderRuleFile(stackSet.groups));
        fs.writeFileSync(path.join(dir, "service.yml"), renderRuleFile(plan.ruleSets[0].groups));
        const [serviceSli] = plan.slos.map((s) => s.sli);
        // Only the service's page: the stack's own SLI is healthy.
        const page = plan.ruleSets[0].groups[0].rules
            .filter(isAlertingRule)
            .find((r) => r.alert === SLO_ALERT_NAME.page)!;
        const own = (selector: string) => `${selector}{slo="${READ.id}",env="prod"}`;
        const test = {
            rule_files: ["stack.yml", "service.yml"],
            evaluation_interval: "1m",
            tests: [
                {
                    interval: "1m",
                    input_series: [
                        ...sliHistogram(READ.sli, [{ minutes: 60, badShare: 0 }]),
                        ...sliHistogram(serviceSli, [{ minutes: 60, badShare: 1 }]),
                    ],
                    alert_rule_test: [
                        {
                            alertname: SLO_ALERT_NAME.page,
                            eval_time: "20m",
                            // Every request of the service slow: the long window's slow share is 1.
                            exp_alerts: [
                                {
                                    exp_labels: { ...page.labels },
                                    exp_annotations: renderAnnotations(page.annotations, 1),
                                },
                            ],
                        },
                    ],
                    promql_expr_test: [
                        {
                            expr: own(SLO_RECORD.errorRatio("5m")),
                            eval_time: "20m",
                            exp_samples: [
                                { labels: `${SLO_RECORD.errorRatio("5m")}{slo="${READ.id}",env="prod"}`, value: 0 },
                                {
                                    labels: `${SLO_RECORD.errorRatio("5m")}{slo="${READ.id}",env="prod",service="search"}`,
                                    value: 1,
                                },
                            ],
                        },
                        {
                            expr: `${SLO_RECORD.errorBudgetRemaining}{slo="${READ.id}",service=""}`,
                            eval_time: "20m",
                            exp_samples: [
                                { labels: `${SLO_RECORD.errorBudgetRemaining}{slo="${READ.id}",env="prod"}`, value: 1 },
                            ],
                        },
                    ],
                },
            ],
        };
        fs.writeFileSync(path.join(dir, "test.yml"), yaml.dump(test, { lineWidth: -1 }));
        const check = promtool(["check", "rules", "service.yml"], dir);
        expect(check.status === 0 ? "" : check.stdout + check.stderr).toBe("");
        const r = promtool(["test", "rules", "test.yml"], dir);
        expect(r.status === 0 ? "" : r.stdout + r.stderr).toBe("");
    });
});

describe("the package a downstream program installs", () => {
    it("ships the compiled kit with its declarations and the data it reads at run time, and nothing local", () => {
        // What `npm pack` (and so a git or tarball install) puts in the package; scripts skipped: npm test built bin/.
        const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
            cwd: repoRoot,
            encoding: "utf8",
        });
        expect(r.status).toBe(0);
        const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path);
        const exported = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
            exports: Record<string, { types: string; default: string } | string>;
        };
        const kit = exported.exports["./kit"] as { types: string; default: string };
        expect(files).toEqual(expect.arrayContaining([kit.types, kit.default].map((p) => p.replace(/^\.\//, ""))));
        // lib/validation finds the package root by Pulumi.yaml; the kit validates against the guardrails and Grafana schemas.
        expect(files).toEqual(
            expect.arrayContaining([
                "Pulumi.yaml",
                "guardrails/guardrails.yaml",
                "guardrails/guardrails.schema.json",
                "dashboards/schema/dashboard.jsonschema.json",
            ]),
        );
        expect(
            files.filter(
                (f) => /^(out|test|test-artifacts|node_modules|policies)\//.test(f) || f.endsWith(".tsbuildinfo"),
            ),
        ).toEqual([]);
    });
});
