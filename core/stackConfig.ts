import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { RuleDestination } from "./ruleDestination";
import {
    Guardrails,
    LabelMatcher,
    SloObjective,
    accountSharedWith,
    isReleaseTag,
    loosenedBy,
    parseAccountIds,
} from "./guardrails";
import { Problem, ValidationError, ajvProblems, repoRoot, schemaValidator } from "./validation";

// Defined with the conventions (the policy pack's launcher reads it without loading the SDK); exported here as before.
export { PROJECT } from "./conventions";
import {
    ALERT_SECRET_PREFIX,
    COST_COLLECTOR_MIN_REFRESH_MINUTES,
    DEFAULT_RUNBOOK_BASE_URL,
    PROJECT,
    REDIRECTING_AWS_PROVIDER_KEYS,
    environmentOfStack,
} from "./conventions";
export const STACK_CONFIG_SCHEMA = path.join(repoRoot, "guardrails", "stack-config.schema.json");

/** Namespaces of provider config a stack file may also carry; everything else is an unknown key. */
const PROVIDER_NAMESPACES = ["aws", "kubernetes", "grafana", "pulumi"] as const;
/**
 * Key names that carry credentials and so must be Pulumi secrets (`pulumi config set --secret`), in any namespace
 * and at any depth of a structured value: a list of known keys misses the next provider's (`kubernetes:kubeconfig`,
 * `grafana:tlsKey`, `aws:assumeRole.externalId`...). Names of files and paths holding credentials are not secrets.
 */
export const CREDENTIAL_KEY =
    /(secret|token|passw(or)?d|pwd|auth|credential|api[-_]?key|access[-_]?key|private[-_]?key|tls[-_]?key|client[-_]?key|session[-_]?key|kubeconfig|external[-_]?id)/i;
const CREDENTIAL_PATH = /(file|files|path|dir)$/i;

/** A switch's word, trimmed and in any case: `" True "` is not let through as some third word. */
function switchWord(v: string): string {
    return v.trim().toLowerCase();
}

/** The credential-like key paths in a config entry (`grafana:auth`, `aws:assumeRole.externalId`), if any. */
export function credentialKeys(fullKey: string, value: unknown): string[] {
    const found: string[] = [];
    const visit = (at: string, name: string, v: unknown) => {
        // A switch (`skipCredentialsValidation: true`) names credentials but holds none.
        const flag = typeof v === "boolean" || (typeof v === "string" && ["true", "false"].includes(switchWord(v)));
        if (
            CREDENTIAL_KEY.test(name) &&
            !CREDENTIAL_PATH.test(name) &&
            !flag &&
            v !== "" &&
            v !== null &&
            v !== undefined
        ) {
            found.push(at);
            return;
        }
        if (v !== null && typeof v === "object") {
            for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
                visit(`${at}.${k}`, k, x);
            }
        }
    };
    visit(fullKey, splitKey(fullKey)[1], value);
    return found;
}

/** Where this stack's rules go, as its config says (no workspace id: the stack creates the AMP workspace). */
export type RuleTarget = RuleDestination<{ readonly workspaceId?: string }>;

/**
 * One receiver: where its notifications go. Secrets (a PagerDuty routing key, a webhook URL, which usually carries a
 * token) are never in the stack file's plain text: the receiver names a secret, and the value is the Pulumi secret
 * `maestro-guardrails:alertSecret-<name>`.
 */
export interface ReceiverConfig {
    readonly pagerduty?: { readonly routingKeySecret: string };
    readonly webhook?: { readonly urlSecret: string };
    readonly email?: { readonly to: readonly string[]; readonly from: string; readonly smarthost: string };
    /** The only integration Amazon Managed Prometheus' alert manager supports. */
    readonly sns?: { readonly topicArn: string };
}

/** Who gets what: SLO pages, SLO and telemetry tickets, cost alerts, cadence alerts. */
export const ALERT_ROUTE_ROLES = ["page", "ticket", "cost", "cadence"] as const;
export type AlertRouteRole = (typeof ALERT_ROUTE_ROLES)[number];

export interface AlertRoutingConfig {
    /** Receivers by name ([a-z0-9-]). */
    readonly receivers: Readonly<Record<string, ReceiverConfig>>;
    /** The receiver each kind of alert goes to. */
    readonly routes: Readonly<Record<AlertRouteRole, string>>;
    /** Labels the Alertmanager's `alertmanagerConfigSelector` matches; default: `ruleTarget.ruleSelectorLabels`. */
    readonly selectorLabels?: Readonly<Record<string, string>>;
}

/**
 * The Grafana dashboard API: `legacy` is `grafana.oss.Dashboard` (the /api/dashboards API, served by Grafana 10, 11
 * and 12), `apps` is `grafana.apps.v1beta1.Dashboard` (dashboard.grafana.app, Grafana 12 and later).
 */
export const GRAFANA_APIS = ["legacy", "apps"] as const;
export type GrafanaApi = (typeof GRAFANA_APIS)[number];
/** Oldest Grafana major each API works with; the dashboard models themselves need 10 (docs/dashboards.md). */
export const GRAFANA_MIN_MAJOR: Readonly<Record<GrafanaApi, number>> = { legacy: 10, apps: 12 };

/** What a budget action may do at 100% of the LLM budget: attach the deny policy now, or after a person approves. */
export const APPROVAL_MODELS = ["AUTOMATIC", "MANUAL"] as const;
export type ApprovalModel = (typeof APPROVAL_MODELS)[number];

export { AWS_ACCOUNT_CHECK_SKIPS, AWS_PIN_KEYS, parseAccountIds } from "./guardrails";
import { AWS_ACCOUNT_CHECK_SKIPS, AWS_PIN_KEYS } from "./guardrails";

export interface ProvenanceSettings {
    readonly objectLockMode: "GOVERNANCE" | "COMPLIANCE";
    readonly retentionDays: number;
}

/** The cost collector (collector/): Cost Explorer spend as the COST_METRIC series, for stacks without a billing exporter. */
export interface CostCollectorConfig {
    /** Default: on in COST_COLLECTOR_DEFAULT_ENVIRONMENTS (dev, staging), off elsewhere. */
    readonly enabled: boolean;
    /** Namespace of its objects; default `ruleTarget.namespace` (required with an AMP rule target). */
    readonly namespace: string;
    /** The EKS cluster's IAM OIDC provider ARN, for the role of its service account (IRSA); required when enabled. */
    readonly oidcProviderArn?: string;
    /** A stock Node image (the bundled collector comes from a ConfigMap); default COST_COLLECTOR_DEFAULT_IMAGE. */
    readonly image: string;
    /** Minutes between Cost Explorer call sets (each request is billed); default and minimum 60. */
    readonly refreshMinutes: number;
}

/** Environments whose budgets have no billing exporter yet, so the collector is on by default. */
export const COST_COLLECTOR_DEFAULT_ENVIRONMENTS: readonly string[] = ["dev", "staging"];
export const COST_COLLECTOR_DEFAULT_IMAGE = "node:24-alpine";

/** What one stack deploys: its config, validated against the guardrails, with overrides applied. */
export interface StackConfig {
    readonly stack: string;
    /** The file the values came from, for messages (Pulumi.<stack>.yaml unless synth was given --config). */
    readonly sourceFile: string;
    readonly environment: string;
    readonly owner: string;
    /** Monthly cost budget; defaults to the environment's guardrail cap. */
    readonly monthlyBudgetUsd: number;
    /** Monthly LLM budget; defaults to the LLM cap where the guardrails set one, required elsewhere. */
    readonly llmBudgetUsd: number;
    readonly alertEmails: readonly string[];
    /** vX.Y.Z; required on staging and prod. */
    readonly releaseTag?: string;
    readonly grafanaFolder: string;
    readonly prometheusDatasourceUid: string;
    readonly ruleTarget: RuleTarget;
    /**
     * Where the rules are evaluated, as text two stacks can compare: the namespace and the Kubernetes cluster
     * (`kubernetes:cluster`, else `kubernetes:context`, else the ambient kubeconfig's), or the AMP workspace. Stacks
     * with the same placement may share one Prometheus (rules/placement.ts).
     */
    readonly rulePlacement: string;
    /**
     * Extra equality matchers (`sliMatchers`, e.g. `{ namespace: prod }`) added to every SLI selector, so stacks
     * whose rules one Prometheus evaluates each read their own traffic. Empty by default.
     */
    readonly sliMatchers: Readonly<Record<string, string>>;
    readonly provenance: ProvenanceSettings;
    /** The Grafana version the stack's `grafana:url` runs, as declared (`12.1`). */
    readonly grafanaVersion: string;
    /** Which dashboard API the dashboards use; `legacy` unless the stack file says `apps` (Grafana 12+). */
    readonly grafanaApi: GrafanaApi;
    /** The AWS account and region the stack file pins, equal to the guardrails' declaration for the environment. */
    readonly aws: {
        readonly accountId: string;
        readonly region: string;
        /** Other environments in the same account (from the guardrails); non-empty means budgets filter by tag. */
        readonly sharedWith: readonly string[];
    };
    /** Deny LLM invocation at 100% of the LLM budget: the IAM roles to restrict and who approves. Off when absent. */
    readonly llmBudgetAction?: {
        readonly roles: readonly string[];
        readonly approvalModel: ApprovalModel;
    };
    /** The guardrail SLOs, with any (tighter) per-environment override and the sliMatchers applied. */
    readonly slos: readonly SloObjective[];
    /** Share of a cap at which budgets notify and cost alerts ticket (guardrail value or an earlier one). */
    readonly costAlertThreshold: number;
    readonly costCollector: CostCollectorConfig;
    /** Grafana's base URL (`grafana:url`): the provider connects to it and alerts link to its dashboards. */
    readonly grafanaUrl: string;
    /** Base URL of the runbooks (the docs folder); default: this repository's docs (DEFAULT_RUNBOOK_BASE_URL). */
    readonly runbookBaseUrl: string;
    /** Receivers and who gets which alerts. */
    readonly alertRouting: AlertRoutingConfig;
    /** The receivers' secret values by name (Pulumi secrets; wrap them with pulumi.secret before use). */
    readonly alertSecrets: Readonly<Record<string, string>>;
    /** `aws:region`, for SNS receivers' request signing. */
    readonly awsRegion?: string;
}

type ValueKind = "string" | "number" | "json";

const KEY_KINDS: Readonly<Record<string, ValueKind>> = {
    environment: "string",
    owner: "string",
    monthlyBudgetUsd: "number",
    llmBudgetUsd: "number",
    alertEmails: "json",
    releaseTag: "string",
    grafanaFolder: "string",
    grafanaVersion: "string",
    grafanaApi: "string",
    llmBudgetAction: "json",
    prometheusDatasourceUid: "string",
    ruleTarget: "json",
    sliMatchers: "json",
    provenance: "json",
    guardrailOverrides: "json",
    costCollector: "json",
    runbookBaseUrl: "string",
    alertRouting: "json",
};

/** Environments where a release tag is mandatory (a deploy there is a release). */
const TAGGED_ENVIRONMENTS = ["staging", "prod"];

interface RawStackConfig {
    environment: string;
    owner: string;
    monthlyBudgetUsd?: number;
    llmBudgetUsd?: number;
    alertEmails: string[];
    releaseTag?: string;
    grafanaFolder: string;
    grafanaVersion: string;
    grafanaApi?: GrafanaApi;
    llmBudgetAction?: { roles: string[]; approvalModel: ApprovalModel };
    prometheusDatasourceUid: string;
    ruleTarget: RuleTarget;
    sliMatchers?: Record<string, string>;
    provenance: ProvenanceSettings;
    guardrailOverrides?: {
        slo?: Record<string, { thresholdSeconds?: number; objective?: number }>;
        costAlertThreshold?: number;
    };
    costCollector?: Partial<CostCollectorConfig>;
    runbookBaseUrl?: string;
    alertRouting: AlertRoutingConfig & {
        receivers: Record<
            string,
            ReceiverConfig & { pagerduty?: { routingKey?: unknown }; webhook?: { url?: unknown } }
        >;
    };
}

/**
 * Validate a stack's config, as Pulumi hands it to the program: a flat map of `namespace:key` to string
 * (structured values JSON-encoded), plus the keys that are secrets. Throws a ValidationError that lists every
 * problem with the file, the key and the allowed value. Pure: no resource is touched.
 */
export function parseStackConfig(
    stack: string,
    flat: Readonly<Record<string, string>>,
    secretKeys: readonly string[],
    guardrails: Guardrails,
    sourceFile = `Pulumi.${stack}.yaml`,
): StackConfig {
    const problems: Problem[] = [];
    const report = (key: string, message: string) => problems.push({ file: sourceFile, path: key, message });
    const raw: Record<string, unknown> = {};
    const undecodable = new Set<string>();
    const secrets: Record<string, { value: string; secret: boolean }> = {};

    for (const [fullKey, value] of Object.entries(flat)) {
        const [ns, key] = splitKey(fullKey);
        if (ns !== PROJECT) {
            if (!(PROVIDER_NAMESPACES as readonly string[]).includes(ns)) {
                report(
                    fullKey,
                    `unknown config namespace "${ns}"; allowed: ${[PROJECT, ...PROVIDER_NAMESPACES].join(", ")}`,
                );
            } else if (ns === "aws" && REDIRECTING_AWS_PROVIDER_KEYS[key.split(".")[0]] !== undefined) {
                report(
                    fullKey,
                    `${REDIRECTING_AWS_PROVIDER_KEYS[key.split(".")[0]]}, so resources would go where the guardrails never see them; allowed: unset (remove it from ${sourceFile})`,
                );
            } else if (!secretKeys.includes(fullKey)) {
                let parsed: unknown = value;
                try {
                    // Stryker disable next-line Regex: unanchored (/\s*[[{]/), it also parses text that starts otherwise and holds a bracket, valid JSON only as a string literal, which parses to a non-empty string: the credential check decides alike (the other Regex variants are killed by the plaintext-credential tests)
                    parsed = /^\s*[[{]/.test(value) ? JSON.parse(value) : value;
                } catch {
                    // Not structured: the key's own name decides.
                }
                const credentials = credentialKeys(fullKey, parsed);
                if (credentials.length > 0) {
                    report(
                        fullKey,
                        `must be a secret; set it with \`pulumi config set --secret ${fullKey} <value>\` (it holds a credential in plaintext: ${credentials.join(", ")})`,
                    );
                }
            }
            continue;
        }
        if (key.startsWith(ALERT_SECRET_PREFIX)) {
            secrets[key.slice(ALERT_SECRET_PREFIX.length)] = { value, secret: secretKeys.includes(fullKey) };
            continue;
        }
        const kind = KEY_KINDS[key];
        if (!kind) {
            report(
                fullKey,
                `unknown key; allowed keys: ${Object.keys(KEY_KINDS)
                    .map((k) => `${PROJECT}:${k}`)
                    .join(", ")}`,
            );
            continue;
        }
        const parsed = decode(kind, value);
        if (parsed.error) {
            report(fullKey, parsed.error);
            undecodable.add(`${PROJECT}:${key}`);
        } else {
            raw[key] = parsed.value;
        }
    }
    // Schema problems too, so a user sees everything at once; a key that did not decode is reported once, above.
    const validate = schemaValidator(STACK_CONFIG_SCHEMA);
    if (!validate(raw)) {
        for (const p of ajvProblems(sourceFile, validate.errors)) {
            const at = configKeyPath(p.path, p.message);
            if (!undecodable.has(at.split(/[.[]/)[0])) {
                problems.push(explainMissing({ ...p, path: at }));
            }
        }
    }
    const grafanaUrl = flat["grafana:url"] as string | undefined;
    if (grafanaUrl === undefined) {
        report(
            "grafana:url",
            "missing; the Grafana provider connects to it and every alert links to its dashboards; allowed: an absolute http(s) URL, e.g. https://grafana.example.com",
        );
    }
    const runbookBaseUrl = (raw.runbookBaseUrl as string | undefined) ?? DEFAULT_RUNBOOK_BASE_URL;
    if (!isHttpUrl(runbookBaseUrl)) {
        report(
            `${PROJECT}:runbookBaseUrl`,
            `"${runbookBaseUrl}" is not an absolute URL, so no notification could open a runbook; allowed: an absolute http(s) URL of the docs folder`,
        );
    }
    if (problems.length > 0) {
        throw new ValidationError(problems);
    }
    const routing = raw.alertRouting as RawStackConfig["alertRouting"];
    const alertSecrets = checkAlertRouting(routing, secrets, (raw.ruleTarget as { kind: string }).kind, report);
    const config = {
        ...checkAgainstGuardrails(stack, raw as unknown as RawStackConfig, guardrails, report),
        // Stryker disable next-line StringLiteral: unreachable fallback: a missing grafana:url is reported above, and the parse throws before this
        grafanaUrl: grafanaUrl ?? "",
        runbookBaseUrl: runbookBaseUrl.endsWith("/") ? runbookBaseUrl : `${runbookBaseUrl}/`,
        alertRouting: routing,
        alertSecrets,
        // Set in every config returned: checkAwsPin refuses a stack file without the region the guardrails declare.
        awsRegion: flat["aws:region"],
    };
    const aws = checkAwsPin(config.environment, flat, guardrails, report);
    if (problems.length > 0) {
        throw new ValidationError(problems);
    }
    return { ...config, aws, rulePlacement: rulePlacement(stack, config.ruleTarget, flat), sourceFile };
}

/**
 * The stack file must pin the account and region the guardrails declare for its environment, so a deploy with
 * another profile, role or region fails in the provider before touching anything (the provider refuses credentials
 * of an account not in allowedAccountIds). Nothing may switch off the account lookup that check relies on.
 */
function checkAwsPin(
    env: string,
    flat: Readonly<Record<string, string>>,
    g: Guardrails,
    report: (key: string, message: string) => void,
): StackConfig["aws"] {
    const declared = g.accounts[env];
    const at = `guardrails/guardrails.yaml /accounts/${env}`;
    if (!declared) {
        // An environment without an account is no guardrail environment (the guardrails loader requires one for each),
        // which checkAgainstGuardrails reports: parseStackConfig throws, and this placeholder never reaches a caller.
        // Stryker disable next-line StringLiteral,ArrayDeclaration: the placeholder's values are never read (above)
        return { accountId: "", region: "", sharedWith: [] };
    }
    const example = `e.g. \`pulumi config set --path '${AWS_PIN_KEYS.accounts}[0]' ${declared.accountId}\``;
    const accounts = flat[AWS_PIN_KEYS.accounts];
    if (accounts === undefined) {
        report(
            AWS_PIN_KEYS.accounts,
            `missing; every stack pins its AWS account; allowed: ["${declared.accountId}"] (${at}), ${example}`,
        );
    } else {
        const ids = parseAccountIds(accounts);
        if (!ids || ids.length !== 1 || ids[0] !== declared.accountId) {
            report(
                AWS_PIN_KEYS.accounts,
                `${accounts} is not the ${env} account; allowed: exactly ["${declared.accountId}"] (${at})`,
            );
        }
    }
    const region = flat[AWS_PIN_KEYS.region];
    if (region !== declared.region) {
        report(
            AWS_PIN_KEYS.region,
            `${region === undefined ? "missing" : `"${region}" is not the ${env} region`}; allowed: "${declared.region}" (${at})`,
        );
    }
    for (const skip of AWS_ACCOUNT_CHECK_SKIPS) {
        if (flat[skip] !== undefined && switchWord(flat[skip]) !== "false") {
            report(
                skip,
                `"${flat[skip]}" turns off the account check ${AWS_PIN_KEYS.accounts} relies on; allowed: false or absent`,
            );
        }
    }
    return { accountId: declared.accountId, region: declared.region, sharedWith: accountSharedWith(g, env) };
}

/**
 * The receivers against their secrets and the rule target: every route names a receiver that exists, every secret a
 * receiver names is a Pulumi secret of its own key (a routing key or webhook URL in plain text is refused, wherever it
 * is written), no secret key lies unused (a typo would leave a receiver without its value), and an AMP target uses
 * SNS only (the one integration AMP's alert manager has). Returns the secret values by name.
 */
function checkAlertRouting(
    routing: RawStackConfig["alertRouting"],
    secrets: Readonly<Record<string, { value: string; secret: boolean }>>,
    targetKind: string,
    report: (key: string, message: string) => void,
): Record<string, string> {
    const at = (p: string) => `${PROJECT}:alertRouting.${p}`;
    const secretKey = (name: string) => `${PROJECT}:${ALERT_SECRET_PREFIX}${name}`;
    const used = new Set<string>();
    const needSecret = (name: string, where: string) => {
        used.add(name);
        const s = secrets[name];
        if (!s) {
            report(
                at(where),
                `names secret "${name}", but ${secretKey(name)} is not set; allowed: set it with \`pulumi config set --secret ${secretKey(name)} <value>\``,
            );
        }
    };
    for (const [name, receiver] of Object.entries(routing.receivers)) {
        const plain = [
            receiver.pagerduty?.routingKey !== undefined ? "pagerduty.routingKey" : undefined,
            receiver.webhook?.url !== undefined ? "webhook.url" : undefined,
        ].filter((x): x is string => x !== undefined);
        for (const field of plain) {
            report(
                at(`receivers.${name}.${field}`),
                `a secret in plain text in the stack file; allowed: ${field}Secret: <name>, with the value set by \`pulumi config set --secret ${secretKey("<name>")} <value>\``,
            );
        }
        if (receiver.pagerduty?.routingKeySecret !== undefined) {
            needSecret(receiver.pagerduty.routingKeySecret, `receivers.${name}.pagerduty.routingKeySecret`);
        }
        if (receiver.webhook?.urlSecret !== undefined) {
            needSecret(receiver.webhook.urlSecret, `receivers.${name}.webhook.urlSecret`);
        }
        if (targetKind === "amp") {
            const others = Object.keys(receiver).filter((k) => k !== "sns");
            if (others.length > 0) {
                report(
                    at(`receivers.${name}`),
                    `uses ${others.join(", ")}, which Amazon Managed Prometheus' alert manager cannot send to (ruleTarget.kind: amp); allowed: sns`,
                );
            }
        }
    }
    for (const role of ALERT_ROUTE_ROLES) {
        const name = routing.routes[role];
        if (!(name in routing.receivers)) {
            report(
                at(`routes.${role}`),
                `"${name}" is not a receiver; allowed: ${Object.keys(routing.receivers).join(", ")}`,
            );
        }
    }
    const values: Record<string, string> = {};
    for (const [name, s] of Object.entries(secrets)) {
        if (!s.secret) {
            report(
                secretKey(name),
                `must be a secret (it holds a receiver's credential); set it with \`pulumi config set --secret ${secretKey(name)} <value>\``,
            );
        } else if (!used.has(name)) {
            report(
                secretKey(name),
                `no receiver uses it; allowed: a name given as routingKeySecret or urlSecret in ${PROJECT}:alertRouting.receivers (${[...used].join(", ") || "none"})`,
            );
        }
        values[name] = s.value;
    }
    return values;
}

/**
 * A schema "missing required key" for a key whose right value depends on the cluster, said with what to put there:
 * a PrometheusRule without the labels its Prometheus selects is silently ignored.
 */
function explainMissing(p: Problem): Problem {
    if (
        p.message === 'missing required key "ruleSelectorLabels"' &&
        // Stryker disable next-line ConditionalExpression: only the rule target's schema requires ruleSelectorLabels
        p.path === `${PROJECT}:ruleTarget`
    ) {
        return {
            ...p,
            path: `${PROJECT}:ruleTarget.ruleSelectorLabels`,
            message:
                "missing; the PrometheusRule objects are loaded only if they carry the labels your Prometheus' ruleSelector matches; allowed: a map of labels, e.g. {release: <helm release name>} for kube-prometheus-stack",
        };
    }
    return p;
}

/**
 * An absolute http(s) URL: what a notification read far from this repository can open. It has a host: the URL parser
 * refuses an http(s) URL without one (WHATWG URL, "host-missing").
 */
function isHttpUrl(value: string): boolean {
    try {
        const u = new URL(value);
        return u.protocol === "https:" || u.protocol === "http:";
    } catch {
        return false;
    }
}

function rulePlacement(stack: string, target: RuleTarget, flat: Readonly<Record<string, string>>): string {
    if (target.kind === "amp") {
        return target.workspaceId
            ? `AMP workspace ${target.workspaceId}`
            : `the AMP workspace stack ${stack} creates (its own)`;
    }
    // The Kubernetes provider's cluster: `kubernetes:cluster` overrides the context's cluster; without either, the
    // ambient kubeconfig's current context. A kubeconfig path or content is not compared (two differ textually for
    // one cluster), so stacks that point at one cluster through differently named contexts are not caught here.
    const cluster = flat["kubernetes:cluster"] ?? flat["kubernetes:context"];
    return `namespace ${target.namespace} of ${cluster === undefined ? "the ambient kubeconfig's cluster" : `cluster ${cluster}`}`;
}

/** Label names an SLI scope may not use: the bucket bound, and Prometheus' reserved `__` names. */
const RESERVED_SCOPE_LABELS = ["le"];

/** The stack's extra SLI matchers, checked; reports through `report` and returns the usable ones. */
function checkSliMatchers(
    raw: Readonly<Record<string, string>>,
    g: Guardrails,
    report: (key: string, message: string) => void,
): Record<string, string> {
    const at = (label: string) => `${PROJECT}:sliMatchers.${label}`;
    const ok: Record<string, string> = {};
    for (const [label, value] of Object.entries(raw)) {
        if (RESERVED_SCOPE_LABELS.includes(label) || label.startsWith("__")) {
            report(
                at(label),
                `"${label}" is reserved (the bucket bound, or Prometheus' own); allowed: a label of the SLI series such as namespace, cluster or env`,
            );
            continue;
        }
        const clash = g.slo.objectives.find((o) => o.sli.matchers.some((m) => m.label === label));
        if (clash) {
            report(
                at(label),
                `conflicts with SLO ${clash.id}'s own matcher on "${label}" (guardrails/guardrails.yaml /slo/objectives); allowed: a label no SLI selects on`,
            );
            continue;
        }
        ok[label] = value;
    }
    return ok;
}

/** The SLO with the stack's scope matchers appended to its SLI (a copy, equal to the SLO when the scope is empty). */
function scoped(o: SloObjective, scope: Readonly<Record<string, string>>): SloObjective {
    const extra: LabelMatcher[] = Object.entries(scope).map(([label, value]) => ({ label, op: "=", value }));
    return { ...o, sli: { ...o.sli, matchers: [...o.sli.matchers, ...extra] } };
}

function splitKey(fullKey: string): [string, string] {
    const i = fullKey.indexOf(":");
    // Stryker disable next-line EqualityOperator: equivalent; `i <= 0` differs only for a key starting with ":", whose namespace is "" either way (refused as unknown); its name keeps the ":", which no credential-name pattern is anchored to
    return i < 0 ? ["", fullKey] : [fullKey.slice(0, i), fullKey.slice(i + 1)];
}

function decode(kind: ValueKind, value: string): { value?: unknown; error?: string } {
    switch (kind) {
        case "string":
            return { value };
        case "number": {
            const n = Number(value);
            return value.trim() !== "" && Number.isFinite(n) ? { value: n } : { error: `"${value}" is not a number` };
        }
        case "json":
            try {
                return { value: JSON.parse(value) };
            } catch {
                return { error: `expected a structured value (YAML map or list), got "${value}"` };
            }
    }
}

/** "/ruleTarget/namespace" -> "maestro-guardrails:ruleTarget.namespace" (how `pulumi config set --path` names it). */
function configKeyPath(pointer: string, message: string): string {
    const parts = pointer.split("/").filter((s) => s !== "");
    if (parts.length === 0) {
        const missing = /missing required key "([^"]+)"/.exec(message);
        return missing ? `${PROJECT}:${missing[1]}` : PROJECT;
    }
    return `${PROJECT}:${parts[0]}${parts
        .slice(1)
        .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
        .join("")}`;
}

type Report = (key: string, message: string) => void;
const configKey = (k: string) => `${PROJECT}:${k}`;

function checkAgainstGuardrails(
    stack: string,
    raw: RawStackConfig,
    g: Guardrails,
    report: Report,
): Omit<
    StackConfig,
    | "sourceFile"
    | "grafanaUrl"
    | "runbookBaseUrl"
    | "alertRouting"
    | "alertSecrets"
    | "awsRegion"
    | "aws"
    | "rulePlacement"
> {
    const env = raw.environment;
    if (!g.environments.includes(env)) {
        report(
            configKey("environment"),
            `"${env}" is not a guardrail environment; allowed: ${g.environments.join(", ")}`,
        );
    }
    const bound = environmentOfStack(stack, g.environments);
    if (bound === undefined) {
        report(
            configKey("environment"),
            `the stack "${stack}" is bound to no guardrail environment; allowed stack names: ${g.environments.map((e) => `${e} or ${e}-<suffix>`).join(", ")}`,
        );
    } else if (env !== bound) {
        report(
            configKey("environment"),
            `"${env}" in the stack "${stack}", which is bound to ${bound} by its name; allowed: "${bound}"`,
        );
    }
    // In the order a reader meets the keys, so the problems print in that order.
    const budgets = checkBudgets(raw, env, g, report);
    checkRelease(raw, env, g, report);
    const grafanaApi = checkGrafanaApi(raw, report);
    const sliMatchers = checkSliMatchers(raw.sliMatchers ?? {}, g, report);
    const overrides = checkOverrides(raw, g, sliMatchers, report);
    return {
        stack,
        environment: env,
        owner: raw.owner,
        ...budgets,
        alertEmails: raw.alertEmails,
        releaseTag: raw.releaseTag,
        grafanaFolder: raw.grafanaFolder,
        grafanaVersion: raw.grafanaVersion,
        grafanaApi,
        llmBudgetAction: raw.llmBudgetAction,
        prometheusDatasourceUid: raw.prometheusDatasourceUid,
        ruleTarget: raw.ruleTarget,
        sliMatchers,
        provenance: raw.provenance,
        ...overrides,
        costCollector: costCollectorConfig(raw, env, configKey, report),
    };
}

/** The budgets against the environment's caps: the monthly one, and the LLM one under both the LLM cap and it. */
function checkBudgets(
    raw: RawStackConfig,
    env: string,
    g: Guardrails,
    report: Report,
): { monthlyBudgetUsd: number; llmBudgetUsd: number } {
    const cap = g.cost.caps[env] ?? { monthlyUsd: Number.POSITIVE_INFINITY };
    const monthlyBudgetUsd = raw.monthlyBudgetUsd ?? cap.monthlyUsd;
    if (monthlyBudgetUsd > cap.monthlyUsd) {
        report(
            configKey("monthlyBudgetUsd"),
            `${monthlyBudgetUsd} is above the ${env} cost guardrail; allowed: a number > 0 and <= ${cap.monthlyUsd}`,
        );
    }
    const llmCeiling = Math.min(cap.llmMonthlyUsd ?? Number.POSITIVE_INFINITY, monthlyBudgetUsd);
    const llmBudgetUsd = raw.llmBudgetUsd ?? cap.llmMonthlyUsd;
    if (llmBudgetUsd === undefined) {
        report(
            configKey("llmBudgetUsd"),
            `missing; the guardrails set no LLM cap for ${env}, so give one; allowed: a number > 0 and <= ${llmCeiling}`,
        );
    } else if (llmBudgetUsd > llmCeiling) {
        const why =
            cap.llmMonthlyUsd !== undefined && cap.llmMonthlyUsd <= monthlyBudgetUsd
                ? `the ${env} LLM cost guardrail`
                : "the environment's monthly budget";
        report(
            configKey("llmBudgetUsd"),
            `${llmBudgetUsd} is above ${why}; allowed: a number > 0 and <= ${llmCeiling}`,
        );
    }
    return { monthlyBudgetUsd, llmBudgetUsd: llmBudgetUsd ?? 0 };
}

/** A release environment's tag (present, in the guardrails' format), and prod's evidence lock mode. */
function checkRelease(raw: RawStackConfig, env: string, g: Guardrails, report: Report): void {
    if (raw.releaseTag !== undefined && !isReleaseTag(g, raw.releaseTag)) {
        report(
            configKey("releaseTag"),
            `"${raw.releaseTag}" is not a release tag; allowed: ${g.cadence.tagFormat} (pattern ${g.cadence.tagPattern})`,
        );
    } else if (raw.releaseTag === undefined && TAGGED_ENVIRONMENTS.includes(env)) {
        report(
            configKey("releaseTag"),
            `missing; a ${env} deploy is a release and needs its tag; allowed: ${g.cadence.tagFormat}, e.g. set it with \`pulumi config set ${configKey("releaseTag")} v1.2.0\``,
        );
    }
    if (env === "prod" && raw.provenance.objectLockMode !== "COMPLIANCE") {
        report(
            configKey("provenance.objectLockMode"),
            `"${raw.provenance.objectLockMode}" lets privileged users delete prod evidence; allowed in prod: "COMPLIANCE"`,
        );
    }
}

/** The dashboard API against the declared Grafana version: the models need 10, the apps API 12. */
function checkGrafanaApi(raw: RawStackConfig, report: Report): GrafanaApi {
    const grafanaApi = raw.grafanaApi ?? "legacy";
    const grafanaMajor = Number(raw.grafanaVersion.split(".")[0]);
    if (grafanaMajor < GRAFANA_MIN_MAJOR.legacy) {
        report(
            configKey("grafanaVersion"),
            `"${raw.grafanaVersion}": the dashboard models need Grafana ${GRAFANA_MIN_MAJOR.legacy} or later; allowed: a version >= ${GRAFANA_MIN_MAJOR.legacy}.0`,
        );
    } else if (grafanaMajor < GRAFANA_MIN_MAJOR[grafanaApi]) {
        report(
            configKey("grafanaApi"),
            `"${grafanaApi}" (the dashboard.grafana.app API) needs Grafana ${GRAFANA_MIN_MAJOR[grafanaApi]} or later, and ${configKey("grafanaVersion")} declares "${raw.grafanaVersion}"; allowed with that version: "legacy" (the default)`,
        );
    }
    return grafanaApi;
}

/** The per-environment overrides: only tighter than the guardrails, only for SLOs that exist; scope applied. */
function checkOverrides(
    raw: RawStackConfig,
    g: Guardrails,
    sliMatchers: Readonly<Record<string, string>>,
    report: Report,
): { slos: SloObjective[]; costAlertThreshold: number } {
    const overrides = raw.guardrailOverrides ?? {};
    const slos = g.slo.objectives.map((o) =>
        scoped(applySloOverride(o, overrides.slo?.[o.id], configKey, report), sliMatchers),
    );
    for (const id of Object.keys(overrides.slo ?? {})) {
        if (!g.slo.objectives.some((o) => o.id === id)) {
            report(
                configKey(`guardrailOverrides.slo.${id}`),
                `unknown SLO id; allowed: ${g.slo.objectives.map((o) => o.id).join(", ")}`,
            );
        }
    }
    const costAlertThreshold = overrides.costAlertThreshold ?? g.cost.alertThreshold;
    if (costAlertThreshold > g.cost.alertThreshold) {
        report(
            configKey("guardrailOverrides.costAlertThreshold"),
            `${costAlertThreshold} alerts later than the guardrail; allowed: a number > 0 and <= ${g.cost.alertThreshold}`,
        );
    }
    return { slos, costAlertThreshold };
}

function costCollectorConfig(
    raw: RawStackConfig,
    env: string,
    key: (k: string) => string,
    report: (key: string, message: string) => void,
): CostCollectorConfig {
    const c = raw.costCollector ?? {};
    const enabled = c.enabled ?? COST_COLLECTOR_DEFAULT_ENVIRONMENTS.includes(env);
    const namespace = c.namespace ?? (raw.ruleTarget.kind === "prometheus-operator" ? raw.ruleTarget.namespace : "");
    if (enabled && namespace === "") {
        report(
            key("costCollector.namespace"),
            "missing; the AMP rule target names no namespace, so give the collector's; allowed: a Kubernetes namespace name",
        );
    }
    if (enabled && c.oidcProviderArn === undefined) {
        report(
            key("costCollector.oidcProviderArn"),
            `missing; the collector is ${c.enabled === undefined ? `on by default in ${env}` : "enabled"} and its role is assumed through the cluster's OIDC provider; allowed: arn:aws:iam::<account>:oidc-provider/<issuer>, or set ${key("costCollector.enabled")} to false`,
        );
    }
    if (c.refreshMinutes !== undefined && c.refreshMinutes < COST_COLLECTOR_MIN_REFRESH_MINUTES) {
        report(
            key("costCollector.refreshMinutes"),
            `${c.refreshMinutes} would call Cost Explorer (billed per request) more than once an hour; allowed: an integer >= ${COST_COLLECTOR_MIN_REFRESH_MINUTES}`,
        );
    }
    return {
        enabled,
        namespace,
        ...(c.oidcProviderArn !== undefined ? { oidcProviderArn: c.oidcProviderArn } : {}),
        image: c.image ?? COST_COLLECTOR_DEFAULT_IMAGE,
        refreshMinutes: c.refreshMinutes ?? COST_COLLECTOR_MIN_REFRESH_MINUTES,
    };
}

function applySloOverride(
    o: SloObjective,
    override: { thresholdSeconds?: number; objective?: number } | undefined,
    key: (k: string) => string,
    report: (key: string, message: string) => void,
): SloObjective {
    if (!override) {
        return o;
    }
    const at = (field: string) => key(`guardrailOverrides.slo.${o.id}.${field}`);
    const looser = loosenedBy(o, override);
    if (looser.thresholdSeconds) {
        report(
            at("thresholdSeconds"),
            `${override.thresholdSeconds} is looser than the guardrail; allowed: a number > 0 and <= ${o.sli.thresholdSeconds}`,
        );
    }
    if (looser.objective) {
        report(
            at("objective"),
            `${override.objective} is looser than the guardrail; allowed: a number >= ${o.objective} and < 1`,
        );
    }
    return {
        ...o,
        objective: override.objective ?? o.objective,
        sli: { ...o.sli, thresholdSeconds: override.thresholdSeconds ?? o.sli.thresholdSeconds },
    };
}

/**
 * The program's entry to config: read what Pulumi handed this process (the CLI, or synth's mock runtime) and
 * validate it. MAESTRO_STACK_CONFIG_FILE only renames the file in messages, for `synth --config FILE`.
 */
export function stackConfigFromPulumi(guardrails: Guardrails): StackConfig {
    const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret(key: string): boolean };
    const flat = runtime.allConfig();
    const secretKeys = Object.keys(flat).filter((k) => runtime.isConfigSecret(k));
    const stack = pulumi.getStack();
    return parseStackConfig(
        stack,
        flat,
        secretKeys,
        guardrails,
        process.env.MAESTRO_STACK_CONFIG_FILE ?? `Pulumi.${stack}.yaml`,
    );
}
