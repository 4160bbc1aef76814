import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../core/stackConfig";
import { ValidationError, displayPath, parseYamlBounded } from "../core/validation";

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
}

export interface MockRunResult {
    readonly project: string;
    readonly stack: string;
    readonly resources: readonly RegisteredResource[];
    /** Stack outputs in wire form (secrets wrapped); see maskSecrets / unwrapSecrets. */
    readonly outputs: Record<string, unknown>;
}

/** Config as Pulumi hands it to a program. */
export interface FlatConfig {
    readonly values: Record<string, string>;
    readonly secretKeys: string[];
}

/** Stand-in for a secret we cannot decrypt offline (its ciphertext belongs to the stack's secrets provider). */
export const SECRET_PLACEHOLDER = "[secret]";

const STACK_FILE_KEYS = ["config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment"];

/**
 * Read a `Pulumi.<stack>.yaml` file into the flat config the CLI would pass: strings as they are, other scalars
 * as text, structured values JSON-encoded, `secure:` values as a flagged placeholder.
 */
export function readStackFile(file: string): FlatConfig {
    const shown = displayPath(file);
    if (!fs.existsSync(file)) {
        throw new ValidationError([{ file: shown, path: "", message: "stack config file not found" }]);
    }
    let doc: unknown;
    try {
        doc = parseYamlBounded(fs.readFileSync(file, "utf8"), file);
    } catch (err) {
        throw new ValidationError([{ file: shown, path: "", message: `cannot parse: ${(err as Error).message}` }]);
    }
    if (doc === null || doc === undefined) {
        doc = {};
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        throw new ValidationError([{ file: shown, path: "", message: "must be a YAML map with a `config:` key" }]);
    }
    const unknown = Object.keys(doc).filter((k) => !STACK_FILE_KEYS.includes(k));
    if (unknown.length > 0) {
        throw new ValidationError([
            {
                file: shown,
                path: `/${unknown[0]}`,
                message: `unknown top-level key; allowed: ${STACK_FILE_KEYS.join(", ")}`,
            },
        ]);
    }
    const config = (doc as { config?: unknown }).config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new ValidationError([
            { file: shown, path: "/config", message: "must be a map of `namespace:key: value`" },
        ]);
    }
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
        const fullKey = key.includes(":") ? key : `${PROJECT}:${key}`;
        const { text, secret } = encodeConfigValue(value);
        values[fullKey] = text;
        if (secret) {
            secretKeys.push(fullKey);
        }
    }
    return { values, secretKeys };
}

function encodeConfigValue(value: unknown): { text: string; secret: boolean } {
    if (typeof value === "string") {
        return { text: value, secret: false };
    }
    if (isSecure(value)) {
        return { text: SECRET_PLACEHOLDER, secret: true };
    }
    if (value !== null && typeof value === "object") {
        let secret = false;
        const json = JSON.stringify(value, (_k, v: unknown) => {
            if (isSecure(v)) {
                secret = true;
                return SECRET_PLACEHOLDER;
            }
            return v;
        });
        return { text: json, secret };
    }
    return { text: String(value), secret: false };
}

function isSecure(v: unknown): boolean {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

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
    const state: Record<string, unknown> = { ...args.inputs };
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
        const metadata = (args.inputs.metadata ?? {}) as Record<string, unknown>;
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
}

/**
 * Run a program under mocks. Resolves with every registered resource and the stack outputs; rejects with the
 * program's own error (config validation errors among them) having registered whatever it registered before.
 */
export async function runWithMocks(opts: MockRunOptions): Promise<MockRunResult> {
    const project = opts.project ?? PROJECT;
    const resources: RegisteredResource[] = opts.record ?? [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                if (args.type === "pulumi:pulumi:StackReference") {
                    const name = String((args.inputs as { name?: unknown }).name ?? args.name);
                    const outputs = opts.stackReferences?.[name];
                    if (!outputs) {
                        throw new Error(
                            `unknown stack reference ${name}: no such stack (mocked: ${Object.keys(opts.stackReferences ?? {}).join(", ") || "none"})`,
                        );
                    }
                    return { id: name, state: { name, outputs, secretOutputNames: [] } };
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
        opts.preview ?? false,
    );
    const stackOutputs: { wire?: Record<string, unknown> } = {};
    recordRegistrations(resources, stackOutputs);
    pulumi.runtime.setAllConfig(opts.config.values, opts.config.secretKeys);
    const previousName = process.env.MAESTRO_STACK_CONFIG_FILE;
    if (opts.configFileName) {
        process.env.MAESTRO_STACK_CONFIG_FILE = opts.configFileName;
    }
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
        restoreEnv("MAESTRO_STACK_CONFIG_FILE", previousName);
    }
    if (failure) {
        throw failure.error;
    }
    return { project, stack: opts.stack, resources: sortResources(resources), outputs: stackOutputs.wire ?? {} };
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
    registerResource: (
        req: RegisterRequest,
        cb: (err: unknown, resp?: { getUrn(): string; getObject(): unknown }) => void,
    ) => void;
    registerResourceOutputs: (
        req: { getUrn(): string; getOutputs(): unknown },
        cb: (err: unknown, resp?: unknown) => void,
    ) => void;
}

/** Wrap the mock monitor so every RegisterResource request is recorded with its options and final URN. */
function recordRegistrations(into: RegisteredResource[], stackOutputs: { wire?: Record<string, unknown> }): void {
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
        original(req, (err, resp) => {
            if (!err && resp) {
                const deps: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((v, k) => {
                    deps[k] = [...v.getUrnsList()].sort();
                });
                into.push({
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
                });
            }
            callback(err, resp);
        });
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

/** Where a stack's config file lives by Pulumi's convention. */
export function stackFilePath(root: string, stack: string): string {
    return path.join(root, `Pulumi.${stack}.yaml`);
}
