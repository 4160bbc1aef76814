// Mutation group "rules": the Prometheus rule builders (rules/*.ts), killed by the rule tests.
import { groupConfig } from "./shared.mjs";

export default groupConfig({
    group: "rules",
    mutate: ["rules/*.ts"],
    tests: ["test/rules.test.ts", "test/rules-placement.test.ts", "test/releaseCuts.test.ts"],
});
