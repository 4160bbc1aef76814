/**
 * How the pack reads the resources the engine hands it: which types carry evidence hooks and where (AWS tags,
 * Kubernetes labels and annotations, Grafana dashboard tags), which environment and release a resource belongs to,
 * and the one helper that reports a violation at an explicit enforcement level. Type tokens, not SDK classes, so
 * the pack depends on no provider SDK and reads exactly what the engine sends.
 */
import { EnforcementLevel, PolicyResource, ReportViolation } from "@pulumi/policy";
import {
    AWS_TAG,
    EVIDENCE_HOOKS,
    GRAFANA_DASHBOARD_TYPE,
    K8S_ANNOTATION,
    K8S_LABEL,
    dashboardEvidence,
    environmentOfStack,
    stackOfUrn,
    dashboardModelJson,
} from "../core/conventions";

export type EvidenceHookName = (typeof EVIDENCE_HOOKS)[number];

/** Type tokens the policies look at. */
export const TYPE = {
    stack: "pulumi:pulumi:Stack",
    budget: "aws:budgets/budget:Budget",
    costAllocationTag: "aws:costexplorer/costAllocationTag:CostAllocationTag",
    topic: "aws:sns/topic:Topic",
    bucket: "aws:s3/bucket:Bucket",
    prometheusRule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    ampRuleGroupNamespace: "aws:amp/ruleGroupNamespace:RuleGroupNamespace",
    alertmanagerConfig: "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig",
    ampAlertManagerDefinition: "aws:amp/alertManagerDefinition:AlertManagerDefinition",
} as const;

/** Both Grafana dashboard APIs carry the same model (core/conventions.ts GRAFANA_DASHBOARD_TYPE). */
export const DASHBOARD_TYPES: readonly string[] = Object.values(GRAFANA_DASHBOARD_TYPE);

/**
 * AWS types whose resource class takes no `tags` input, so core/evidence.ts cannot stamp them; the evidence of the
 * component they belong to covers them. Every other AWS type must carry the evidence tags. This is the one place
 * the pack classifies AWS types; test/policies.test.ts checks it against what every shipped stack registers (a type
 * the stack tags must not be here, a type it cannot tag must be).
 */
export const UNTAGGABLE_AWS_TYPES: Readonly<Record<string, string>> = {
    "aws:sns/topicPolicy:TopicPolicy": "a topic's policy document",
    "aws:costexplorer/costAllocationTag:CostAllocationTag": "an account-wide billing setting",
    "aws:iam/rolePolicy:RolePolicy": "a tagged role's inline policy",
    "aws:sns/topicSubscription:TopicSubscription": "a subscription of a tagged topic",
    "aws:kms/alias:Alias": "a name for a tagged key",
    "aws:amp/alertManagerDefinition:AlertManagerDefinition": "the routing of a tagged AMP workspace",
    "aws:s3/bucketPolicy:BucketPolicy": "a bucket setting",
    "aws:s3/bucketVersioning:BucketVersioning": "a bucket setting",
    "aws:s3/bucketVersioningV2:BucketVersioningV2": "a bucket setting",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "a bucket setting",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "a bucket setting",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": "a bucket setting",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "a bucket setting",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "a bucket setting",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": "a bucket setting",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "a bucket setting",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2": "a bucket setting",
    "aws:s3/bucketLogging:BucketLogging": "a bucket setting",
    "aws:s3/bucketLoggingV2:BucketLoggingV2": "a bucket setting",
};

/** Grafana types without tags; only dashboards carry tags (in their model). */
export const UNTAGGABLE_GRAFANA_TYPES: Readonly<Record<string, string>> = {
    "grafana:oss/folder:Folder": "a folder of tagged dashboards",
    "grafana:oss/dataSource:DataSource": "a connection setting",
    "grafana:alerting/contactPoint:ContactPoint": "a notification setting",
    "grafana:alerting/notificationPolicy:NotificationPolicy": "a notification setting",
};

/** Namespace of this project's component resources (`maestro:<module>:<Type>`): their children carry the hooks. */
const COMPONENT_NAMESPACE = "maestro";

/**
 * Resource types the pack knows: the ones this stack's components and the guardrail kit create, each checked by a
 * policy or covered by its component's evidence. In production nothing else deploys unless guardrails/guardrails.yaml
 * allow-lists it (evidence.productionAllowedTypes), whatever the policy config says. test/guards-pack.test.ts checks
 * every type the shipped stacks register is here. `pulumi:*` (the stack, providers) and `maestro:*` components are
 * known by their package.
 */
export const KNOWN_TYPES: readonly string[] = [
    ...Object.values(TYPE),
    ...Object.keys(UNTAGGABLE_AWS_TYPES),
    ...Object.keys(UNTAGGABLE_GRAFANA_TYPES),
    ...DASHBOARD_TYPES,
    "aws:amp/workspace:Workspace",
    "aws:budgets/budgetAction:BudgetAction",
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor",
    "aws:costexplorer/anomalySubscription:AnomalySubscription",
    "aws:iam/policy:Policy",
    "aws:iam/role:Role",
    "aws:kms/key:Key",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:Secret",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
];

/** Whether a production stack may deploy `type` (known to the pack, or allow-listed in the guardrails file). */
export function knownInProduction(type: string, allowed: readonly string[]): boolean {
    const [pkg] = type.split(":");
    return pkg === "pulumi" || pkg === COMPONENT_NAMESPACE || KNOWN_TYPES.includes(type) || allowed.includes(type);
}

/** Where a resource's evidence hooks live, or why it has none. */
export type EvidenceCarrier =
    | { readonly kind: "aws-tags" }
    | { readonly kind: "k8s-metadata" }
    | { readonly kind: "grafana-dashboard-tags" }
    | { readonly kind: "exempt"; readonly reason: string }
    | { readonly kind: "unclassified" };

export function evidenceCarrier(type: string): EvidenceCarrier {
    const [pkg] = type.split(":");
    if (pkg === "pulumi") {
        return { kind: "exempt", reason: "the stack or a provider, not a managed resource" };
    }
    if (pkg === COMPONENT_NAMESPACE) {
        return { kind: "exempt", reason: "a component; its children carry its backlog item" };
    }
    if (pkg === "aws") {
        const reason = UNTAGGABLE_AWS_TYPES[type];
        return reason ? { kind: "exempt", reason: `takes no tags (${reason})` } : { kind: "aws-tags" };
    }
    if (pkg === "kubernetes") {
        return { kind: "k8s-metadata" };
    }
    if (DASHBOARD_TYPES.includes(type)) {
        return { kind: "grafana-dashboard-tags" };
    }
    const grafana = UNTAGGABLE_GRAFANA_TYPES[type];
    return grafana ? { kind: "exempt", reason: `takes no tags (${grafana})` } : { kind: "unclassified" };
}

/** What a resource says about itself: its backlog item, hooks, environment and release. */
export interface EvidenceStamp {
    /** Where the values were read, for messages ("tags", "metadata", "spec.json tags and links"). */
    readonly where: string;
    readonly backlogItem?: string;
    readonly environment?: string;
    readonly release?: string;
    readonly hooks: Partial<Record<EvidenceHookName, string>>;
    /** The key each value is stored under, for messages that say what to set. */
    readonly keys: Readonly<Record<"backlogItem" | "environment" | "release" | EvidenceHookName, string>>;
}

type Props = Record<string, unknown>;

function stringMap(v: unknown): Record<string, string> {
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
        return {};
    }
    return Object.fromEntries(
        Object.entries(v as Props).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
}

const AWS_KEYS = {
    backlogItem: AWS_TAG.backlogItem,
    environment: AWS_TAG.environment,
    release: AWS_TAG.release,
    logs: AWS_TAG.logs,
    metrics: AWS_TAG.metrics,
    tests: AWS_TAG.tests,
    provenance: AWS_TAG.provenance,
} as const;

function stampFromAwsTags(tags: Record<string, string>, where: string): EvidenceStamp {
    const hooks: Partial<Record<EvidenceHookName, string>> = {};
    for (const hook of EVIDENCE_HOOKS) {
        if (tags[AWS_TAG[hook]] !== undefined) {
            hooks[hook] = tags[AWS_TAG[hook]];
        }
    }
    return {
        where,
        backlogItem: tags[AWS_TAG.backlogItem],
        environment: tags[AWS_TAG.environment],
        release: tags[AWS_TAG.release],
        hooks,
        keys: AWS_KEYS,
    };
}

/** The value JSON text holds, or undefined when it is not JSON (a document the policies then refuse or read as none). */
export function jsonOrUndefined(text: string): unknown {
    try {
        return JSON.parse(text) as unknown;
        // Stryker disable next-line BlockStatement: equivalent; an emptied catch returns undefined as well
    } catch {
        return undefined;
    }
}

/** A dashboard resource's model, or why it has none (where the model lives depends on the dashboard API). */
export function dashboardModel(
    type: string,
    props: Props,
): { model?: { uid?: unknown; panels?: unknown; tags?: unknown; links?: unknown }; field: string; error?: string } {
    const { json, field } = dashboardModelJson(type, props);
    if (json === undefined) {
        return { field, error: `${field} is missing` };
    }
    try {
        const model: unknown = JSON.parse(json);
        if (model === null || typeof model !== "object" || Array.isArray(model)) {
            return { field, error: `${field} is not a JSON object` };
        }
        return { model: model, field };
    } catch (err) {
        return { field, error: `${field} is not JSON (${(err as Error).message})` };
    }
}

/** The evidence stamp of a resource, or undefined when its type carries none (exempt or unclassified). */
export function readStamp(type: string, props: Props): EvidenceStamp | undefined {
    const carrier = evidenceCarrier(type);
    switch (carrier.kind) {
        case "aws-tags":
            return stampFromAwsTags(stringMap(props.tags), "tags");
        case "grafana-dashboard-tags": {
            // Stamps that fit Grafana's tag limit are tags; the hook references are evidence links (core/evidence.ts).
            const { model, field } = dashboardModel(type, props);
            return stampFromAwsTags(model ? dashboardEvidence(model) : {}, `${field} tags and links`);
        }
        case "k8s-metadata": {
            const meta = (props.metadata ?? {}) as Props;
            const labels = stringMap(meta.labels);
            const annotations = stringMap(meta.annotations);
            const hooks: Partial<Record<EvidenceHookName, string>> = {};
            for (const hook of EVIDENCE_HOOKS) {
                if (annotations[K8S_ANNOTATION[hook]] !== undefined) {
                    hooks[hook] = annotations[K8S_ANNOTATION[hook]];
                }
            }
            return {
                where: "metadata labels/annotations",
                backlogItem: labels[K8S_LABEL.backlogItem],
                environment: labels[K8S_LABEL.environment],
                release: annotations[K8S_ANNOTATION.release],
                hooks,
                keys: {
                    backlogItem: `label ${K8S_LABEL.backlogItem}`,
                    environment: `label ${K8S_LABEL.environment}`,
                    release: `annotation ${K8S_ANNOTATION.release}`,
                    logs: `annotation ${K8S_ANNOTATION.logs}`,
                    metrics: `annotation ${K8S_ANNOTATION.metrics}`,
                    tests: `annotation ${K8S_ANNOTATION.tests}`,
                    provenance: `annotation ${K8S_ANNOTATION.provenance}`,
                },
            };
        }
        default:
            return undefined;
    }
}

/** What the stack's resources say its environment is. */
export interface StackEnvironment {
    /** The one environment every stamped resource names; undefined when none or several. */
    readonly environment?: string;
    /** Every distinct value seen, sorted (more than one is itself a problem). */
    readonly seen: readonly string[];
}

/**
 * The environment of a stack, from its resources' environment tags (the pack sees resources, not stack config; the
 * tags come from the validated config through core/evidence.ts).
 */
export function stackEnvironment(resources: readonly Pick<PolicyResource, "type" | "props">[]): StackEnvironment {
    const seen = new Set<string>();
    for (const r of resources) {
        const env = readStamp(r.type, r.props)?.environment;
        if (env) {
            seen.add(env);
        }
    }
    const sorted = [...seen].sort();
    return { environment: sorted.length === 1 ? sorted[0] : undefined, seen: sorted };
}

/** `aws:s3/bucket:Bucket "prov-bucket"`: how messages name a resource. */
export function describeResource(r: Pick<PolicyResource, "type" | "name">): string {
    return `${r.type} "${r.name}"`;
}

/** The root stack resource's URN (stack-wide violations are reported on it), if the engine sent one. */
export function stackUrn(resources: readonly Pick<PolicyResource, "type" | "urn">[]): string | undefined {
    return resources.find((r) => r.type === TYPE.stack)?.urn;
}

/**
 * Report a violation at an explicit level, whatever the policy's configured level. @pulumi/policy's reportViolation
 * accepts a violation object at run time (server.ts makeReportViolationFun) though its type lists only the string
 * form; test/policy-pack.test.ts proves the level arrives over the analyzer protocol.
 */
export function reportAtLevel(report: ReportViolation, level: EnforcementLevel, message: string, urn?: string): void {
    (report as unknown as (v: { message: string; enforcementLevel: EnforcementLevel; urn?: string }) => void)({
        message,
        enforcementLevel: level,
        urn,
    });
}

/** The stack the engine is deploying, read from the URNs it built (every URN of one deploy names the same stack). */
export function engineStack(resources: readonly Pick<PolicyResource, "urn">[]): string | undefined {
    const stacks = new Set(resources.map((r) => stackOfUrn(r.urn)).filter((s): s is string => s !== undefined));
    return stacks.size === 1 ? [...stacks][0] : undefined;
}

/** The environment the stack's name binds it to (from the engine's URNs), or undefined when it names none. */
export function boundEnvironment(
    ctx: { readonly guardrails: { readonly environments: readonly string[] } },
    urn: string,
): string | undefined {
    const stack = stackOfUrn(urn);
    return stack === undefined ? undefined : environmentOfStack(stack, ctx.guardrails.environments);
}
