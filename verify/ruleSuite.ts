/**
 * promtool test suites for one stack, generated from its config and the guardrails: every behaviour the alerting
 * goals (docs/slo-alerting.md) ask of the rules, as `promtool test rules` files (1-minute evaluation, 1000 requests/min synthetic histograms,
 * `group_eval_order` fixed). Used by test/rules-promtool.test.ts and by `npm run bench`.
 */
import * as yaml from "js-yaml";
import { COST_METRIC, CADENCE_METRIC, SLO_RECORD, URGENCY, urgencyLabels } from "../core/conventions";
import { Guardrails, SloObjective } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";
import { CADENCE_ALERT, cadenceTargets } from "../rules/cadence";
import { COST_ALERT, COST_BUDGETS, CostBudget, budgetUsd } from "../rules/cost";
import {
    CADENCE_ABSENT_FOR,
    CADENCE_GRACE_DAYS,
    COST_ALERT_FOR,
    COST_DATA_MAX_AGE_HOURS,
    COST_TELEMETRY_FOR,
    COST_FORECAST_MIN_ELAPSED_DAYS,
    SLO_BURN_ALERTS,
    durationSeconds,
    BurnRateAlert,
    designWindows,
    longestWindow,
} from "../rules/design";
import { buildRuleSets, renderRuleFile, RuleSet } from "../rules/index";
import { sloGroupName, sloPeriodWindow, sloSeriesSelector } from "../rules/slo";
import {
    counterValues,
    InputSeries,
    LeSpelling,
    phaseMinutes,
    sliHistogram,
    SYNTHETIC_REQUESTS_PER_MINUTE,
    TrafficPhase,
} from "./synthetic";
import { TELEMETRY_ALERT } from "../rules/telemetry";
import { renderAnnotations } from "./alertTemplates";
import { AlertingRule, isAlertingRule } from "../rules/types";

/**
 * The alerting goals (docs/slo-alerting.md), as limits. Traffic is described as a burn rate (multiple of 1 - objective),
 * so the goals' shares of slow requests at a p95 objective become burns (7x, 2x, 0.6x) and keep their meaning if an
 * environment tightens its objective.
 */
export const SLO_BEHAVIOUR = {
    /** Every request slow: page within this. */
    allSlowPageWithin: "10m",
    /** A 7x burn, sustained: page within this. */
    highBurn: 7,
    highBurnPageWithin: "60m",
    /** Budget gone in ~15 days: ticket within this, never a page. */
    budgetGoneInDays: 15,
    slowBurnTicketWithin: "6h",
    slowBurnHeldFor: "1d",
    /** A 0.6x burn (p95 inside the guardrail) for days: no alert at all. */
    withinGuardrailBurn: 0.6,
    withinGuardrailFor: "2d",
    /** Every request slow for this long, then healthy: no page. */
    blip: "3m",
    /** After a full breach this long ends, the page resolves within `resolveWithin`. */
    fullBreach: "1h",
    resolveWithin: "15m",
    /** A missing SLI series or threshold bucket raises the telemetry alert after this. */
    telemetryGapWithin: "10m",
} as const;

const minutes = (d: string) => durationSeconds(d) / 60;
const at = (m: number) => `${m}m`;

export interface PromtoolSuite {
    /** File name -> content, all in one folder: rule files first, then test files. */
    readonly files: Readonly<Record<string, string>>;
    readonly ruleFiles: readonly string[];
    readonly testFiles: readonly string[];
}

interface TestGroup {
    interval: string;
    input_series: InputSeries[];
    alert_rule_test?: Array<{
        alertname: string;
        eval_time: string;
        exp_alerts: Array<{ exp_labels: Record<string, string>; exp_annotations: Record<string, string> }>;
    }>;
    promql_expr_test?: Array<{
        expr: string;
        eval_time: string;
        exp_samples: Array<{ labels: string; value: number }>;
    }>;
}

function testFile(ruleFiles: string[], groupOrder: string[], evaluationInterval: string, tests: TestGroup[]): string {
    return yaml.dump(
        { rule_files: ruleFiles, evaluation_interval: evaluationInterval, group_eval_order: groupOrder, tests },
        { lineWidth: -1, noRefs: true },
    );
}

function alertRule(set: RuleSet, name: string, match: (r: AlertingRule) => boolean = () => true): AlertingRule {
    const rule = set.groups
        .flatMap((g) => g.rules)
        .filter(isAlertingRule)
        .find((r) => r.alert === name && match(r));
    if (!rule) {
        throw new Error(`rule set ${set.name} has no alert ${name}`);
    }
    return rule;
}

/**
 * exp_alerts entry for a rule: its own labels (plus what the expression carries) and annotations as sent, with the
 * value the alert fired with printed where the description asks for it.
 */
function expected(rule: AlertingRule, extraLabels: Record<string, string> = {}, value?: number) {
    return {
        exp_labels: { ...extraLabels, ...rule.labels },
        exp_annotations: renderAnnotations(rule.annotations, value),
    };
}

/** ALERTS series selector: firing alerts matching these labels. */
function firing(labels: Record<string, string>): string {
    return `ALERTS{${Object.entries({ ...labels, alertstate: "firing" })
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}}`;
}

/** Assert no firing alert matching `labels` at any evaluation in the last `rangeMinutes`, checked at `end`. */
/**
 * One firing alert matching these labels at minute `end`, whatever value its description prints: for timelines
 * whose exact value is not what the test is about (a gate, a scope), so the test states only that it fires.
 */
function firesOnce(labels: Record<string, string>, end: number) {
    return { expr: `count(${firing(labels)})`, eval_time: at(end), exp_samples: [{ labels: "{}", value: 1 }] };
}

function neverFiring(labels: Record<string, string>, end: number, rangeMinutes: number) {
    return { expr: `count_over_time(${firing(labels)}[${rangeMinutes}m])`, eval_time: at(end), exp_samples: [] };
}

function round3(x: number): number {
    return Math.floor(x * 1000 + 0.5) / 1000;
}

/** The page behaviours, one after another on one timeline (each starts with the page's windows clean). */
function sloPageTest(
    slo: SloObjective,
    sloSet: RuleSet,
    design: readonly BurnRateAlert[],
    le: LeSpelling = "client",
): TestGroup {
    const { page } = burnAlerts(design);
    const pageRule = alertRule(sloSet, page.alert);
    const pageWindow = page.conditions[0].longWindow;
    const budget = 1 - slo.objective;
    const B = SLO_BEHAVIOUR;
    // Healthy stretches as long as the page's long window, so one behaviour cannot leak into the next.
    const clear = minutes(longestWindow([page])) + 15;
    const blip = minutes(B.blip);
    const breach = minutes(B.fullBreach);
    const highBurn = minutes(B.highBurnPageWithin) + 15;
    const phases: TrafficPhase[] = [
        { minutes: clear, badShare: 0 },
        { minutes: blip, badShare: 1 },
        { minutes: clear, badShare: 0 },
        { minutes: breach, badShare: 1 },
        { minutes: clear, badShare: 0 },
        { minutes: highBurn, badShare: B.highBurn * budget },
    ];
    // Minutes at which each phase starts (the first sample of a phase is at start + 1).
    const starts = phases.map((_, i) => phaseMinutes(phases.slice(0, i)));
    const [, blipAt, , breachAt, , highAt] = starts;
    const pages = { slo: slo.id, urgency: URGENCY.page };
    return {
        interval: "1m",
        input_series: sliHistogram(slo.sli, phases, { le }),
        alert_rule_test: [
            // Every request slow: page within 10m; still paging when the breach ends; resolved within 15m of the end.
            { alertname: page.alert, eval_time: at(breachAt), exp_alerts: [] },
            {
                alertname: page.alert,
                eval_time: at(breachAt + minutes(B.allSlowPageWithin)),
                // The long window's slow share: the minutes of the breach it holds.
                exp_alerts: [expected(pageRule, {}, minutes(B.allSlowPageWithin) / minutes(pageWindow))],
            },
            { alertname: page.alert, eval_time: at(breachAt + breach), exp_alerts: [expected(pageRule, {}, 1)] },
            { alertname: page.alert, eval_time: at(breachAt + breach + minutes(B.resolveWithin)), exp_alerts: [] },
            // A 7x burn, sustained: page within 60m.
            { alertname: page.alert, eval_time: at(highAt), exp_alerts: [] },
            {
                alertname: page.alert,
                eval_time: at(highAt + minutes(B.highBurnPageWithin)),
                exp_alerts: [expected(pageRule, {}, B.highBurn * budget)],
            },
        ],
        // Every request slow for 3 minutes, then healthy: no page.
        promql_expr_test: [neverFiring(pages, breachAt, breachAt - blipAt)],
    };
}

/**
 * The budget behaviours on one timeline: a 0.6x burn (inside the guardrail) for days raises
 * nothing, and the recordings read exactly what was sent; then a burn that spends the budget in ~15 days (2x at
 * the shipped period) tickets within 6h and never pages.
 */
function sloBudgetTest(
    config: StackConfig,
    guardrails: Guardrails,
    slo: SloObjective,
    sloSet: RuleSet,
    design: readonly BurnRateAlert[],
): TestGroup {
    const { page, ticket } = burnAlerts(design);
    const ticketRule = alertRule(sloSet, ticket.alert);
    const env = config.environment;
    const budget = 1 - slo.objective;
    const B = SLO_BEHAVIOUR;
    const inside = B.withinGuardrailBurn * budget;
    const days = minutes(B.withinGuardrailFor);
    const slowBurn = (guardrails.slo.periodDays / B.budgetGoneInDays) * budget;
    const held = minutes(B.slowBurnTicketWithin) + minutes(longestWindow([page]));
    const own = sloSeriesSelector(slo.id, env);
    const sample = (value: number, name?: string) => [
        { labels: `${name ?? ""}{env=${JSON.stringify(env)},slo=${JSON.stringify(slo.id)}}`, value },
    ];
    const p95 = Math.floor(slo.sli.thresholdSeconds * (slo.objective / (1 - inside)) * 1e6 + 0.5) / 1e6;
    return {
        interval: "1m",
        input_series: sliHistogram(slo.sli, [
            { minutes: days, badShare: inside },
            { minutes: held, badShare: slowBurn },
        ]),
        alert_rule_test: [
            { alertname: ticket.alert, eval_time: at(days), exp_alerts: [] },
            {
                alertname: ticket.alert,
                eval_time: at(days + minutes(B.slowBurnTicketWithin)),
                exp_alerts: [expected(ticketRule, {}, slowBurn)],
            },
        ],
        promql_expr_test: [
            neverFiring({ slo: slo.id }, days, days),
            neverFiring({ slo: slo.id, urgency: URGENCY.page }, days + held, held),
            ...[...designWindows(design), sloPeriodWindow(guardrails)].map((w) => ({
                expr: `round(${SLO_RECORD.errorRatio(w)}${own}, 0.001)`,
                eval_time: at(days),
                exp_samples: sample(round3(inside)),
            })),
            {
                expr: `round(${SLO_RECORD.errorBudgetRemaining}${own}, 0.001)`,
                eval_time: at(days),
                exp_samples: sample(round3(1 - inside / budget)),
            },
            {
                expr: `${SLO_RECORD.objective}${own}`,
                eval_time: at(days),
                exp_samples: sample(slo.objective, SLO_RECORD.objective),
            },
            {
                expr: `${SLO_RECORD.thresholdSeconds}${own}`,
                eval_time: at(days),
                exp_samples: sample(slo.sli.thresholdSeconds, SLO_RECORD.thresholdSeconds),
            },
            {
                expr: `round(${SLO_RECORD.requestRate}${own} * 60)`,
                eval_time: at(days),
                exp_samples: sample(SYNTHETIC_REQUESTS_PER_MINUTE),
            },
            { expr: `round(${SLO_RECORD.latencyP95}${own}, 0.000001)`, eval_time: at(days), exp_samples: sample(p95) },
        ],
    };
}

/** `abs(expr - value) <= bool tolerance` holds (1) for the SLO's own series: a figure within a tolerance, never NaN. */
function within(expr: string, value: number, tolerance: number, evalMinutes: number, labels: string) {
    return {
        expr: `abs(${expr} - ${value}) <= bool ${tolerance}`,
        eval_time: at(evalMinutes),
        exp_samples: [{ labels, value: 1 }],
    };
}

/**
 * Idle stretches and uneven traffic: the period's error ratio is the share of slow requests across the period
 * (traffic-weighted), within a percentage point of the true share, and stays a number through idle minutes (the
 * 5m ratio is 0/0 there). A stack that has seen no traffic at all reads 0 spent and a whole budget.
 */
function sloIdleTests(config: StackConfig, guardrails: Guardrails, slo: SloObjective): TestGroup[] {
    const env = config.environment;
    const own = sloSeriesSelector(slo.id, env);
    const labels = `{env=${JSON.stringify(env)},slo=${JSON.stringify(slo.id)}}`;
    const budget = 1 - slo.objective;
    const period = SLO_RECORD.errorRatio(sloPeriodWindow(guardrails));
    const B = SLO_BEHAVIOUR;
    // A busy day inside the guardrail, a quiet evening where half the few requests are slow, then no traffic.
    const busy = {
        minutes: 12 * 60,
        perMinute: SYNTHETIC_REQUESTS_PER_MINUTE,
        badShare: B.withinGuardrailBurn * budget,
    };
    const quiet = { minutes: 6 * 60, perMinute: QUIET_REQUESTS_PER_MINUTE, badShare: 0.5 };
    const idle = { minutes: 3 * 60, perMinute: 0, badShare: 0 };
    const weighted = [busy, quiet];
    const slow = weighted.reduce((n, p) => n + p.minutes * p.perMinute * p.badShare, 0);
    const all = weighted.reduce((n, p) => n + p.minutes * p.perMinute, 0);
    const share = slow / all;
    const idleFrom = busy.minutes + quiet.minutes;
    const idleEnd = idleFrom + idle.minutes;
    const tolerance = 0.01;
    return [
        {
            interval: "1m",
            input_series: sliHistogram(slo.sli, [busy, quiet, idle]),
            promql_expr_test: [
                // Within a percentage point of the true share, at the end of the quiet evening and all through the idle night.
                ...[idleFrom, idleFrom + 10, idleEnd].map((m) =>
                    within(`${period}${own}`, share, tolerance, m, labels),
                ),
                within(
                    `${SLO_RECORD.errorBudgetRemaining}${own}`,
                    1 - share / budget,
                    tolerance / budget,
                    idleEnd,
                    labels,
                ),
                // Idle minutes spend nothing: the figure at the end of the night is the figure once the last rate decayed.
                {
                    expr: `round(${period}${own}, 0.000001) - round(${period}${own} offset ${idle.minutes - 10}m, 0.000001)`,
                    eval_time: at(idleEnd),
                    exp_samples: [{ labels, value: 0 }],
                },
            ],
        },
        {
            // Counters exported but flat from the start: nothing spent, the whole budget left, no alert.
            interval: "1m",
            input_series: sliHistogram(slo.sli, [idle]),
            promql_expr_test: [
                {
                    expr: `${period}${own}`,
                    eval_time: at(idle.minutes),
                    exp_samples: [{ labels: `${period}${labels}`, value: 0 }],
                },
                {
                    expr: `${SLO_RECORD.errorBudgetRemaining}${own}`,
                    eval_time: at(idle.minutes),
                    exp_samples: [{ labels: `${SLO_RECORD.errorBudgetRemaining}${labels}`, value: 1 }],
                },
                neverFiring({ slo: slo.id }, idle.minutes, idle.minutes),
            ],
        },
    ];
}

/** Requests per minute of the quiet stretch in the idle test (a few, binary-exact halves). */
const QUIET_REQUESTS_PER_MINUTE = 4;
/** A trickle: one request every four minutes (binary-exact), all within the threshold unless a burst says so. */
const TRICKLE_REQUESTS_PER_MINUTE = 0.25;

/**
 * The minimum-traffic gate at a trickle and with no other traffic at all: a burst of `maxSlowRequestsWithoutAlert`
 * slow requests (100% of a window's traffic) never pages or tickets; one more slow request does page, so the gate
 * is exactly where the guardrails put it.
 */
function sloTrickleTests(
    guardrails: Guardrails,
    slo: SloObjective,
    sloSet: RuleSet,
    design: readonly BurnRateAlert[],
): TestGroup[] {
    const { page } = burnAlerts(design);
    const pageRule = alertRule(sloSet, page.alert);
    const maxSlow = guardrails.slo.maxSlowRequestsWithoutAlert;
    const clear = minutes(longestWindow(design)) + 15;
    const settle = minutes(longestWindow([page])) + 15;
    const burst = (n: number) => ({ minutes: 1, perMinute: n, badShare: 1 });
    return [TRICKLE_REQUESTS_PER_MINUTE, 0].flatMap((base): TestGroup[] => {
        const calm = (m: number) => ({ minutes: m, perMinute: base, badShare: 0 });
        // A burst at the limit, then the limit plus one, each after the ticket's windows have cleared.
        const phases: TrafficPhase[] = [calm(settle), burst(maxSlow), calm(clear), burst(maxSlow + 1), calm(settle)];
        const secondAt = settle + 1 + clear;
        return [
            {
                interval: "1m",
                input_series: sliHistogram(slo.sli, phases),
                promql_expr_test: [
                    neverFiring({ slo: slo.id }, secondAt, secondAt),
                    firesOnce({ alertname: pageRule.alert, slo: slo.id }, secondAt + 1),
                ],
            },
        ];
    });
}

/** The stack's config with one SLO's threshold tightened to a whole number of seconds (e.g. 1.2 -> 1). */
export function integerThresholdVariant(config: StackConfig): { config: StackConfig; slo: SloObjective } | undefined {
    const slo = config.slos.find((s) => Math.floor(s.sli.thresholdSeconds) >= 1);
    if (!slo) {
        return undefined;
    }
    const tightened: SloObjective = {
        ...slo,
        sli: { ...slo.sli, thresholdSeconds: Math.floor(slo.sli.thresholdSeconds) },
    };
    return { config: { ...config, slos: config.slos.map((s) => (s.id === slo.id ? tightened : s)) }, slo: tightened };
}

/** The config as another stack would see it with sliMatchers `scope` (every SLI selector scoped). */
export function scopedVariant(config: StackConfig, scope: Readonly<Record<string, string>>): StackConfig {
    const extra = Object.entries(scope).map(([label, value]) => ({ label, op: "=" as const, value }));
    return {
        ...config,
        sliMatchers: { ...config.sliMatchers, ...scope },
        slos: config.slos.map((s) => ({ ...s, sli: { ...s.sli, matchers: [...s.sli.matchers, ...extra] } })),
    };
}

/**
 * Two environments whose rules one Prometheus evaluates, each scoped by its sliMatchers: the slow traffic of one
 * pages that one only, and the other's ratios and budget read its own healthy traffic.
 */
function sharedPrometheusTest(
    mine: StackConfig,
    other: StackConfig,
    slo: SloObjective,
    mySet: RuleSet,
    design: readonly BurnRateAlert[],
): TestGroup {
    const { page } = burnAlerts(design);
    const pageRule = alertRule(mySet, page.alert);
    const otherSlo = other.slos.find((s) => s.id === slo.id)!;
    const end = minutes(longestWindow([page])) + minutes(SLO_BEHAVIOUR.allSlowPageWithin);
    const labels = (c: StackConfig) => `{env=${JSON.stringify(c.environment)},slo=${JSON.stringify(slo.id)}}`;
    return {
        interval: "1m",
        input_series: [
            ...sliHistogram(slo.sli, [{ minutes: end, badShare: 1 }]),
            ...sliHistogram(otherSlo.sli, [{ minutes: end, badShare: 0 }]),
        ],
        promql_expr_test: [
            firesOnce({ alertname: pageRule.alert, env: mine.environment, slo: slo.id }, end),
            neverFiring({ env: other.environment }, end, end),
            {
                expr: `${SLO_RECORD.errorRatio("5m")}${sloSeriesSelector(slo.id, other.environment)}`,
                eval_time: at(end),
                exp_samples: [{ labels: `${SLO_RECORD.errorRatio("5m")}${labels(other)}`, value: 0 }],
            },
            {
                expr: `${SLO_RECORD.errorRatio("5m")}${sloSeriesSelector(slo.id, mine.environment)}`,
                eval_time: at(end),
                exp_samples: [{ labels: `${SLO_RECORD.errorRatio("5m")}${labels(mine)}`, value: 1 }],
            },
            {
                expr: `${SLO_RECORD.errorBudgetRemaining}${sloSeriesSelector(slo.id, other.environment)}`,
                eval_time: at(end),
                exp_samples: [{ labels: `${SLO_RECORD.errorBudgetRemaining}${labels(other)}`, value: 1 }],
            },
        ],
    };
}

function burnAlerts(design: readonly BurnRateAlert[]) {
    const page = design.find((a) => a.urgency === URGENCY.page);
    const ticket = design.find((a) => a.urgency === URGENCY.ticket);
    if (!page || !ticket) {
        throw new Error("the SLO alert design needs one page and one ticket alert");
    }
    return { page, ticket };
}

function telemetryTests(config: StackConfig, slo: SloObjective, le: LeSpelling = "client"): TestGroup[] {
    const gap = minutes(SLO_BEHAVIOUR.telemetryGapWithin);
    const healthy = 20;
    const missing = gap + 5;
    // Minute of the stale marker: counterValues puts the phase after minute 0 and `healthy` samples.
    const goneAt = healthy + 1;
    const returnsAt = goneAt + missing;
    const base = { slo: slo.id, env: config.environment, ...urgencyLabels(URGENCY.ticket), guardrail: "telemetry" };
    const absentLabels = Object.fromEntries(
        slo.sli.matchers.filter((m) => m.op === "=").map((m) => [m.label, m.value]),
    );
    const alertSample = (alert: string, extra: Record<string, string>) => [
        {
            labels: `ALERTS{${Object.entries({ alertname: alert, alertstate: "firing", ...base, ...extra })
                .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
                .join(",")}}`,
            value: 1,
        },
    ];
    const check = (alert: string, extra: Record<string, string>) => [
        { expr: firing({ alertname: alert, slo: slo.id }), eval_time: at(goneAt + gap - 1), exp_samples: [] },
        {
            expr: firing({ alertname: alert, slo: slo.id }),
            eval_time: at(goneAt + gap),
            exp_samples: alertSample(alert, extra),
        },
        { expr: firing({ alertname: alert, slo: slo.id }), eval_time: at(returnsAt + 1), exp_samples: [] },
    ];
    const phases: TrafficPhase[] = [
        { minutes: healthy, badShare: 0 },
        { minutes: missing, gone: true },
        { minutes: 10, badShare: 0 },
    ];
    const steady: TrafficPhase[] = [{ minutes: healthy + missing + 10, badShare: 0 }];
    const [bucket] = sliHistogram(slo.sli, phases, { le });
    return [
        // The whole histogram disappears, then returns.
        {
            interval: "1m",
            input_series: sliHistogram(slo.sli, phases, { le }),
            promql_expr_test: check(TELEMETRY_ALERT.absent, absentLabels),
        },
        // Only the threshold bucket disappears (the service exports other bounds), then returns.
        {
            interval: "1m",
            input_series: [bucket, ...sliHistogram(slo.sli, steady, { bucket: false })],
            promql_expr_test: [
                ...check(TELEMETRY_ALERT.bucketMissing, {}),
                neverFiring({ alertname: TELEMETRY_ALERT.absent, slo: slo.id }, returnsAt + 1, returnsAt),
                // Nothing while the histogram is complete.
                neverFiring({ guardrail: "telemetry", slo: slo.id }, healthy, healthy),
            ],
        },
    ];
}

const MONTH_HOURS = 31 * 24; // promtool starts at 1970-01-01, and January has 31 days.

function costTests(config: StackConfig, set: RuleSet): TestGroup[] {
    const threshold = config.costAlertThreshold;
    const forHours = durationSeconds(COST_ALERT_FOR) / 3600;
    const spendSeries = (category: string, perHour: number, hours: number, resetAt?: number) => ({
        series: `${COST_METRIC.monthToDate}{category=${JSON.stringify(category)}}`,
        values:
            resetAt === undefined
                ? counterValues([{ minutes: hours, perMinute: perHour }])
                : // The month rolls over at `resetAt`: spend starts again from 0.
                  `${counterValues([{ minutes: resetAt - 1, perMinute: perHour }])} ${counterValues([{ minutes: hours - resetAt, perMinute: perHour }])}`,
    });
    const fresh = (hours: number) => ({
        series: COST_METRIC.dataTimestamp,
        values: counterValues([{ minutes: hours, perMinute: 3600 }]),
    });
    const rule = (alert: string, b: CostBudget) => alertRule(set, alert, (r) => r.labels.budget === b);
    const costPages = { guardrail: "cost", urgency: URGENCY.page };
    const tests: TestGroup[] = [];

    // On pace to end the month between the alert threshold and the cap: a ticket once spend crosses the
    // threshold, and no page all month (the forecast stays under the cap).
    const pace = (threshold + 1) / 2;
    const crossing = (threshold / pace) * MONTH_HOURS;
    const per = (b: CostBudget, share: number) => (share * budgetUsd(config, b)) / MONTH_HOURS;
    const end = MONTH_HOURS - 1;
    tests.push({
        interval: "1h",
        input_series: [spendSeries("total", per("total", pace), end), spendSeries("llm", 0, end), fresh(end)],
        alert_rule_test: [
            { alertname: COST_ALERT.threshold, eval_time: `${Math.floor(crossing) - 1}h`, exp_alerts: [] },
            {
                alertname: COST_ALERT.threshold,
                eval_time: `${Math.ceil(crossing) + forHours + 1}h`,
                exp_alerts: [
                    expected(
                        rule(COST_ALERT.threshold, "total"),
                        {},
                        per("total", pace) * (Math.ceil(crossing) + forHours + 1),
                    ),
                ],
            },
        ],
        promql_expr_test: [
            { expr: `count_over_time(${firing(costPages)}[${end}h])`, eval_time: `${end}h`, exp_samples: [] },
        ],
    });
    // On pace for twice each cap (total and LLM): the forecast pages after the first day (not during it), the
    // threshold tickets and the cap pages when reached, each per budget; the month rolls over and pages resolve.
    const twice = 2;
    const total = MONTH_HOURS + 6;
    const minElapsed = COST_FORECAST_MIN_ELAPSED_DAYS * 24;
    // Spend grows by per(b, twice) an hour from 0, so at hour h it is per * h, and the forecast is per * MONTH_HOURS.
    const both = (alert: string, hour?: number) =>
        COST_BUDGETS.map((b) => expected(rule(alert, b), {}, per(b, twice) * (hour ?? MONTH_HOURS)));
    tests.push({
        interval: "1h",
        input_series: [...COST_BUDGETS.map((b) => spendSeries(b, per(b, twice), total, MONTH_HOURS)), fresh(total)],
        alert_rule_test: [
            { alertname: COST_ALERT.forecast, eval_time: `${minElapsed - 1}h`, exp_alerts: [] },
            {
                alertname: COST_ALERT.forecast,
                eval_time: `${minElapsed + forHours + 1}h`,
                exp_alerts: both(COST_ALERT.forecast),
            },
            {
                alertname: COST_ALERT.threshold,
                eval_time: `${Math.floor((threshold / twice) * MONTH_HOURS) - 1}h`,
                exp_alerts: [],
            },
            {
                alertname: COST_ALERT.threshold,
                eval_time: `${Math.ceil((threshold / twice) * MONTH_HOURS) + forHours + 1}h`,
                exp_alerts: both(COST_ALERT.threshold, Math.ceil((threshold / twice) * MONTH_HOURS) + forHours + 1),
            },
            { alertname: COST_ALERT.exceeded, eval_time: `${Math.floor(MONTH_HOURS / twice) - 1}h`, exp_alerts: [] },
            {
                alertname: COST_ALERT.exceeded,
                eval_time: `${Math.ceil(MONTH_HOURS / twice) + forHours + 1}h`,
                exp_alerts: both(COST_ALERT.exceeded, Math.ceil(MONTH_HOURS / twice) + forHours + 1),
            },
        ],
        promql_expr_test: [{ expr: `count(${firing(costPages)})`, eval_time: `${MONTH_HOURS + 1}h`, exp_samples: [] }],
    });
    // The exporter stops: no spend series, then billing data that stops advancing.
    const staleAfter = COST_DATA_MAX_AGE_HOURS;
    const telemetryFor = durationSeconds(COST_TELEMETRY_FOR) / 3600;
    tests.push({
        interval: "1h",
        input_series: [{ series: COST_METRIC.dataTimestamp, values: `0+0x${staleAfter + 10}` }],
        alert_rule_test: [
            {
                alertname: COST_ALERT.telemetry,
                eval_time: `${telemetryFor + 1}h`,
                exp_alerts: COST_BUDGETS.map((b) => expected(rule(COST_ALERT.telemetry, b), { category: b })),
            },
        ],
    });
    tests.push({
        interval: "1h",
        input_series: [
            spendSeries("total", 1, staleAfter + 10),
            spendSeries("llm", 1, staleAfter + 10),
            { series: COST_METRIC.dataTimestamp, values: `0+0x${staleAfter + 10}` },
        ],
        alert_rule_test: [
            { alertname: COST_ALERT.telemetry, eval_time: `${staleAfter}h`, exp_alerts: [] },
            {
                alertname: COST_ALERT.telemetry,
                eval_time: `${staleAfter + 1 + telemetryFor + 1}h`,
                exp_alerts: COST_BUDGETS.map((b) => expected(rule(COST_ALERT.telemetry, b))),
            },
        ],
    });
    return tests;
}

function cadenceTests(config: StackConfig, guardrails: Guardrails, set: RuleSet): TestGroup[] {
    return cadenceTargets(guardrails)
        .filter((t) => t.environment === config.environment)
        .flatMap((t): TestGroup[] => {
            const allowedHours = (t.intervalDays + CADENCE_GRACE_DAYS) * 24;
            const series = `${CADENCE_METRIC.lastCut}{target=${JSON.stringify(t.target)}}`;
            const recutAt = allowedHours + 24;
            const overdue = alertRule(set, CADENCE_ALERT.overdue, (r) => r.labels.target === t.target);
            const absent = alertRule(set, CADENCE_ALERT.absent, (r) => r.labels.target === t.target);
            const absentHours = durationSeconds(CADENCE_ABSENT_FOR) / 3600;
            return [
                {
                    // Last cut at time 0; a new cut a day after the alert.
                    interval: "1h",
                    input_series: [{ series, values: `0+0x${recutAt - 1} ${recutAt * 3600}+0x24` }],
                    alert_rule_test: [
                        { alertname: CADENCE_ALERT.overdue, eval_time: `${t.intervalDays * 24}h`, exp_alerts: [] },
                        { alertname: CADENCE_ALERT.overdue, eval_time: `${allowedHours}h`, exp_alerts: [] },
                        {
                            alertname: CADENCE_ALERT.overdue,
                            eval_time: `${allowedHours + 1}h`,
                            // Time since the last cut, at the evaluation (the cut was at time 0).
                            exp_alerts: [expected(overdue, {}, (allowedHours + 1) * 3600)],
                        },
                        { alertname: CADENCE_ALERT.overdue, eval_time: `${recutAt}h`, exp_alerts: [] },
                    ],
                },
                {
                    interval: "1h",
                    input_series: [],
                    alert_rule_test: [
                        { alertname: CADENCE_ALERT.absent, eval_time: `${absentHours - 1}h`, exp_alerts: [] },
                        {
                            alertname: CADENCE_ALERT.absent,
                            eval_time: `${absentHours + 1}h`,
                            exp_alerts: [expected(absent, { target: t.target })],
                        },
                    ],
                },
            ];
        });
}

export interface SuiteOptions {
    /** Swap the SLO burn-rate alerts (the test shows the suite rejects Sloth's windows, so it can fail). */
    readonly design?: readonly BurnRateAlert[];
    /**
     * Objectives whose budget timeline an earlier stack's suite already runs (the set is updated), so a run over
     * all stacks spends its two simulated days once per objective rather than once per stack.
     */
    readonly budgetTestedObjectives?: Set<number>;
    /**
     * Another stack whose rules the same Prometheus evaluates (default: a copy of this one as environment
     * `<env>-neighbour`). Both are scoped by sliMatchers (their own, or `namespace: <environment>` when they set none).
     */
    readonly neighbour?: StackConfig;
}

/**
 * Rule files (one per rule set) and promtool test files for one stack.
 */
export function buildPromtoolSuite(
    config: StackConfig,
    guardrails: Guardrails,
    opts: SuiteOptions = {},
): PromtoolSuite {
    const design = opts.design ?? SLO_BURN_ALERTS;
    const sets = buildRuleSets(config, guardrails, design);
    const files: Record<string, string> = {};
    const file = (s: RuleSet) => `${s.name}.yaml`;
    for (const s of sets) {
        files[file(s)] = renderRuleFile(s.groups);
    }
    const bySet = (key: RuleSet["backlogItem"]) => sets.filter((s) => s.backlogItem === key);
    const [telemetry] = bySet("telemetryGapAlerts");
    const testFiles: string[] = [];
    /** A test file over one rule set's file (its groups evaluated in their order), added to the suite's run. */
    const addTests = (name: string, set: RuleSet, evaluationInterval: string, tests: TestGroup[]) => {
        files[name] = testFile(
            [file(set)],
            set.groups.map((g) => g.name),
            evaluationInterval,
            tests,
        );
        testFiles.push(name);
    };
    // The budget timeline (days of 1-minute evaluation) depends only on the objective and the burn design, so it
    // runs for the first SLO of each objective; every SLO runs the page timeline, which checks its own selector.
    const budgetTested = opts.budgetTestedObjectives ?? new Set<number>();
    for (const slo of config.slos) {
        const sloSet = sets.find((s) => s.name === sloGroupName(slo.id, config.environment));
        if (!sloSet) {
            throw new Error(`no rule set for SLO ${slo.id}`);
        }
        const tests = [sloPageTest(slo, sloSet, design)];
        if (!budgetTested.has(slo.objective)) {
            budgetTested.add(slo.objective);
            tests.push(sloBudgetTest(config, guardrails, slo, sloSet, design));
        }
        addTests(`slo-${slo.id}.test.yaml`, sloSet, "1m", tests);
    }
    addTests(
        "telemetry.test.yaml",
        telemetry,
        "1m",
        config.slos.flatMap((slo) => telemetryTests(config, slo)),
    );
    for (const cost of bySet("costAlerts")) {
        addTests("cost.test.yaml", cost, "1h", costTests(config, cost));
    }
    // Real traffic: idle stretches and uneven traffic, a trickle with bursts, for the first SLO (every SLO shares the
    // expressions; the page timeline above checks each one's own selector).
    const [first] = config.slos;
    const firstSet = sets.find((s) => s.name === sloGroupName(first.id, config.environment))!;
    addTests("slo-idle.test.yaml", firstSet, "1m", sloIdleTests(config, guardrails, first));
    addTests("slo-trickle.test.yaml", firstSet, "1m", sloTrickleTests(guardrails, first, firstSet, design));
    // An integer threshold, with the bucket spelled as the client writes it and as Prometheus 3 stores it.
    const integer = integerThresholdVariant(config);
    if (integer) {
        const intSets = buildRuleSets(integer.config, guardrails, design);
        const intSlo = intSets.find((s) => s.name === sloGroupName(integer.slo.id, config.environment))!;
        const intTelemetry = intSets.find((s) => s.backlogItem === "telemetryGapAlerts")!;
        files["integer-threshold.rules.yaml"] = renderRuleFile([...intSlo.groups, ...intTelemetry.groups]);
        files["integer-threshold.test.yaml"] = testFile(
            ["integer-threshold.rules.yaml"],
            [...intSlo.groups, ...intTelemetry.groups].map((g) => g.name),
            "1m",
            (["client", "prometheus3"] as const).flatMap((le) => [
                sloPageTest(integer.slo, intSlo, design, le),
                ...telemetryTests(integer.config, integer.slo, le),
            ]),
        );
        testFiles.push("integer-threshold.test.yaml");
    }
    // Two environments in one Prometheus, each scoped by its sliMatchers.
    const neighbour = opts.neighbour ?? {
        ...config,
        stack: `${config.stack}-neighbour`,
        environment: `${config.environment}-neighbour`,
    };
    const scopeOf = (c: StackConfig) =>
        Object.keys(c.sliMatchers).length > 0 ? c : scopedVariant(c, { namespace: c.environment });
    const [mine, other] = [scopeOf(config), scopeOf(neighbour)];
    const sharedSet = (c: StackConfig) =>
        buildRuleSets(c, guardrails, design).find((s) => s.name === sloGroupName(first.id, c.environment))!;
    const [mySet, otherSet] = [sharedSet(mine), sharedSet(other)];
    files["shared-mine.rules.yaml"] = renderRuleFile(mySet.groups);
    files["shared-other.rules.yaml"] = renderRuleFile(otherSet.groups);
    files["shared-prometheus.test.yaml"] = testFile(
        ["shared-mine.rules.yaml", "shared-other.rules.yaml"],
        [...mySet.groups, ...otherSet.groups].map((g) => g.name),
        "1m",
        [
            sharedPrometheusTest(
                mine,
                other,
                mine.slos.find((s) => s.id === first.id)!,
                mySet,
                design,
            ),
        ],
    );
    testFiles.push("shared-prometheus.test.yaml");
    for (const cadence of bySet("cadenceAlerts")) {
        addTests("cadence.test.yaml", cadence, "1h", cadenceTests(config, guardrails, cadence));
    }
    return { files, ruleFiles: sets.map(file), testFiles };
}
