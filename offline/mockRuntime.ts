import * as pulumi from "@pulumi/pulumi";
import { sortKeys } from "../core/stableJson";
import { PROJECT } from "../core/stackConfig";
import { FlatConfig, SECRET_PLACEHOLDER } from "../core/stackFile";
import { skipSdkBookkeepingStacks } from "./sdkStacks";

/**
 * Running the real program under Pulumi's mock runtime, the way the Pulumi language host runs it:
 * config handed over as the CLI does (flat `ns:key` strings, secrets flagged), the program's exported function
 * called inside the root `pulumi:pulumi:Stack`, every RegisterResource request recorded as the engine receives
 * it (inputs and the options that matter). Used by `synth`, the tests and the policy-pack harness.
 */

/** A resource as the engine saw it: what `resources.json` lists and the policy pack analyzes. */
export interface RegisteredResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    readonly parent?: string;
    /** Inputs in wire form, as the engine and analyzers receive them (secrets wrapped). */
    readonly inputs: Record<string, unknown>;
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly dependsOn: readonly string[];
    /** Provider reference (`urn::id`) for custom resources with an explicit provider. */
    readonly provider?: string;
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    readonly ignoreChanges: readonly string[];
    readonly additionalSecretOutputs: readonly string[];
    readonly deleteBeforeReplace: boolean;
    /**
     * The provider's ID, as the engine resolved it; absent while unknown (a resource a preview would create) and in
     * hand-built fixtures.
     */
    readonly id?: string;
    /**
     * Outputs in wire form (what AnalyzeStack receives, as the engine sends each resource's outputs there); unknown
     * values are the engine's unknown sentinel. Absent in hand-built fixtures, where the inputs stand in.
     */
    readonly outputs?: Record<string, unknown>;
}

/**
 * The engine's marker for a value not known until the resource exists (`UnknownStringValue` in the engine,
 * `unknownValue` in @pulumi/pulumi's rpc module). The program sees it as an unknown Output during a preview; an
 * analyzer receives it in place of the value, whatever the value's type.
 */
export const UNKNOWN = pulumi.runtime.unknownValue;

/** A resource of an existing stack: what `--prior` reads from a previous synth's resources.json. */
export interface PriorResource {
    readonly id: string;
    /** Inputs with secrets masked (resources.json form): an unchanged resource compares equal after masking. */
    readonly inputs: Record<string, unknown>;
    readonly outputs: Record<string, unknown>;
}

/** What the engine would run: `pulumi up`, a preview of a stack not yet deployed, or a preview of an update. */
export type RunMode = "up" | "preview-fresh" | "preview-update";

export interface MockRunResult {
    readonly project: string;
    readonly stack: string;
    readonly resources: readonly RegisteredResource[];
    /** Stack outputs in wire form (secrets wrapped); see maskSecrets / unwrapSecrets. */
    readonly outputs: Record<string, unknown>;
    readonly mode: RunMode;
}

// Reading a stack file lives in core (the program's preflight reads its sibling stacks too); re-exported for callers here.
export type { FlatConfig } from "../core/stackFile";
export { SECRET_PLACEHOLDER, readStackFile, stackFilePath } from "../core/stackFile";

/** Strict mocks: a provider function we did not expect fails loudly instead of returning nothing. */
const CALLS: Readonly<Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>> = {
    "aws:index/getCallerIdentity:getCallerIdentity": () => ({
        accountId: "123456789012",
        arn: "arn:aws:iam::123456789012:user/mock",
        userId: "MOCK",
    }),
    "aws:index/getRegion:getRegion": () => ({ name: "us-east-1", region: "us-east-1", id: "us-east-1" }),
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" }),
};

/** Outputs a provider would compute, enough for the program's own references between resources. */
function computedState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    const state: Record<string, unknown> = { ...(args.inputs as Record<string, unknown>) };
    const [pkg, mod] = args.type.split(":");
    if (pkg === "aws") {
        const service = (mod ?? "").split("/")[0];
        state.arn = state.arn ?? `arn:aws:${service}:us-east-1:123456789012:${args.name}`;
        if (args.type.startsWith("aws:s3/bucket")) {
            state.bucket = state.bucket ?? args.name;
        }
        if (args.type === "aws:kms/key:Key") {
            state.keyId = `${args.name}-key-id`;
        }
    }
    if (args.type === "grafana:oss/folder:Folder") {
        state.uid = state.uid ?? args.name;
        state.url = `https://grafana.example/dashboards/f/${String(state.uid)}/`;
    }
    if (args.type === "grafana:apps/v1beta1/dashboard:Dashboard") {
        // The provider reports the object's API self link as metadata.url, not the page a person opens.
        const metadata = ((args.inputs as Record<string, unknown>).metadata ?? {}) as Record<string, unknown>;
        state.metadata = {
            ...metadata,
            uuid: `${args.name}-uuid`,
            version: "1",
            url: `/apis/dashboard.grafana.app/v1beta1/namespaces/default/dashboards/${String(metadata.uid)}`,
        };
    }
    if (args.type === "grafana:oss/dashboard:Dashboard") {
        state.url = `https://grafana.example/d/${String(args.name)}`;
    }
    return state;
}

export interface MockRunOptions {
    readonly stack: string;
    readonly config: FlatConfig;
    /** The program: what the module's `export =` function is. */
    readonly program: () => unknown;
    readonly project?: string;
    /** `pulumi preview` (true) or `pulumi up` (false). */
    readonly preview?: boolean;
    /** Only rename the config file in messages (see stackConfigFromPulumi). */
    readonly configFileName?: string;
    /** Also collect registrations here, so a caller can see what a failed run registered before it failed. */
    readonly record?: RegisteredResource[];
    /**
     * Outputs of the stacks the program reads with a StackReference, by stack name (`org/project/stack`), as the
     * engine would return them. A reference to a stack not listed fails the run, as it would against the service.
     */
    readonly stackReferences?: Readonly<Record<string, Record<string, unknown>>>;
    /**
     * The outputs the stack's previous deploy recorded, which the program reads with a StackReference to itself
     * (the sign-off ledger's anchor). Without them the stack is fresh: its own reference has no outputs.
     */
    readonly priorOutputs?: Record<string, unknown>;
    /**
     * Only with `preview`: the deployed stack's resources by URN, so the preview is an update's. A resource found
     * here keeps its ID and outputs (its new inputs over them when they changed); one not found is created, so its
     * ID and every output the provider computes are unknown.
     */
    readonly prior?: ReadonlyMap<string, PriorResource>;
    /** Called with each resource as its registration completes (synth streams them to the policy pack). */
    readonly onRegistered?: (r: RegisteredResource) => void;
}

/** What the engine runs: `pulumi up`, or a preview of a fresh stack or (with a deployed state) of an update. */
export function runMode(preview: boolean, prior: boolean): RunMode {
    return !preview ? "up" : prior ? "preview-update" : "preview-fresh";
}

/**
 * The state a provider's preview returns, as the engine hands it to the program: a created resource echoes its
 * inputs (unknown where they are unknown) and everything the provider computes is unknown, nested objects
 * included; an existing one keeps what it has.
 */
export function previewState(
    args: pulumi.runtime.MockResourceArgs,
    wireInputs: Record<string, unknown>,
    prior: PriorResource | undefined,
): { id: string; state: Record<string, unknown> } {
    const computed = computedState(args);
    if (!prior) {
        return { id: "", state: unknownWhereComputed(computed, args.inputs) as Record<string, unknown> };
    }
    const unchanged = JSON.stringify(sortKeys(maskSecrets(wireInputs))) === JSON.stringify(sortKeys(prior.inputs));
    // Unchanged: the engine's Same step keeps the old outputs (the current inputs restore secrets masked on disk).
    // Changed: an update keeps the ID and what the provider computed; the inputs are the new ones.
    return {
        id: prior.id,
        state: unchanged
            ? { ...prior.outputs, ...(args.inputs as Record<string, unknown>) }
            : { ...prior.outputs, ...computed },
    };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function unknownWhereComputed(state: unknown, inputs: unknown): unknown {
    if (isPlainObject(state) && isPlainObject(inputs) && !isSecretWire(inputs)) {
        return Object.fromEntries(
            Object.entries(state).map(([k, v]) => [k, k in inputs ? unknownWhereComputed(v, inputs[k]) : UNKNOWN]),
        );
    }
    return state;
}

/**
 * Run a program under mocks. Resolves with every registered resource and the stack outputs; rejects with the
 * program's own error (config validation errors among them) having registered whatever it registered before.
 */
export async function runWithMocks(opts: MockRunOptions): Promise<MockRunResult> {
    const project = opts.project ?? PROJECT;
    const resources: RegisteredResource[] = opts.record ?? [];
    const preview = opts.preview ?? false;
    if (opts.prior && !preview) {
        throw new Error("a prior state describes what a preview updates; pass preview: true with prior");
    }
    // The request being registered: the mock monitor calls newResource synchronously from registerResource, before
    // its first await, so the wrapper below hands it the URN and the wire inputs through this slot.
    const registering: { urn?: string; wire?: Record<string, unknown> } = {};
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                if (args.type === "pulumi:pulumi:StackReference") {
                    const named = (args.inputs as { name?: unknown }).name;
                    const name = typeof named === "string" ? named : args.name;
                    const self =
                        name === opts.stack ||
                        name === `${project}/${opts.stack}` ||
                        name.endsWith(`/${project}/${opts.stack}`);
                    const outputs = opts.stackReferences?.[name] ?? (self ? (opts.priorOutputs ?? {}) : undefined);
                    if (!outputs) {
                        throw new Error(
                            `unknown stack reference ${name}: no such stack (mocked: ${Object.keys(opts.stackReferences ?? {}).join(", ") || "none"})`,
                        );
                    }
                    return { id: name, state: { name, outputs, secretOutputNames: [] } };
                }
                // A read (`Resource.get`) or an import names an existing resource: a preview reads it, all known.
                if (preview && args.custom && !args.id) {
                    return previewState(args, registering.wire ?? {}, opts.prior?.get(registering.urn ?? ""));
                }
                return { id: `${args.name}-id`, state: computedState(args) };
            },
            call: (args) => {
                const impl = CALLS[args.token];
                if (!impl) {
                    throw new Error(`Mock call not implemented: ${args.token}`);
                }
                return impl(args.inputs as Record<string, unknown>);
            },
        },
        project,
        opts.stack,
        preview,
    );
    const stackOutputs: { wire?: Record<string, unknown> } = {};
    recordRegistrations(resources, stackOutputs, registering, opts.onRegistered);
    pulumi.runtime.setAllConfig(opts.config.values, opts.config.secretKeys);
    const previousName = process.env.MAESTRO_STACK_CONFIG_FILE;
    if (opts.configFileName) {
        process.env.MAESTRO_STACK_CONFIG_FILE = opts.configFileName;
    }
    // The mock monitor drops the source positions and stacks the SDK captures: not formatting them is a quarter of a run.
    const formatStacksAgain = skipSdkBookkeepingStacks();
    // The program's error is caught inside the Stack: left to reject through it, the SDK would also reject the
    // Stack's derived output promises, which nobody observes (the language host swallows those; jest would not).
    let failure: { error: unknown } | undefined;
    try {
        await pulumi.runtime.runInPulumiStack(async () => {
            try {
                return (await opts.program()) as Record<string, unknown>;
            } catch (error) {
                failure = { error };
                return {};
            }
        });
        await waitForRpcs();
    } finally {
        formatStacksAgain();
        restoreEnv("MAESTRO_STACK_CONFIG_FILE", previousName);
    }
    if (failure) {
        throw failure.error;
    }
    return {
        project,
        stack: opts.stack,
        resources: sortResources(resources),
        outputs: stackOutputs.wire ?? {},
        mode: runMode(preview, opts.prior !== undefined),
    };
}

function restoreEnv(name: string, value: string | undefined): void {
    if (value === undefined) {
        delete process.env[name];
    } else {
        process.env[name] = value;
    }
}

async function waitForRpcs(): Promise<void> {
    const settings = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    if (settings) {
        await settings();
    }
}

interface RegisterRequest {
    getUrn?(): string;
    getType(): string;
    getName(): string;
    getCustom(): boolean;
    getParent(): string;
    getProtect(): boolean;
    getRetainondelete(): boolean;
    getDependenciesList(): string[];
    getProvider(): string;
    getIgnorechangesList(): string[];
    getAdditionalsecretoutputsList(): string[];
    getDeletebeforereplace(): boolean;
    getObject(): unknown;
    getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
}

interface MonitorLike {
    newUrn(parent: string, type: string, name: string): string;
    registerResource: (
        req: RegisterRequest,
        cb: (err: unknown, resp?: { getUrn(): string; getId(): string; getObject(): unknown }) => void,
    ) => void;
    registerResourceOutputs: (
        req: { getUrn(): string; getOutputs(): unknown },
        cb: (err: unknown, resp?: unknown) => void,
    ) => void;
}

/** Wrap the mock monitor so every RegisterResource request is recorded with its options and final URN. */
function recordRegistrations(
    into: RegisteredResource[],
    stackOutputs: { wire?: Record<string, unknown> },
    registering: { urn?: string; wire?: Record<string, unknown> },
    onRegistered: ((r: RegisteredResource) => void) | undefined,
): void {
    const monitor = (pulumi.runtime as unknown as { getMonitor(): MonitorLike }).getMonitor();
    const originalOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, callback) => {
        if (req.getUrn().includes("::pulumi:pulumi:Stack::")) {
            stackOutputs.wire = toWire(req.getOutputs());
        }
        originalOutputs(req, callback);
    };
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        registering.urn = monitor.newUrn(req.getParent(), req.getType(), req.getName());
        registering.wire = toWire(req.getObject());
        const done = (err: unknown, resp?: { getUrn(): string; getId(): string; getObject(): unknown }) => {
            if (!err && resp) {
                const deps: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((v, k) => {
                    deps[k] = [...v.getUrnsList()].sort();
                });
                const registered: RegisteredResource = {
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    custom: req.getCustom(),
                    parent: req.getParent() || undefined,
                    inputs: toWire(req.getObject()),
                    protect: req.getProtect(),
                    retainOnDelete: req.getRetainondelete(),
                    dependsOn: [...req.getDependenciesList()].sort(),
                    provider: req.getProvider() || undefined,
                    propertyDependencies: deps,
                    ignoreChanges: req.getIgnorechangesList(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    id: resp.getId() || undefined,
                    outputs: toWire(resp.getObject()),
                };
                into.push(registered);
                onRegistered?.(registered);
            }
            // Answered on a later turn of the event loop, as a real monitor's answer arrives: the program otherwise
            // runs on microtasks from its first registration to its last, and nothing else in this process (the
            // policy pack's port, its answers) would be heard until it ends.
            setImmediate(() => callback(err, resp));
        };
        original(req, done);
        registering.urn = undefined;
        registering.wire = undefined;
    };
}

/**
 * The properties as the engine receives them (and passes on to analyzers): plain JSON, with secrets still
 * wrapped in Pulumi's secret signature object, so nothing downstream forgets that a value is secret.
 */
function toWire(struct: unknown): Record<string, unknown> {
    return (struct as { toJavaScript(): Record<string, unknown> } | undefined)?.toJavaScript() ?? {};
}

function isSecretWire(v: unknown): v is { value: unknown } {
    return (
        v !== null &&
        typeof v === "object" &&
        (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
    );
}

/** Unwrap secrets (for code that reads values, as @pulumi/policy does for its policies). */
export function unwrapSecrets(v: unknown): unknown {
    if (isSecretWire(v)) {
        return unwrapSecrets(v.value);
    }
    if (Array.isArray(v)) {
        return v.map(unwrapSecrets);
    }
    if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    }
    return v;
}

/** Replace secrets with a placeholder (for files a person reads or commits). */
export function maskSecrets(v: unknown): unknown {
    if (isSecretWire(v)) {
        return SECRET_PLACEHOLDER;
    }
    if (Array.isArray(v)) {
        return v.map(maskSecrets);
    }
    if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskSecrets(x)]));
    }
    return v;
}

function sortResources(rs: RegisteredResource[]): RegisteredResource[] {
    return [...rs].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
}
