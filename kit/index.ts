/**
 * The Maestro guardrail kit: what Workstreams 2-8 import (`import { ... } from "maestro-guardrails/kit"`) to hold
 * their own services to the unified targets. Read the targets from a deployed environment (a StackReference to
 * `<org>/maestro-guardrails/<env>`) or from the guardrails file, then provision SLO rules, telemetry-gap alerts and
 * an SLO dashboard for the service's own metrics with ServiceGuardrails. No number is copied: thresholds and
 * objectives come from the targets, and anything looser is refused before a resource is registered.
 * docs/downstream.md is the guide; examples/service-stack/ is a whole program.
 */
export { ServiceGuardrails } from "../components/serviceGuardrails";
export { planServiceGuardrails } from "./servicePlan";
export { loadServiceBacklog, serviceBacklog } from "./backlog";
export type { ServiceBacklog } from "./backlog";
export type { ServiceGuardrailsArgs, ServicePlan, ServiceRuleSet, ServiceSlo } from "./servicePlan";
export {
    guardrailTargets,
    guardrailTargetsFromFile,
    guardrailTargetsFromStack,
    looserProblems,
    parseStackTargets,
    recommendedBuckets,
} from "./targets";
export type { GrafanaDestination, GuardrailTargets } from "./targets";
export type { RuleDestination } from "../core/ruleDestination";

// The contract and the building blocks, for programs that want the data without the component.
export type { OutputsOf, RuleLocation, StackOutputs, StackTargets } from "../core/stackOutputs";
export type { EvidenceItem } from "../core/evidence";
export type { Guardrails, LabelMatcher, SloObjective } from "../core/guardrails";
export { loadGuardrails, parseGuardrails } from "../core/guardrails";
export { ValidationError, preflight } from "../core/validation";
export { buildSloGroup, buildTelemetryGapGroup, renderRuleFile } from "../rules";
export type { RuleGroup, SloScope } from "../rules";
export { buildSloDashboard } from "../dashboards";
