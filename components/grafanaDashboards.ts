import * as grafana from "@pulumiverse/grafana";
import * as pulumi from "@pulumi/pulumi";
import { planOrRefuse, plannedOnce } from "../core/component";
import { BACKLOG_ITEM, GRAFANA_DASHBOARD_TYPE } from "../core/conventions";
import { declareEvidence } from "../core/evidence";
import { Guardrails } from "../core/guardrails";
import { GRAFANA_MIN_MAJOR, GrafanaApi, StackConfig } from "../core/stackConfig";
import { formatProblem } from "../core/validation";
import {
    BuiltDashboard,
    DashboardKind,
    GRAFANA_MAX_UID_LENGTH,
    ReleasePlan,
    buildDashboards,
    folderUid,
    provisionedJson,
    visibleGridUnits,
} from "../dashboards";
import { dashboardProblems, knownSeries, screenProblems } from "../dashboards/check";

export interface GrafanaDashboardsArgs {
    /** This stack's validated config: environment, SLOs (with overrides), budgets, alert threshold, `grafanaFolder`, `prometheusDatasourceUid`. */
    readonly config: StackConfig;
    /** The guardrails file (cadence intervals for the summary's release status). */
    readonly guardrails: Guardrails;
    /** Releases, milestones and accountable roles for the summary's release panel: `releasePlanFromGovernance(loadGovernance())`. */
    readonly releasePlan: ReleasePlan;
    /**
     * Grafana's base URL, the stack's `grafana:url` (what the default provider connects to), for the dashboards'
     * browser URLs: the provider reports only the API object's self link.
     */
    readonly grafanaUrl: string;
}

/**
 * The stack's Grafana dashboards: a folder per environment holding the SLO, cost and Conductor summary dashboards,
 * provisioned through the legacy dashboard API (`grafana.oss.Dashboard`, Grafana 10, 11 and 12) unless the stack
 * file chooses `grafanaApi: apps` (`grafana.apps.v1beta1.Dashboard`, Grafana 12 and later; docs/dashboards.md).
 * Models come from dashboards/ (pure builders) and are checked before anything is created; each dashboard sits in a
 * nested component whose backlog item its evidence tags carry.
 */
export class GrafanaDashboards extends pulumi.ComponentResource {
    readonly folderUid: pulumi.Output<string>;
    /** The folder's page in Grafana, as the provider reports it. */
    readonly folderUrl: pulumi.Output<string>;
    readonly slo: DashboardComponent;
    readonly cost: DashboardComponent;
    readonly summary: DashboardComponent;
    /** Dashboard uid by kind: `maestro-<kind>-<env>`. */
    readonly dashboardUids: pulumi.Output<Record<DashboardKind, string>>;
    /** Dashboard page by kind: `<grafana:url>/d/<uid>`. */
    readonly dashboardUrls: pulumi.Output<Record<DashboardKind, string>>;

    /**
     * The checked dashboard models and Grafana's base URL. Throws on a URL or a model Grafana would refuse or render
     * wrongly (the checks the tests run, minus promtool). Registers nothing.
     */
    static readonly plan = plannedOnce((args: GrafanaDashboardsArgs): { built: BuiltDashboard[]; base: URL } => {
        const env = args.config.environment;
        let base: URL;
        try {
            base = new URL(args.grafanaUrl);
        } catch {
            throw new Error(
                `grafana:url ${JSON.stringify(args.grafanaUrl)} (${args.config.sourceFile}) is not a URL; allowed: an http(s) URL such as https://grafana.example.com`,
            );
        }
        if (base.protocol !== "https:" && base.protocol !== "http:") {
            throw new Error(
                `grafana:url ${JSON.stringify(args.grafanaUrl)} (${args.config.sourceFile}) has protocol ${base.protocol}; allowed: https: or http:`,
            );
        }
        const api = args.config.grafanaApi;
        const major = Number(args.config.grafanaVersion.split(".")[0]);
        if (!(major >= GRAFANA_MIN_MAJOR[api])) {
            throw new Error(
                `maestro-guardrails:grafanaApi "${api}" (${args.config.sourceFile}) needs Grafana ${GRAFANA_MIN_MAJOR[api]} or later, and maestro-guardrails:grafanaVersion declares "${args.config.grafanaVersion}"; allowed: "legacy" with Grafana ${GRAFANA_MIN_MAJOR.legacy} or later, "apps" with ${GRAFANA_MIN_MAJOR.apps} or later`,
            );
        }
        const built = buildDashboards(args.config, args.guardrails, args.releasePlan);
        const known = knownSeries(args.config, args.guardrails);
        const problems = built.flatMap((d) => [
            ...dashboardProblems(d.model, args.config, known),
            ...(d.kind === "summary" ? screenProblems(d.model, visibleGridUnits()) : []),
        ]);
        for (const uid of [folderUid(env), ...built.map((d) => d.uid)].filter(
            (u) => u.length > GRAFANA_MAX_UID_LENGTH,
        )) {
            problems.push({
                file: args.config.sourceFile,
                path: "maestro-guardrails:environment",
                message: `uid "${uid}" is over ${GRAFANA_MAX_UID_LENGTH} characters, which Grafana refuses; allowed: a shorter environment name`,
            });
        }
        if (problems.length > 0) {
            throw new Error(`the ${env} dashboards are not valid:\n${problems.map(formatProblem).join("\n")}`);
        }
        return { built, base };
    });

    constructor(name: string, args: GrafanaDashboardsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:dashboards:GrafanaDashboards", name, {}, opts);
        // The folder serves the whole Conductor view.
        declareEvidence(this, { backlogItem: BACKLOG_ITEM.summaryDashboard, creates: ["grafana:oss/folder:Folder"] });
        const env = args.config.environment;
        const { built, base } = planOrRefuse(this, () => GrafanaDashboards.plan(args));

        const folder = new grafana.oss.Folder(
            `${name}-folder`,
            { uid: folderUid(env), title: args.config.grafanaFolder },
            { parent: this },
        );
        this.folderUid = folder.uid;
        this.folderUrl = folder.url;
        const pageUrl = (uid: string) => `${base.origin}${base.pathname.replace(/\/$/, "")}/d/${uid}`;
        const part = (kind: DashboardKind): DashboardPartArgs => {
            const d = built.find((x) => x.kind === kind);
            if (!d) {
                throw new pulumi.ResourceError(`no ${kind} dashboard was built for stack ${args.config.stack}`, this);
            }
            return { dashboard: d, folderUid: folder.uid, url: pageUrl(d.uid), api: args.config.grafanaApi };
        };
        const nested = (kind: DashboardKind) => new DashboardComponent(`${name}-${kind}`, part(kind), { parent: this });
        this.slo = nested("slo");
        this.cost = nested("cost");
        this.summary = nested("summary");
        const parts = [this.slo, this.cost, this.summary];
        this.dashboardUids = pulumi.output(
            Object.fromEntries(parts.map((p) => [p.kind, p.uid])) as Record<DashboardKind, string>,
        );
        this.dashboardUrls = pulumi.output(
            Object.fromEntries(parts.map((p) => [p.kind, p.url])) as Record<DashboardKind, string>,
        );
        this.registerOutputs({
            folderUid: this.folderUid,
            folderUrl: this.folderUrl,
            dashboardUids: this.dashboardUids,
            dashboardUrls: this.dashboardUrls,
        });
    }
}

export interface DashboardPartArgs {
    /** The built model and its uid. */
    readonly dashboard: BuiltDashboard;
    /** The environment's folder. */
    readonly folderUid: pulumi.Input<string>;
    /** The page a person opens. */
    readonly url: string;
    /** Which dashboard API provisions it (the stack's `grafanaApi`). */
    readonly api: GrafanaApi;
}

/** A dashboard resource of either API. */
export type DashboardResource = grafana.oss.Dashboard | grafana.apps.v1beta1.Dashboard;

/**
 * One dashboard in a folder, through the chosen API; shared by the stack's dashboards and the kit's. Both carry the
 * same model and overwrite what Grafana holds: the program owns these uids, so an update replaces whatever version
 * Grafana has (say, after a UI edit).
 */
export function dashboardResource(
    resourceName: string,
    uid: string,
    folderUid: pulumi.Input<string>,
    json: string,
    parent: pulumi.Resource,
    api: GrafanaApi = "legacy",
): DashboardResource {
    if (api === "legacy") {
        // The model carries its uid; `folder` takes the folder's uid.
        return new grafana.oss.Dashboard(
            resourceName,
            { configJson: json, folder: folderUid, overwrite: true },
            { parent },
        );
    }
    return new grafana.apps.v1beta1.Dashboard(
        resourceName,
        {
            metadata: { uid, folderUid },
            spec: { json },
            options: { overwrite: true },
        },
        { parent },
    );
}

/** Each dashboard's nested component: its Pulumi type and the backlog item its evidence carries. */
const DASHBOARD_PARTS: Readonly<Record<DashboardKind, { readonly type: string; readonly backlogItem: string }>> = {
    slo: { type: "maestro:dashboards:SloDashboard", backlogItem: BACKLOG_ITEM.sloDashboard },
    cost: { type: "maestro:dashboards:CostDashboard", backlogItem: BACKLOG_ITEM.costDashboard },
    summary: { type: "maestro:dashboards:SummaryDashboard", backlogItem: BACKLOG_ITEM.summaryDashboard },
};

/** One dashboard of the Conductor view (SLO, cost or summary) in a component of its own, carrying its item's evidence. */
export class DashboardComponent extends pulumi.ComponentResource {
    readonly kind: DashboardKind;
    readonly uid: string;
    readonly url: string;
    readonly resource: DashboardResource;
    constructor(name: string, args: DashboardPartArgs, opts?: pulumi.ComponentResourceOptions) {
        const part = DASHBOARD_PARTS[args.dashboard.kind];
        super(part.type, name, {}, opts);
        declareEvidence(this, { backlogItem: part.backlogItem, creates: Object.values(GRAFANA_DASHBOARD_TYPE) });
        this.kind = args.dashboard.kind;
        this.uid = args.dashboard.uid;
        this.url = args.url;
        this.resource = dashboardResource(
            `${name}-dashboard`,
            args.dashboard.uid,
            args.folderUid,
            provisionedJson(args.dashboard.model),
            this,
            args.api,
        );
        this.registerOutputs({ uid: this.uid, url: this.url });
    }
}
