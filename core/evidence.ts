import * as pulumi from "@pulumi/pulumi";
import {
    AWS_TAG,
    EVIDENCE_HOOKS,
    EVIDENCE_LINK_PREFIX,
    GRAFANA_DASHBOARD_TYPE,
    GRAFANA_MAX_TAG_LENGTH,
    K8S_ANNOTATION,
    K8S_LABEL,
    MANAGED_BY,
} from "./conventions";
import type { StackScope } from "./scope";

export type EvidenceHookName = (typeof EVIDENCE_HOOKS)[number];

/** A backlog item's evidence hooks, each a concrete reference (metric, log stream, test file, ledger key). */
export interface EvidenceItem {
    readonly id: string;
    readonly hooks: Readonly<Record<EvidenceHookName, string>>;
}

/** Finds a backlog item by id; throws when it does not exist. */
export type EvidenceResolver = (backlogItemId: string) => EvidenceItem;

/** What the evidence stamps read of a scope: the stack-wide facts every resource is tagged with (the kit's name). */
export type TagContext = Pick<StackScope, "environment" | "owner" | "stack" | "releaseTag" | "defaultTagKeys">;

/**
 * What a component states about the evidence of what it creates: the backlog item its resources serve (ids in
 * core/conventions.ts BACKLOG_ITEM) and the provider resource types it creates. Only those types are stamped with the
 * item, so a resource of another type parented under the component (an IAM role under the provenance bucket, say)
 * does not borrow its evidence and is refused by the policy pack for having none.
 */
export interface EvidenceDeclaration {
    readonly backlogItem: string;
    readonly creates: readonly string[];
}

/** Declarations by component, and each resource's parent, as the stamping saw them (no SDK-private field needed). */
const declarations = new WeakMap<pulumi.Resource, EvidenceDeclaration>();
const parents = new WeakMap<pulumi.Resource, pulumi.Resource>();

/**
 * Called by a component's constructor right after `super(...)`, before it creates children: they then carry the
 * declared item's evidence hooks.
 */
export function declareEvidence(component: pulumi.ComponentResource, declaration: EvidenceDeclaration): void {
    declarations.set(component, declaration);
}

/**
 * The backlog item a resource of `type` under `parent` serves: that of the nearest ancestor that declared evidence,
 * if that declaration lists `type`; otherwise none (the nearest declaration decides, so no type can borrow an outer
 * component's item).
 */
export function backlogItemOf(type: string, parent: pulumi.Resource | undefined): string | undefined {
    for (let r = parent; r; r = parents.get(r)) {
        const declared = declarations.get(r);
        if (declared) {
            return declared.creates.includes(type) ? declared.backlogItem : undefined;
        }
    }
    return undefined;
}

/** AWS tags (and Grafana dashboard tags) for a resource serving `item`. */
export function awsEvidenceTags(ctx: TagContext, item: EvidenceItem): Record<string, string> {
    const tags: Record<string, string> = {
        [AWS_TAG.environment]: ctx.environment,
        [AWS_TAG.owner]: ctx.owner,
        [AWS_TAG.stack]: ctx.stack,
        [AWS_TAG.managedBy]: MANAGED_BY,
        [AWS_TAG.backlogItem]: item.id,
    };
    if (ctx.releaseTag) {
        tags[AWS_TAG.release] = ctx.releaseTag;
    }
    for (const hook of EVIDENCE_HOOKS) {
        tags[AWS_TAG[hook]] = item.hooks[hook];
    }
    return tags;
}

/** S3 allows at most this many tags on an object, the provider's default tags included. */
export const S3_OBJECT_MAX_TAGS = 10;
/** Resource types that are S3 objects (tag-limited). */
export const S3_OBJECT_TYPES: readonly string[] = [
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/bucketObject:BucketObject",
];
/** Stamps an object keeps as tags first when not all fit: who it serves and where, then its hooks. */
const OBJECT_TAG_PRIORITY: readonly string[] = [
    AWS_TAG.backlogItem,
    AWS_TAG.environment,
    AWS_TAG.release,
    AWS_TAG.logs,
    AWS_TAG.metrics,
    AWS_TAG.tests,
    AWS_TAG.provenance,
    AWS_TAG.owner,
    AWS_TAG.stack,
    AWS_TAG.managedBy,
];
/** The identity stamps an object must keep as tags (the policy pack and lifecycle filters select on them). */
const OBJECT_IDENTITY_TAGS = 3;

/** An S3 user-metadata key for a stamp key: `maestro:backlog-item` -> `maestro-backlog-item` (no ':' in headers). */
export function objectMetadataKey(tagKey: string): string {
    return tagKey.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
}

/**
 * Why an object could not keep its identity stamps as tags with these provider default tags, or undefined when it
 * can. `source` names where the default tags are configured, for the message.
 */
export function objectTagBudgetProblem(defaultTagKeys: readonly string[], source: string): string | undefined {
    const extra = defaultTagKeys.filter((k) => !OBJECT_TAG_PRIORITY.includes(k)).length;
    const room = S3_OBJECT_MAX_TAGS - extra;
    return room >= OBJECT_IDENTITY_TAGS
        ? undefined
        : `${source}: ${extra} default tags leave ${Math.max(room, 0)} of S3's ${S3_OBJECT_MAX_TAGS} tags per object for the evidence identity (${OBJECT_TAG_PRIORITY.slice(0, OBJECT_IDENTITY_TAGS).join(", ")}); allowed: at most ${S3_OBJECT_MAX_TAGS - OBJECT_IDENTITY_TAGS} default tags`;
}

/**
 * Split an object's stamps between tags and user metadata so that its tags plus the provider's default tags stay
 * within S3's limit: tags keep the stamps in priority order while there is room; metadata holds every stamp (the
 * complete record, readable with a HEAD request). Throws (objectTagBudgetProblem) when not even the identity fits.
 */
export function fitObjectTags(
    stamps: Readonly<Record<string, string>>,
    defaultTagKeys: readonly string[],
): { tags: Record<string, string>; metadata: Record<string, string> } {
    const problem = objectTagBudgetProblem(defaultTagKeys, "aws:defaultTags");
    if (problem) {
        throw new Error(problem);
    }
    const room = S3_OBJECT_MAX_TAGS - defaultTagKeys.filter((k) => !(k in stamps)).length;
    const order = [
        ...OBJECT_TAG_PRIORITY.filter((k) => k in stamps),
        ...Object.keys(stamps).filter((k) => !OBJECT_TAG_PRIORITY.includes(k)),
    ];
    const tags: Record<string, string> = {};
    for (const k of order.slice(0, room)) {
        tags[k] = stamps[k];
    }
    const metadata = Object.fromEntries(Object.entries(stamps).map(([k, v]) => [objectMetadataKey(k), v]));
    return { tags, metadata };
}

/** Kubernetes labels and annotations for an object serving `item`. */
export function k8sEvidenceMetadata(
    ctx: TagContext,
    item: EvidenceItem,
): { labels: Record<string, string>; annotations: Record<string, string> } {
    const labels: Record<string, string> = {
        [K8S_LABEL.environment]: ctx.environment,
        [K8S_LABEL.owner]: ctx.owner,
        [K8S_LABEL.backlogItem]: item.id,
        [K8S_LABEL.managedBy]: MANAGED_BY,
    };
    const annotations: Record<string, string> = {};
    if (ctx.releaseTag) {
        annotations[K8S_ANNOTATION.release] = ctx.releaseTag;
    }
    for (const hook of EVIDENCE_HOOKS) {
        annotations[K8S_ANNOTATION[hook]] = item.hooks[hook];
    }
    return { labels, annotations };
}

/** Grafana dashboard tags: "key=value" strings, so the policy pack can read them back. */
export function grafanaEvidenceTags(ctx: TagContext, item: EvidenceItem): string[] {
    return Object.entries(awsEvidenceTags(ctx, item)).map(([k, v]) => `${k}=${v}`);
}

/**
 * The one tagging helper: a stack transformation that stamps every resource with its evidence hooks, so no
 * component repeats tags by hand. AWS resources that take `tags` get them merged (explicit tags win); Kubernetes
 * objects get labels and annotations; Grafana dashboards get tags in their model. A transformation, not a
 * provider's defaultTags, because the backlog item differs per component. A transformation, not Pulumi's newer
 * transforms (`registerResourceTransform`): transforms are called back by the engine, which the SDK's mock runtime
 * does not have, so the offline checks could not see them (test/evidence.test.ts shows the mock runtime refusing).
 */
export function evidenceTransformation(ctx: TagContext, resolve: EvidenceResolver): pulumi.ResourceTransformation {
    return (args) => {
        if (args.opts.parent) {
            parents.set(args.resource, args.opts.parent);
        }
        const id = backlogItemOf(args.type, args.opts.parent);
        if (!id || !args.type.includes(":") || args.type.startsWith("pulumi:")) {
            return undefined;
        }
        const item = resolve(id);
        const [pkg] = args.type.split(":");
        const props = { ...args.props };
        if (pkg === "aws" && S3_OBJECT_TYPES.includes(args.type)) {
            // S3 objects: 10 tags at most, the provider's default tags included; the rest of the stamps go to metadata.
            const fitted = pulumi
                .output(props.tags ?? {})
                .apply((explicit: Record<string, string>) =>
                    fitObjectTags({ ...awsEvidenceTags(ctx, item), ...explicit }, ctx.defaultTagKeys ?? []),
                );
            props.tags = fitted.tags;
            props.metadata = pulumi
                .all([fitted.metadata, props.metadata ?? {}])
                .apply(([stamped, own]: [Record<string, string>, Record<string, string>]) => ({ ...stamped, ...own }));
        } else if (pkg === "aws" && "tags" in props) {
            props.tags = mergeRecord(
                awsEvidenceTags(ctx, item),
                props.tags as pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
            );
        } else if (pkg === "kubernetes" && !args.type.startsWith("pulumi:providers:")) {
            const meta = k8sEvidenceMetadata(ctx, item);
            props.metadata = pulumi
                .output(props.metadata ?? {})
                .apply((m: { labels?: Record<string, string>; annotations?: Record<string, string> }) => ({
                    ...m,
                    labels: { ...meta.labels, ...(m.labels ?? {}) },
                    annotations: { ...meta.annotations, ...(m.annotations ?? {}) },
                }));
        } else if (args.type === GRAFANA_DASHBOARD_TYPE.legacy && props.configJson !== undefined) {
            props.configJson = pulumi
                .output(props.configJson)
                .apply((json: string) => withDashboardEvidence(json, ctx, item));
        } else if (args.type === GRAFANA_DASHBOARD_TYPE.apps && props.spec !== undefined) {
            props.spec = pulumi
                .output(props.spec)
                .apply((spec: { json: string }) => ({ ...spec, json: withDashboardEvidence(spec.json, ctx, item) }));
        } else {
            return undefined;
        }
        return { props, opts: args.opts };
    };
}

/**
 * Stamp every resource the program registers from here on with its evidence (the one place the stamping is
 * registered; a transformation, for the reason given above).
 */
export function registerEvidenceStamping(ctx: TagContext, resolve: EvidenceResolver): void {
    pulumi.runtime.registerStackTransformation(evidenceTransformation(ctx, resolve));
}

function mergeRecord(
    base: Record<string, string>,
    explicit: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
): pulumi.Input<Record<string, pulumi.Input<string>>> {
    if (explicit === undefined) {
        return base;
    }
    return pulumi.output(explicit).apply((e) => ({ ...base, ...e }));
}

interface DashboardLinkJson {
    title: string;
    type: "link";
    icon: string;
    tooltip: string;
    tags: string[];
    asDropdown: boolean;
    targetBlank: boolean;
    includeVars: boolean;
    keepTime: boolean;
}

/**
 * Stamp a dashboard model with its evidence: every `key=value` stamp that fits Grafana's 50-character tag limit
 * as a tag (after the model's own), and the four hooks, whose references (paths, metric names) often do not fit,
 * as dashboard links titled `maestro:evidence-<hook>` with the reference as tooltip. Read back with
 * dashboardEvidence(). Throws when an identity stamp (backlog item, environment, release) would not fit, since
 * Grafana would refuse the dashboard.
 */
export function withDashboardEvidence(json: string, ctx: TagContext, item: EvidenceItem): string {
    const stamps = grafanaEvidenceTags(ctx, item);
    const fitting = stamps.filter((t) => t.length <= GRAFANA_MAX_TAG_LENGTH);
    const identity = [AWS_TAG.backlogItem, AWS_TAG.environment, AWS_TAG.release].map((k) => `${k}=`);
    const lost = stamps.filter((t) => t.length > GRAFANA_MAX_TAG_LENGTH && identity.some((k) => t.startsWith(k)));
    if (lost.length > 0) {
        throw new Error(
            `Grafana dashboard tags ${lost.map((t) => JSON.stringify(t)).join(", ")} are over ${GRAFANA_MAX_TAG_LENGTH} characters, which Grafana refuses; shorten the value`,
        );
    }
    const model = JSON.parse(withDashboardTags(json, fitting)) as { links?: Array<{ title?: string }> };
    const links: DashboardLinkJson[] = EVIDENCE_HOOKS.map((hook) => ({
        title: `${EVIDENCE_LINK_PREFIX}${hook}`,
        type: "link",
        icon: "doc",
        tooltip: item.hooks[hook],
        tags: [],
        asDropdown: false,
        targetBlank: false,
        includeVars: false,
        keepTime: false,
    }));
    model.links = [...(model.links ?? []).filter((l) => !l.title?.startsWith(EVIDENCE_LINK_PREFIX)), ...links];
    return JSON.stringify(model);
}

/** Add tags to a dashboard model's `tags`, keeping its own first, without duplicates. */
export function withDashboardTags(json: string, tags: readonly string[]): string {
    const model = JSON.parse(json) as { tags?: string[] };
    const own = model.tags ?? [];
    model.tags = [...own, ...tags.filter((t) => !own.includes(t))];
    return JSON.stringify(model);
}
