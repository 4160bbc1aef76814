/**
 * One policy pack process per jest worker, shared by the test files that worker runs, where each file used to start
 * its own. The pack is started the way synth starts it (offline/policyPackProcess.ts: the built pack, rebuilt from
 * the sources first, run by run-policy-pack) by the first file of a worker that asks for it; the worker's later
 * files attach to it. A worker runs one file at a time and a file one test at a time, and every analysis sends its
 * own ConfigureStack and Configure (offline/policyAnalyzer.ts analyzeRun), so a file sees the pack exactly as it saw
 * its own: the pack keeps nothing from one analysis to the next.
 *
 * The global setup makes the registry folder (its path in MAESTRO_TEST_POLICY_PACKS, which the workers inherit); each
 * worker writes its pack's port and pid there; the global teardown stops them all. Jest as StrykerJS runs it
 * (stryker/jest.config.js) has neither: there each file that asks gets a pack of its own, stopped when the file ends,
 * as before the packs were shared.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { PolicyAnalyzer } from "../../offline/policyAnalyzer";

const REGISTRY_ENV = "MAESTRO_TEST_POLICY_PACKS";

interface RegisteredPack {
    readonly port: number;
    readonly pid: number;
    readonly startMs: number;
}

/** Global setup: the folder where workers register their packs. */
export function createPackRegistry(): void {
    process.env[REGISTRY_ENV] = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-test-packs-"));
}

/** Global teardown: stop every registered pack and remove the folder. */
export async function stopRegisteredPacks(): Promise<void> {
    const dir = process.env[REGISTRY_ENV];
    if (!dir || !fs.existsSync(dir)) {
        return;
    }
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
        const { pid } = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as RegisteredPack;
        await stopProcess(pid);
    }
    fs.rmSync(dir, { recursive: true, force: true });
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** SIGTERM, then up to 5 s for it to go (a pack whose worker has already exited is nobody's child to wait for). */
async function stopProcess(pid: number): Promise<void> {
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return;
    }
    for (let i = 0; i < 50 && alive(pid) && !isZombie(pid); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** An exited process its parent (a worker still running) has not reaped yet: it is gone for our purposes. */
function isZombie(pid: number): boolean {
    try {
        return /^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

let shared: Promise<PolicyAnalyzer> | undefined;

/**
 * A client of this worker's pack, started now if the worker has none yet. Its close() closes only the client; the
 * pack serves the worker's next files.
 */
export function sharedPolicyPack(): Promise<PolicyAnalyzer> {
    shared ??= attachOrStart();
    return shared;
}

async function attachOrStart(): Promise<PolicyAnalyzer> {
    // Loaded here, not at the top: the global setup imports this module and needs none of the SDK's gRPC stubs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PolicyAnalyzer } = require("../../offline/policyAnalyzer") as typeof import("../../offline/policyAnalyzer");
    const dir = process.env[REGISTRY_ENV];
    if (dir === undefined) {
        // A config without the global setup and teardown (stryker/jest.config.js): no registry, so a pack of the
        // file's own, which closeSharedPolicyPack stops.
        return PolicyAnalyzer.start();
    }
    if (!dir || !fs.existsSync(dir)) {
        throw new Error(
            `${REGISTRY_ENV} names no folder: run the tests with jest.config.js, whose global setup makes it`,
        );
    }
    const file = path.join(dir, `worker-${process.env.JEST_WORKER_ID ?? "1"}.json`);
    if (fs.existsSync(file)) {
        const pack = JSON.parse(fs.readFileSync(file, "utf8")) as RegisteredPack;
        if (alive(pack.pid) && !isZombie(pack.pid)) {
            return PolicyAnalyzer.attach(pack.port, pack.startMs);
        }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const packs = require("../../offline/policyPackProcess") as typeof import("../../offline/policyPackProcess");
    const pack = await packs.spawnPolicyPack();
    if (pack.child.pid === undefined) {
        throw new Error("the policy pack process has no pid");
    }
    // The worker goes on to other files and must be free to exit at the end: nothing of the pack holds it.
    pack.child.unref();
    for (const stream of [pack.child.stdout, pack.child.stderr]) {
        (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }
    const entry: RegisteredPack = { port: pack.port, pid: pack.child.pid, startMs: pack.startMs };
    fs.writeFileSync(file, JSON.stringify(entry));
    return PolicyAnalyzer.attach(pack.port, pack.startMs);
}

/**
 * After each test file (test/setup/afterFile.ts): close the file's client of the shared pack, if it opened one (and
 * stop the pack, when it is the file's own).
 */
export async function closeSharedPolicyPack(): Promise<void> {
    const client = shared;
    shared = undefined;
    await (await client?.catch(() => undefined))?.close();
}
