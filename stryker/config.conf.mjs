// Mutation group "config": the guardrails file, the stack config and the governance data, as they are validated.
import { groupConfig } from "./shared.mjs";

export default groupConfig({
    group: "config",
    mutate: [
        "core/guardrails.ts",
        "core/stackConfig.ts",
        "core/validation.ts",
        "governance/index.ts",
        "governance/model.ts",
        "governance/crossCheck.ts",
    ],
    // The stack config's guards are tested where their capability is: plaintext credentials and provider bounds in
    // the guard tests, the alert routing config with the routing.
    tests: [
        "test/guardrails.test.ts",
        "test/stackConfig.test.ts",
        "test/governance.test.ts",
        "test/guards-tools.test.ts",
        "test/routing.test.ts",
        "test/validation.test.ts",
    ],
});
