/**
 * The stack's side of the cost collector, pure: its settings (the budgets' own filters as Cost Explorer
 * queries), its Kubernetes objects and its IAM policies. components/costCollector.ts hands these to providers.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Expression } from "@aws-sdk/client-cost-explorer";
import { BudgetSpec, FilterExpression, FilterValues, budgetSpecs } from "../budgets/specs";
import { Guardrails } from "../core/guardrails";
import type { CostCollectorConfig, StackConfig } from "../core/stackConfig";
import { repoRoot } from "../core/validation";
import { COST_DATA_MAX_AGE_HOURS } from "../rules/design";
import { CollectorSettings } from "./settings";

/** Where `npm run build` writes the bundled collector (scripts/bundleCollector.ts). */
export const COLLECTOR_BUNDLE_FILE = path.join(repoRoot, "bin", "cost-collector", "collector.js");

/** Name of every Kubernetes object of the collector (one per namespace) and its `app.kubernetes.io/name`. */
export const COLLECTOR_NAME = "maestro-cost-collector";
export const COLLECTOR_PORT = 9470;
/** Where the ConfigMap (bundle and settings) is mounted in the stock Node image. */
export const COLLECTOR_MOUNT = "/opt/maestro-cost-collector";
/** Scrape interval: the collector answers from its cache, so scrapes cost nothing in Cost Explorer. */
export const COLLECTOR_SCRAPE_INTERVAL = "60s";
/** Kubernetes refuses a ConfigMap whose data exceeds 1 MiB. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;
/** The two read-only Cost Explorer actions the collector needs; nothing else. */
export const COLLECTOR_IAM_ACTIONS = ["ce:GetCostAndUsage", "ce:GetDimensionValues"] as const;

/** Cost Explorer's match options for the ones Budgets' filter expressions use (Budgets' default is EQUALS). */
const CE_MATCH_OPTIONS = ["EQUALS", "ENDS_WITH"] as const;

/**
 * One node of a budget's filter expression as a Cost Explorer expression: the two APIs share the shape (dimensions,
 * tags, and, or; values OR-ed; match options), so the collector counts exactly what the budget counts. A node the
 * translation does not know fails the plan rather than counting differently.
 */
function ceExpression(node: FilterExpression, where: string): Expression {
    const kinds = (["dimensions", "tags", "ands", "ors"] as const).filter((k) => node[k] !== undefined);
    if (kinds.length !== 1) {
        throw new Error(
            `${where}: a node with ${kinds.join(", ") || "nothing"}; allowed: exactly one of dimensions, tags, ands, ors`,
        );
    }
    const values = (v: FilterValues, kind: string) => {
        if (v.values.length === 0) {
            throw new Error(`${where}: ${kind} ${JSON.stringify(v.key)}: no values; allowed: at least one value`);
        }
        const options = v.matchOptions ?? [];
        const unknown = options.filter((o) => !(CE_MATCH_OPTIONS as readonly string[]).includes(o));
        if (unknown.length > 0) {
            throw new Error(`${where}: match option ${unknown.join(", ")}; allowed: ${CE_MATCH_OPTIONS.join(", ")}`);
        }
        return { Key: v.key, Values: [...v.values], ...(options.length > 0 ? { MatchOptions: [...options] } : {}) };
    };
    if (node.dimensions) {
        return { Dimensions: values(node.dimensions, "dimension") as never };
    }
    if (node.tags) {
        return { Tags: values(node.tags, "tag") };
    }
    const list = (node.ands ?? node.ors) as readonly FilterExpression[];
    if (list.length === 0) {
        throw new Error(`${where}: an empty ${node.ands ? "ands" : "ors"}; allowed: at least one expression`);
    }
    const children = list.map((c) => ceExpression(c, where));
    return node.ands ? { And: children } : { Or: children };
}

/**
 * A budget's filter as a Cost Explorer expression, AND-ed with credits and refunds excluded when the budget excludes
 * them. Undefined when the budget counts the whole account.
 */
export function budgetFilterExpression(spec: BudgetSpec): Expression | undefined {
    const where = `budgets/specs.ts: budget ${spec.name}: filterExpression`;
    const parts: Expression[] = spec.filterExpression ? [ceExpression(spec.filterExpression, where)] : [];
    const excluded = [
        ...(spec.costTypes.includeCredit ? [] : ["Credit"]),
        ...(spec.costTypes.includeRefund ? [] : ["Refund"]),
    ];
    if (excluded.length > 0) {
        parts.push({ Not: { Dimensions: { Key: "RECORD_TYPE", Values: excluded } } });
    }
    return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { And: parts };
}

/** Days the query reads before today: past the telemetry alert's age limit, so an empty feed reads as stale. */
export const LOOKBACK_DAYS = Math.ceil(COST_DATA_MAX_AGE_HOURS / 24) + 1;

/** The collector's settings for a stack: one query per budget, with that budget's filter. */
export function collectorSettings(config: StackConfig, guardrails: Guardrails): CollectorSettings {
    const collector = enabledCollector(config);
    return {
        environment: config.environment,
        refreshSeconds: collector.refreshMinutes * 60,
        lookbackDays: LOOKBACK_DAYS,
        maxPages: 20,
        retry: { attempts: 4, baseDelayMs: 2000 },
        port: COLLECTOR_PORT,
        queries: budgetSpecs(config, guardrails).map((spec) => ({
            category: spec.kind,
            ...(budgetFilterExpression(spec) ? { filter: budgetFilterExpression(spec) } : {}),
            perService: spec.kind === "total",
            dataTimestamp: spec.kind === "total",
        })),
    };
}

function enabledCollector(config: StackConfig): CostCollectorConfig & { readonly oidcProviderArn: string } {
    const c = config.costCollector;
    if (!c.enabled || c.oidcProviderArn === undefined) {
        throw new Error(
            `${config.sourceFile}: maestro-guardrails:costCollector: the collector is not enabled (or has no oidcProviderArn) in stack ${config.stack}; nothing to plan`,
        );
    }
    return c as CostCollectorConfig & { readonly oidcProviderArn: string };
}

/** The bundled collector, as `npm run build` wrote it; a missing bundle fails before any resource. */
export function readCollectorBundle(file = COLLECTOR_BUNDLE_FILE): string {
    if (!fs.existsSync(file)) {
        throw new Error(
            `${path.relative(repoRoot, file)}: the bundled cost collector is missing; run \`npm run build\` (it bundles collector/ with esbuild)`,
        );
    }
    return fs.readFileSync(file, "utf8");
}

/** A Kubernetes object as plain data (what the component hands to the provider). */
export interface K8sObject {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: { readonly name: string; readonly [key: string]: unknown };
    readonly [key: string]: unknown;
}

/** Everything the component creates, as data. */
export interface CollectorPlan {
    readonly settings: CollectorSettings;
    readonly namespace: string;
    /** IAM role name, unique per environment in the account. */
    readonly roleName: string;
    /** Trust policy: only the collector's service account, through the cluster's OIDC provider (IRSA). */
    readonly assumeRolePolicy: Record<string, unknown>;
    /** Permission policy: the two read-only Cost Explorer actions. */
    readonly rolePolicy: Record<string, unknown>;
    readonly configMap: K8sObject;
    /** Without the role ARN annotation, which the component adds once the role exists. */
    readonly serviceAccount: K8sObject;
    readonly deployment: K8sObject;
    readonly service: K8sObject;
    /** Only for the prometheus-operator target; AMP gets its samples from the remote-writing agent. */
    readonly serviceMonitor?: K8sObject;
}

/** `oidc.eks.<region>.amazonaws.com/id/<id>` from the provider's ARN: the issuer the trust policy's keys name. */
export function oidcIssuer(providerArn: string): string {
    return providerArn.slice(providerArn.indexOf(":oidc-provider/") + ":oidc-provider/".length);
}

export function collectorPlan(config: StackConfig, guardrails: Guardrails, bundle: string): CollectorPlan {
    const c = enabledCollector(config);
    const settings = collectorSettings(config, guardrails);
    const settingsJson = JSON.stringify(settings, null, 2) + "\n";
    const data = { "collector.js": bundle, "settings.json": settingsJson };
    const bytes = Object.values(data).reduce((n, v) => n + Buffer.byteLength(v, "utf8"), 0);
    if (bytes > CONFIGMAP_MAX_BYTES) {
        throw new Error(
            `${path.relative(repoRoot, COLLECTOR_BUNDLE_FILE)}: the collector's ConfigMap would hold ${bytes} bytes; Kubernetes allows at most ${CONFIGMAP_MAX_BYTES}`,
        );
    }
    const ns = c.namespace;
    const app = { "app.kubernetes.io/name": COLLECTOR_NAME, "app.kubernetes.io/component": "cost-collector" };
    const checksum = createHash("sha256").update(bundle).update(settingsJson).digest("hex");
    const issuer = oidcIssuer(c.oidcProviderArn);
    const serviceAccount = `system:serviceaccount:${ns}:${COLLECTOR_NAME}`;
    const meta = (extra: Record<string, string> = {}) => ({
        name: COLLECTOR_NAME,
        namespace: ns,
        labels: { ...app, ...extra },
    });
    const serviceMonitor: K8sObject | undefined =
        config.ruleTarget.kind === "prometheus-operator"
            ? {
                  apiVersion: "monitoring.coreos.com/v1",
                  kind: "ServiceMonitor",
                  // Selected as the rule objects are: the Prometheus that loads the cost rules scrapes their input.
                  metadata: meta(config.ruleTarget.ruleSelectorLabels),
                  spec: {
                      selector: { matchLabels: app },
                      namespaceSelector: { matchNames: [ns] },
                      endpoints: [
                          {
                              port: "metrics",
                              path: "/metrics",
                              interval: COLLECTOR_SCRAPE_INTERVAL,
                              scrapeTimeout: "10s",
                          },
                      ],
                  },
              }
            : undefined;
    return {
        settings,
        namespace: ns,
        roleName: `maestro-${config.environment}-cost-collector`,
        assumeRolePolicy: {
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Federated: c.oidcProviderArn },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: {
                        StringEquals: { [`${issuer}:sub`]: serviceAccount, [`${issuer}:aud`]: "sts.amazonaws.com" },
                    },
                },
            ],
        },
        rolePolicy: {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "ReadCostExplorer",
                    Effect: "Allow",
                    Action: [...COLLECTOR_IAM_ACTIONS],
                    // Cost Explorer has no resource-level permissions: "*" is the only resource it accepts.
                    Resource: "*",
                },
            ],
        },
        configMap: { apiVersion: "v1", kind: "ConfigMap", metadata: meta(), data },
        serviceAccount: { apiVersion: "v1", kind: "ServiceAccount", metadata: meta() },
        deployment: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: meta(),
            spec: {
                // One replica and no surge: two pods would each spend a call set per hour.
                replicas: 1,
                strategy: { type: "Recreate" },
                selector: { matchLabels: app },
                template: {
                    metadata: { labels: app, annotations: { "maestro.io/collector-sha256": checksum } },
                    spec: {
                        serviceAccountName: COLLECTOR_NAME,
                        securityContext: {
                            runAsNonRoot: true,
                            runAsUser: 1000,
                            runAsGroup: 1000,
                            seccompProfile: { type: "RuntimeDefault" },
                        },
                        containers: [
                            {
                                name: "collector",
                                image: c.image,
                                command: ["node", `${COLLECTOR_MOUNT}/collector.js`],
                                env: [
                                    { name: "MAESTRO_COLLECTOR_SETTINGS", value: `${COLLECTOR_MOUNT}/settings.json` },
                                ],
                                ports: [{ name: "metrics", containerPort: COLLECTOR_PORT, protocol: "TCP" }],
                                readinessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 30 },
                                livenessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 60 },
                                resources: {
                                    requests: { cpu: "10m", memory: "64Mi" },
                                    limits: { memory: "128Mi" },
                                },
                                securityContext: {
                                    allowPrivilegeEscalation: false,
                                    readOnlyRootFilesystem: true,
                                    capabilities: { drop: ["ALL"] },
                                },
                                volumeMounts: [{ name: "collector", mountPath: COLLECTOR_MOUNT, readOnly: true }],
                            },
                        ],
                        volumes: [{ name: "collector", configMap: { name: COLLECTOR_NAME } }],
                    },
                },
            },
        },
        service: {
            apiVersion: "v1",
            kind: "Service",
            metadata: {
                ...meta(),
                // For the AMP target: the remote-writing agent discovers the collector by these (docs/metrics.md).
                annotations: {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": String(COLLECTOR_PORT),
                    "prometheus.io/path": "/metrics",
                },
            },
            spec: {
                type: "ClusterIP",
                selector: app,
                ports: [{ name: "metrics", port: COLLECTOR_PORT, targetPort: "metrics", protocol: "TCP" }],
            },
        },
        ...(serviceMonitor ? { serviceMonitor } : {}),
    };
}
