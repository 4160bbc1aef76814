/**
 * Each environment provisions its SLO, cost and summary dashboards (uids `maestro-<kind>-<env>`, the ones the
 * alerts' dashboard links and the Conductor summary point at), each with at least one panel.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { PackContext } from "./context";
import { DASHBOARD_KINDS, GRAFANA_DASHBOARD_TYPE, dashboardUid } from "../core/conventions";
import { DASHBOARD_TYPES, dashboardModel, describeResource, stackUrn } from "./resources";
import { environmentPolicy } from "./stack";

export const DASHBOARDS_POLICY = "dashboards-provisioned";

export function dashboardsPolicy(ctx: PackContext): StackValidationPolicy {
    return environmentPolicy(
        ctx,
        DASHBOARDS_POLICY,
        "Each environment provisions its SLO, cost and summary Grafana dashboards.",
        (env, args, reportViolation) => {
            const models = args.resources
                .filter((r) => DASHBOARD_TYPES.includes(r.type))
                .map((r) => {
                    const { model, error } = dashboardModel(r.type, r.props);
                    if (!model) {
                        reportViolation(
                            `${describeResource(r)}: ${error}, so it provisions no dashboard. Fix: build it with the dashboards component.`,
                            r.urn,
                        );
                        return undefined;
                    }
                    return { r, model };
                })
                .filter((x) => x !== undefined);
            for (const kind of DASHBOARD_KINDS) {
                const uid = dashboardUid(kind, env);
                const found = models.find((m) => m.model.uid === uid);
                if (!found) {
                    reportViolation(
                        `the ${env} stack provisions no ${kind} dashboard (a ${GRAFANA_DASHBOARD_TYPE.legacy} or ${GRAFANA_DASHBOARD_TYPE.apps} whose model has uid "${uid}"). Fix: deploy the dashboards component for this stack.`,
                        stackUrn(args.resources),
                    );
                } else if (!Array.isArray(found.model.panels) || found.model.panels.length === 0) {
                    reportViolation(
                        `${describeResource(found.r)} (uid "${uid}") has no panels. Fix: build it with the dashboards component.`,
                        found.r.urn,
                    );
                }
            }
        },
    );
}
