/**
 * slo-alerts-not-loosened, condition by condition: how rules are read (PrometheusRule objects, AMP rule files), which
 * bucket selectors measure an SLO's threshold, each rule compared whole with what rules/ builds (and "or tighter"),
 * the page and ticket labels, the environment, the threshold and objective bounds, second writers of the SLO's
 * series, and the rule objects' selector labels. The happy-path stack (test/fixtures/policies/stackResources.ts)
 * changes one thing per test.
 */
import * as yaml from "js-yaml";
import { K8S_LABEL, SLO_RECORD, URGENCY } from "../core/conventions";
import { Guardrails, SloObjective, leLabel } from "../core/guardrails";
import { SLO_BURN_ALERTS, buildSloGroup } from "../rules";
import { SLO_POLICY, deployedRules, promqlString, sloPolicy, thresholdBounds } from "../policies/slo";
import { PackContext } from "../policies/context";
import {
    FixtureResource,
    FixtureStack,
    fixtureContext,
    happyStack,
    policyResources,
} from "./fixtures/policies/stackResources";
import { runStack } from "./fixtures/policies/run";
import { guardrails, STACKS } from "./fixtures/shipped";

const ctx = fixtureContext(guardrails);
const FIX =
    "Fix: deploy the rules built from the guardrails (components/prometheusRules.ts); never loosen an SLO in a stack.";
const RULE_TYPE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const slo = guardrails.slo.objectives[0];
const at = (i = 0) => `guardrails/guardrails.yaml /slo/objectives/${i}`;
const designAt = (i = 0) => `rules/slo.ts buildSloGroup, rules/design.ts SLO_BURN_ALERTS; ${at(i)}`;
const bound = `le="${leLabel(slo.sli.thresholdSeconds)}"`;
/** The objective just looser than the guardrail's (0.95 -> 0.9). */
const looserObjective = Number((slo.objective - (1 - slo.objective)).toFixed(6));
/** An expression as messages show it: whitespace folded to single spaces. */
const folded = (expr: string) => expr.replace(/\s+/g, " ").trim();

type Rule = Record<string, unknown> & { labels: Record<string, string>; expr: string };
const reported = (s: FixtureStack, c: PackContext = ctx) => runStack(sloPolicy(c), s.resources);
const messages = (s: FixtureStack, c: PackContext = ctx) => reported(s, c).map((v) => v.message);
const text = (s: FixtureStack, c: PackContext = ctx) => messages(s, c).join("\n");
const objectOf = (s: FixtureStack, id = slo.id) => s.byName(`rules-${id}`);
const groupOf = (s: FixtureStack, id = slo.id) =>
    (objectOf(s, id).props.spec as { groups: Array<{ name: string; rules: Rule[] }> }).groups[0];
const rulesOf = (s: FixtureStack, id = slo.id) => groupOf(s, id).rules;
const ruleOf = (s: FixtureStack, name: string, id = slo.id) =>
    rulesOf(s, id).find((r) => r.record === name || r.alert === name)!;
const alertOf = (s: FixtureStack, urgency: string, id = slo.id) =>
    rulesOf(s, id).find((r) => r.alert !== undefined && r.labels.urgency === urgency)!;
/** How a message names a rule: `recording X (group G, <type> "<name>")`. */
const named = (s: FixtureStack, name: string, id = slo.id) => {
    const r = ruleOf(s, name, id);
    return `${r.alert ? `alert ${r.alert as string}` : `recording ${r.record as string}`} (group ${groupOf(s, id).name}, ${RULE_TYPE} "rules-${id}")`;
};
/** The SLO's rules as rules/ builds them for `env`, with `change` applied to the objective. */
const builtWith = (env: string, change: Partial<SloObjective> & { thresholdSeconds?: number }) => {
    const { thresholdSeconds, ...rest } = change;
    const objective: SloObjective = {
        ...slo,
        ...rest,
        sli: { ...slo.sli, thresholdSeconds: thresholdSeconds ?? slo.sli.thresholdSeconds },
    };
    return JSON.parse(
        JSON.stringify(buildSloGroup({ environment: env, sourceFile: "x" }, guardrails, objective)),
    ) as unknown;
};
const deploy = (s: FixtureStack, group: unknown) =>
    ((objectOf(s).props.spec as { groups: unknown[] }).groups = [group]);
/** Guardrails with one more matcher on the first SLO's SLI. */
const twoMatchers: Guardrails = {
    ...guardrails,
    slo: {
        ...guardrails.slo,
        objectives: guardrails.slo.objectives.map((o, i) =>
            i === 0
                ? { ...o, sli: { ...o.sli, matchers: [...o.sli.matchers, { label: "tier", op: "=", value: "web" }] } }
                : o,
        ),
    },
};

describe(`${SLO_POLICY}: as designed`, () => {
    it.each(STACKS)("passes the %s stack's rules as rules/ builds them", (env) => {
        expect(reported(happyStack(guardrails, env))).toEqual([]);
    });

    it("passes rules built with a tighter objective, or a tighter threshold", () => {
        const s = happyStack(guardrails, "dev");
        deploy(s, builtWith("dev", { objective: (1 + slo.objective) / 2 }));
        expect(reported(s)).toEqual([]);
        deploy(s, builtWith("dev", { thresholdSeconds: slo.sli.thresholdSeconds / 2 }));
        expect(reported(s)).toEqual([]);
    });

    it("refuses rules built with an objective of 1 (no error budget: the alerts could never fire)", () => {
        const s = happyStack(guardrails, "dev");
        deploy(s, builtWith("dev", { objective: 1 }));
        expect(text(s)).toContain(
            `SLO ${slo.id}: ${named(s, SLO_RECORD.objective)}: expr is \`vector(1)\`; allowed: \`vector(${slo.objective})\``,
        );
    });

    it("refuses rules built with a threshold of 0", () => {
        const s = happyStack(guardrails, "dev");
        deploy(s, builtWith("dev", { thresholdSeconds: 0 }));
        expect(text(s)).toContain(
            `${named(s, SLO_RECORD.thresholdSeconds)}: expr is \`vector(0)\`; allowed: \`vector(${slo.sli.thresholdSeconds})\``,
        );
    });

    it("takes a bucket bound spelled as a regex of one number's spellings, and refuses one with another number", () => {
        const s = happyStack(guardrails, "dev");
        const ratio = ruleOf(s, SLO_RECORD.errorRatio("5m"));
        const original = ratio.expr;
        const literal = leLabel(slo.sli.thresholdSeconds);
        const spellings = [literal, `${literal}0`, String(slo.sli.thresholdSeconds * 10) + "e-1"];
        ratio.expr = original.replace(bound, `le =~ "${spellings.map((v) => v.replace(/\./g, "\\\\.")).join("|")}"`);
        expect(reported(s)).toEqual([]);
        for (const other of [`${literal}|${leLabel(slo.sli.thresholdSeconds * 2)}`, `${literal}|.*`, `${literal}|x`]) {
            ratio.expr = original.replace(bound, `le=~"${other}"`);
            expect(text(s)).toContain(`${named(s, SLO_RECORD.errorRatio("5m"))}: expr is`);
        }
    });

    it("takes a regex bound of one number's spellings in single quotes (Go escapes) or a raw backtick string", () => {
        const s = happyStack(guardrails, "dev");
        const ratio = ruleOf(s, SLO_RECORD.errorRatio("5m"));
        const original = ratio.expr;
        const literal = leLabel(slo.sli.thresholdSeconds);
        // The regex `0\.35|0\.350`: its backslashes doubled in single quotes (Go escapes), as they are in a raw string.
        const regex = [literal, `${literal}0`].map((v) => v.replace(/\./g, "\\.")).join("|");
        for (const quoted of [`'${regex.replace(/\\/g, "\\\\")}'`, `\`${regex}\``]) {
            ratio.expr = original.replace(bound, `le=~${quoted}`);
            expect(reported(s)).toEqual([]);
        }
    });

    it("takes every literal spelling of the bound: exponent forms with two digits, no sign or no fraction", () => {
        const s = happyStack(guardrails, "dev");
        const ratio = ruleOf(s, SLO_RECORD.errorRatio("5m"));
        const original = ratio.expr;
        const t = slo.sli.thresholdSeconds;
        // Go's %e writes a two-digit exponent; 35e-2 has two integer digits and no fraction; 0.035e1 no exponent sign.
        for (const spelling of ["3.5e-01", "35e-2", "0.035e1"]) {
            expect(Number(spelling)).toBe(t);
            ratio.expr = original.replace(bound, `le=~"${leLabel(t)}|${spelling.replace(/\./g, "\\\\.")}"`);
            expect(reported(s)).toEqual([]);
        }
    });

    it("refuses a regex bound with an alternative that only converts to the bound's number (.35, +0.35, a trailing space)", () => {
        const s = happyStack(guardrails, "dev");
        const ratio = ruleOf(s, SLO_RECORD.errorRatio("5m"));
        const original = ratio.expr;
        const literal = leLabel(slo.sli.thresholdSeconds);
        for (const other of [literal.replace(/^0/, ""), `+${literal}`, `${literal} `]) {
            expect(Number(other)).toBe(slo.sli.thresholdSeconds);
            ratio.expr = original.replace(bound, `le=~"${literal}|${other}"`);
            expect(messages(s)).toEqual([
                `SLO ${slo.id}: ${named(s, SLO_RECORD.errorRatio("5m"))}: expr is \`${folded(ratio.expr)}\`; allowed: \`${folded(original)}\` (${designAt()}). ${FIX}`,
            ]);
        }
    });

    it("reads PromQL strings as Prometheus does: Go escapes read, an escape Prometheus refuses is no string", () => {
        // Each spelling of 0.35 Prometheus accepts in a label matcher.
        for (const literal of [
            `"0.35"`,
            `"\\x30.35"`,
            `"\\060.35"`,
            `"\\u0030.35"`,
            `"\\U00000030.35"`,
            `'0.35'`,
            `'\\x30.35'`,
            "`0.35`",
        ]) {
            expect([literal, promqlString(literal)]).toEqual([literal, "0.35"]);
        }
        // The ends of each range: the last code point, around the surrogates, the last octal byte; octal runs.
        expect(promqlString(`"\\U0010ffff"`)).toBe(String.fromCodePoint(0x10ffff));
        expect(promqlString(`"\\ud7ff\\ue000"`)).toBe("\ud7ff\ue000");
        expect(promqlString(`"\\377"`)).toBe("\xff");
        expect(promqlString(`"\\060"`)).toBe("0");
        expect(promqlString(`"0\\056\\063\\065"`)).toBe("0.35");
        expect(promqlString(`"a\\"b"`)).toBe('a"b');
        expect(promqlString(`'a\\'b'`)).toBe("a'b");
        expect(promqlString(`"\\a\\b\\f\\n\\r\\t\\v\\\\"`)).toBe("\x07\b\f\n\r\t\v\\");
        // A raw string keeps its backslashes.
        expect(promqlString("`0\\.35`")).toBe("0\\.35");
        // Escapes Prometheus refuses: unknown, the other quote, short or out-of-range codes, a lone backslash.
        for (const literal of [
            `"\\q"`,
            `"\\'"`,
            `'\\"'`,
            `"\\x3"`,
            `"\\x3g"`,
            `"\\u003"`,
            `"\\U00110000"`,
            `"\\ud800"`,
            `"\\06"`,
            `"\\400"`,
            `"\\"`,
        ]) {
            expect([literal, promqlString(literal)]).toEqual([literal, undefined]);
        }
    });

    it("reads a bound spelled with Go escapes as its number, and refuses one with an escape Prometheus refuses", () => {
        const own = `${slo.sli.matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(",")}`;
        const at = (le: string) => `sum(rate(${slo.sli.metric}_bucket{${own},le=${le}}[5m]))`;
        expect(thresholdBounds(at(`"\\x30.35"`), slo)).toEqual(["0.35"]);
        expect(thresholdBounds(at(`"\\x31.35"`), slo)).toEqual(["1.35"]);
        expect(thresholdBounds(at(`~"0\\\\.35|\\x30\\\\.35"`), slo)).toEqual(["0.35", "0.35"]);
        // Not a string Prometheus reads: kept as written, no number.
        expect(thresholdBounds(at(`"\\q0.35"`), slo)).toEqual([`"\\q0.35"`]);
        // Through the policy: a looser bound behind an escape is refused like any looser bound, and an escape
        // Prometheus refuses is refused (as no number), never a crash of the policy.
        const s = happyStack(guardrails, "dev");
        const ratio = ruleOf(s, SLO_RECORD.errorRatio("5m"));
        const original = ratio.expr;
        for (const le of [`le="\\x31.35"`, `le="\\q0.35"`, `le=~"\\q"`]) {
            ratio.expr = original.replace(bound, le);
            expect(messages(s).some((m) => m.includes("looser than the guardrail threshold"))).toBe(true);
        }
    });

    it("compares expressions whatever their whitespace", () => {
        const s = happyStack(guardrails, "dev");
        const page = alertOf(s, URGENCY.page);
        page.expr = `\n  ${page.expr.replace(/\n\s*/g, "\n\t\t ")}  \n`;
        expect(reported(s)).toEqual([]);
    });

    it("takes an alert held for no time however it is spelled, and refuses one held for longer", () => {
        const s = happyStack(guardrails, "dev");
        const page = alertOf(s, URGENCY.page);
        for (const hold of [null, "", "0s"]) {
            page.for = hold;
            expect(reported(s)).toEqual([]);
        }
        page.for = "5m";
        expect(reported(s)).toEqual([
            {
                message: `SLO ${slo.id}: ${named(s, page.alert as string)}: for is "5m"; allowed: none (the burn-rate windows are the hold time) (${designAt()}). ${FIX}`,
                urn: objectOf(s).urn,
            },
        ]);
    });
});

describe(`${SLO_POLICY}: each rule compared whole`, () => {
    it("refuses a recording that is not deployed, on the stack, naming where it is designed", () => {
        const s = happyStack(guardrails, "staging");
        const rules = rulesOf(s);
        rules.splice(rules.indexOf(ruleOf(s, SLO_RECORD.thresholdSeconds)), 1);
        expect(reported(s)).toEqual([
            {
                message: `SLO ${slo.id}: recording ${SLO_RECORD.thresholdSeconds} is not deployed; allowed: exactly the rule rules/ builds (${designAt()}). ${FIX}`,
                urn: s.byName("maestro-guardrails-staging").urn,
            },
        ]);
    });

    it("refuses an alert that is not deployed", () => {
        const s = happyStack(guardrails, "staging");
        const rules = rulesOf(s);
        const ticket = alertOf(s, URGENCY.ticket);
        rules.splice(rules.indexOf(ticket), 1);
        expect(messages(s)[0]).toBe(
            `SLO ${slo.id}: alert ${ticket.alert as string} is not deployed; allowed: exactly the rule rules/ builds (${designAt()}). ${FIX}`,
        );
    });

    it("refuses a changed expression, naming both", () => {
        const s = happyStack(guardrails, "dev");
        const r = ruleOf(s, SLO_RECORD.requestRate);
        const want = r.expr;
        r.expr = want.replace("sum(", "max(");
        expect(reported(s)).toEqual([
            {
                message: `SLO ${slo.id}: ${named(s, r.record as string)}: expr is \`${r.expr}\`; allowed: \`${want}\` (${designAt()}). ${FIX}`,
                urn: objectOf(s).urn,
            },
        ]);
    });

    it("names a changed multi-line expression and the allowed one with their whitespace folded", () => {
        const s = happyStack(guardrails, "dev");
        const page = alertOf(s, URGENCY.page);
        const want = page.expr;
        // A raised minimum-traffic gate: the page needs ten times the slow requests.
        page.expr = want.replace(/>= (\d+)\n\)$/, ">= $10\n)");
        expect(page.expr).not.toBe(want);
        expect(messages(s)).toEqual([
            `SLO ${slo.id}: ${named(s, page.alert as string)}: expr is \`${folded(page.expr)}\`; allowed: \`${folded(want)}\` (${designAt()}). ${FIX}`,
        ]);
    });

    it("refuses changed labels, naming both sorted", () => {
        const s = happyStack(guardrails, "dev");
        const r = ruleOf(s, SLO_RECORD.objective);
        const want = { ...r.labels };
        r.labels = { ...want, team: "x" };
        const sorted = (o: Record<string, string>) =>
            JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))));
        expect(messages(s)).toEqual([
            `SLO ${slo.id}: ${named(s, SLO_RECORD.objective)}: labels are ${sorted(r.labels)}; allowed: ${sorted(want)} (${designAt()}). ${FIX}`,
        ]);
    });

    it("names every difference of one rule together", () => {
        const s = happyStack(guardrails, "dev");
        const r = alertOf(s, URGENCY.ticket);
        r.expr = `${r.expr} or vector(1)`;
        r.labels = { ...r.labels, extra: "1" };
        r.for = "1h";
        const [message] = messages(s);
        expect(message).toContain(": expr is `");
        expect(message).toContain("; labels are ");
        expect(message).toContain('; for is "1h"; allowed: none');
    });

    it("names no hold time for an alert held for no time however it is spelled, when it differs otherwise", () => {
        const s = happyStack(guardrails, "dev");
        const ticket = alertOf(s, URGENCY.ticket);
        ticket.labels = { ...ticket.labels, extra: "1" };
        for (const hold of [null, "", "0s"]) {
            ticket.for = hold;
            const [message] = messages(s);
            expect(message).toMatch(/: labels are \{.*\}; allowed: \{.*\} \(rules\/slo\.ts/);
            expect(message).not.toContain("for is");
        }
    });

    it("refuses a rule deployed twice, identical, once per copy", () => {
        const s = happyStack(guardrails, "dev");
        const r = ruleOf(s, SLO_RECORD.objective);
        rulesOf(s).push({ ...r });
        const duplicate = `SLO ${slo.id}: ${named(s, SLO_RECORD.objective)}: it is deployed 2 times; allowed: once (${designAt()}). ${FIX}`;
        expect(messages(s)).toEqual([duplicate, duplicate]);
    });

    it("refuses a copy that differs beside the designed rule: the designed one as doubled, the copy by its difference", () => {
        const s = happyStack(guardrails, "dev");
        const r = ruleOf(s, SLO_RECORD.objective);
        rulesOf(s).push({ ...r, expr: "vector(0.999)" });
        expect(messages(s)).toEqual([
            `SLO ${slo.id}: ${named(s, SLO_RECORD.objective)}: it is deployed 2 times; allowed: once (${designAt()}). ${FIX}`,
            `SLO ${slo.id}: ${named(s, SLO_RECORD.objective)}: expr is \`vector(0.999)\`; allowed: \`vector(${slo.objective})\` (${designAt()}). ${FIX}`,
        ]);
    });

    it("refuses a recording labelled with the SLO that rules/ does not build", () => {
        const s = happyStack(guardrails, "dev");
        const r = ruleOf(s, SLO_RECORD.objective);
        rulesOf(s).push({ ...r, record: "team:latency:ratio" });
        expect(messages(s)).toEqual([
            `SLO ${slo.id}: recording team:latency:ratio (group ${groupOf(s).name}, ${RULE_TYPE} "rules-${slo.id}") writes a series labelled slo="${slo.id}" that rules/ does not build; allowed: only the designed recordings (${designAt()}). ${FIX}`,
        ]);
    });

    it("leaves a service's own rules (labelled service) to the service, and counts service=\"\" as the stack's", () => {
        const s = happyStack(guardrails, "dev");
        const r = ruleOf(s, SLO_RECORD.objective);
        rulesOf(s).push({ ...r, expr: "vector(0.999)", labels: { ...r.labels, service: "api" } });
        expect(reported(s)).toEqual([]);
        rulesOf(s).push({ ...r, expr: "vector(0.999)", labels: { ...r.labels, service: "" } });
        expect(text(s)).toContain(`expr is \`vector(0.999)\``);
    });

    it("reports a guardrails objective that leaves no room for the page, naming the SLO", () => {
        // An objective low enough that the page can never fire (rules/ refuses to build it).
        const lowest = Math.max(...SLO_BURN_ALERTS.map((a) => Math.min(...a.conditions.map((c) => c.burnRate))));
        const unbuildable: Guardrails = {
            ...guardrails,
            slo: {
                ...guardrails.slo,
                objectives: guardrails.slo.objectives.map((o, i) =>
                    i === 0 ? { ...o, objective: 1 - 2 / lowest } : o,
                ),
            },
        };
        const s = happyStack(guardrails, "dev");
        // Without the objective recording the rules are expected at the guardrails' objective.
        rulesOf(s).splice(rulesOf(s).indexOf(ruleOf(s, SLO_RECORD.objective)), 1);
        const out = reported(s, fixtureContext(unbuildable));
        expect(out[0].message).toMatch(new RegExp(`^SLO ${slo.id}: SLO "${slo.id}": objective .* could never fire`));
        expect(out[0].message).toContain(
            "(guardrails/guardrails.yaml /slo/objectives, or the stack's config guardrailOverrides)",
        );
        expect(out[0].message.endsWith(`. ${FIX}`)).toBe(true);
        expect(out[0].urn).toBe(s.byName("maestro-guardrails-dev").urn);
    });
});

describe(`${SLO_POLICY}: threshold and objective bounds`, () => {
    it("refuses a loosened objective recording (vector of a lower objective), naming it", () => {
        const s = happyStack(guardrails, "dev");
        const looser = Number((slo.objective - (1 - slo.objective)).toFixed(6));
        ruleOf(s, SLO_RECORD.objective).expr = `vector(${looser})`;
        expect(messages(s)).toContain(
            `SLO ${slo.id}: ${named(s, SLO_RECORD.objective)} uses objective ${looser}, looser than the guardrail objective ${slo.objective} (${at()}/objective); allowed: >= ${slo.objective}. ${FIX}`,
        );
    });

    it("reads a loosened objective recording however vector( X ) is spaced", () => {
        const s = happyStack(guardrails, "dev");
        ruleOf(s, SLO_RECORD.objective).expr = `vector( ${looserObjective}\n)`;
        expect(text(s)).toContain(`${named(s, SLO_RECORD.objective)} uses objective ${looserObjective}, looser than`);
    });

    it("refuses rules built whole with a looser objective, or a looser threshold, each by its expression", () => {
        const s = happyStack(guardrails, "dev");
        deploy(s, builtWith("dev", { objective: looserObjective }));
        expect(text(s)).toContain(
            `${named(s, SLO_RECORD.objective)}: expr is \`vector(${looserObjective})\`; allowed: \`vector(${slo.objective})\``,
        );
        const looser = slo.sli.thresholdSeconds * 2;
        deploy(s, builtWith("dev", { thresholdSeconds: looser }));
        expect(text(s)).toContain(
            `${named(s, SLO_RECORD.thresholdSeconds)}: expr is \`vector(${looser})\`; allowed: \`vector(${slo.sli.thresholdSeconds})\``,
        );
    });

    it("takes the stack's tighter objective from an objective recording that is vector(X) alone, however spaced", () => {
        const tighter = (1 + slo.objective) / 2;
        const s = happyStack(guardrails, "dev");
        deploy(s, builtWith("dev", { objective: tighter }));
        const r = ruleOf(s, SLO_RECORD.objective);
        // Spaced: the recording differs from the designed one, the rules built with its objective do not.
        r.expr = ` vector( ${tighter} ) `;
        expect(messages(s)).toEqual([
            `SLO ${slo.id}: ${named(s, SLO_RECORD.objective)}: expr is \`vector( ${tighter} )\`; allowed: \`vector(${tighter})\` (${designAt()}). ${FIX}`,
        ]);
        // Anything beside vector(X): the rules are expected at the guardrail's objective, the page's too.
        for (const expr of [`vector(${tighter}) + 0`, `0 + vector(${tighter})`]) {
            r.expr = expr;
            expect(text(s)).toContain(`${named(s, alertOf(s, URGENCY.page).alert as string)}: expr is`);
        }
    });

    it("reads vector(X) as an objective in the objective recording only", () => {
        const s = happyStack(guardrails, "dev");
        // The threshold recording holds seconds, below any objective: not an objective.
        expect(ruleOf(s, SLO_RECORD.thresholdSeconds).expr).toBe(`vector(${slo.sli.thresholdSeconds})`);
        expect(reported(s)).toEqual([]);
    });

    it("reads (1 - X) in any rule, with any spacing", () => {
        const s = happyStack(guardrails, "dev");
        const looser = Number((slo.objective - (1 - slo.objective)).toFixed(6));
        const page = alertOf(s, URGENCY.page);
        page.expr = page.expr.split(`(1 - ${slo.objective})`).join(`( 1-${looser} )`);
        expect(text(s)).toContain(`${named(s, page.alert as string)} uses objective ${looser}, looser than`);
    });

    it("takes an objective exactly at the guardrail's", () => {
        const s = happyStack(guardrails, "dev");
        expect(ruleOf(s, SLO_RECORD.objective).expr).toBe(`vector(${slo.objective})`);
        expect(text(s)).not.toContain("uses objective");
    });

    it("refuses a bound above the threshold, naming the rule, the bound and the allowed one", () => {
        const s = happyStack(guardrails, "prod");
        const r = ruleOf(s, SLO_RECORD.errorRatio("30m"));
        const looser = leLabel(slo.sli.thresholdSeconds * 2);
        r.expr = r.expr.replace(bound, `le="${looser}"`);
        expect(reported(s)).toContainEqual({
            message:
                `SLO ${slo.id}: ${named(s, r.record as string)} counts requests within le="${looser}" s as good, looser than the guardrail threshold of ${slo.sli.thresholdSeconds} s ` +
                `(${at()}/sli/thresholdSeconds); allowed: le <= ${slo.sli.thresholdSeconds}. ${FIX}`,
            urn: objectOf(s).urn,
        });
    });

    it("refuses an exact bound that is no number, even one spelled like a regex of small bounds", () => {
        const s = happyStack(guardrails, "prod");
        const r = ruleOf(s, SLO_RECORD.errorRatio("30m"));
        r.expr = r.expr.replace(bound, `le="0.1|0.2"`);
        expect(text(s)).toContain(`${named(s, r.record as string)} counts requests within le="0.1|0.2" s as good`);
    });

    it("refuses an open bound (+Inf)", () => {
        const s = happyStack(guardrails, "prod");
        const r = ruleOf(s, SLO_RECORD.errorRatio("30m"));
        r.expr = r.expr.replace(bound, `le="+Inf"`);
        expect(text(s)).toContain(`counts requests within le="+Inf" s as good`);
    });

    it("refuses an SLO none of whose rules measures the threshold, naming the metric and the guardrail", () => {
        const s = happyStack(guardrails, "dev");
        rulesOf(s).forEach((r) => (r.expr = r.expr.split(bound).join(`le!="${leLabel(slo.sli.thresholdSeconds)}"`)));
        expect(reported(s)).toContainEqual({
            message: `SLO ${slo.id}: no rule measures its threshold (no ${slo.sli.metric}_bucket selector with the SLI's matchers and an le bound), so the guardrail of ${slo.sli.thresholdSeconds} s (${at()}/sli/thresholdSeconds) is not enforced. ${FIX}`,
            urn: objectOf(s).urn,
        });
    });

    it("counts a bucket selector as measuring the SLI only when it carries every one of the SLI's matchers", () => {
        const c = fixtureContext(twoMatchers);
        const s = happyStack(twoMatchers, "dev");
        expect(reported(s, c)).toEqual([]);
        // Only the first matcher left on every selector: no rule measures this SLI's threshold any more.
        rulesOf(s).forEach((r) => (r.expr = r.expr.split(',tier="web"').join("")));
        expect(text(s, c)).toContain(`SLO ${slo.id}: no rule measures its threshold`);
    });
});

describe(`${SLO_POLICY}: naming the rules`, () => {
    it("names a rule labelled with the SLO that has neither an alert nor a record name as recording ?", () => {
        const s = happyStack(guardrails, "dev");
        rulesOf(s).push({ expr: `x > (1 - ${looserObjective})`, labels: { slo: slo.id } });
        expect(reported(s)).toEqual([
            {
                message: `SLO ${slo.id}: recording ? (group ${groupOf(s).name}, ${RULE_TYPE} "rules-${slo.id}") uses objective ${looserObjective}, looser than the guardrail objective ${slo.objective} (${at()}/objective); allowed: >= ${slo.objective}. ${FIX}`,
                urn: objectOf(s).urn,
            },
        ]);
    });
});

describe("thresholdBounds (which bucket bounds a rule measures an SLO with)", () => {
    const metric = slo.sli.metric;
    const own = slo.sli.matchers.map((m) => `${m.label}${m.op}${JSON.stringify(m.value)}`).join(",");

    it("reads the le bound of the SLI's bucket selectors, with or without spaces, in any quoting", () => {
        expect(thresholdBounds(`rate(${metric}_bucket{${own},le="0.5"}[5m])`, slo)).toEqual(["0.5"]);
        expect(thresholdBounds(`rate(${metric}_bucket{ ${own.replace("=", " = ")} , le = "0.5" }[5m])`, slo)).toEqual([
            "0.5",
        ]);
        expect(thresholdBounds(`${metric}_bucket{le='0.5',${own}}`, slo)).toEqual(["0.5"]);
        expect(thresholdBounds(`${metric}_bucket{le=\`0.5\`,${own}}`, slo)).toEqual(["0.5"]);
        expect(thresholdBounds(`${metric}_bucket{le="0.\\"5",${own}}`, slo)).toEqual(['0."5']);
    });

    it("reads an exact bound whole, a | or a backslash in it included (only a regex bound has alternatives)", () => {
        expect(thresholdBounds(`${metric}_bucket{${own},le="0.1|0.2"}`, slo)).toEqual(["0.1|0.2"]);
        expect(thresholdBounds(`${metric}_bucket{${own},le="0\\\\.5"}`, slo)).toEqual(["0\\.5"]);
    });

    it("reads the metric name literally (a dotted name's dots match only dots)", () => {
        const dotted = { ...slo, sli: { ...slo.sli, metric: "http.server.duration", matchers: [] } };
        expect(thresholdBounds(`http.server.duration_bucket{le="0.5"}`, dotted)).toEqual(["0.5"]);
        expect(thresholdBounds(`http_server_duration_bucket{le="0.5"}`, dotted)).toEqual([]);
    });

    it("reads each alternative of a regex bound, unescaped", () => {
        expect(thresholdBounds(`${metric}_bucket{${own},le=~"0\\\\.5|0\\\\.50"}`, slo)).toEqual(["0.5", "0.50"]);
    });

    it("reads every selector of the expression", () => {
        expect(thresholdBounds(`${metric}_bucket{${own},le="0.1"} / ${metric}_bucket{${own},le="0.2"}`, slo)).toEqual([
            "0.1",
            "0.2",
        ]);
    });

    it("ignores another metric, a selector without the SLI's matchers, a label that merely ends in le, and no le", () => {
        expect(thresholdBounds(`other_seconds_bucket{${own},le="9"}`, slo)).toEqual([]);
        expect(thresholdBounds(`${metric}_bucket{le="9"}`, slo)).toEqual([]);
        expect(thresholdBounds(`${metric}_bucket{${own},handle="9"}`, slo)).toEqual([]);
        expect(thresholdBounds(`${metric}_bucket{${own}}`, slo)).toEqual([]);
        expect(thresholdBounds(`${metric}_count{${own},le="9"}`, slo)).toEqual([]);
    });

    it("counts any bucket selector of an SLI without matchers", () => {
        const whole = { ...slo, sli: { ...slo.sli, matchers: [] } };
        expect(thresholdBounds(`${metric}_bucket{le="0.5"}`, whole)).toEqual(["0.5"]);
    });
});

describe(`${SLO_POLICY}: the page and the ticket`, () => {
    const missing = (urgency: string, severity: string) =>
        `SLO ${slo.id} has no ${urgency} alert: no alerting rule labelled slo="${slo.id}", urgency="${urgency}", severity="${severity}", guardrail="slo". ${FIX}`;

    it.each([
        ["urgency", "ticket"],
        ["severity", "warning"],
        ["guardrail", "cost"],
    ])("refuses a page alert whose %s label is %s, on the rule object", (label, value) => {
        const s = happyStack(guardrails, "dev");
        alertOf(s, URGENCY.page).labels[label] = value;
        expect(reported(s)).toContainEqual({ message: missing("page", "critical"), urn: objectOf(s).urn });
    });

    it("refuses a ticket alert labelled for another guardrail", () => {
        const s = happyStack(guardrails, "dev");
        alertOf(s, URGENCY.ticket).labels.guardrail = "telemetry";
        expect(messages(s)).toContain(missing("ticket", "warning"));
        expect(messages(s)).not.toContain(missing("page", "critical"));
    });

    it("refuses an SLO without any alert, once, on the stack", () => {
        const s = happyStack(guardrails, "dev");
        groupOf(s).rules = rulesOf(s).filter((r) => r.alert === undefined);
        const out = reported(s).filter((v) => v.message.startsWith(`SLO ${slo.id} `));
        expect(out).toEqual([
            {
                message: `SLO ${slo.id} (${at()}) has no alert rules deployed: no alerting rule is labelled slo="${slo.id}". ${FIX}`,
                urn: s.byName("maestro-guardrails-dev").urn,
            },
        ]);
    });

    it("refuses alerts labelled with another environment, or none", () => {
        const s = happyStack(guardrails, "prod");
        const page = alertOf(s, URGENCY.page);
        delete page.labels.env;
        expect(reported(s)).toContainEqual({
            message: `SLO ${slo.id}: ${named(s, page.alert as string)} is labelled env="" in the prod stack; allowed: env="prod". ${FIX}`,
            urn: objectOf(s).urn,
        });
    });
});

describe(`${SLO_POLICY}: the SLO series have no second writer`, () => {
    const stray = (s: FixtureStack, labels: Record<string, string>) => {
        const r = ruleOf(s, SLO_RECORD.objective);
        rulesOf(s).push({ record: `${SLO_RECORD.objective.split(":")[0]}:shadow:ratio`, expr: "vector(1)", labels });
        return r;
    };

    it("refuses a recording in the SLO namespace that names no SLO, or an unknown one", () => {
        for (const [labels, shown] of [
            [{}, '""'],
            [{ slo: "unknown-slo" }, '"unknown-slo"'],
        ] as const) {
            const s = happyStack(guardrails, "dev");
            stray(s, labels);
            const prefix = `${SLO_RECORD.objective.split(":")[0]}:`;
            expect(reported(s)).toEqual([
                {
                    message: `recording ${prefix}shadow:ratio (group ${groupOf(s).name}, ${RULE_TYPE} "rules-${slo.id}") writes a ${prefix}* series labelled slo=${shown}, which no guardrail SLO or service owns; allowed: only the recordings rules/ builds per SLO (labelled with its id). ${FIX}`,
                    urn: objectOf(s).urn,
                },
            ]);
        }
    });

    it("leaves a service's recording (labelled service) and recordings outside the namespace alone", () => {
        const s = happyStack(guardrails, "dev");
        stray(s, { service: "api" });
        rulesOf(s).push({ record: "team:latency:ratio", expr: "vector(1)", labels: {} });
        expect(reported(s)).toEqual([]);
    });
});

describe(`${SLO_POLICY}: reading the rules`, () => {
    it("reads AMP rule group namespaces, and reports one whose data is not a rule file, on it", () => {
        const s = happyStack(guardrails, "dev");
        const k8s = objectOf(s);
        const groups = (k8s.props.spec as { groups: unknown }).groups;
        const amp: FixtureResource = {
            ...k8s,
            type: "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
            props: { name: "x", workspaceId: "ws", data: yaml.dump({ groups }) },
        };
        s.resources.splice(s.resources.indexOf(k8s), 1, amp);
        expect(reported(s)).toEqual([]);
        amp.props.data = "groups: [";
        const [first] = reported(s);
        expect(first.message).toMatch(
            /^aws:amp\/ruleGroupNamespace:RuleGroupNamespace "rules-api-read-latency": data is not a Prometheus rule file \([\s\S]+\)$/,
        );
        expect(first.urn).toBe(amp.urn);
    });

    it("reads rule files from PrometheusRule objects and AMP rule group namespaces only", () => {
        const s = happyStack(guardrails, "dev");
        const k8s = objectOf(s);
        const groups = (k8s.props.spec as { groups: unknown }).groups;
        // The SLO's rules as a rule file in a resource no Prometheus loads rules from.
        const other: FixtureResource = {
            ...k8s,
            type: "kubernetes:core/v1:ConfigMap",
            props: { data: yaml.dump({ groups }) },
        };
        s.resources.splice(s.resources.indexOf(k8s), 1, other);
        expect(messages(s)).toContain(
            `SLO ${slo.id} (${at()}) has no alert rules deployed: no alerting rule is labelled slo="${slo.id}". ${FIX}`,
        );
        other.props.data = "groups: [";
        expect(text(s)).not.toContain("is not a Prometheus rule file");
    });

    it("reads an empty rule file, a rule object without groups and groups without rules as no rules", () => {
        const s = happyStack(guardrails, "dev");
        const k8s = objectOf(s);
        const amp: FixtureResource = {
            ...k8s,
            type: "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
            props: { data: "" },
        };
        const rs = policyResources([amp, { ...k8s, props: {} }, { ...k8s, props: { spec: { groups: {} } } }]);
        expect(deployedRules(rs)).toEqual({ rules: [], problems: [] });
        const noRules = policyResources([{ ...k8s, props: { spec: { groups: [{ name: "g", rules: {} }] } } }]);
        expect(deployedRules(noRules).rules).toEqual([]);
    });

    it("reads a rule's fields as the engine sends them (a missing label set, a non-string expression)", () => {
        const s = happyStack(guardrails, "dev");
        const [r] = policyResources([objectOf(s)]);
        r.props = {
            spec: { groups: [{ name: "g", rules: [{ record: "a:b", expr: 1 }, { alert: "A" }, { alert: 7 }] }] },
        };
        expect(deployedRules([r]).rules.map(({ resource, ...x }) => ({ ...x, urn: resource.urn }))).toEqual([
            { group: "g", alert: undefined, record: "a:b", expr: "1", for: undefined, labels: {}, urn: r.urn },
            { group: "g", alert: "A", record: undefined, expr: '""', for: undefined, labels: {}, urn: r.urn },
            { group: "g", alert: undefined, record: undefined, expr: '""', for: undefined, labels: {}, urn: r.urn },
        ]);
    });

    it("judges the rules of an unbound stack as far as it can, after saying so", () => {
        const s = happyStack(guardrails, "dev");
        groupOf(s).rules = rulesOf(s).filter((r) => r.alert === undefined);
        const unbound = s.resources.map((r) => ({
            ...r,
            urn: r.urn.replace("urn:pulumi:dev::", "urn:pulumi:sandbox::"),
        }));
        const out = runStack(sloPolicy(ctx), unbound).map((v) => v.message);
        expect(out[0]).toContain(`${SLO_POLICY} cannot tell the stack's environment: the stack "sandbox"`);
        expect(out.slice(1)).toEqual([
            `SLO ${slo.id} (${at()}) has no alert rules deployed: no alerting rule is labelled slo="${slo.id}". ${FIX}`,
        ]);
    });
});

describe(`${SLO_POLICY}: rule objects carry the stack's selector labels`, () => {
    const labelsOf = (r: FixtureResource) => (r.props.metadata as { labels: Record<string, unknown> }).labels;

    it("refuses a rule object with evidence labels only, on it", () => {
        const s = happyStack(guardrails, "dev");
        const r = objectOf(s);
        delete labelsOf(r).role;
        expect(reported(s)).toEqual([
            {
                message: `${RULE_TYPE} "rules-${slo.id}" carries no selector label (only evidence labels), so no Prometheus ruleSelector loads it; allowed: the stack's ruleTarget.ruleSelectorLabels (non-empty). ${FIX}`,
                urn: r.urn,
            },
        ]);
    });

    it("counts no empty or non-string label as a selector", () => {
        for (const role of ["", 1, null]) {
            const s = happyStack(guardrails, "dev");
            labelsOf(objectOf(s)).role = role;
            expect(messages(s)).toEqual([expect.stringContaining("carries no selector label")]);
        }
    });

    it("refuses a rule object whose selector labels differ from the stack's others, naming both", () => {
        const s = happyStack(guardrails, "dev");
        const other = objectOf(s, guardrails.slo.objectives[1].id);
        labelsOf(other).role = "other-rules";
        const first = JSON.stringify({ role: labelsOf(objectOf(s)).role });
        expect(reported(s)).toEqual([
            {
                message: `${RULE_TYPE} "${other.name}" carries selector labels {"role":"other-rules"}, unlike the stack's other rule objects (${first}); allowed: the same ruleSelectorLabels on every object. ${FIX}`,
                urn: other.urn,
            },
        ]);
    });

    it("reads the evidence stamps as no selector labels", () => {
        const s = happyStack(guardrails, "dev");
        const r = objectOf(s);
        expect(Object.keys(labelsOf(r))).toEqual(expect.arrayContaining(Object.values(K8S_LABEL).slice(0, 2)));
        labelsOf(r)[K8S_LABEL.owner] = "someone-else";
        expect(reported(s)).toEqual([]);
    });

    it("judges selector labels of PrometheusRule objects only", () => {
        const s = happyStack(guardrails, "dev");
        const r = objectOf(s);
        const groups = (r.props.spec as { groups: unknown }).groups;
        r.type = "aws:amp/ruleGroupNamespace:RuleGroupNamespace";
        r.props = { ...r.props, data: yaml.dump({ groups }) };
        delete labelsOf(r).role;
        expect(reported(s)).toEqual([]);
    });
});
