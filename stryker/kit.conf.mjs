// Mutation group "kit": what downstream programs inherit (the kit's targets and its service plan).
import { groupConfig } from "./shared.mjs";

export default groupConfig({
    group: "kit",
    mutate: ["kit/*.ts"],
    tests: ["test/kit.test.ts"],
});
