import { CADENCE_METRIC, GUARDRAIL_LABEL, URGENCY, urgencyLabels } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { StackConfig } from "../core/stackConfig";
import { CADENCE_ABSENT_FOR, CADENCE_GRACE_DAYS, DASHBOARD_PATH, VALUE, dashboardUrl, runbookUrl } from "./design";
import { AlertingRule, RuleGroup } from "./types";

export const CADENCE_ALERT = {
    overdue: "MaestroReleaseCadenceOverdue",
    absent: "MaestroReleaseCadenceMetricAbsent",
} as const;

export const CADENCE_GROUP = "maestro-cadence";

/** The cadence group's (and object's) name in one environment: `maestro-cadence-<env>`. */
export function cadenceGroupName(environment: string): string {
    return `${CADENCE_GROUP}-${environment}`;
}

export interface CadenceTarget {
    /** Value of the metric's `target` label. */
    readonly target: "staging" | "production";
    /** The stack whose Prometheus receives this target's cuts (the release pipeline pushes where it deploys). */
    readonly environment: string;
    readonly intervalDays: number;
    readonly what: string;
}

/** Each cadence is watched by the stack it deploys to, so no release is alerted on twice. */
export function cadenceTargets(g: Guardrails): CadenceTarget[] {
    const targets: CadenceTarget[] = [
        {
            target: "staging",
            environment: "staging",
            intervalDays: g.cadence.stagingCutIntervalDays,
            what: "cut from trunk to staging",
        },
        {
            target: "production",
            environment: "prod",
            intervalDays: g.cadence.prodReleaseIntervalDays,
            what: "released to production",
        },
    ];
    for (const t of targets) {
        if (!g.environments.includes(t.environment)) {
            throw new Error(
                `guardrails/guardrails.yaml: /environments: the ${t.target} cadence is watched from environment "${t.environment}", which is not listed; allowed: a list containing it`,
            );
        }
    }
    return targets;
}

/** The governance role (raci.json) whose sign-off of a tag is the cut: to staging, or the release to production. */
export const RELEASE_CUT_ROLE = "Release Manager";

/** What a cut needs from a sign-off-ledger entry; any ledger format that yields these fields will do. */
export interface SignoffFacts {
    readonly tag: string;
    readonly environment: string;
    readonly role: string;
    /** ISO 8601 UTC. */
    readonly time: string;
}

/** The last cut per cadence target, the value of `maestro_release_last_cut_timestamp_seconds{target}`. */
export interface ReleaseCut {
    readonly target: CadenceTarget["target"];
    readonly tag: string;
    /** Unix seconds of the Release Manager's sign-off. */
    readonly timestampSeconds: number;
}

/**
 * The last cut per target from the sign-off ledger, the source of truth for cuts: a staging cut is the Release
 * Manager's staging sign-off of a tag, a production release their prod sign-off (the environment each cadence
 * target is watched from). A target nobody has cut yet has no entry, so its metric stays absent and
 * MaestroReleaseCadenceMetricAbsent says so. Ties go to the later ledger entry.
 */
export function lastReleaseCuts(entries: readonly SignoffFacts[], guardrails: Guardrails): ReleaseCut[] {
    const cuts: ReleaseCut[] = [];
    for (const t of cadenceTargets(guardrails)) {
        let last: ReleaseCut | undefined;
        for (const e of entries) {
            const ms = Date.parse(e.time);
            if (e.role !== RELEASE_CUT_ROLE || e.environment !== t.environment || Number.isNaN(ms)) {
                continue;
            }
            const seconds = Math.floor(ms / 1000);
            if (!last || seconds >= last.timestampSeconds) {
                last = { target: t.target, tag: e.tag, timestampSeconds: seconds };
            }
        }
        if (last) {
            cuts.push(last);
        }
    }
    return cuts;
}

/** Cadence alerts for the targets this stack watches; undefined when it watches none (dev). */
export function buildCadenceGroup(config: StackConfig, guardrails: Guardrails): RuleGroup | undefined {
    const env = config.environment;
    const rules = cadenceTargets(guardrails)
        .filter((t) => t.environment === env)
        .flatMap((t): AlertingRule[] => {
            const selector = `${CADENCE_METRIC.lastCut}{target=${JSON.stringify(t.target)}}`;
            const labels = {
                env,
                ...urgencyLabels(URGENCY.ticket),
                guardrail: GUARDRAIL_LABEL.cadence,
                target: t.target,
            };
            const dashboard = dashboardUrl(DASHBOARD_PATH.summary(env), config);
            const allowedDays = t.intervalDays + CADENCE_GRACE_DAYS;
            return [
                {
                    alert: CADENCE_ALERT.overdue,
                    expr: `time() - max(${selector}) > ${allowedDays} * 86400`,
                    labels,
                    annotations: {
                        summary: `Release cadence: nothing ${t.what} for over ${allowedDays} days`,
                        description: `The guardrail is one release ${t.what} every ${t.intervalDays} days (plus ${CADENCE_GRACE_DAYS} day of grace); the last was ${VALUE.duration} ago.`,
                        runbook_url: runbookUrl(CADENCE_ALERT.overdue, config),
                        dashboard,
                    },
                },
                {
                    alert: CADENCE_ALERT.absent,
                    expr: `absent(${selector})`,
                    for: CADENCE_ABSENT_FOR,
                    labels,
                    annotations: {
                        summary: `Release cadence: no ${CADENCE_METRIC.lastCut} for target ${t.target}`,
                        description: `The release pipeline has not pushed ${selector}, so an overdue ${t.target} release would go unnoticed.`,
                        runbook_url: runbookUrl(CADENCE_ALERT.absent, config),
                        dashboard,
                    },
                },
            ];
        });
    return rules.length > 0 ? { name: cadenceGroupName(env), rules } : undefined;
}
