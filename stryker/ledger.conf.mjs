// Mutation group "ledger": the sign-off ledger, its DSSE envelopes, who may sign, and the deploy's code binding.
import { groupConfig } from "./shared.mjs";

export default groupConfig({
    group: "ledger",
    mutate: ["provenance/ledger.ts", "provenance/dsse.ts", "provenance/signers.ts", "provenance/release.ts"],
    tests: ["test/ledger.test.ts", "test/dsse-interop.test.ts"],
});
