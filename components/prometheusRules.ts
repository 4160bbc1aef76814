import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { planOrRefuse, plannedOnce } from "../core/component";
import { BACKLOG_ITEM } from "../core/conventions";
import { declareEvidence } from "../core/evidence";
import { Guardrails } from "../core/guardrails";
import { RuleDestination } from "../core/ruleDestination";
import { StackConfig } from "../core/stackConfig";
import { ValidationError } from "../core/validation";
import { buildRuleSets, renderRuleFile, RuleBacklogKey, RuleGroup, RuleSet, stacksApart } from "../rules";

export interface GuardrailRulesArgs {
    /** This stack's validated config: SLOs (with overrides), budgets, alert threshold, and where rules go (`ruleTarget`). */
    readonly config: StackConfig;
    /** The guardrails file (SLO period, cadence intervals). */
    readonly guardrails: Guardrails;
    /**
     * The project's other stacks (their validated stack files). Any whose rules land where this stack's do (same
     * namespace of the same cluster, or the same AMP workspace) must share no rule object, no series and no SLI
     * traffic with it, or the plan is refused. Default: none.
     */
    readonly siblings?: readonly StackConfig[];
}

/** Where one rule set's objects are created; shared by the four nested components. */
type RuleSink = (set: RuleSet, parent: pulumi.Resource) => pulumi.Output<string>;

/**
 * Every Prometheus rule the guardrails need, deployed as prometheus-operator `PrometheusRule` objects (default)
 * or as Amazon Managed Service for Prometheus rule group namespaces (`ruleTarget.kind: amp`). The rules come from
 * rules/ (pure builders); each backlog item's rules sit in their own nested component so evidence tags are right.
 */
export class GuardrailRules extends pulumi.ComponentResource {
    readonly slo: RuleSetComponent;
    readonly telemetryGaps: RuleSetComponent;
    readonly cost: RuleSetComponent;
    /** Undefined in stacks that watch no release target (dev). */
    readonly cadence?: RuleSetComponent;
    /** The AMP workspace id, when rules go to AMP. */
    readonly ampWorkspaceId?: pulumi.Output<string>;
    /** Names of every PrometheusRule object / rule group namespace, in order. */
    readonly ruleObjectNames: pulumi.Output<string[]>;

    /**
     * The rule sets this component would deploy; throws on guardrails the builders cannot serve, and on a sibling
     * stack sharing this one's Prometheus with a common object name, series or SLI traffic. Registers nothing.
     */
    static readonly plan = plannedOnce((args: GuardrailRulesArgs): RuleSet[] => {
        const sets = buildRuleSets(args.config, args.guardrails);
        const clashes = stacksApart([...(args.siblings ?? []), args.config], args.guardrails).filter(
            (p) => p.file === args.config.sourceFile,
        );
        if (clashes.length > 0) {
            throw new ValidationError(clashes);
        }
        return sets;
    });

    constructor(name: string, args: GuardrailRulesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("maestro:rules:GuardrailRules", name, {}, opts);
        // The AMP workspace serves every rule set; it carries the SLO rules' evidence as the item that needs it first.
        declareEvidence(this, { backlogItem: BACKLOG_ITEM.sloRules, creates: ["aws:amp/workspace:Workspace"] });
        const sets: RuleSet[] = planOrRefuse(this, () => GuardrailRules.plan(args));
        const target = args.config.ruleTarget;
        let destination: RuleObjectDestination;
        if (target.kind === "amp") {
            const workspaceId: pulumi.Input<string> =
                target.workspaceId ??
                new aws.amp.Workspace(
                    `${name}-workspace`,
                    { alias: `maestro-${args.config.stack}`, tags: {} },
                    { parent: this },
                ).id;
            this.ampWorkspaceId = pulumi.output(workspaceId);
            destination = { kind: "amp", workspaceId };
        } else {
            destination = target;
        }
        const sink: RuleSink = (set, parent) => ruleObject(`${name}-${set.name}`, set, destination, parent);
        const part = (key: RuleBacklogKey) => {
            const mine = sets.filter((s) => s.backlogItem === key);
            const { type, role } = RULE_SET_PARTS[key];
            return mine.length > 0
                ? new RuleSetComponent(
                      type,
                      `${name}-${role}`,
                      { backlogItem: BACKLOG_ITEM[key], sets: mine, sink },
                      { parent: this },
                  )
                : undefined;
        };
        const required = (c: RuleSetComponent | undefined, what: string): RuleSetComponent => {
            if (!c) {
                throw new pulumi.ResourceError(
                    `no ${what} rules were built for stack ${args.config.stack}; every stack needs them`,
                    this,
                );
            }
            return c;
        };
        this.slo = required(part("sloRules"), "SLO");
        this.telemetryGaps = required(part("telemetryGapAlerts"), "telemetry-gap");
        this.cost = required(part("costAlerts"), "cost");
        this.cadence = part("cadenceAlerts");
        const parts = [this.slo, this.telemetryGaps, this.cost, ...(this.cadence ? [this.cadence] : [])];
        this.ruleObjectNames = pulumi.all(parts.map((p) => p.objectNames)).apply((ns) => ns.flat());
        this.registerOutputs({ ruleObjectNames: this.ruleObjectNames, ampWorkspaceId: this.ampWorkspaceId });
    }
}

/** Where a rule object goes; the AMP workspace may still be in creation. */
export type RuleObjectDestination = RuleDestination<{ readonly workspaceId: pulumi.Input<string> }>;

/**
 * Evidence written on the object itself, for programs without this stack's evidence transformation (the kit);
 * the stack's own rule objects get theirs from the transformation.
 */
export interface RuleObjectEvidence {
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly tags?: Readonly<Record<string, string>>;
}

/**
 * One rule set as one deployable object: a `PrometheusRule` (whose labels include the selector labels, which win, so
 * the environment's Prometheus loads it) or an AMP rule group namespace holding the rendered rule file. Resolves to
 * the object's name. Shared by the stack's rules and the kit's.
 */
export function ruleObject(
    resourceName: string,
    set: { readonly name: string; readonly groups: readonly RuleGroup[] },
    destination: RuleObjectDestination,
    parent: pulumi.Resource,
    evidence: RuleObjectEvidence = {},
): pulumi.Output<string> {
    if (destination.kind === "amp") {
        return new aws.amp.RuleGroupNamespace(
            resourceName,
            {
                name: set.name,
                workspaceId: destination.workspaceId,
                data: renderRuleFile(set.groups),
                tags: { ...evidence.tags },
            },
            { parent },
        ).name;
    }
    return new k8s.apiextensions.CustomResource(
        resourceName,
        {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: {
                name: set.name,
                namespace: destination.namespace,
                labels: { ...evidence.labels, ...destination.ruleSelectorLabels },
                ...(evidence.annotations ? { annotations: { ...evidence.annotations } } : {}),
            },
            spec: { groups: set.groups },
        },
        { parent },
    ).metadata.name;
}

/**
 * Each backlog item's rule sets sit in a nested component of their own (the type names what they are), so their
 * evidence is that item's: SLI recordings and burn-rate alerts (one object per SLO), alerts on a missing SLI
 * histogram or threshold bucket, budget recordings and cost alerts, release-cadence alerts for this stack's target.
 */
const RULE_SET_PARTS: Readonly<Record<RuleBacklogKey, { readonly type: string; readonly role: string }>> = {
    sloRules: { type: "maestro:rules:SloAlertRules", role: "slo" },
    telemetryGapAlerts: { type: "maestro:rules:TelemetryGapAlerts", role: "telemetry" },
    costAlerts: { type: "maestro:rules:CostAlertRules", role: "cost" },
    cadenceAlerts: { type: "maestro:rules:CadenceAlertRules", role: "cadence" },
};

/** The provider types a rule object can be: a PrometheusRule or an AMP rule group namespace. */
export const RULE_OBJECT_TYPES = [
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
] as const;

export interface RuleSetArgs {
    /** The backlog item every set here serves. */
    readonly backlogItem: string;
    /** The rule sets this component deploys. */
    readonly sets: readonly RuleSet[];
    /** Creates one set's object under a parent (PrometheusRule or AMP namespace). */
    readonly sink: RuleSink;
}

/** A nested component holding one backlog item's rule sets; `type` is its Pulumi type token. */
export class RuleSetComponent extends pulumi.ComponentResource {
    /** Names of its PrometheusRule objects / rule group namespaces. */
    readonly objectNames: pulumi.Output<string[]>;
    constructor(type: string, name: string, args: RuleSetArgs, opts?: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        declareEvidence(this, { backlogItem: args.backlogItem, creates: RULE_OBJECT_TYPES });
        this.objectNames = pulumi.all(args.sets.map((s) => args.sink(s, this)));
        this.registerOutputs({ objectNames: this.objectNames });
    }
}
