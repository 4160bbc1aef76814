/**
 * `npm run build:policies`: bundle the policy pack into policies/bin/index.js (offline/policyPackBuild.ts), what
 * `pulumi preview --policy-pack policies` runs and `npm pack` in policies/ ships.
 */
import { runMain } from "./cli";
import { buildPolicyPack } from "../offline/policyPackBuild";
import { displayPath } from "../core/validation";

async function main(): Promise<number> {
    const built = await buildPolicyPack();
    process.stdout.write(
        `built policy pack ${built.version}: ${displayPath(built.file)} (${Math.round(built.bytes / 1024)} KiB, ${Math.round(built.ms)} ms)\n`,
    );
    return 0;
}

runMain(main);
