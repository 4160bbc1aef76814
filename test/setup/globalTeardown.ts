/** Jest global teardown: stop the policy pack processes the workers shared (test/setup/policyPacks.ts). */
import { stopRegisteredPacks } from "./policyPacks";

export default async function globalTeardown(): Promise<void> {
    await stopRegisteredPacks();
}
