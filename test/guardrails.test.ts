import * as path from "path";
import {
    accountSharedWith,
    loadGuardrails,
    parseGuardrails,
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
        expect(problemsOf(unknown)).toContain('/accounts/qa: unknown environment "qa"');
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
