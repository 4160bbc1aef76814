/**
 * Acting as the Pulumi engine for the policy pack, offline. The pack is launched exactly as the CLI launches a
 * Node.js policy pack: the CLI runs its `pulumi-analyzer-policy` plugin script in the pack's folder, which runs
 * `node <require.resolve("@pulumi/pulumi/cmd/run-policy-pack")> <engine-address> . [-<option>=<value> ...]`
 * (options from PulumiPolicy.yaml's `runtime.options`); run-policy-pack registers ts-node (type-checking, the
 * pack's tsconfig.json) and requires the pack, whose `new PolicyPack` reads its version from ./package.json, serves
 * the analyzer over gRPC on 127.0.0.1 and prints the port as the first line of stdout. The engine then calls, over
 * that port: GetAnalyzerInfo, ConfigureStack, Configure (the policy config), Analyze once per resource (its inputs),
 * and AnalyzeStack once with every resource. This module does the same with `AnalyzerClient` from @pulumi/pulumi's
 * proto stubs, feeding it the resources of a mocked run (offline/mockRuntime.ts), which are already in wire form.
 */
import * as grpc from "@grpc/grpc-js";
import { ChildProcess } from "child_process";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { AnalyzerClient, AnalyzerService } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import { FlatConfig, MockRunResult, RegisteredResource, RunMode } from "./mockRuntime";
import { PROJECT } from "../core/conventions";
import { PolicyPackProcess, StartOptions, spawnPolicyPack, stopPolicyPack } from "./policyPackProcess";
import { Problem, ValidationError, displayPath, readDataFile } from "../core/validation";
import { serializeMessage } from "./analyzerWire";

export const ENFORCEMENT_LEVELS = ["advisory", "mandatory", "remediate", "disabled"] as const;
export type EnforcementLevelName = (typeof ENFORCEMENT_LEVELS)[number];

const LEVEL_NAMES: Readonly<Record<number, EnforcementLevelName>> = {
    [analyzerpb.EnforcementLevel.ADVISORY]: "advisory",
    [analyzerpb.EnforcementLevel.MANDATORY]: "mandatory",
    [analyzerpb.EnforcementLevel.DISABLED]: "disabled",
    [analyzerpb.EnforcementLevel.REMEDIATE]: "remediate",
};
const LEVEL_VALUES: Readonly<Record<EnforcementLevelName, analyzerpb.EnforcementLevel>> = {
    advisory: analyzerpb.EnforcementLevel.ADVISORY,
    mandatory: analyzerpb.EnforcementLevel.MANDATORY,
    disabled: analyzerpb.EnforcementLevel.DISABLED,
    remediate: analyzerpb.EnforcementLevel.REMEDIATE,
};

/** The analyzer's own limit (@pulumi/policy serves with a 400 MiB receive limit); the client matches it. */
const MAX_MESSAGE_BYTES = 400 * 1024 * 1024;

// ------------------------------------------------------------------------------------------------------------------
// Policy config: the file `pulumi up --policy-pack-config FILE` takes.

export interface PolicyConfigEntry {
    readonly enforcementLevel?: EnforcementLevelName;
    /** The policy's own config properties (what `args.getConfig()` returns to it). */
    readonly properties: Readonly<Record<string, unknown>>;
}

/** Policy name (or "all") -> its level and properties. */
export type PolicyConfigFile = Readonly<Record<string, PolicyConfigEntry>>;

/**
 * Parse a policy pack config document in the CLI's format: `{ "all": "<level>", "<policy>": "<level>" }` or
 * `"<policy>": { "enforcementLevel": "<level>", "<property>": <value> }`.
 */
export function parsePolicyConfig(data: unknown, file: string): PolicyConfigFile {
    const problems: Problem[] = [];
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
        throw new ValidationError([
            {
                file,
                path: "",
                message: `must be a JSON object of policy name -> enforcement level or {"enforcementLevel": ...}`,
            },
        ]);
    }
    const result: Record<string, PolicyConfigEntry> = {};
    const level = (v: unknown, at: string): EnforcementLevelName | undefined => {
        if (typeof v === "string" && (ENFORCEMENT_LEVELS as readonly string[]).includes(v)) {
            return v as EnforcementLevelName;
        }
        problems.push({
            file,
            path: at,
            message: `${JSON.stringify(v)} is not an enforcement level; allowed: ${ENFORCEMENT_LEVELS.join(", ")}`,
        });
        return undefined;
    };
    for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
        if (typeof value === "string") {
            result[name] = { enforcementLevel: level(value, `/${name}`), properties: {} };
        } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
            const { enforcementLevel, ...properties } = value as Record<string, unknown>;
            if (name === "all" && Object.keys(properties).length > 0) {
                problems.push({
                    file,
                    path: "/all",
                    message: `"all" takes only an enforcement level; allowed keys: enforcementLevel`,
                });
            }
            result[name] = {
                enforcementLevel:
                    enforcementLevel === undefined ? undefined : level(enforcementLevel, `/${name}/enforcementLevel`),
                properties,
            };
        } else {
            problems.push({
                file,
                path: `/${name}`,
                message: `must be an enforcement level (${ENFORCEMENT_LEVELS.join(", ")}) or an object with "enforcementLevel"`,
            });
        }
    }
    if (problems.length > 0) {
        throw new ValidationError(problems);
    }
    return result;
}

export function loadPolicyConfig(file: string): PolicyConfigFile {
    return parsePolicyConfig(readDataFile(file), displayPath(file));
}

// ------------------------------------------------------------------------------------------------------------------
// What comes back.

export interface PolicyInfo {
    readonly name: string;
    readonly description: string;
    readonly enforcementLevel: EnforcementLevelName;
}

export interface AnalyzerInfo {
    readonly name: string;
    readonly version: string;
    readonly supportsConfig: boolean;
    readonly policies: readonly PolicyInfo[];
}

export interface PolicyViolation {
    readonly policyName: string;
    readonly policyPackName: string;
    readonly policyPackVersion: string;
    readonly enforcementLevel: EnforcementLevelName;
    readonly description: string;
    readonly message: string;
    /** The resource the violation is about (the analyzed resource for Analyze, when the policy named none). */
    readonly urn?: string;
    /** Which call reported it: per resource (Analyze) or for the whole stack (AnalyzeStack). */
    readonly phase: "analyze" | "analyzeStack";
}

export interface PolicyReport {
    readonly stack: string;
    /** What the engine ran: `pulumi up`, or a preview of a fresh stack or of an update. */
    readonly mode: RunMode;
    readonly policyPack: { readonly name: string; readonly version: string };
    /** The level each policy ran at, after the policy config. */
    readonly enforcement: Readonly<Record<string, EnforcementLevelName>>;
    readonly violations: readonly PolicyViolation[];
    readonly mandatory: number;
    readonly advisory: number;
    /** Wall time of the Analyze calls and of the AnalyzeStack call, in ms. */
    readonly timings: { readonly analyzeMs: number; readonly analyzeStackMs: number };
}

// ------------------------------------------------------------------------------------------------------------------
// Wire conversion, as the engine marshals (KeepSecrets, KeepUnknowns, SkipInternalKeys).

function structOf(props: Record<string, unknown>): Struct {
    const visible = Object.fromEntries(
        Object.entries(props).filter(([k, v]) => !k.startsWith("__") && v !== undefined),
    );
    return Struct.fromJavaScript(visible as Parameters<typeof Struct.fromJavaScript>[0]);
}

function optionsOf(r: RegisteredResource): analyzerpb.AnalyzerResourceOptions {
    const o = new analyzerpb.AnalyzerResourceOptions();
    o.setProtect(r.protect);
    o.setIgnorechangesList([...r.ignoreChanges]);
    o.setDeletebeforereplace(r.deleteBeforeReplace);
    o.setDeletebeforereplacedefined(r.deleteBeforeReplace);
    o.setAdditionalsecretoutputsList([...r.additionalSecretOutputs]);
    o.setAliasesList([]);
    o.setCustomtimeouts(new analyzerpb.AnalyzerResourceOptions.CustomTimeouts());
    if (r.parent) {
        o.setParent(r.parent);
    }
    return o;
}

function providerOf(
    r: RegisteredResource,
    byUrn: ReadonlyMap<string, RegisteredResource>,
): analyzerpb.AnalyzerProviderResource | undefined {
    // A provider reference is `<urn>::<id>`; the URN itself contains "::".
    const urn = r.provider?.slice(0, r.provider.lastIndexOf("::"));
    const p = urn ? byUrn.get(urn) : undefined;
    if (!p) {
        return undefined;
    }
    const msg = new analyzerpb.AnalyzerProviderResource();
    msg.setUrn(p.urn);
    msg.setType(p.type);
    msg.setName(p.name);
    msg.setProperties(structOf(p.inputs));
    return msg;
}

/** The fields AnalyzeRequest and AnalyzerResource share: one resource as the engine describes it. */
function describeResource<M extends analyzerpb.AnalyzeRequest | analyzerpb.AnalyzerResource>(
    msg: M,
    r: RegisteredResource,
    byUrn: ReadonlyMap<string, RegisteredResource>,
    properties: Record<string, unknown>,
): M {
    msg.setUrn(r.urn);
    msg.setType(r.type);
    msg.setName(r.name);
    msg.setProperties(structOf(properties));
    msg.setOptions(optionsOf(r));
    const provider = providerOf(r, byUrn);
    if (provider) {
        msg.setProvider(provider);
    }
    return msg;
}

export function analyzeRequest(
    r: RegisteredResource,
    byUrn: ReadonlyMap<string, RegisteredResource>,
): analyzerpb.AnalyzeRequest {
    // Analyze judges what the program asked for: the inputs, unknown where they depend on unknown outputs.
    return describeResource(new analyzerpb.AnalyzeRequest(), r, byUrn, r.inputs);
}

export function analyzerResource(
    r: RegisteredResource,
    byUrn: ReadonlyMap<string, RegisteredResource>,
): analyzerpb.AnalyzerResource {
    // The engine calls AnalyzeStack "on the final outputs of each resource" (its step generator): during a preview,
    // what the provider's preview returned, so a created resource's computed outputs arrive unknown.
    const msg = describeResource(new analyzerpb.AnalyzerResource(), r, byUrn, r.outputs ?? r.inputs);
    msg.setParent(r.parent ?? "");
    const propertyDeps = Object.entries(r.propertyDependencies).filter(([, urns]) => urns.length > 0);
    msg.setDependenciesList([...new Set([...r.dependsOn, ...propertyDeps.flatMap(([, urns]) => urns)])].sort());
    const map = msg.getPropertydependenciesMap();
    for (const [key, urns] of propertyDeps) {
        const deps = new analyzerpb.AnalyzerPropertyDependencies();
        deps.setUrnsList([...urns]);
        map.set(key, deps);
    }
    return msg;
}

/** AnalyzeStack's request: every resource of the run, as the engine describes it after the run (analyzerResource). */
export function analyzeStackRequest(
    resources: readonly RegisteredResource[],
    byUrn: ReadonlyMap<string, RegisteredResource>,
): analyzerpb.AnalyzeStackRequest {
    const req = new analyzerpb.AnalyzeStackRequest();
    req.setResourcesList(resources.map((r) => analyzerResource(r, byUrn)));
    return req;
}

/** The wire bytes of the two requests that carry properties, as the client sends them (offline/analyzerWire.ts). */
export const serializeAnalyzeRequest = (m: analyzerpb.AnalyzeRequest): Buffer =>
    serializeMessage(m, (msg, writer) => analyzerpb.AnalyzeRequest.serializeBinaryToWriter(msg, writer));
export const serializeAnalyzeStackRequest = (m: analyzerpb.AnalyzeStackRequest): Buffer =>
    serializeMessage(m, (msg, writer) => analyzerpb.AnalyzeStackRequest.serializeBinaryToWriter(msg, writer));

function violationsOf(
    resp: analyzerpb.AnalyzeResponse,
    phase: PolicyViolation["phase"],
    defaultUrn?: string,
): PolicyViolation[] {
    return resp.getDiagnosticsList().map((d) => ({
        policyName: d.getPolicyname(),
        policyPackName: d.getPolicypackname(),
        policyPackVersion: d.getPolicypackversion(),
        enforcementLevel: LEVEL_NAMES[d.getEnforcementlevel()],
        description: d.getDescription(),
        message: d.getMessage(),
        urn: d.getUrn() || defaultUrn,
        phase,
    }));
}

function unary<Req, Resp>(
    call: (req: Req, cb: (err: grpc.ServiceError | null, resp: Resp) => void) => unknown,
    req: Req,
    what: string,
): Promise<Resp> {
    return new Promise((resolve, reject) => {
        call(req, (err, resp) =>
            err ? reject(new Error(`policy pack ${what} failed: ${err.details || err.message}`)) : resolve(resp),
        );
    });
}

// ------------------------------------------------------------------------------------------------------------------
// The plugin process and its client.

export class PolicyAnalyzer {
    private closed = false;
    /** Settles when the analysis holding the pack ends (StackAnalysis). */
    private turn: Promise<void> = Promise.resolve();

    private constructor(
        /** The pack's process when this client owns it (close() stops it); undefined for a pack attached to. */
        private readonly child: ChildProcess | undefined,
        private readonly client: AnalyzerClient,
        private readonly output: { stdout: string; stderr: string },
        /** Time from spawning the pack to its port being printed, in ms. */
        readonly startMs: number,
    ) {}

    /** Launch the pack the way the CLI's pulumi-analyzer-policy plugin does and connect to it. */
    static async start(opts: StartOptions = {}): Promise<PolicyAnalyzer> {
        return PolicyAnalyzer.connect(await spawnPolicyPack(opts));
    }

    /** A client for a pack process already serving (spawnPolicyPack); synth spawns first and connects later. */
    static connect(pack: PolicyPackProcess): PolicyAnalyzer {
        return new PolicyAnalyzer(pack.child, analyzerClient(pack.port), pack.output, pack.startMs);
    }

    /**
     * A client for a pack another process started and stops (the tests share one pack process per jest worker):
     * close() closes only this client. Its stderr is not seen here.
     */
    static attach(port: number, startMs: number): PolicyAnalyzer {
        return new PolicyAnalyzer(undefined, analyzerClient(port), { stdout: "", stderr: "" }, startMs);
    }

    /**
     * Wait for the analyses before this one to end; resolves with the function that ends this one's turn. The pack
     * keeps the stack and policy config an analysis sends until the next sends its own, so analyses take turns.
     */
    async takeTurn(): Promise<() => void> {
        const before = this.turn;
        let release: () => void = () => undefined;
        this.turn = new Promise<void>((resolve) => (release = resolve));
        await before;
        return release;
    }

    /** What the pack serves: name, version (from its package.json), policies and their default levels. */
    async getAnalyzerInfo(): Promise<AnalyzerInfo> {
        const info = await unary<Empty, analyzerpb.AnalyzerInfo>(
            (q, cb) => this.client.getAnalyzerInfo(q, cb),
            new Empty(),
            "GetAnalyzerInfo",
        );
        return {
            name: info.getName(),
            version: info.getVersion(),
            supportsConfig: info.getSupportsconfig(),
            policies: info.getPoliciesList().map((p) => ({
                name: p.getName(),
                description: p.getDescription(),
                enforcementLevel: LEVEL_NAMES[p.getEnforcementlevel()],
            })),
        };
    }

    /** The stack being deployed and its config, as the engine sends before analysis. */
    async configureStack(
        stack: string,
        config: FlatConfig,
        opts: { project?: string; dryRun?: boolean } = {},
    ): Promise<void> {
        const req = new analyzerpb.AnalyzerStackConfigureRequest();
        req.setStack(stack);
        req.setProject(opts.project ?? PROJECT);
        req.setDryRun(opts.dryRun ?? true);
        req.setConfigSecretKeysList([...config.secretKeys]);
        const map = req.getConfigMap();
        for (const [k, v] of Object.entries(config.values)) {
            map.set(k, v);
        }
        await unary<analyzerpb.AnalyzerStackConfigureRequest, analyzerpb.AnalyzerStackConfigureResponse>(
            (q, cb) => this.client.configureStack(q, cb),
            req,
            "ConfigureStack",
        );
    }

    /** Send the policy config: every policy's level (and properties), reconciled as the CLI does. */
    async configure(enforcement: Readonly<Record<string, PolicyConfigEntry>>): Promise<void> {
        const req = new analyzerpb.ConfigureAnalyzerRequest();
        const map = req.getPolicyconfigMap();
        for (const [name, entry] of Object.entries(enforcement)) {
            const c = new analyzerpb.PolicyConfig();
            c.setEnforcementlevel(LEVEL_VALUES[entry.enforcementLevel ?? "mandatory"]);
            c.setProperties(Struct.fromJavaScript(entry.properties as Parameters<typeof Struct.fromJavaScript>[0]));
            map.set(name, c);
        }
        await unary<analyzerpb.ConfigureAnalyzerRequest, Empty>(
            (q, cb) => this.client.configure(q, cb),
            req,
            "Configure",
        );
    }

    async analyze(r: RegisteredResource, byUrn: ReadonlyMap<string, RegisteredResource>): Promise<PolicyViolation[]> {
        const resp = await unary<analyzerpb.AnalyzeRequest, analyzerpb.AnalyzeResponse>(
            (q, cb) => this.client.analyze(q, cb),
            analyzeRequest(r, byUrn),
            `Analyze(${r.urn})`,
        );
        return violationsOf(resp, "analyze", r.urn);
    }

    async analyzeStack(
        resources: readonly RegisteredResource[],
        byUrn: ReadonlyMap<string, RegisteredResource>,
    ): Promise<PolicyViolation[]> {
        const req = analyzeStackRequest(resources, byUrn);
        return violationsOf(
            await unary<analyzerpb.AnalyzeStackRequest, analyzerpb.AnalyzeResponse>(
                (q, cb) => this.client.analyzeStack(q, cb),
                req,
                "AnalyzeStack",
            ),
            "analyzeStack",
        );
    }

    /** What the pack wrote to stderr (its errors, if any). */
    get stderr(): string {
        return this.output.stderr;
    }

    /** Stop the plugin, as the engine does when the operation ends (only the client, for a pack attached to). */
    async close(): Promise<void> {
        if (this.closed) {
            return;
        }
        this.closed = true;
        this.client.close();
        if (this.child) {
            await stopPolicyPack(this.child);
        }
    }
}

/**
 * The generated client, with the two requests that carry resource properties (Analyze, AnalyzeStack) serialized by
 * offline/analyzerWire.ts: the bytes the generated serializers send, made without google-protobuf's per-character
 * string loop. Every other method is the generated one.
 */
const AnalyzerWireClient = grpc.makeGenericClientConstructor(
    {
        ...AnalyzerService,
        analyze: { ...AnalyzerService.analyze, requestSerialize: serializeAnalyzeRequest },
        analyzeStack: { ...AnalyzerService.analyzeStack, requestSerialize: serializeAnalyzeStackRequest },
    },
    "Analyzer",
) as unknown as typeof AnalyzerClient;

function analyzerClient(port: number): AnalyzerClient {
    return new AnalyzerWireClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    });
}

/**
 * The level each policy runs at: its entry in the config, else the config's "all", else the pack's default. Names
 * the config file and the pack's policies when the config names a policy the pack does not have.
 */
export function reconcileEnforcement(
    info: AnalyzerInfo,
    config: PolicyConfigFile = {},
    configFile = "policy config",
): Record<string, PolicyConfigEntry> {
    const names = info.policies.map((p) => p.name);
    const unknown = Object.keys(config).filter((k) => k !== "all" && !names.includes(k));
    if (unknown.length > 0) {
        throw new ValidationError(
            unknown.map((k) => ({
                file: configFile,
                path: `/${k}`,
                message: `no policy "${k}" in pack ${info.name}; allowed: all, ${names.join(", ")}`,
            })),
        );
    }
    return Object.fromEntries(
        info.policies.map((p) => [
            p.name,
            {
                enforcementLevel:
                    config[p.name]?.enforcementLevel ?? config.all?.enforcementLevel ?? p.enforcementLevel,
                properties: config[p.name]?.properties ?? {},
            },
        ]),
    );
}

export interface AnalyzeRunOptions {
    /** The stack's config, as sent in ConfigureStack (default: empty). */
    readonly config?: FlatConfig;
    readonly policyConfig?: PolicyConfigFile;
    /** The policy config file's name, for messages. */
    readonly policyConfigFile?: string;
}

/**
 * The engine's default providers: for each package whose custom resources name no explicit provider, the engine
 * registers `pulumi:providers:<pkg>` "default_<version>" with the stack config of that namespace as its inputs (the
 * `aws:*` keys of the stack file, say), and sends it as those resources' provider. The mock runtime is the SDK side
 * only, so this adds them as the engine would: each one before the first resource that needs it.
 */
class DefaultProviders {
    private readonly providers = new Map<string, RegisteredResource>();

    constructor(
        private readonly stack: string,
        private readonly project: string,
        private readonly config: FlatConfig,
    ) {}

    /** The resource as the engine sends it, and the default provider it registers first for it (if a new one). */
    admit(r: RegisteredResource): { added?: RegisteredResource; resource: RegisteredResource } {
        if (!r.custom || r.provider || r.type.startsWith("pulumi:")) {
            return { resource: r };
        }
        const pkg = r.type.split(":")[0];
        let p = this.providers.get(pkg);
        const added = p ? undefined : (p = this.provider(pkg));
        this.providers.set(pkg, p);
        return { added, resource: { ...r, provider: `${p.urn}::${p.name}-id` } };
    }

    /** Every default provider added so far, by package. */
    sorted(): RegisteredResource[] {
        return [...this.providers.keys()].sort().map((pkg) => this.providers.get(pkg) as RegisteredResource);
    }

    private provider(pkg: string): RegisteredResource {
        const name = "default";
        return {
            urn: `urn:pulumi:${this.stack}::${this.project}::pulumi:providers:${pkg}::${name}`,
            type: `pulumi:providers:${pkg}`,
            name,
            custom: true,
            inputs: Object.fromEntries(
                Object.entries(this.config.values)
                    .filter(([k]) => k.startsWith(`${pkg}:`))
                    .map(([k, v]) => [k.slice(pkg.length + 1), v]),
            ),
            protect: false,
            retainOnDelete: false,
            dependsOn: [],
            propertyDependencies: {},
            ignoreChanges: [],
            additionalSecretOutputs: [],
            deleteBeforeReplace: false,
        };
    }
}

/** A run's resources as the engine sends them to AnalyzeStack: the default providers first, then the run's own. */
export function withDefaultProviders(run: MockRunResult, config: FlatConfig): RegisteredResource[] {
    return withProviders(new DefaultProviders(run.stack, run.project, config), run.resources);
}

function withProviders(providers: DefaultProviders, resources: readonly RegisteredResource[]): RegisteredResource[] {
    const sent = resources.map((r) => providers.admit(r).resource);
    return [...providers.sorted(), ...sent];
}

/** The deployment an analysis is about, known before the program runs. */
export interface AnalysisTarget {
    readonly stack: string;
    readonly project?: string;
    readonly mode: RunMode;
}

/**
 * One stack's analysis, as the engine runs it: GetAnalyzerInfo, ConfigureStack and Configure once the pack serves,
 * then Analyze for each resource as it registers (`resource`, while the program is still running), then AnalyzeStack
 * over the final resources (`finish`), once every Analyze is answered. The Analyze calls go out without waiting for
 * each other's answers (the engine, too, analyzes steps in parallel). Analyses of one pack take turns: the stack and
 * policy config they send are the pack's state until the next one's.
 */
export class StackAnalysis {
    private readonly providers: DefaultProviders;
    private readonly byUrn = new Map<string, RegisteredResource>();
    private readonly violations: PolicyViolation[] = [];
    private readonly started: Promise<{
        analyzer: PolicyAnalyzer;
        info: AnalyzerInfo;
        enforcement: Record<string, PolicyConfigEntry>;
        release: () => void;
    }>;
    /** The Analyze calls sent so far; a failed one fails the analysis. */
    private readonly answers: Promise<void>[] = [];
    /** When the first Analyze went out and the last answer came in (the calls overlap: their span is the figure). */
    private firstSent: bigint | undefined;
    private lastAnswered: bigint | undefined;
    private ended = false;

    constructor(
        analyzer: PolicyAnalyzer | Promise<PolicyAnalyzer>,
        private readonly target: AnalysisTarget,
        opts: AnalyzeRunOptions = {},
    ) {
        const config = opts.config ?? { values: {}, secretKeys: [] };
        this.providers = new DefaultProviders(target.stack, target.project ?? PROJECT, config);
        this.started = (async () => {
            const a = await analyzer;
            const release = await a.takeTurn();
            try {
                const info = await a.getAnalyzerInfo();
                const enforcement = reconcileEnforcement(info, opts.policyConfig, opts.policyConfigFile);
                await a.configureStack(target.stack, config, {
                    project: target.project ?? PROJECT,
                    dryRun: target.mode !== "up",
                });
                await a.configure(enforcement);
                return { analyzer: a, info, enforcement, release };
            } catch (err) {
                release();
                throw err;
            }
        })();
        this.started.catch(() => undefined);
    }

    /** A resource has registered: Analyze it (after the default provider the engine registers first for it). */
    resource(r: RegisteredResource): void {
        if (this.ended) {
            throw new Error(`${r.urn} registered after the analysis of stack ${this.target.stack} ended`);
        }
        if (this.byUrn.has(r.urn)) {
            return;
        }
        const { added, resource } = this.providers.admit(r);
        for (const x of added ? [added, resource] : [resource]) {
            this.byUrn.set(x.urn, x);
            // Sent without waiting for the previous answer (the engine, too, analyzes steps in parallel): the pack
            // takes them one after another, and no round trip waits on this process's turn of the event loop.
            const answered = this.started.then(async ({ analyzer }) => {
                this.firstSent ??= process.hrtime.bigint();
                this.violations.push(...(await analyzer.analyze(x, this.byUrn)));
                this.lastAnswered = process.hrtime.bigint();
            });
            // Observed at finish (or abandon); until then a failure must not count as unhandled.
            answered.catch(() => undefined);
            this.answers.push(answered);
        }
    }

    /**
     * The run has ended: Analyze whatever was not streamed, AnalyzeStack over every resource with its final outputs,
     * and the report. Ends the analysis's turn on the pack, also when it fails.
     */
    async finish(run: MockRunResult): Promise<PolicyReport> {
        if (run.stack !== this.target.stack || run.mode !== this.target.mode) {
            this.abandon();
            throw new Error(
                `analysis of ${this.target.stack} (${this.target.mode}) handed the run of ${run.stack} (${run.mode})`,
            );
        }
        for (const r of run.resources) {
            this.resource(r);
        }
        this.ended = true;
        const { analyzer, info, enforcement, release } = await this.started;
        try {
            await Promise.all(this.answers);
            const resources = withProviders(this.providers, run.resources);
            const t = process.hrtime.bigint();
            this.violations.push(...(await analyzer.analyzeStack(resources, this.byUrn)));
            const analyzeStackMs = Number(process.hrtime.bigint() - t) / 1e6;
            const analyzeMs =
                this.firstSent === undefined ? 0 : Number((this.lastAnswered ?? this.firstSent) - this.firstSent) / 1e6;
            return report(run, info, enforcement, this.violations, { analyzeMs, analyzeStackMs });
        } finally {
            release();
        }
    }

    /** The run failed: no AnalyzeStack; the pack's turn ends once the calls already sent have. */
    abandon(): void {
        this.ended = true;
        void this.started.then(
            ({ release }) => Promise.allSettled(this.answers).then(release),
            () => undefined,
        );
    }
}

function report(
    run: MockRunResult,
    info: AnalyzerInfo,
    enforcement: Readonly<Record<string, PolicyConfigEntry>>,
    violations: readonly PolicyViolation[],
    timings: PolicyReport["timings"],
): PolicyReport {
    const sorted = [...violations].sort((a, b) =>
        `${a.policyName}\u0000${a.urn ?? ""}\u0000${a.message}`.localeCompare(
            `${b.policyName}\u0000${b.urn ?? ""}\u0000${b.message}`,
        ),
    );
    return {
        stack: run.stack,
        mode: run.mode,
        policyPack: { name: info.name, version: info.version },
        enforcement: Object.fromEntries(
            Object.entries(enforcement).map(([k, v]) => [k, v.enforcementLevel ?? "mandatory"]),
        ),
        violations: sorted,
        mandatory: sorted.filter((v) => v.enforcementLevel === "mandatory").length,
        advisory: sorted.filter((v) => v.enforcementLevel === "advisory").length,
        timings,
    };
}

/** Everything the engine asks the pack about one stack's deployment, after the run. */
export async function analyzeRun(
    analyzer: PolicyAnalyzer,
    run: MockRunResult,
    opts: AnalyzeRunOptions = {},
): Promise<PolicyReport> {
    return new StackAnalysis(analyzer, { stack: run.stack, project: run.project, mode: run.mode }, opts).finish(run);
}

/**
 * The violation's own text: @pulumi/policy prefixes a string violation with the policy's description and a newline,
 * which the report keeps separately.
 */
export function violationText(v: PolicyViolation): string {
    return v.description && v.message.startsWith(`${v.description}\n`)
        ? v.message.slice(v.description.length + 1)
        : v.message;
}

/** One violation as the CLI prints it: level, policy, resource, message. */
export function formatViolation(v: PolicyViolation): string {
    const where = v.urn ? ` (${v.urn})` : "";
    return `[${v.enforcementLevel}] ${v.policyName}${where}\n    ${violationText(v).split("\n").join("\n    ")}`;
}

/** The policy-report.json document: deterministic (no timings), secrets never included (messages name keys only). */
export function policyReportDocument(report: PolicyReport): unknown {
    return {
        stack: report.stack,
        mode: report.mode,
        policyPack: report.policyPack,
        enforcement: report.enforcement,
        summary: { mandatory: report.mandatory, advisory: report.advisory, passed: report.mandatory === 0 },
        violations: report.violations.map((v) => ({
            policy: v.policyName,
            enforcementLevel: v.enforcementLevel,
            urn: v.urn ?? null,
            phase: v.phase,
            message: violationText(v),
        })),
    };
}
