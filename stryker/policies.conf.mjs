// Mutation group "policies": the CrossGuard policy pack, killed by the in-process policy tests (the pack-process tests
// run the pack in another process, so they cannot count as coverage).
import { groupConfig } from "./shared.mjs";

export default groupConfig({
    group: "policies",
    mutate: ["policies/*.ts"],
    tests: ["test/policies.test.ts", "test/pack-context.test.ts", "test/preview.test.ts"],
});
