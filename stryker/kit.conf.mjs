// Mutation group "kit": what downstream programs inherit (the kit's targets and its service plan). kit/index.ts only
// re-exports (it holds no mutant), and it is left out: it imports the ServiceGuardrails component and with it the
// type declarations of @pulumi/aws and @pulumi/kubernetes, 4,476 files where the kit's own code needs 879, and the
// TypeScript checker, which builds a new type checker per mutant over its whole program, then took 6 s a mutant.
import { groupConfig } from "./shared.mjs";

export default groupConfig({
    group: "kit",
    mutate: ["kit/backlog.ts", "kit/servicePlan.ts", "kit/targets.ts"],
    tests: ["test/kit.test.ts"],
});
