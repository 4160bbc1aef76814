/**
 * Each environment provisions its SLO, cost and summary dashboards (uids `maestro-<kind>-<env>`, the ones the
 * alerts' dashboard links and the Conductor summary point at), each with at least one panel.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { PackContext } from "./context";
import { describeResource, stackUrn, TYPE } from "./resources";
import { environmentOrReport } from "./stack";

export const DASHBOARDS_POLICY = "dashboards-provisioned";

export const DASHBOARD_KINDS = ["slo", "cost", "summary"] as const;

export function dashboardUid(kind: (typeof DASHBOARD_KINDS)[number], env: string): string {
    return `maestro-${kind}-${env}`;
}

export function dashboardsPolicy(ctx: PackContext): StackValidationPolicy {
    return {
        name: DASHBOARDS_POLICY,
        description: "Each environment provisions its SLO, cost and summary Grafana dashboards.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            const env = environmentOrReport(ctx, args.resources, reportViolation, DASHBOARDS_POLICY);
            if (env === undefined) {
                return;
            }
            const models = args.resources
                .filter((r) => r.type === TYPE.grafanaDashboard)
                .map((r) => {
                    try {
                        return { r, model: JSON.parse(String(r.props.configJson)) as { uid?: unknown; panels?: unknown } };
                    } catch {
                        reportViolation(`${describeResource(r)}: configJson is not JSON, so it provisions no dashboard. Fix: build it with the dashboards component.`, r.urn);
                        return undefined;
                    }
                })
                .filter((x) => x !== undefined);
            for (const kind of DASHBOARD_KINDS) {
                const uid = dashboardUid(kind, env);
                const found = models.find((m) => m.model.uid === uid);
                if (!found) {
                    reportViolation(
                        `the ${env} stack provisions no ${kind} dashboard (a ${TYPE.grafanaDashboard} whose model has uid "${uid}"). Fix: deploy the dashboards component for this stack.`,
                        stackUrn(args.resources),
                    );
                } else if (!Array.isArray(found.model.panels) || found.model.panels.length === 0) {
                    reportViolation(`${describeResource(found.r)} (uid "${uid}") has no panels. Fix: build it with the dashboards component.`, found.r.urn);
                }
            }
        },
    };
}
