import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    BACKLOG_ITEM,
    CADENCE_METRIC,
    COST_METRIC,
    COST_RECORD,
    EVIDENCE_HOOKS,
    SLO_RECORD,
} from "../core/conventions";
import { Guardrails, parseGuardrails } from "../core/guardrails";
import { Problem, ValidationError, formatProblem, repoRoot } from "../core/validation";
import {
    GOVERNANCE_DIR,
    GOVERNANCE_FILES,
    Governance,
    RaciLetter,
    crossCheck,
    evidenceResolver,
    guardrailCatalog,
    loadGovernance,
    requiredSignoffs,
    validateGovernance,
} from "../governance";
import { guardrails, STACKS, stackFileDoc, runScript } from "./helpers";

const FIXTURES = path.join(repoRoot, "test", "fixtures", "governance");

type Mutable<T> = { -readonly [K in keyof T]: Mutable<T[K]> };

// Loaded in each test (not while the file loads), so mutation testing sees which tests reach which governance code.
let shipped: Governance;
beforeEach(() => {
    shipped = loadGovernance();
});

/**
 * A root holding every test file the shipped hooks name, so each fixture below isolates its one broken thing from
 * whether other suites exist yet (the shipped-data test checks the real files). Read as plain JSON: the loader is
 * what the tests exercise.
 */
const hookRoot = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-hook-root-"));
const backlogDoc = JSON.parse(fs.readFileSync(path.join(GOVERNANCE_DIR, "backlog.json"), "utf8")) as {
    items: { hooks: { tests: string } }[];
};
for (const item of backlogDoc.items) {
    fs.mkdirSync(path.dirname(path.join(hookRoot, item.hooks.tests)), { recursive: true });
    fs.writeFileSync(path.join(hookRoot, item.hooks.tests), "");
}

/** Cross-check problems of the shipped data with one change applied to a deep copy. */
function problemsAfter(change: (g: Mutable<Governance>) => void, rails: Guardrails = guardrails): Problem[] {
    const copy = JSON.parse(JSON.stringify(shipped)) as Mutable<Governance>;
    change(copy);
    return crossCheck(copy, rails, { root: hookRoot });
}

/** A deep copy of the shipped guardrails with one change (values derived, never typed). */
function guardrailsWith(change: (g: Mutable<Guardrails>) => void): Guardrails {
    const copy = JSON.parse(JSON.stringify(guardrails)) as Mutable<Guardrails>;
    change(copy);
    return copy;
}

const itemIndex = (id: string) => shipped.items.findIndex((x) => x.id === id);
const milestoneIndex = (id: string) => shipped.milestones.findIndex((x) => x.id === id);
const raciIndex = (milestone: string) => shipped.raci.findIndex((x) => x.milestone === milestone);
const prodRelease = (release: string) =>
    shipped.milestones.find((m) => m.release === release && m.environment === "prod")!;
const addDays = (date: string, days: number) =>
    new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
const text = (problems: readonly Problem[]) => problems.map(formatProblem).join("\n");

/** A temporary governance folder: the shipped files, with some replaced. */
function governanceDir(replace: Partial<Record<(typeof GOVERNANCE_FILES)[number], string>> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-governance-"));
    for (const name of GOVERNANCE_FILES) {
        fs.copyFileSync(replace[name] ?? path.join(GOVERNANCE_DIR, `${name}.json`), path.join(dir, `${name}.json`));
    }
    return dir;
}

describe("the shipped governance data", () => {
    it("passes its schemas and every cross-reference rule against the guardrails file", () => {
        expect(text(validateGovernance())).toBe("");
    });

    it("holds every backlog item the stack's components serve, each with all four hooks", () => {
        const resolve = evidenceResolver(shipped);
        for (const id of Object.values(BACKLOG_ITEM)) {
            const item = resolve(id);
            expect(item.id).toBe(id);
            for (const hook of EVIDENCE_HOOKS) {
                expect(item.hooks[hook]).toMatch(/\S/);
            }
            expect(item.hooks.tests).toMatch(/^test\/.+\.test\.ts$/);
        }
    });

    it("points the metric hooks of the stack's items at the metric names of core/conventions.ts", () => {
        const metric = (id: string) => evidenceResolver(shipped)(id).hooks.metrics;
        expect(metric(BACKLOG_ITEM.sloRules)).toBe(SLO_RECORD.errorBudgetRemaining);
        expect(metric(BACKLOG_ITEM.telemetryGapAlerts)).toBe(SLO_RECORD.requestRate);
        expect(metric(BACKLOG_ITEM.costAlerts)).toBe(COST_RECORD.monthEndForecast);
        expect(metric(BACKLOG_ITEM.costBudgets)).toBe(COST_RECORD.budget);
        expect(metric(BACKLOG_ITEM.cadenceAlerts)).toBe(CADENCE_METRIC.lastCut);
        expect(metric(BACKLOG_ITEM.sloDashboard)).toBe(SLO_RECORD.latencyP95);
        expect(metric(BACKLOG_ITEM.costDashboard)).toBe(COST_METRIC.monthToDate);
    });

    it("tracks the seed's five risks, each with an owner and a mitigation", () => {
        expect(shipped.risks).toHaveLength(5);
        expect(shipped.risks.map((r) => r.impact).sort()).toEqual(["High", "Low", "Medium", "Medium", "Medium"]);
        for (const r of shipped.risks) {
            expect(shipped.roles.map((x) => x.name)).toContain(r.owner);
            expect(r.mitigatedBy.length).toBeGreaterThan(0);
        }
    });

    it("plans two releases, each with weekly staging cuts and one production release, every milestone with a vX.Y.Z tag", () => {
        expect(shipped.releases.map((r) => r.id)).toEqual(["R1", "R2"]);
        for (const r of shipped.releases) {
            expect(
                shipped.milestones.filter((m) => m.release === r.id && m.environment === "staging").length,
            ).toBeGreaterThanOrEqual(2);
            expect(shipped.milestones.filter((m) => m.release === r.id && m.environment === "prod")).toHaveLength(1);
        }
        for (const m of shipped.milestones) {
            expect(m.tag).toMatch(new RegExp(guardrails.cadence.tagPattern));
        }
    });
});

describe("evidenceResolver", () => {
    it("returns an item's id and hooks", () => {
        const item = shipped.items[0];
        expect(evidenceResolver(shipped)(item.id)).toEqual({ id: item.id, hooks: item.hooks });
    });

    it("refuses an unknown id, naming the backlog file and every known id", () => {
        expect(() => evidenceResolver(shipped)("R9-NOPE")).toThrow(ValidationError);
        expect(() => evidenceResolver(shipped)("R9-NOPE")).toThrow(
            `governance/backlog.json: /items: no backlog item "R9-NOPE"; a component's backlogItem must be one of: ${shipped.items.map((x) => x.id).join(", ")}`,
        );
    });
});

describe("requiredSignoffs", () => {
    it.each(STACKS)("covers the release tag %s deploys, including the milestone's Accountable role", (stack) => {
        const tag = stackFileDoc(stack).config["maestro-guardrails:releaseTag"] as string | undefined;
        if (tag === undefined) {
            // A stack without a tag is not a release; no milestone may plan one there.
            expect(shipped.milestones.filter((m) => m.environment === stack)).toEqual([]);
            return;
        }
        const milestone = shipped.milestones.find((m) => m.tag === tag && m.environment === stack)!;
        const accountable = Object.entries(shipped.raci.find((r) => r.milestone === milestone.id)!.assignments).find(
            ([, l]) => l === "A",
        )![0];
        const roles = requiredSignoffs(shipped, tag, stack);
        expect(roles).toEqual(milestone.signoffs);
        expect(roles).toContain(accountable);
    });

    it("makes Release 1's production release the tag the prod stack deploys", () => {
        expect(prodRelease("R1").tag).toBe(stackFileDoc("prod").config["maestro-guardrails:releaseTag"]);
    });

    it("needs more sign-offs for a production release than for a staging cut", () => {
        const tag = prodRelease("R1").tag;
        expect(requiredSignoffs(shipped, tag, "prod").length).toBeGreaterThan(
            requiredSignoffs(shipped, tag, "staging").length,
        );
    });

    it("refuses a tag no milestone ships, naming the planned ones", () => {
        expect(() => requiredSignoffs(shipped, "v99.0.0", "prod")).toThrow(
            new ValidationError([
                {
                    file: "governance/milestones.json",
                    path: "/milestones",
                    message: `no milestone ships v99.0.0 to prod; planned for prod: ${shipped.milestones
                        .filter((m) => m.environment === "prod")
                        .map((m) => `${m.tag} (${m.id})`)
                        .join(", ")}`,
                },
            ]),
        );
    });

    it("refuses an environment no milestone ships to, saying none is planned", () => {
        expect(() => requiredSignoffs(shipped, prodRelease("R1").tag, "dev")).toThrow(
            `governance/milestones.json: /milestones: no milestone ships ${prodRelease("R1").tag} to dev; planned for dev: (none)`,
        );
    });
});

describe("schema validation of the files", () => {
    it("names the file, the JSON path and the allowed value for each problem, across the whole file", () => {
        try {
            loadGovernance(governanceDir({ backlog: path.join(FIXTURES, "backlog-schema-errors.json") }));
            throw new Error("expected the broken backlog to be refused");
        } catch (err) {
            expect(err).toBeInstanceOf(ValidationError);
            const message = (err as Error).message;
            expect(message).toMatch(
                /backlog\.json: \/items\/0\/status: must be one of "planned", "in-progress", "done", "blocked"/,
            );
            expect(message).toMatch(/backlog\.json: \/items\/0\/hooks: missing required key "tests"/);
            expect(message).toMatch(/backlog\.json: \/items\/0\/hooks\/provenance: must match pattern/);
            expect(message).toMatch(/backlog\.json: \/items\/0: unknown key "priority"; allowed keys: id, title/);
        }
    });

    it("passes on an error that is not a validation problem, such as a folder where a file should be", () => {
        const dir = governanceDir();
        fs.unlinkSync(path.join(dir, "risks.json"));
        fs.mkdirSync(path.join(dir, "risks.json"));
        expect(() => loadGovernance(dir)).toThrow(/EISDIR/);
    });

    it("checks every file before throwing: a broken backlog and a missing risks file in one error", () => {
        const dir = governanceDir({ backlog: path.join(FIXTURES, "backlog-schema-errors.json") });
        fs.unlinkSync(path.join(dir, "risks.json"));
        let caught: unknown;
        try {
            loadGovernance(dir);
        } catch (err) {
            caught = err;
        }
        expect(caught).toBeInstanceOf(ValidationError);
        const problems = (caught as ValidationError).problems;
        expect(problems.map((p) => [path.basename(p.file), p.path])).toEqual([
            ["backlog.json", "/items/0"],
            ["backlog.json", "/items/0/status"],
            ["backlog.json", "/items/0/hooks"],
            ["backlog.json", "/items/0/hooks/provenance"],
            ["risks.json", ""],
        ]);
        expect(problems[4].message).toBe(
            "missing; the governance folder needs backlog.json, raci.json, risks.json, milestones.json",
        );
    });

    it("validateGovernance returns the schema problems of a broken folder instead of throwing", () => {
        const dir = governanceDir({ backlog: path.join(FIXTURES, "backlog-schema-errors.json") });
        const problems = validateGovernance(dir);
        expect(problems.map((p) => [path.basename(p.file), p.path])).toEqual([
            ["backlog.json", "/items/0"],
            ["backlog.json", "/items/0/status"],
            ["backlog.json", "/items/0/hooks"],
            ["backlog.json", "/items/0/hooks/provenance"],
        ]);
        expect(problems[1].message).toBe('must be one of "planned", "in-progress", "done", "blocked"');
    });

    it("names a missing file", () => {
        const dir = governanceDir();
        fs.unlinkSync(path.join(dir, "risks.json"));
        expect(() => loadGovernance(dir)).toThrow(
            /risks\.json: \/: missing; the governance folder needs backlog\.json, raci\.json, risks\.json, milestones\.json/,
        );
    });
});

describe("cross-reference rules, one broken thing per fixture", () => {
    it("finds nothing in the unbroken copy (so each problem below comes from its one change)", () => {
        expect(text(problemsAfter(() => undefined))).toBe("");
    });

    describe("every risk's mitigation points to existing backlog items", () => {
        it("flags a mitigation naming an unknown item", () => {
            const problems = problemsAfter((g) => {
                g.risks[0].mitigatedBy.push("R1-DOES-NOT-EXIST");
            });
            const at = shipped.risks[0].mitigatedBy.length;
            expect(text(problems)).toBe(
                `governance/risks.json: /risks/0/mitigatedBy/${at}: mitigation of "${shipped.risks[0].id}" points to unknown backlog item "R1-DOES-NOT-EXIST"; it must name an item of governance/backlog.json`,
            );
        });
    });

    describe("every milestone has exactly one Accountable", () => {
        const m = "R1-PROD-RELEASE";
        /** The milestone's first role holding `from` given `to` instead. */
        const reassign = (g: Mutable<Governance>, from: RaciLetter, to: RaciLetter) => {
            const row = g.raci[raciIndex(m)].assignments;
            row[Object.keys(row).find((r) => row[r] === from)!] = to;
        };

        it("flags a second Accountable, naming both", () => {
            const row = shipped.raci[raciIndex(m)].assignments;
            const first = Object.keys(row).find((r) => row[r] === "A")!;
            const second = Object.keys(row).find((r) => row[r] === "R")!;
            const problems = problemsAfter((g) => reassign(g, "R", "A"));
            expect(text(problems)).toBe(
                `governance/raci.json: /matrix/${raciIndex(m)}/assignments: milestone "${m}" has 2 Accountable roles (${first}, ${second}); exactly one role must be "A"`,
            );
        });

        it("flags a milestone with no Accountable, and only that (no Accountable to ask a sign-off of)", () => {
            const problems = problemsAfter((g) => reassign(g, "A", "C"));
            expect(text(problems)).toBe(
                `governance/raci.json: /matrix/${raciIndex(m)}/assignments: milestone "${m}" has 0 Accountable roles; exactly one role must be "A"`,
            );
        });

        it("flags a milestone with no Responsible role", () => {
            const problems = problemsAfter((g) => {
                const row = g.raci[raciIndex(m)].assignments;
                for (const r of Object.keys(row).filter((x) => row[x] === "R")) {
                    row[r] = "C";
                }
            });
            expect(text(problems)).toBe(
                `governance/raci.json: /matrix/${raciIndex(m)}/assignments: milestone "${m}" has no Responsible role; at least one role must be "R"`,
            );
        });

        it("takes one Responsible role among the other letters as enough", () => {
            const row = shipped.raci[raciIndex(m)].assignments;
            const responsible = Object.keys(row).filter((r) => row[r] === "R");
            expect(responsible.length).toBeGreaterThan(1);
            const problems = problemsAfter((g) => {
                for (const r of responsible.slice(1)) {
                    g.raci[raciIndex(m)].assignments[r] = "C";
                }
            });
            expect(problems).toEqual([]);
        });

        it("flags a milestone without a RACI row", () => {
            const problems = problemsAfter((g) => {
                g.raci.splice(raciIndex(m), 1);
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${milestoneIndex(m)}/id: milestone "${m}" has no RACI row (governance/raci.json /matrix); it needs exactly one Accountable`,
            );
        });

        it("flags a second RACI row for the same milestone", () => {
            const problems = problemsAfter((g) => {
                g.raci.push(JSON.parse(JSON.stringify(g.raci[raciIndex(m)])) as (typeof g.raci)[number]);
            });
            expect(text(problems)).toBe(
                `governance/raci.json: /matrix/${shipped.raci.length}/milestone: second RACI row for milestone "${m}" (first at /matrix/${raciIndex(m)}); merge them so the milestone has exactly one Accountable`,
            );
        });

        it("flags an Accountable role that does not sign off", () => {
            const problems = problemsAfter((g) => {
                const ms = g.milestones[milestoneIndex(m)];
                const row = shipped.raci[raciIndex(m)].assignments;
                ms.signoffs = ms.signoffs.filter((r) => row[r] !== "A");
            });
            expect(text(problems)).toMatch(
                new RegExp(
                    `governance/milestones\\.json: /milestones/${milestoneIndex(m)}/signoffs: the Accountable role ".*" must sign off "${m}"`,
                ),
            );
        });
    });

    describe("every backlog item has all four hooks", () => {
        const id = BACKLOG_ITEM.costBudgets;
        it.each(EVIDENCE_HOOKS)("flags an item without its %s hook", (hook) => {
            const problems = problemsAfter((g) => {
                delete (g.items[itemIndex(id)].hooks as Partial<Record<string, string>>)[hook];
            });
            expect(text(problems)).toBe(
                `governance/backlog.json: /items/${itemIndex(id)}/hooks/${hook}: "${id}" has no ${hook} hook; every item needs all of ${guardrails.evidence.hooks.join(", ")} (guardrails.yaml /evidence/hooks)`,
            );
        });

        it("flags a hook of blanks as missing", () => {
            const problems = problemsAfter((g) => {
                g.items[itemIndex(id)].hooks.logs = "   ";
            });
            expect(text(problems)).toBe(
                `governance/backlog.json: /items/${itemIndex(id)}/hooks/logs: "${id}" has no logs hook; every item needs all of ${guardrails.evidence.hooks.join(", ")} (guardrails.yaml /evidence/hooks)`,
            );
        });

        it("flags a provenance hook that is neither a ledger nor a sign-off reference", () => {
            const problems = problemsAfter((g) => {
                g.items[itemIndex(id)].hooks.provenance = "ledger:somewhere";
            });
            expect(text(problems)).toBe(
                `governance/backlog.json: /items/${itemIndex(id)}/hooks/provenance: "ledger:somewhere" is not a ledger or sign-off reference; allowed: provenance/ledger.jsonl:item=${id} or provenance-bucket:signoffs/<env>/<tag>/`,
            );
        });

        it.each([
            ["text before a ledger reference", (i: string) => `see provenance/ledger.jsonl:item=${i}`],
            ["a second line after a ledger reference", (i: string) => `provenance/ledger.jsonl:item=${i}\nnote`],
            ["text before a sign-off reference", () => "old-provenance-bucket:signoffs/prod/v1.0.0/"],
            ["text after a sign-off reference", () => "provenance-bucket:signoffs/prod/v1.0.0/extra"],
        ])("flags a provenance hook with %s: the reference must be the whole hook", (_, hook) => {
            const value = hook(id);
            const problems = problemsAfter((g) => {
                g.items[itemIndex(id)].hooks.provenance = value;
            });
            expect(text(problems)).toContain(
                `governance/backlog.json: /items/${itemIndex(id)}/hooks/provenance: "${value}" is not a ledger or sign-off reference; allowed: provenance/ledger.jsonl:item=${id} or provenance-bucket:signoffs/<env>/<tag>/`,
            );
        });

        it("flags a test file that does not exist", () => {
            const problems = problemsAfter((g) => {
                g.items[itemIndex(id)].hooks.tests = "test/nowhere.test.ts";
            });
            expect(text(problems)).toBe(
                `governance/backlog.json: /items/${itemIndex(id)}/hooks/tests: test file "test/nowhere.test.ts" does not exist; name the test file that verifies "${id}"`,
            );
        });

        it("flags a hook AWS cannot hold as a tag value", () => {
            const problems = problemsAfter((g) => {
                g.items[itemIndex(id)].hooks.logs = 'loki:{app="budgets"}';
            });
            expect(text(problems)).toContain(
                `/items/${itemIndex(id)}/hooks/logs: "loki:{app="budgets"}" cannot be an AWS tag value; allowed: at most 256 letters, digits, spaces and _ . : / = + - @`,
            );
        });

        it("flags a ledger breadcrumb naming another item", () => {
            const problems = problemsAfter((g) => {
                g.items[itemIndex(id)].hooks.provenance = `provenance/ledger.jsonl:item=${BACKLOG_ITEM.sloRules}`;
            });
            expect(text(problems)).toBe(
                `governance/backlog.json: /items/${itemIndex(id)}/hooks/provenance: ledger breadcrumb names "${BACKLOG_ITEM.sloRules}"; allowed: provenance/ledger.jsonl:item=${id}`,
            );
        });

        it.each([
            ["a tag no milestone has", "prod", "v9.0.0"],
            ["another release's production release", "prod", "v1.2.0"],
            ["another release's staging cut", "staging", "v1.2.0"],
            ["its own release's tag in another environment", "prod", "v0.9.0"],
        ])("flags a sign-off breadcrumb naming %s, allowing only its release's milestones", (_, env, tag) => {
            const goNoGo = itemIndex("R1-GO-NO-GO");
            const problems = problemsAfter((g) => {
                g.items[goNoGo].hooks.provenance = `provenance-bucket:signoffs/${env}/${tag}/`;
            });
            expect(text(problems)).toBe(
                `governance/backlog.json: /items/${goNoGo}/hooks/provenance: no R1 milestone ships ${tag} to ${env}; allowed: provenance-bucket:signoffs/staging/v0.9.0/, provenance-bucket:signoffs/staging/v1.0.0/, provenance-bucket:signoffs/prod/v1.0.0/`,
            );
        });

        it("takes a sign-off breadcrumb naming its own release's staging cut", () => {
            const problems = problemsAfter((g) => {
                g.items[itemIndex("R1-GO-NO-GO")].hooks.provenance = "provenance-bucket:signoffs/staging/v0.9.0/";
            });
            expect(problems).toEqual([]);
        });
    });

    describe("every guardrail is served by a backlog item with its verification procedure, in both releases", () => {
        it("flags a guardrail no Release 2 item serves", () => {
            const problems = problemsAfter((g) => {
                for (const item of g.items.filter((x) => x.release === "R2")) {
                    item.guardrails = item.guardrails.filter((x) => x !== "cost:prod:llm");
                }
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /releases/1: guardrail "cost:prod:llm" (prod LLM spend: ≤ ${guardrailCatalog(
                    guardrails,
                )
                    .find((x) => x.id === "cost:prod:llm")!
                    .target.slice(
                        2,
                    )}) is served by no R2 backlog item with a verification procedure; add it to an item's guardrails`,
            );
        });

        it.each(["", "  "])("flags serving items whose verification procedure is %j", (verification) => {
            const problems = problemsAfter((g) => {
                for (const item of g.items.filter(
                    (x) => x.release === "R1" && x.guardrails.includes("cadence:staging-cut"),
                )) {
                    item.verification = verification;
                }
            });
            expect(text(problems)).toMatch(
                /^governance\/milestones\.json: \/releases\/0: guardrail "cadence:staging-cut" .* is served by no R1 backlog item with a verification procedure; add it to an item's guardrails$/,
            );
        });

        it("flags a new SLO in the guardrails file until items serve it", () => {
            const rails = guardrailsWith((g) => {
                g.slo.objectives.push({ ...g.slo.objectives[0], id: "search-latency", title: "Search" });
            });
            const problems = problemsAfter(() => undefined, rails);
            expect(problems.map((p) => p.path)).toEqual(["/releases/0", "/releases/1"]);
            expect(text(problems)).toContain('guardrail "slo:search-latency"');
        });

        it("flags an item naming a guardrail the file does not have", () => {
            const problems = problemsAfter((g) => {
                g.items[0].guardrails.push("slo:no-such-slo");
            });
            expect(text(problems)).toMatch(
                /backlog\.json: \/items\/0\/guardrails\/\d+: unknown guardrail "slo:no-such-slo"; allowed: slo:api-read-latency, /,
            );
        });
    });

    describe("ids are unique", () => {
        it("flags a duplicate backlog id", () => {
            const problems = problemsAfter((g) => {
                g.items[1].id = g.items[0].id;
                g.items[1].hooks.provenance = `provenance/ledger.jsonl:item=${g.items[0].id}`;
            });
            expect(text(problems)).toContain(
                `governance/backlog.json: /items/1/id: duplicate id "${shipped.items[0].id}"; ids must be unique`,
            );
        });

        it("flags a milestone id already used by a backlog item", () => {
            const m = milestoneIndex("R2-STAGING-CUT-2");
            const problems = problemsAfter((g) => {
                g.raci[raciIndex("R2-STAGING-CUT-2")].milestone = "R2-GO-NO-GO";
                g.milestones[m].id = "R2-GO-NO-GO";
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${m}/id: id "R2-GO-NO-GO" is already used by governance/backlog.json /items/${itemIndex("R2-GO-NO-GO")}; ids must be unique across backlog, milestones and risks`,
            );
        });

        it("flags a duplicate risk id at the risk's id", () => {
            const problems = problemsAfter((g) => {
                g.risks[2].id = g.risks[1].id;
            });
            expect(text(problems)).toBe(
                `governance/risks.json: /risks/2/id: duplicate id "${shipped.risks[1].id}"; ids must be unique`,
            );
        });

        it("flags a duplicate release id", () => {
            const problems = problemsAfter((g) => {
                g.releases.push({ ...g.releases[0] });
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /releases/${shipped.releases.length}/id: duplicate release id "${shipped.releases[0].id}"; ids must be unique`,
            );
        });

        it("flags a duplicate role", () => {
            const problems = problemsAfter((g) => {
                g.roles.push({ ...g.roles[0] });
            });
            expect(text(problems)).toBe(
                `governance/raci.json: /roles/${shipped.roles.length}/name: duplicate role "${shipped.roles[0].name}"; role names must be unique`,
            );
        });
    });

    describe("dates follow the cadence of the guardrails file", () => {
        it("flags a staging cut a day late, naming the expected date", () => {
            const m = milestoneIndex("R2-STAGING-CUT-2");
            const problems = problemsAfter((g) => {
                g.milestones[m].date = "2026-12-02";
            });
            const interval = guardrails.cadence.stagingCutIntervalDays;
            expect(text(problems)).toContain(
                `governance/milestones.json: /milestones/${m}/date: 2026-12-02 is ${interval + 1} days after R2-STAGING-CUT-1 (2026-11-24); staging milestones follow every ${interval} days (guardrails.yaml /cadence/stagingCutIntervalDays): expected 2026-12-01`,
            );
        });

        it("reads the intervals from the guardrails file: a doubled production interval refuses the shipped dates", () => {
            const rails = guardrailsWith((g) => {
                g.cadence.prodReleaseIntervalDays = g.cadence.prodReleaseIntervalDays * 2;
            });
            const problems = problemsAfter(() => undefined, rails);
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${milestoneIndex("R2-PROD-RELEASE")}/date: ${prodRelease("R2").date} is ${guardrails.cadence.prodReleaseIntervalDays} days after R1-PROD-RELEASE (${prodRelease("R1").date}); prod milestones follow every ${rails.cadence.prodReleaseIntervalDays} days (guardrails.yaml /cadence/prodReleaseIntervalDays): expected ${addDays(prodRelease("R1").date, rails.cadence.prodReleaseIntervalDays)}`,
            );
        });

        it("flags a tag without the guardrail's shape", () => {
            const m = milestoneIndex("R1-STAGING-CUT-1");
            const problems = problemsAfter((g) => {
                g.milestones[m].tag = "v0.9.0-rc.1";
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${m}/tag: "v0.9.0-rc.1" is not a release tag; allowed: ${guardrails.cadence.tagFormat} (guardrails.yaml /cadence/tagPattern ${guardrails.cadence.tagPattern})`,
            );
        });

        it("flags tags that go backwards in time", () => {
            const m = milestoneIndex("R2-STAGING-CUT-1");
            const problems = problemsAfter((g) => {
                g.milestones[m].tag = "v0.8.0";
            });
            expect(text(problems)).toContain(
                `/milestones/${m}/tag: v0.8.0 does not come after v1.0.0 (R1-STAGING-CUT-2, earlier); staging tags must increase with time`,
            );
        });

        it("flags a date that does not exist in the calendar", () => {
            const m = milestoneIndex("R2-STAGING-CUT-2");
            const problems = problemsAfter((g) => {
                g.milestones[m].date = "2026-02-30";
            });
            expect(text(problems)).toContain(
                `governance/milestones.json: /milestones/${m}/date: "2026-02-30" is not a date; allowed: YYYY-MM-DD`,
            );
        });

        it("flags a tag cut again by the next milestone: tags must strictly increase", () => {
            const first = shipped.milestones[milestoneIndex("R2-STAGING-CUT-1")];
            const m = milestoneIndex("R2-STAGING-CUT-2");
            const problems = problemsAfter((g) => {
                g.milestones[m].tag = first.tag;
            });
            expect(text(problems)).toContain(
                `/milestones/${m}/tag: ${first.tag} does not come after ${first.tag} (R2-STAGING-CUT-1, earlier); staging tags must increase with time`,
            );
        });

        it("flags a production release of a tag never cut to staging", () => {
            const m = milestoneIndex("R2-PROD-RELEASE");
            const problems = problemsAfter((g) => {
                g.milestones[m].tag = "v1.3.0";
            });
            expect(text(problems)).toContain(
                `governance/milestones.json: /milestones/${m}/tag: v1.3.0 was not cut to staging in R2 before ${prodRelease("R2").date}; a production release promotes an earlier cut; allowed: v1.1.0 (R2-STAGING-CUT-1), v1.2.0 (R2-STAGING-CUT-2)`,
            );
        });

        it("flags a production release of a tag cut to staging only on the same day", () => {
            const cut = milestoneIndex("R2-STAGING-CUT-1");
            const release = prodRelease("R1");
            const problems = problemsAfter((g) => {
                g.milestones[cut].release = "R1";
                g.milestones[milestoneIndex("R1-PROD-RELEASE")].tag = shipped.milestones[cut].tag;
            });
            expect(shipped.milestones[cut].date).toBe(release.date);
            expect(text(problems).split("\n")).toContain(
                `governance/milestones.json: /milestones/${milestoneIndex("R1-PROD-RELEASE")}/tag: ${shipped.milestones[cut].tag} was not cut to staging in R1 before ${release.date}; a production release promotes an earlier cut; allowed: v0.9.0 (R1-STAGING-CUT-1), v1.0.0 (R1-STAGING-CUT-2)`,
            );
        });

        it("finds the first planned milestone by date, whatever order the file lists them in", () => {
            const problems = problemsAfter((g) => {
                g.milestones.reverse();
                const at = (id: string) => g.milestones.find((m) => m.id === id)!;
                at("R2-STAGING-CUT-1").status = "planned";
                at("R2-PROD-RELEASE").status = "done";
            });
            const reversed = shipped.milestones.length - 1 - milestoneIndex("R2-PROD-RELEASE");
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${reversed}/status: "done" after R2-STAGING-CUT-1 (${shipped.milestones[milestoneIndex("R2-STAGING-CUT-1")].date}) which is still planned; allowed: "planned"`,
            );
        });

        it("lets a milestone on the same day as the first planned one be further along", () => {
            const planned = milestoneIndex("R2-STAGING-CUT-1");
            const sameDay = shipped.milestones[milestoneIndex("R1-PROD-RELEASE")];
            expect(sameDay.date).toBe(shipped.milestones[planned].date);
            expect(sameDay.status).not.toBe("planned");
            const problems = problemsAfter((g) => {
                g.milestones[planned].status = "planned";
            });
            expect(problems).toEqual([]);
        });

        it("flags a milestone in an environment without a cadence", () => {
            const m = milestoneIndex("R2-STAGING-CUT-2");
            const problems = problemsAfter((g) => {
                g.milestones[m].environment = "dev";
            });
            expect(text(problems)).toContain(
                `/milestones/${m}/environment: "dev" has no release cadence; allowed: staging, prod`,
            );
        });

        it("names only the guardrails' environments that have a cadence as allowed", () => {
            const rails = guardrailsWith((g) => {
                g.environments = g.environments.filter((e) => e !== "staging");
            });
            const problems = problemsAfter(() => undefined, rails).filter((p) => p.path.endsWith("/environment"));
            expect(text(problems).split("\n")).toEqual(
                shipped.milestones
                    .map((x, i) => ({ x, i }))
                    .filter(({ x }) => x.environment === "staging")
                    .map(
                        ({ i }) =>
                            `governance/milestones.json: /milestones/${i}/environment: "staging" has no release cadence; allowed: prod`,
                    ),
            );
        });

        it("does not order a well-formed tag against a malformed one before it", () => {
            const m = milestoneIndex("R1-STAGING-CUT-1");
            const problems = problemsAfter((g) => {
                g.milestones[m].tag = "v9.0.0-rc.1";
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${m}/tag: "v9.0.0-rc.1" is not a release tag; allowed: ${guardrails.cadence.tagFormat} (guardrails.yaml /cadence/tagPattern ${guardrails.cadence.tagPattern})`,
            );
        });

        it("flags a release with no production release", () => {
            const problems = problemsAfter((g) => {
                g.releases.push({ ...g.releases[0], id: "R3" });
            });
            expect(text(problems.filter((p) => p.message.includes("go/no-go")))).toBe(
                `governance/milestones.json: /releases/${shipped.releases.length}: R3 has 0 prod milestones; a release ends in exactly one go/no-go`,
            );
        });

        it("flags a release with two production releases, neither promoting the other", () => {
            const cut = milestoneIndex("R1-STAGING-CUT-2");
            const prod = milestoneIndex("R1-PROD-RELEASE");
            const problems = problemsAfter((g) => {
                g.milestones[cut].environment = "prod";
            });
            const lines = text(problems).split("\n");
            expect(lines).toContain(
                "governance/milestones.json: /releases/0: R1 has 2 prod milestones; a release ends in exactly one go/no-go",
            );
            expect(lines.filter((l) => l.includes("was not cut to staging"))).toEqual([
                `governance/milestones.json: /milestones/${cut}/tag: v1.0.0 was not cut to staging in R1 before ${shipped.milestones[cut].date}; a production release promotes an earlier cut; allowed: v0.9.0 (R1-STAGING-CUT-1)`,
                `governance/milestones.json: /milestones/${prod}/tag: v1.0.0 was not cut to staging in R1 before ${shipped.milestones[prod].date}; a production release promotes an earlier cut; allowed: v0.9.0 (R1-STAGING-CUT-1)`,
            ]);
        });

        it("flags a production release in a release without staging cuts", () => {
            const m = milestoneIndex("R2-PROD-RELEASE");
            const problems = problemsAfter((g) => {
                for (const x of g.milestones.filter((y) => y.release === "R2" && y.environment === "staging")) {
                    x.release = "R1";
                }
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${m}/tag: v1.2.0 was not cut to staging in R2 before ${prodRelease("R2").date}; a production release promotes an earlier cut; allowed: (no earlier cut)`,
            );
        });

        it("keeps a planned milestone with a broken date out of the status order", () => {
            const broken = milestoneIndex("R1-STAGING-CUT-1");
            const m = milestoneIndex("R2-PROD-RELEASE");
            const problems = problemsAfter((g) => {
                g.milestones[broken].date = "2026-02-30";
                g.milestones[broken].status = "planned";
                g.milestones[m].status = "done";
            });
            expect(text(problems).split("\n")).toEqual([
                `governance/milestones.json: /milestones/${broken}/date: "2026-02-30" is not a date; allowed: YYYY-MM-DD`,
                `governance/milestones.json: /milestones/${m}/status: "done" after R2-STAGING-CUT-2 (2026-12-01) which is still planned; allowed: "planned"`,
            ]);
        });

        it("flags a milestone done after one still planned", () => {
            const m = milestoneIndex("R2-PROD-RELEASE");
            const problems = problemsAfter((g) => {
                g.milestones[m].status = "done";
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${m}/status: "done" after R2-STAGING-CUT-2 (2026-12-01) which is still planned; allowed: "planned"`,
            );
        });
    });

    describe("references resolve", () => {
        it("flags an owner that is not a role", () => {
            const problems = problemsAfter((g) => {
                g.items[0].owner = "Chief Vibes Officer";
            });
            expect(text(problems)).toBe(
                `governance/backlog.json: /items/0/owner: unknown role "Chief Vibes Officer"; allowed (governance/raci.json /roles): ${shipped.roles.map((r) => r.name).join(", ")}`,
            );
        });

        it("flags a milestone whose status dashboard is no backlog item", () => {
            const problems = problemsAfter((g) => {
                g.milestones[0].statusDashboard = "R1-NO-SUCH-ITEM";
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/0/statusDashboard: unknown backlog item "R1-NO-SUCH-ITEM"; name the dashboard's backlog item`,
            );
        });

        it("flags a RACI row for a milestone that does not exist", () => {
            const problems = problemsAfter((g) => {
                g.raci.push({ ...g.raci[0], milestone: "R9-NO-SUCH-MILESTONE" });
            });
            expect(text(problems)).toBe(
                `governance/raci.json: /matrix/${shipped.raci.length}/milestone: unknown milestone "R9-NO-SUCH-MILESTONE"; allowed: ${shipped.milestones.map((m) => m.id).join(", ")}`,
            );
        });

        it("flags an item gated by another release's milestone, allowing only its own release's milestones", () => {
            const problems = problemsAfter((g) => {
                g.items[0].milestone = "R2-PROD-RELEASE";
            });
            expect(text(problems)).toBe(
                'governance/backlog.json: /items/0/milestone: milestone "R2-PROD-RELEASE" is in R2, item is in R1; allowed: R1-STAGING-CUT-1, R1-STAGING-CUT-2, R1-PROD-RELEASE',
            );
        });

        it("flags an item in a release that does not exist, naming the releases", () => {
            const problems = problemsAfter((g) => {
                g.items[1].release = "R9";
            });
            expect(text(problems).split("\n")).toEqual([
                'governance/backlog.json: /items/1/release: unknown release "R9"; allowed: R1, R2',
                'governance/backlog.json: /items/1/milestone: milestone "R1-PROD-RELEASE" is in R1, item is in R9; allowed: ',
            ]);
        });

        it("flags an item whose id does not start with its release", () => {
            const id = "R2-TELEMETRY-GAPS-X";
            const problems = problemsAfter((g) => {
                g.items[1].id = id;
                g.items[1].hooks.provenance = `provenance/ledger.jsonl:item=${id}`;
            });
            expect(text(problems).split("\n")).toContain(
                `governance/backlog.json: /items/1/id: "${id}" belongs to R1; its id must start with "R1-"`,
            );
        });

        it("takes the release's id with its dash as the prefix: R10-… is not in R1", () => {
            const problems = problemsAfter((g) => {
                g.releases.push({ ...g.releases[0], id: "R10" });
                g.items[1].id = "R10-TELEMETRY-GAPS";
                g.items[1].hooks.provenance = "provenance/ledger.jsonl:item=R10-TELEMETRY-GAPS";
            });
            expect(text(problems).split("\n")).toContain(
                'governance/backlog.json: /items/1/id: "R10-TELEMETRY-GAPS" belongs to R1; its id must start with "R1-"',
            );
        });

        it("flags an item gated by a milestone that does not exist, naming every milestone", () => {
            const problems = problemsAfter((g) => {
                g.items[1].milestone = "R1-NO-SUCH";
            });
            expect(text(problems)).toBe(
                `governance/backlog.json: /items/1/milestone: unknown milestone "R1-NO-SUCH"; allowed: ${shipped.milestones.map((m) => m.id).join(", ")}`,
            );
        });

        it("flags a risk owner that is not a role", () => {
            const problems = problemsAfter((g) => {
                g.risks[1].owner = "Chief Vibes Officer";
            });
            expect(text(problems)).toBe(
                `governance/risks.json: /risks/1/owner: unknown role "Chief Vibes Officer"; allowed (governance/raci.json /roles): ${shipped.roles.map((r) => r.name).join(", ")}`,
            );
        });

        it("flags a milestone in a release that does not exist, naming the releases", () => {
            const m = milestoneIndex("R2-STAGING-CUT-1");
            const problems = problemsAfter((g) => {
                g.milestones[m].release = "R9";
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${m}/release: unknown release "R9"; allowed: R1, R2`,
            );
        });

        it("flags a milestone sign-off by a role that does not exist, at the sign-off's index", () => {
            const m = milestoneIndex("R2-STAGING-CUT-1");
            const problems = problemsAfter((g) => {
                g.milestones[m].signoffs.push("Chief Vibes Officer");
            });
            expect(text(problems)).toBe(
                `governance/milestones.json: /milestones/${m}/signoffs/${shipped.milestones[m].signoffs.length}: unknown role "Chief Vibes Officer"; allowed (governance/raci.json /roles): ${shipped.roles.map((r) => r.name).join(", ")}`,
            );
        });

        it("flags a RACI assignment to a role that does not exist, escaping ~ and / in the JSON pointer", () => {
            const row = raciIndex("R2-STAGING-CUT-1");
            const problems = problemsAfter((g) => {
                g.raci[row].assignments["Chief/Vibes~Officer"] = "I";
            });
            expect(text(problems)).toBe(
                `governance/raci.json: /matrix/${row}/assignments/Chief~1Vibes~0Officer: unknown role "Chief/Vibes~Officer"; allowed (governance/raci.json /roles): ${shipped.roles.map((r) => r.name).join(", ")}`,
            );
        });
    });
});

describe("npm run validate", () => {
    it("passes on the shipped data", () => {
        const r = runScript("validate");
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(
            /^governance: governance\/ valid against its schemas and guardrails\/guardrails\.yaml \(\d+ backlog items/,
        );
    });

    it("prints each problem of a broken folder with file and JSON path and exits 1", () => {
        const dir = governanceDir({ backlog: path.join(FIXTURES, "backlog-schema-errors.json") });
        const r = runScript("validate", "--dir", dir);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/backlog\.json: \/items\/0\/status: must be one of/);
        expect(r.stderr).toMatch(/backlog\.json: \/items\/0\/hooks: missing required key "tests"/);
        expect(r.stderr).toMatch(/governance: 4 problems in /);
    });

    it("prints cross-reference problems of a folder whose risks point nowhere", () => {
        const risks = JSON.parse(fs.readFileSync(path.join(GOVERNANCE_DIR, "risks.json"), "utf8")) as {
            risks: Array<{ mitigatedBy: string[] }>;
        };
        risks.risks[1].mitigatedBy = ["R1-GONE"];
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-risks-")), "risks.json");
        fs.writeFileSync(file, JSON.stringify(risks));
        const r = runScript("validate", "--dir", governanceDir({ risks: file }));
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(
            /risks\.json: \/risks\/1\/mitigatedBy\/0: mitigation of "RISK-[A-Z-]+" points to unknown backlog item "R1-GONE"/,
        );
    });

    it("names a bad flag and the allowed ones", () => {
        const r = runScript("validate", "--folder", "x");
        expect(r.status).toBe(2);
        expect(r.stderr).toContain(
            'unknown flag "--folder"; allowed flags: --dir <value>, --guardrails <value>, --stacks <value>, --help',
        );
    });
});

describe("the sign-off floor (guardrails.yaml /signoffs/floor)", () => {
    const floor = guardrails.signoffs.floor;

    it("holds for every shipped milestone: each lists at least its environment's floor", () => {
        for (const m of shipped.milestones) {
            expect(m.signoffs).toEqual(expect.arrayContaining([...floor[m.environment]]));
        }
    });

    it.each(["staging", "prod"])(
        "refuses a %s milestone whose signoffs drop a floor role, naming file, path and role",
        (env) => {
            const m = shipped.milestones.findIndex((x) => x.environment === env);
            const dropped = floor[env][floor[env].length - 1];
            const problems = problemsAfter((g) => {
                g.milestones[m].signoffs = g.milestones[m].signoffs.filter((r) => r !== dropped);
            });
            expect(text(problems)).toContain(
                `governance/milestones.json: /milestones/${m}/signoffs: milestone "${shipped.milestones[m].id}" drops the ${env} sign-off floor role "${dropped}" (guardrails.yaml /signoffs/floor/${env}); allowed: signoffs including ${floor[env].join(", ")}`,
            );
        },
    );

    it("refuses a milestone cut to a single role (every dropped role named)", () => {
        const m = milestoneIndex(prodRelease("R1").id);
        const problems = problemsAfter((g) => {
            g.milestones[m].signoffs = ["Product Lead"];
        });
        const missing = floor.prod.filter((r) => r !== "Product Lead");
        expect(text(problems)).toContain(
            `drops the prod sign-off floor roles ${missing.map((r) => `"${r}"`).join(", ")}`,
        );
    });

    it("refuses a way around it: a milestone naming an environment the floor does not cover", () => {
        const m = milestoneIndex(prodRelease("R1").id);
        const problems = problemsAfter((g) => {
            g.milestones[m].environment = "production";
        });
        expect(text(problems)).toContain(
            `/milestones/${m}/environment: "production" has no sign-off floor, so milestone "${shipped.milestones[m].id}" would ship unguarded; allowed: ${Object.keys(floor).join(", ")}`,
        );
    });

    it("asks nothing of milestones when the guardrails set no floor at all", () => {
        const rails = guardrailsWith((g) => {
            g.signoffs.floor = {};
        });
        expect(problemsAfter(() => undefined, rails)).toEqual([]);
    });

    it("refuses another way around it: a milestone that omits its environment fails the schema", () => {
        const doc = JSON.parse(fs.readFileSync(path.join(GOVERNANCE_DIR, "milestones.json"), "utf8")) as {
            milestones: Record<string, unknown>[];
        };
        delete doc.milestones[0].environment;
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-ms-")), "milestones.json");
        fs.writeFileSync(file, JSON.stringify(doc));
        expect(() => loadGovernance(governanceDir({ milestones: file }))).toThrow(
            'milestones.json: /milestones/0: missing required key "environment"',
        );
    });

    it("is data: a floor raised in the guardrails refuses the shipped milestones that lack the new role", () => {
        const raised = guardrailsWith((g) => {
            g.signoffs.floor.staging = [...g.signoffs.floor.staging, "Docs Lead"];
        });
        const stagingCuts = shipped.milestones.filter(
            (x) => x.environment === "staging" && !x.signoffs.includes("Docs Lead"),
        );
        const problems = problemsAfter(() => undefined, raised).filter((p) => p.message.includes("floor role"));
        expect(problems).toHaveLength(stagingCuts.length);
    });

    it("refuses a floor naming an environment the guardrails do not have", () => {
        const doc = JSON.parse(JSON.stringify(guardrails)) as Mutable<Guardrails>;
        doc.signoffs.floor.qa = ["Release Manager"];
        expect(() => parseGuardrails(doc, "guardrails.yaml")).toThrow(
            `guardrails.yaml: /signoffs/floor/qa: unknown environment "qa"; allowed: ${guardrails.environments.join(", ")}`,
        );
    });
});
