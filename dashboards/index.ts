/**
 * Pure builders of the stack's Grafana dashboards (SLO, cost, Conductor summary) from its config, the guardrails and
 * the release plan. components/grafanaDashboards.ts provisions them; synth writes each to out/<stack>/grafana/<uid>.json.
 */
import { Guardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";
import { BuiltDashboard } from "./common";
import { buildCostDashboard } from "./cost";
import { buildSloDashboard } from "./slo";
import { buildSummaryDashboard } from "./summary";
import { ReleasePlan } from "./releasePlan";

export * from "./common";
export { buildSloDashboard, SLO_VARIABLE } from "./slo";
export { buildCostDashboard } from "./cost";
export { buildSummaryDashboard } from "./summary";
export { releasePlanFromGovernance, releasePlanMarkdown } from "./releasePlan";
export type { PlannedMilestone, ReleasePlan } from "./releasePlan";
export { visibleGridUnits, panelHeightPx, SCREEN } from "./design";
export type { ScreenGeometry } from "./design";

/** The three dashboards of one stack, in a stable order. */
export function buildDashboards(config: StackConfig, guardrails: Guardrails, plan: ReleasePlan): BuiltDashboard[] {
    return [buildSloDashboard(config), buildCostDashboard(config), buildSummaryDashboard(config, guardrails, plan)];
}
