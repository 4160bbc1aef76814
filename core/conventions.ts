/**
 * Conventions shared by the stack, the rules, the dashboards and the policy pack, kept in one place
 * (as Sloth keeps them in conventions.go): tag and label keys, severities, rule-group names, and which
 * backlog item each capability serves.
 */

/** The Pulumi project name (Pulumi.yaml), and so the namespace of this stack's own config keys. */
export const PROJECT = "maestro-guardrails";

/** Config key prefix of alert receivers' secrets: `maestro-guardrails:alertSecret-<name>`, each a Pulumi secret. */
export const ALERT_SECRET_PREFIX = "alertSecret-";
/**
 * The guardrail environment a stack name is bound to: the name itself (`prod`) or its first `-`-separated part
 * (`prod-amp`). Undefined when the name starts with no environment. The program refuses a stack file whose
 * `environment` differs, and the policy pack reads the stack name from the engine's URNs, so neither a stack file
 * nor a resource tag can move a stack into a looser environment.
 */
export function environmentOfStack(stack: string, environments: readonly string[]): string | undefined {
    return environments.find((env) => stack === env || stack.startsWith(`${env}-`));
}

/** The stack a URN belongs to (`urn:pulumi:<stack>::<project>::<type>::<name>`); the engine writes URNs. */
export function stackOfUrn(urn: string): string | undefined {
    const m = /^urn:pulumi:([^:]+)::/.exec(urn);
    return m ? m[1] : undefined;
}

/**
 * AWS provider inputs that send its traffic somewhere other than AWS's own endpoints, with why. Their stack-config
 * forms (`aws:<key>`) are refused by core/stackConfig.ts before any resource exists; policies/providers.ts refuses
 * them on provider resources. Skipping the account checks is the account pin's concern (AWS_ACCOUNT_CHECK_SKIPS).
 */
export const REDIRECTING_AWS_PROVIDER_KEYS: Readonly<Record<string, string>> = {
    endpoints: "points services at custom endpoints",
    insecure: "accepts any TLS certificate",
    customCaBundle: "trusts a custom certificate authority",
    httpProxy: "sends requests through a proxy",
    httpsProxy: "sends requests through a proxy",
};

/** Evidence hooks every backlog item, and every resource serving one, declares. */
export const EVIDENCE_HOOKS = ["logs", "metrics", "tests", "provenance"] as const;

/** What AWS accepts as a tag value (the tagging API's pattern: up to 256 characters, empty allowed). */
export const AWS_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/** AWS tag keys (also Grafana dashboard tag prefixes). AWS allows ':' in keys; the prefix groups them. */
export const AWS_TAG = {
    environment: "maestro:environment",
    owner: "maestro:owner",
    stack: "maestro:stack",
    release: "maestro:release",
    managedBy: "maestro:managed-by",
    backlogItem: "maestro:backlog-item",
    logs: "maestro:evidence-logs",
    metrics: "maestro:evidence-metrics",
    tests: "maestro:evidence-tests",
    provenance: "maestro:evidence-provenance",
} as const;

/**
 * Kubernetes keys. Label values are limited to 63 characters of [A-Za-z0-9_.-], so ids go in labels (selectable)
 * and the hook references, which hold paths and metric names, go in annotations.
 */
export const K8S_LABEL = {
    environment: "maestro.io/environment",
    owner: "maestro.io/owner",
    backlogItem: "maestro.io/backlog-item",
    managedBy: "app.kubernetes.io/managed-by",
} as const;
export const K8S_ANNOTATION = {
    release: "maestro.io/release",
    logs: "maestro.io/evidence-logs",
    metrics: "maestro.io/evidence-metrics",
    tests: "maestro.io/evidence-tests",
    provenance: "maestro.io/evidence-provenance",
} as const;

export const MANAGED_BY = "pulumi-maestro-guardrails";

/**
 * How urgent an alert is, in the project's own words: a page wakes someone now; a ticket is worked within a business
 * day. Carried in the `urgency` label, which routing and inhibition match on.
 */
export const URGENCY = { page: "page", ticket: "ticket" } as const;
export type Urgency = (typeof URGENCY)[keyof typeof URGENCY];

/**
 * The `severity` label on the common convention (the monitoring-mixins style guide, kube-prometheus-stack's default
 * Alertmanager config): critical, warning, info. Receivers and silences people already have match on these values.
 */
export const SEVERITY = { critical: "critical", warning: "warning", info: "info" } as const;
export type Severity = (typeof SEVERITY)[keyof typeof SEVERITY];

/** The severity each urgency is shown as: a page is critical, a ticket a warning. */
export const SEVERITY_OF: Readonly<Record<Urgency, Severity>> = {
    page: SEVERITY.critical,
    ticket: SEVERITY.warning,
};

/** The two labels every alert carries for its urgency: `severity` (convention) and `urgency` (page or ticket). */
export function urgencyLabels(urgency: Urgency): { severity: Severity; urgency: Urgency } {
    return { severity: SEVERITY_OF[urgency], urgency };
}

/**
 * Where the runbooks live when the stack config names no `alertRouting.runbookBaseUrl`: this repository's docs folder
 * as the code host renders it. Alerts link `<base>slo-alerting.md#<alert>`, so the base ends with a slash.
 */
export const DEFAULT_RUNBOOK_BASE_URL = "https://github.com/maestro-conductor/maestro-guardrails/blob/main/docs/";

/** Values of the `guardrail` label every alert carries. */
export const GUARDRAIL_LABEL = { slo: "slo", cost: "cost", cadence: "cadence", telemetry: "telemetry" } as const;

/** Prefix of every recording rule and rule group this stack generates (Sloth uses `sloth_`). */
export const RULE_PREFIX = "maestro";

/** The dashboards every environment provisions (the pack checks each exists). */
export const DASHBOARD_KINDS = ["slo", "cost", "summary"] as const;
export type DashboardKind = (typeof DASHBOARD_KINDS)[number];

/**
 * `maestro-<kind>-<env>`: stable across deploys (so a preview shows no diff and links keep working); the alerts'
 * `dashboard` annotations, the Conductor summary and the policy pack all find dashboards by it.
 */
export function dashboardUid(kind: DashboardKind, environment: string): string {
    return `${RULE_PREFIX}-${kind}-${environment}`;
}

/** `maestro-svc-<service>-<env>`: a downstream service's SLO dashboard (the guardrail kit's), in the same folder. */
export function serviceDashboardUid(service: string, environment: string): string {
    return `${RULE_PREFIX}-svc-${service}-${environment}`;
}

/** The folder holding one environment's dashboards. */
export function folderUid(environment: string): string {
    return `${RULE_PREFIX}-conductor-${environment}`;
}

/**
 * The backlog item (governance/backlog.json) each capability serves. Resources inherit the item of the
 * nearest ancestor component, and carry that item's evidence hooks as tags, labels or annotations.
 */
export const BACKLOG_ITEM = {
    sloRules: "R1-SLO-RULES",
    telemetryGapAlerts: "R1-TELEMETRY-GAPS",
    costAlerts: "R1-COST-ALERTS",
    cadenceAlerts: "R1-CADENCE-ALERTS",
    costBudgets: "R1-COST-BUDGETS",
    sloDashboard: "R1-DASH-SLO",
    costDashboard: "R1-DASH-COST",
    summaryDashboard: "R1-DASH-SUMMARY",
    provenanceBucket: "R1-PROVENANCE-BUCKET",
    signoffLedger: "R1-SIGNOFF-LEDGER",
    policyPack: "R1-POLICY-PACK",
    costCollector: "R1-COST-MOCK-COLLECTOR",
} as const;

/**
 * Recording-rule names (Prometheus' level:metric:operations convention), shared by the rule builders (which
 * define them) and the dashboards (which query them). Every series carries `slo="<id>"` and `env="<stack>"`.
 */
export const SLO_RECORD = {
    /** Share of requests slower than the SLO threshold over `window` (0..1). */
    errorRatio: (window: string) => `${RULE_PREFIX}_slo:sli_error:ratio_rate${window}`,
    /** Requests per second over 5m (also the denominator of the period's traffic-weighted error ratio). */
    requestRate: `${RULE_PREFIX}_slo:requests:rate5m`,
    /** Requests slower than the threshold, per second over 5m (the numerator of the period's error ratio). */
    slowRequestRate: `${RULE_PREFIX}_slo:slow_requests:rate5m`,
    /** p95 latency in seconds over 5m (histogram_quantile), for dashboards. */
    latencyP95: `${RULE_PREFIX}_slo:latency_seconds:p95_rate5m`,
    /** Share of the SLO period's error budget left (1 = untouched, <= 0 = spent). */
    errorBudgetRemaining: `${RULE_PREFIX}_slo:error_budget_remaining:ratio`,
    /** The objective itself as a series (e.g. 0.95), so dashboards and burn rates need no literal. */
    objective: `${RULE_PREFIX}_slo:objective:ratio`,
    /** The latency threshold in seconds as a series, for the guardrail line on p95 panels. */
    thresholdSeconds: `${RULE_PREFIX}_slo:threshold:seconds`,
} as const;

/** Metrics the billing exporter (or the dev/staging cost collector, collector/) must export. */
export const COST_METRIC = {
    /** Month-to-date spend in USD, label `category` ("total", "llm", and per-service categories). */
    monthToDate: "maestro_cost_month_to_date_usd",
    /** Unix time of the newest billing data behind monthToDate (the FinOps feed lags; this says by how much). */
    dataTimestamp: "maestro_cost_data_timestamp_seconds",
} as const;

export const COST_RECORD = {
    /** Linear forecast of month-end spend in USD, label `category`. */
    monthEndForecast: `${RULE_PREFIX}_cost:month_end_forecast:usd`,
    /** The budget (cap) in USD as a series, label `budget` ("total" | "llm"). */
    budget: `${RULE_PREFIX}_cost:budget:usd`,
} as const;

/**
 * Cost Explorer bills every request, so the cost collector starts a call set at most this often (stack config
 * `costCollector.refreshMinutes` may only be longer; the collector refuses shorter settings too).
 */
export const COST_COLLECTOR_MIN_REFRESH_MINUTES = 60;

/** The cost collector's own health series (collector/), beside the COST_METRIC series it exports. */
export const COLLECTOR_METRIC = {
    /** Cost Explorer requests sent, retries included, label `category` (each is billed: docs/metrics.md). */
    requests: "maestro_cost_collector_requests_total",
    /** Failed Cost Explorer requests, labels `category` and `reason` (throttled, access_denied, ...). */
    errors: "maestro_cost_collector_errors_total",
    /** 1 when the category's last call set succeeded, 0 when it failed, label `category`. */
    lastRefreshOk: "maestro_cost_collector_last_refresh_ok",
    /** Unix time of the category's last successful call set, label `category`. */
    lastSuccess: "maestro_cost_collector_last_success_timestamp_seconds",
} as const;

/** Release cadence metric: unix time of the last cut/release, label `target` ("staging" | "production"). */
export const CADENCE_METRIC = {
    lastCut: "maestro_release_last_cut_timestamp_seconds",
} as const;

/**
 * Evidence-hook metrics CI produces (verify/ciMetrics.ts writes them; docs/metrics.md says how they reach Prometheus):
 * nothing in the stack or the services exports these.
 */
export const CI_METRIC = {
    /** Policy pack violations per stack, policy and enforcement level (synth writes out/<stack>/metrics.prom). */
    policyViolations: "maestro_policy_violations",
    /** Required sign-offs per release, environment and state (signed | missing) (provenance verify --metrics). */
    releaseSignoffs: "maestro_release_signoffs",
    /** Broken relative links per document (docs --check --metrics). */
    docsBrokenLinks: "maestro_docs_broken_links",
} as const;

/**
 * Grafana dashboard resource types: the legacy API (model in `configJson`, Grafana <= 12) and the
 * dashboard.grafana.app API the dashboards component uses (model in `spec.json`, Grafana 12 and later).
 */
export const GRAFANA_DASHBOARD_TYPE = {
    legacy: "grafana:oss/dashboard:Dashboard",
    apps: "grafana:apps/v1beta1/dashboard:Dashboard",
} as const;

/** Grafana refuses a dashboard with a tag longer than this ("dashboard tag too long, max 50 characters"). */
export const GRAFANA_MAX_TAG_LENGTH = 50;

/**
 * Title prefix of the dashboard links that carry evidence hooks, whose references rarely fit in a tag: the link
 * `maestro:evidence-<hook>` holds the reference in its `tooltip`, so titles equal the AWS tag keys.
 */
export const EVIDENCE_LINK_PREFIX = "maestro:evidence-";

/** Where a dashboard resource carries its model: the JSON string, or why there is none. */
export function dashboardModelJson(type: string, props: Record<string, unknown>): { json?: string; field: string } {
    if (type === GRAFANA_DASHBOARD_TYPE.apps) {
        const spec = props.spec as { json?: unknown } | undefined;
        return { json: typeof spec?.json === "string" ? spec.json : undefined, field: "spec.json" };
    }
    return { json: typeof props.configJson === "string" ? props.configJson : undefined, field: "configJson" };
}

/** A dashboard model's evidence stamps (`maestro:*` key -> value), from its `key=value` tags and its evidence links. */
export function dashboardEvidence(model: { tags?: unknown; links?: unknown }): Record<string, string> {
    const stamps: Record<string, string> = {};
    for (const t of Array.isArray(model.tags) ? model.tags : []) {
        if (typeof t === "string" && t.includes("=")) {
            stamps[t.slice(0, t.indexOf("="))] = t.slice(t.indexOf("=") + 1);
        }
    }
    for (const l of Array.isArray(model.links) ? (model.links as Array<{ title?: unknown; tooltip?: unknown }>) : []) {
        if (typeof l.title === "string" && l.title.startsWith(EVIDENCE_LINK_PREFIX) && typeof l.tooltip === "string") {
            stamps[l.title] = l.tooltip;
        }
    }
    return stamps;
}
