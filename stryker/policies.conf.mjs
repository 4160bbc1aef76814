// Mutation group "policies": the CrossGuard policy pack, killed by the in-process policy tests, each of which calls one
// policy on a small fixture stack. The pack-process tests run the pack in another process, so they cannot count as
// coverage; the guard harness's and the preview's tests (test/guards-pack.test.ts, test/preview.test.ts) run a whole
// program under mocks per test, seconds each, and jest runs the slowest file first: with them each mutant took
// seconds, and 900 of the 3,300 mutants took half an hour. They run in npm test on every change.
import { groupConfig } from "./shared.mjs";

export default groupConfig({
    group: "policies",
    mutate: ["policies/*.ts"],
    tests: [
        "test/policies.test.ts",
        "test/policies-*.test.ts",
        "test/pack-context.test.ts",
        "test/resource-classification.test.ts",
    ],
});
