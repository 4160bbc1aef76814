import * as path from "path";
import {
    accountSharedWith,
    leLabel,
    leMatcher,
    leValues,
    loadGuardrails,
    loosenedBy,
    parseAccountIds,
    parseGuardrails,
    renderMatchers,
    signoffFloor,
    sliSelector,
    isReleaseTag,
    GUARDRAILS_FILE,
} from "../core/guardrails";
import { readDataFile, ValidationError } from "../core/validation";
import { guardrails } from "./helpers";

/** A deep copy of the shipped guardrails document, to break one thing at a time (loosely typed on purpose). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function shipped(): Record<string, any> {
    return JSON.parse(JSON.stringify(readDataFile(GUARDRAILS_FILE)));
}

function problemsOf(doc: unknown): string {
    try {
        parseGuardrails(doc, "guardrails.yaml");
    } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
    }
    throw new Error("expected the guardrails document to be rejected");
}

describe("the guardrails file", () => {
    it("holds the five latency SLOs of the seed, each with an SLI on a histogram and an objective", () => {
        expect(guardrails.slo.objectives.map((o) => o.id)).toEqual([
            "api-read-latency",
            "api-write-latency",
            "subscription-latency",
            "neo4j-1hop-latency",
            "neo4j-multihop-latency",
        ]);
        for (const o of guardrails.slo.objectives) {
            expect(o.sli.metric).toMatch(/_seconds$/);
            expect(o.sli.thresholdSeconds).toBeGreaterThan(0);
            expect(o.objective).toBeGreaterThan(0);
            expect(o.objective).toBeLessThan(1);
        }
    });

    it("caps cost for every environment, with an LLM cap inside prod's cap", () => {
        for (const env of guardrails.environments) {
            expect(guardrails.cost.caps[env].monthlyUsd).toBeGreaterThan(0);
        }
        expect(guardrails.cost.caps.prod.llmMonthlyUsd).toBeLessThan(guardrails.cost.caps.prod.monthlyUsd);
        expect(guardrails.cost.alertThreshold).toBeGreaterThan(0);
    });

    it("renders SLI selectors as PromQL", () => {
        const multihop = guardrails.slo.objectives.find((o) => o.id === "neo4j-multihop-latency")!;
        expect(sliSelector(multihop.sli, "_bucket", [{ label: "le", op: "=", value: "1" }])).toBe(
            'neo4j_query_duration_seconds_bucket{hops=~"2|3",le="1"}',
        );
    });

    it("accepts vX.Y.Z tags only", () => {
        expect(isReleaseTag(guardrails, "v1.2.3")).toBe(true);
        for (const bad of ["1.2.3", "v1.2", "v1.2.3-rc.1", "v01.2.3", "release-1"]) {
            expect(isReleaseTag(guardrails, bad)).toBe(false);
        }
    });

    it("loads from an explicit path", () => {
        expect(loadGuardrails(path.resolve(GUARDRAILS_FILE)).slo.periodDays).toBe(guardrails.slo.periodDays);
    });
});

describe("a broken guardrails file is refused with file, path and allowed value", () => {
    it("names an unknown key and the allowed ones", () => {
        const doc = shipped();
        doc.slo.objectives[0].sli.treshold = 1;
        expect(problemsOf(doc)).toMatch(
            /guardrails\.yaml: \/slo\/objectives\/0\/sli: unknown key "treshold"; allowed keys: metric, matchers, thresholdSeconds/,
        );
    });

    it("names a missing key", () => {
        const doc = shipped();
        delete doc.slo.objectives[1].objective;
        expect(problemsOf(doc)).toContain('/slo/objectives/1: missing required key "objective"');
    });

    it("names a bad matcher operator and the allowed ones", () => {
        const doc = shipped();
        doc.slo.objectives[0].sli.matchers[0].op = "==";
        expect(problemsOf(doc)).toContain('/slo/objectives/0/sli/matchers/0/op: must be one of "=", "!=", "=~", "!~"');
    });

    it("refuses duplicate SLO ids", () => {
        const doc = shipped();
        doc.slo.objectives[1].id = doc.slo.objectives[0].id;
        expect(problemsOf(doc)).toContain(`/slo/objectives/1/id: duplicate SLO id "${doc.slo.objectives[0].id}"`);
    });

    it("refuses an environment without a cost cap", () => {
        const doc = shipped();
        delete doc.cost.caps.staging;
        expect(problemsOf(doc)).toContain('no cost cap for environment "staging"');
    });

    it("refuses an LLM cap above the environment cap", () => {
        const doc = shipped();
        doc.cost.caps.prod.llmMonthlyUsd = doc.cost.caps.prod.monthlyUsd + 1;
        expect(problemsOf(doc)).toContain("/cost/caps/prod/llmMonthlyUsd: LLM cap");
    });

    it("refuses an objective of 1 or more (no error budget)", () => {
        const doc = shipped();
        doc.slo.objectives[0].objective = 1;
        expect(problemsOf(doc)).toContain("/slo/objectives/0/objective: must be < 1");
    });

    it("declares an AWS account and region for every environment, and only for those", () => {
        expect(Object.keys(guardrails.accounts).sort()).toEqual([...guardrails.environments].sort());
        type WithAccounts = { accounts: Record<string, { accountId: string; region: string }> };
        const missing = shipped() as WithAccounts;
        delete missing.accounts.prod;
        expect(problemsOf(missing)).toContain('/accounts: no AWS account for environment "prod"');
        const unknown = shipped() as WithAccounts;
        unknown.accounts.qa = { ...unknown.accounts.dev };
        expect(problemsOf(unknown)).toContain(
            `guardrails.yaml: /accounts/qa: unknown environment "qa"; allowed: ${guardrails.environments.join(", ")}`,
        );
        const short = shipped() as WithAccounts;
        short.accounts.dev.accountId = "1234";
        expect(problemsOf(short)).toContain("/accounts/dev/accountId: must match pattern");
    });

    it("says which environments share an account by their account ids", () => {
        const together = parseGuardrails(
            {
                ...shipped(),
                accounts: Object.fromEntries(guardrails.environments.map((e) => [e, guardrails.accounts.dev])),
            },
            "guardrails.yaml",
        );
        expect(accountSharedWith(together, "prod").sort()).toEqual(
            guardrails.environments.filter((e) => e !== "prod").sort(),
        );
        const apart = parseGuardrails(
            {
                ...shipped(),
                accounts: Object.fromEntries(
                    guardrails.environments.map((e, i) => [
                        e,
                        { ...guardrails.accounts.dev, accountId: String(i + 1).repeat(12) },
                    ]),
                ),
            },
            "guardrails.yaml",
        );
        expect(guardrails.environments.map((e) => accountSharedWith(apart, e))).toEqual(
            guardrails.environments.map(() => []),
        );
    });
});

describe("the rules beside the guardrails schema, each at its boundary", () => {
    const environments = () => (shipped().environments as string[]).join(", ");

    it("refuses a cost cap for an environment the file does not list", () => {
        const doc = shipped();
        doc.cost.caps.qa = { ...doc.cost.caps.dev };
        expect(problemsOf(doc)).toContain(
            `guardrails.yaml: /cost/caps/qa: unknown environment "qa"; allowed: ${environments()}`,
        );
    });

    it("accepts an LLM cap equal to its environment's cap, or none at all", () => {
        const equal = shipped();
        equal.cost.caps.prod.llmMonthlyUsd = equal.cost.caps.prod.monthlyUsd;
        expect(parseGuardrails(equal, "guardrails.yaml").cost.caps.prod.llmMonthlyUsd).toBe(
            equal.cost.caps.prod.monthlyUsd,
        );
        const none = shipped();
        delete none.cost.caps.prod.llmMonthlyUsd;
        expect(parseGuardrails(none, "guardrails.yaml").cost.caps.prod.llmMonthlyUsd).toBeUndefined();
    });

    it("names both caps when the LLM cap is above its environment's", () => {
        const doc = shipped();
        const cap = doc.cost.caps.prod.monthlyUsd as number;
        doc.cost.caps.prod.llmMonthlyUsd = cap + 1;
        expect(problemsOf(doc)).toContain(
            `guardrails.yaml: /cost/caps/prod/llmMonthlyUsd: LLM cap ${cap + 1} exceeds the environment cap ${cap}`,
        );
    });

    it("refuses a sign-off floor for an environment the file does not list", () => {
        const doc = shipped();
        doc.signoffs.floor.qa = ["Release Manager"];
        expect(problemsOf(doc)).toContain(
            `guardrails.yaml: /signoffs/floor/qa: unknown environment "qa"; allowed: ${environments()}`,
        );
    });

    it("refuses production released more often than staging is cut, and accepts the same interval", () => {
        const faster = shipped();
        faster.cadence.prodReleaseIntervalDays = faster.cadence.stagingCutIntervalDays - 1;
        expect(problemsOf(faster)).toContain(
            "guardrails.yaml: /cadence/prodReleaseIntervalDays: production cannot be released more often than staging is cut",
        );
        const same = shipped();
        same.cadence.prodReleaseIntervalDays = same.cadence.stagingCutIntervalDays;
        expect(parseGuardrails(same, "guardrails.yaml").cadence.prodReleaseIntervalDays).toBe(
            same.cadence.stagingCutIntervalDays,
        );
    });

    it("lists every problem at once, naming the file given", () => {
        const doc = shipped();
        doc.slo.objectives[1].id = doc.slo.objectives[0].id;
        delete doc.cost.caps.staging;
        delete doc.accounts.staging;
        try {
            parseGuardrails(doc, "elsewhere.yaml");
            throw new Error("expected a refusal");
        } catch (err) {
            expect((err as ValidationError).problems.map((p) => `${p.file}: ${p.path}`)).toEqual([
                "elsewhere.yaml: /slo/objectives/1/id",
                "elsewhere.yaml: /cost/caps",
                "elsewhere.yaml: /accounts",
            ]);
        }
    });

    it("names the shipped file by its repository path when no name is given", () => {
        const doc = shipped();
        delete doc.cost.caps.staging;
        expect(() => parseGuardrails(doc)).toThrow(
            'guardrails/guardrails.yaml: /cost/caps: no cost cap for environment "staging"',
        );
        expect(loadGuardrails()).toEqual(guardrails);
    });
});

describe("the guardrails' helpers", () => {
    const [first] = guardrails.slo.objectives;

    it("give the sign-off floor of an environment, and none where the file sets none", () => {
        for (const env of Object.keys(guardrails.signoffs.floor)) {
            expect(signoffFloor(guardrails, env)).toEqual(guardrails.signoffs.floor[env]);
        }
        const without = guardrails.environments.filter((e) => !(e in guardrails.signoffs.floor));
        expect(without.length).toBeGreaterThan(0);
        for (const env of [...without, "qa", "constructor", "toString"]) {
            expect(signoffFloor(guardrails, env)).toEqual([]);
        }
    });

    it("render matchers in order, extra ones last, and selectors with or without a suffix", () => {
        const m = [
            { label: "a", op: "=", value: "x" },
            { label: "b", op: "=~", value: "1|2" },
        ] as const;
        expect(renderMatchers(m)).toBe('a="x",b=~"1|2"');
        expect(renderMatchers(m, [{ label: "le", op: "!=", value: "+Inf" }])).toBe('a="x",b=~"1|2",le!="+Inf"');
        expect(sliSelector(first.sli, "")).toBe(`${first.sli.metric}{${renderMatchers(first.sli.matchers)}}`);
        expect(sliSelector(first.sli, "_count")).toBe(
            `${first.sli.metric}_count{${renderMatchers(first.sli.matchers)}}`,
        );
    });

    it.each<[number, string[]]>([
        [0.35, ["0.35"]],
        [1, ["1", "1.0"]],
        [0.0001, ["0.0001"]],
        [0.00001, ["0.00001", "1e-05"]],
        [100000, ["100000", "100000.0"]],
        [1000000, ["1000000", "1e+06", "1000000.0"]],
        [1e15, ["1000000000000000", "1e+15", "1000000000000000.0"]],
        [1e16, ["10000000000000000", "1e+16"]],
        [2.5e-7, ["2.5e-7", "2.5e-07"]],
    ])("spells a bucket bound of %p s every way a TSDB may hold it", (seconds, spellings) => {
        expect(leValues(seconds)).toEqual(spellings);
    });

    it("matches one spelling exactly and several by an escaped alternation", () => {
        expect(leLabel(0.35)).toBe("0.35");
        expect(leMatcher(0.35)).toEqual({ label: "le", op: "=", value: "0.35" });
        expect(leMatcher(1)).toEqual({ label: "le", op: "=~", value: "1|1\\.0" });
        expect(leMatcher(1e6)).toEqual({ label: "le", op: "=~", value: "1000000|1e\\+06|1000000\\.0" });
    });

    it("call a threshold above the SLO's, or an objective below it, a loosening, and equal values not", () => {
        const t = first.sli.thresholdSeconds;
        const o = first.objective;
        expect(loosenedBy(first, {})).toEqual({ thresholdSeconds: false, objective: false });
        expect(loosenedBy(first, { thresholdSeconds: t, objective: o })).toEqual({
            thresholdSeconds: false,
            objective: false,
        });
        expect(loosenedBy(first, { thresholdSeconds: t * 2, objective: o - (1 - o) })).toEqual({
            thresholdSeconds: true,
            objective: true,
        });
        expect(loosenedBy(first, { thresholdSeconds: t / 2, objective: 1 - (1 - o) / 2 })).toEqual({
            thresholdSeconds: false,
            objective: false,
        });
        expect(loosenedBy(first, { thresholdSeconds: NaN })).toEqual({ thresholdSeconds: true, objective: false });
    });

    it("share an account with no environment when the environment has no account", () => {
        const others = Object.fromEntries(Object.entries(guardrails.accounts).filter(([env]) => env !== "dev"));
        expect(accountSharedWith({ ...guardrails, accounts: others }, "dev")).toEqual([]);
        // Nor with another environment that has none either: two missing accounts are not one account.
        const prodOnly = { prod: guardrails.accounts.prod };
        expect(guardrails.environments.map((e) => accountSharedWith({ ...guardrails, accounts: prodOnly }, e))).toEqual(
            guardrails.environments.map(() => []),
        );
    });

    it.each<[string, unknown, string[] | undefined]>([
        ["a JSON list", '["111122223333","444455556666"]', ["111122223333", "444455556666"]],
        ["a comma-separated list", "111122223333, 444455556666", ["111122223333", "444455556666"]],
        ["one id as text", "111122223333", ["111122223333"]],
        ["one id as a number", 111122223333, ["111122223333"]],
        ["a list of numbers", [111122223333], ["111122223333"]],
        ["an object", { id: "111122223333" }, undefined],
        ["a list holding an object", [{}], undefined],
        ["a list holding an id and an object", ["111122223333", {}], undefined],
        ["nothing", undefined, undefined],
    ])("reads account ids from %s", (_what, value, ids) => {
        expect(parseAccountIds(value)).toEqual(ids);
    });
});
