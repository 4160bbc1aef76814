import { GUARDRAIL_LABEL, URGENCY, urgencyLabels } from "../core/conventions";
import { leLabel, leMatcher, sliSelector } from "../core/guardrails";
import type { StackScope } from "../core/scope";
import { SloScope, scopeName, sloDashboardPath, sloLabels } from "./slo";
import { TELEMETRY_GAP_FOR, VALUE, runbookUrl } from "./design";
import { AlertingRule, RuleGroup } from "./types";

export const TELEMETRY_ALERT = {
    absent: "MaestroSLITelemetryAbsent",
    bucketMissing: "MaestroSLIThresholdBucketMissing",
} as const;

export const TELEMETRY_GROUP = "maestro-telemetry-gaps";

/**
 * The telemetry-gap group's (and object's) name: `maestro-telemetry-gaps-<env>` for the stack's, or
 * `maestro-<service>-telemetry-gaps-<env>` for a service's; unique per environment, as sloGroupName.
 */
export function telemetryGroupName(environment: string, service?: string): string {
    return service ? `maestro-${service}-telemetry-gaps-${environment}` : `${TELEMETRY_GROUP}-${environment}`;
}

/**
 * Telemetry-gap alerts (the seed's top risk: gaps that make an SLO unverifiable). Without its histogram an SLO's
 * burn-rate alerts evaluate to nothing and stay silent, so silence has to be an alert of its own.
 */
export function buildTelemetryGapGroup(scope: SloScope & Pick<StackScope, "slos">): RuleGroup {
    const where = scopeName(scope);
    const rules: AlertingRule[] = scope.slos.flatMap((slo): AlertingRule[] => {
        const sli = slo.sli;
        const le = leLabel(sli.thresholdSeconds);
        const labels = {
            ...sloLabels(slo.id, scope),
            ...urgencyLabels(URGENCY.ticket),
            guardrail: GUARDRAIL_LABEL.telemetry,
        };
        const dashboard = sloDashboardPath(scope, slo.id);
        return [
            {
                alert: TELEMETRY_ALERT.absent,
                expr: `absent(${sliSelector(sli, "_count")})`,
                for: TELEMETRY_GAP_FOR,
                labels,
                annotations: {
                    summary: `${slo.title} (${where}): SLI histogram missing, the SLO cannot be verified`,
                    description: `No ${sliSelector(sli, "_count")} series for ${TELEMETRY_GAP_FOR}: the ${slo.id} burn-rate alerts cannot fire while it is missing.`,
                    runbook_url: runbookUrl(TELEMETRY_ALERT.absent, scope),
                    dashboard,
                },
            },
            {
                alert: TELEMETRY_ALERT.bucketMissing,
                // Per series (instance, pod): every histogram that counts requests must also have the threshold bucket.
                // The bucket in either spelling (Prometheus 2 keeps the client's "1", Prometheus 3 stores "1.0").
                expr: `count(${sliSelector(sli, "_count")} unless ignoring(le) ${sliSelector(sli, "_bucket", [leMatcher(sli.thresholdSeconds)])}) > 0`,
                for: TELEMETRY_GAP_FOR,
                labels,
                annotations: {
                    summary: `${slo.title} (${where}): histogram has no bucket at the ${sli.thresholdSeconds} s threshold`,
                    description:
                        `Some ${sli.metric} series for ${slo.id} have no le="${le}" bucket, so the share of requests slower than the threshold ` +
                        `cannot be computed for them (series without it: ${VALUE.number}). Add a bucket bound at exactly ${sli.thresholdSeconds} s (docs/instrumentation.md).`,
                    runbook_url: runbookUrl(TELEMETRY_ALERT.bucketMissing, scope),
                    dashboard,
                },
            },
        ];
    });
    return { name: telemetryGroupName(scope.environment, scope.service), rules };
}
