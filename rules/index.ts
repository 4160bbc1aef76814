/**
 * Pure builders of the Prometheus rules for every guardrail of one stack: SLI recordings and burn-rate alerts
 * per SLO, telemetry-gap, cost and cadence alerts. components/prometheusRules.ts deploys them; synth renders
 * them to out/<stack>/prometheus/; the dashboards query the recordings named in core/conventions.ts.
 */
import * as yaml from "js-yaml";
import { BACKLOG_ITEM } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";
import { Problem } from "../core/validation";
import { buildCadenceGroup } from "./cadence";
import { buildCostGroup } from "./cost";
import { BurnRateAlert, SLO_BURN_ALERTS } from "./design";
import { buildSloGroup } from "./slo";
import { buildTelemetryGapGroup } from "./telemetry";
import { stacksApartProblems } from "./placement";
import { RuleGroup, RuleSet } from "./types";

export * from "./types";
export {
    SLO_WINDOWS,
    buildSloGroup,
    sloGroupName,
    sloLabels,
    sloPeriodWindow,
    sloSeriesSelector,
    slowRequestGate,
} from "./slo";
export type { SloScope } from "./slo";
export { SLO_BURN_ALERTS, SLO_ALERT_NAME } from "./design";
export type { BurnRateAlert, BurnRateCondition } from "./design";
export { COST_ALERT, COST_BUDGETS, costGroupName } from "./cost";
export { CADENCE_ALERT, RELEASE_CUT_ROLE, cadenceGroupName, cadenceTargets, lastReleaseCuts } from "./cadence";
export type { ReleaseCut, SignoffFacts } from "./cadence";
export { TELEMETRY_ALERT, buildTelemetryGapGroup, telemetryGroupName } from "./telemetry";
export { separatingLabel, writtenSeries } from "./placement";

/**
 * Every rule set of one stack, in a stable order: one per SLO, then telemetry gaps, cost, cadence (if any).
 * `design` replaces the SLO burn-rate alerts (only the comparison with Sloth's windows does).
 */
export function buildRuleSets(
    config: StackConfig,
    guardrails: Guardrails,
    design: readonly BurnRateAlert[] = SLO_BURN_ALERTS,
): RuleSet[] {
    // Each set is named after its one group, so the object, the synth file and the group share a name.
    const sets: RuleSet[] = config.slos.map((slo) => {
        const group = buildSloGroup(config, guardrails, slo, design);
        return { name: group.name, backlogItem: "sloRules", groups: [group] };
    });
    const telemetry = buildTelemetryGapGroup(config);
    sets.push({ name: telemetry.name, backlogItem: "telemetryGapAlerts", groups: [telemetry] });
    const cost = buildCostGroup(config);
    sets.push({ name: cost.name, backlogItem: "costAlerts", groups: [cost] });
    const cadence = buildCadenceGroup(config, guardrails);
    if (cadence) {
        sets.push({ name: cadence.name, backlogItem: "cadenceAlerts", groups: [cadence] });
    }
    // Stryker disable next-line BlockStatement: equivalent; the check below never fails (see there), so skipping it changes nothing
    for (const s of sets) {
        // Evidence ids are resolved by the stack transformation; a typo here must fail at build time, not there.
        // Stryker disable next-line ConditionalExpression,BlockStatement: unreachable; RuleBacklogKey admits only keys of BACKLOG_ITEM (the compiler refuses any other), so no input makes this throw
        if (!BACKLOG_ITEM[s.backlogItem]) {
            // Stryker disable next-line StringLiteral: unreachable (above)
            throw new Error(`rule set ${s.name}: unknown backlog item key ${s.backlogItem}`);
        }
    }
    return sets;
}

/** All rule groups (recording and alerting) of one stack. */
export function buildRuleGroups(config: StackConfig, guardrails: Guardrails): RuleGroup[] {
    return buildRuleSets(config, guardrails).flatMap((s) => [...s.groups]);
}

/** A Prometheus rule file (what promtool, Prometheus' rule_files and AMP's rule group namespaces read). */
export function renderRuleFile(groups: readonly RuleGroup[]): string {
    const names = new Set<string>();
    for (const g of groups) {
        if (names.has(g.name)) {
            throw new Error(`rule group "${g.name}" appears twice; group names must be unique in a rule file`);
        }
        names.add(g.name);
    }
    return yaml.dump({ groups }, { lineWidth: -1, noRefs: true });
}

/**
 * Problems between stacks whose rules one Prometheus evaluates (same namespace of the same cluster, or the same AMP
 * workspace): a shared rule object name or written series, or SLI selectors that can read the same series. Run by
 * `npm run validate` over every Pulumi.<stack>.yaml, and by the program's preflight against its sibling stack files.
 */
export function stacksApart(configs: readonly StackConfig[], guardrails: Guardrails): Problem[] {
    return stacksApartProblems(configs.map((config) => ({ config, sets: buildRuleSets(config, guardrails) })));
}
