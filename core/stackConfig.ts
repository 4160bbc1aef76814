import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { Guardrails, SloObjective, isReleaseTag, loosenedBy } from "./guardrails";
import { Problem, ValidationError, ajvProblems, repoRoot, schemaValidator } from "./validation";

// Defined with the conventions (the policy pack's launcher reads it without loading the SDK); exported here as before.
export { PROJECT } from "./conventions";
import { PROJECT, REDIRECTING_AWS_PROVIDER_KEYS, environmentOfStack } from "./conventions";
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

/** The credential-like key paths in a config entry (`grafana:auth`, `aws:assumeRole.externalId`), if any. */
export function credentialKeys(fullKey: string, value: unknown): string[] {
    const found: string[] = [];
    const visit = (at: string, name: string, v: unknown) => {
        if (CREDENTIAL_KEY.test(name) && !CREDENTIAL_PATH.test(name) && v !== "" && v !== null && v !== undefined) {
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

export type RuleTarget =
    | {
          readonly kind: "prometheus-operator";
          /** Namespace the PrometheusRule objects are created in. */
          readonly namespace: string;
          /** Labels a prometheus-operator `ruleSelector` matches; default `{ role: "alert-rules" }`. */
          readonly ruleSelectorLabels: Readonly<Record<string, string>>;
      }
    | {
          readonly kind: "amp";
          /** An existing Amazon Managed Prometheus workspace; when absent the stack creates one. */
          readonly workspaceId?: string;
      };

export interface ProvenanceSettings {
    readonly objectLockMode: "GOVERNANCE" | "COMPLIANCE";
    readonly retentionDays: number;
}

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
    readonly provenance: ProvenanceSettings;
    /** The guardrail SLOs, with any (tighter) per-environment override applied. */
    readonly slos: readonly SloObjective[];
    /** Share of a cap at which budgets notify and cost alerts ticket (guardrail value or an earlier one). */
    readonly costAlertThreshold: number;
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
    prometheusDatasourceUid: "string",
    ruleTarget: "json",
    provenance: "json",
    guardrailOverrides: "json",
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
    prometheusDatasourceUid: string;
    ruleTarget:
        | { kind: "prometheus-operator"; namespace: string; ruleSelectorLabels?: Record<string, string> }
        | { kind: "amp"; workspaceId?: string };
    provenance: ProvenanceSettings;
    guardrailOverrides?: {
        slo?: Record<string, { thresholdSeconds?: number; objective?: number }>;
        costAlertThreshold?: number;
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
                problems.push({ ...p, path: at });
            }
        }
    }
    if (problems.length > 0) {
        throw new ValidationError(problems);
    }
    const config = checkAgainstGuardrails(stack, raw as unknown as RawStackConfig, guardrails, report);
    if (problems.length > 0) {
        throw new ValidationError(problems);
    }
    return { ...config, sourceFile };
}

function splitKey(fullKey: string): [string, string] {
    const i = fullKey.indexOf(":");
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

function checkAgainstGuardrails(
    stack: string,
    raw: RawStackConfig,
    g: Guardrails,
    report: (key: string, message: string) => void,
): Omit<StackConfig, "sourceFile"> {
    const key = (k: string) => `${PROJECT}:${k}`;
    const env = raw.environment;
    if (!g.environments.includes(env)) {
        report(key("environment"), `"${env}" is not a guardrail environment; allowed: ${g.environments.join(", ")}`);
    }
    const bound = environmentOfStack(stack, g.environments);
    if (bound === undefined) {
        report(
            key("environment"),
            `the stack "${stack}" is bound to no guardrail environment; allowed stack names: ${g.environments.map((e) => `${e} or ${e}-<suffix>`).join(", ")}`,
        );
    } else if (env !== bound) {
        report(
            key("environment"),
            `"${env}" in the stack "${stack}", which is bound to ${bound} by its name; allowed: "${bound}"`,
        );
    }
    const cap = g.cost.caps[env] ?? { monthlyUsd: Number.POSITIVE_INFINITY };

    const monthlyBudgetUsd = raw.monthlyBudgetUsd ?? cap.monthlyUsd;
    if (monthlyBudgetUsd > cap.monthlyUsd) {
        report(
            key("monthlyBudgetUsd"),
            `${monthlyBudgetUsd} is above the ${env} cost guardrail; allowed: a number > 0 and <= ${cap.monthlyUsd}`,
        );
    }
    const llmCeiling = Math.min(cap.llmMonthlyUsd ?? Number.POSITIVE_INFINITY, monthlyBudgetUsd);
    const llmBudgetUsd = raw.llmBudgetUsd ?? cap.llmMonthlyUsd;
    if (llmBudgetUsd === undefined) {
        report(
            key("llmBudgetUsd"),
            `missing; the guardrails set no LLM cap for ${env}, so give one; allowed: a number > 0 and <= ${llmCeiling}`,
        );
    } else if (llmBudgetUsd > llmCeiling) {
        const why =
            cap.llmMonthlyUsd !== undefined && cap.llmMonthlyUsd <= monthlyBudgetUsd
                ? `the ${env} LLM cost guardrail`
                : "the environment's monthly budget";
        report(key("llmBudgetUsd"), `${llmBudgetUsd} is above ${why}; allowed: a number > 0 and <= ${llmCeiling}`);
    }

    if (raw.releaseTag !== undefined && !isReleaseTag(g, raw.releaseTag)) {
        report(
            key("releaseTag"),
            `"${raw.releaseTag}" is not a release tag; allowed: ${g.cadence.tagFormat} (pattern ${g.cadence.tagPattern})`,
        );
    } else if (raw.releaseTag === undefined && TAGGED_ENVIRONMENTS.includes(env)) {
        report(
            key("releaseTag"),
            `missing; a ${env} deploy is a release and needs its tag; allowed: ${g.cadence.tagFormat}, e.g. set it with \`pulumi config set ${key("releaseTag")} v1.2.0\``,
        );
    }

    if (env === "prod" && raw.provenance.objectLockMode !== "COMPLIANCE") {
        report(
            key("provenance.objectLockMode"),
            `"${raw.provenance.objectLockMode}" lets privileged users delete prod evidence; allowed in prod: "COMPLIANCE"`,
        );
    }

    const overrides = raw.guardrailOverrides ?? {};
    const slos = g.slo.objectives.map((o) => applySloOverride(o, overrides.slo?.[o.id], key, report));
    for (const id of Object.keys(overrides.slo ?? {})) {
        if (!g.slo.objectives.some((o) => o.id === id)) {
            report(
                key(`guardrailOverrides.slo.${id}`),
                `unknown SLO id; allowed: ${g.slo.objectives.map((o) => o.id).join(", ")}`,
            );
        }
    }
    const costAlertThreshold = overrides.costAlertThreshold ?? g.cost.alertThreshold;
    if (costAlertThreshold > g.cost.alertThreshold) {
        report(
            key("guardrailOverrides.costAlertThreshold"),
            `${costAlertThreshold} alerts later than the guardrail; allowed: a number > 0 and <= ${g.cost.alertThreshold}`,
        );
    }

    const ruleTarget: RuleTarget =
        raw.ruleTarget.kind === "prometheus-operator"
            ? { ...raw.ruleTarget, ruleSelectorLabels: raw.ruleTarget.ruleSelectorLabels ?? { role: "alert-rules" } }
            : raw.ruleTarget;

    return {
        stack,
        environment: env,
        owner: raw.owner,
        monthlyBudgetUsd,
        llmBudgetUsd: llmBudgetUsd ?? 0,
        alertEmails: raw.alertEmails,
        releaseTag: raw.releaseTag,
        grafanaFolder: raw.grafanaFolder,
        prometheusDatasourceUid: raw.prometheusDatasourceUid,
        ruleTarget,
        provenance: raw.provenance,
        slos,
        costAlertThreshold,
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
