/**
 * The Prometheus rule-file model (https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/),
 * typed, so builders cannot emit a field Prometheus or the prometheus-operator CRD would reject.
 */

export interface RecordingRule {
    readonly record: string;
    readonly expr: string;
    readonly labels: Readonly<Record<string, string>>;
}

export interface AlertingRule {
    readonly alert: string;
    readonly expr: string;
    /** Prometheus duration; omitted means the alert fires on the first evaluation that matches. */
    readonly for?: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
    readonly name: string;
    /** Evaluation interval; omitted means the server's global `evaluation_interval`. */
    readonly interval?: string;
    readonly rules: readonly Rule[];
}

export function isAlertingRule(r: Rule): r is AlertingRule {
    return "alert" in r;
}

export function isRecordingRule(r: Rule): r is RecordingRule {
    return "record" in r;
}

/** The backlog items rules serve, by key of BACKLOG_ITEM. */
export type RuleBacklogKey = "sloRules" | "telemetryGapAlerts" | "costAlerts" | "cadenceAlerts";

/** One deployable unit: a PrometheusRule object (or AMP rule group namespace) and the file synth writes. */
export interface RuleSet {
    /**
     * Object, file and group name, unique per environment (e.g. `maestro-slo-api-read-latency-prod`), so stacks that
     * share a namespace or an AMP workspace never fight over one object.
     */
    readonly name: string;
    readonly backlogItem: RuleBacklogKey;
    readonly groups: readonly RuleGroup[];
}
