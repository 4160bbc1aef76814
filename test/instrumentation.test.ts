import * as fs from "fs";
import * as path from "path";
import { Guardrails } from "../core/guardrails";
import { histogramRequirements, renderInstrumentationDoc } from "../core/instrumentation";
import { repoRoot } from "../core/validation";
import { guardrails } from "./helpers";

describe("instrumentation requirements", () => {
    it("require an exact bucket bound at every SLO threshold, on the SLO's histogram", () => {
        const reqs = histogramRequirements(guardrails);
        for (const o of guardrails.slo.objectives) {
            const h = reqs.find((r) => r.metric === o.sli.metric)!;
            expect(h.requiredBuckets).toContain(o.sli.thresholdSeconds);
            expect(h.recommendedBuckets).toContain(o.sli.thresholdSeconds);
            expect(h.labels).toEqual(expect.arrayContaining(o.sli.matchers.map((m) => m.label)));
        }
    });

    it("recommend neighbours around each threshold, sorted and without duplicates", () => {
        for (const h of histogramRequirements(guardrails)) {
            expect([...h.recommendedBuckets].sort((a, b) => a - b)).toEqual(h.recommendedBuckets);
            expect(new Set(h.recommendedBuckets).size).toBe(h.recommendedBuckets.length);
            for (const t of h.requiredBuckets) {
                expect(h.recommendedBuckets.some((b) => b > t)).toBe(true);
                expect(h.recommendedBuckets.some((b) => b < t)).toBe(true);
            }
        }
    });

    it("follow the guardrails file: a changed threshold changes the required bucket", () => {
        const first = guardrails.slo.objectives[0];
        const changed: Guardrails = {
            ...guardrails,
            slo: {
                ...guardrails.slo,
                objectives: [
                    { ...first, sli: { ...first.sli, thresholdSeconds: first.sli.thresholdSeconds / 2 } },
                    ...guardrails.slo.objectives.slice(1),
                ],
            },
        };
        const req = histogramRequirements(changed).find((r) => r.metric === first.sli.metric)!;
        expect(req.requiredBuckets).toContain(first.sli.thresholdSeconds / 2);
        expect(renderInstrumentationDoc(changed)).not.toBe(renderInstrumentationDoc(guardrails));
    });

    it("are committed up to date in docs/instrumentation.md (run `npm run docs` after changing the guardrails)", () => {
        expect(fs.readFileSync(path.join(repoRoot, "docs", "instrumentation.md"), "utf8")).toBe(
            renderInstrumentationDoc(guardrails),
        );
    });
});
