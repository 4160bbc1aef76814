/**
 * The evidence-hook metrics CI produces (verify/ciMetrics.ts): maestro_policy_violations from synth,
 * maestro_release_signoffs from `provenance verify --metrics`, maestro_docs_broken_links from
 * `docs --check --metrics`. Every file is checked with `promtool check metrics`, as Prometheus would parse it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    brokenLinkMetrics,
    policyViolationMetrics,
    releaseSignoffMetrics,
    renderMetrics,
    writeMetricsFile,
} from "../verify/ciMetrics";
import { CI_METRIC } from "../core/conventions";
import { PolicyReport, PolicyViolation } from "../offline/policyAnalyzer";
import { promtoolPath } from "../verify/promtool";
import { reviewMarkdown } from "../governance/docsReview";
import { displayPath } from "../core/validation";
import { runScript } from "./helpers";

/** promtool's linter over a metrics text; "" when Prometheus would take it as it is. */
function promtoolCheck(text: string): string {
    const r = spawnSync(promtoolPath(), ["check", "metrics"], { input: text, encoding: "utf8" });
    return r.status === 0 ? "" : `${r.stdout}${r.stderr}`;
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "maestro-metrics-"));

const violation = (policyName: string, enforcementLevel: PolicyViolation["enforcementLevel"]): PolicyViolation => ({
    policyName,
    policyPackName: "maestro-guardrails",
    policyPackVersion: "0.1.0",
    enforcementLevel,
    description: "",
    message: "",
    phase: "analyze",
});

describe("the exposition format", () => {
    it("escapes label values and passes promtool check metrics", () => {
        const text = renderMetrics([
            {
                name: "maestro_test",
                help: "A test.",
                type: "gauge",
                samples: [{ labels: { file: 'a "quoted"\\path\nnext' }, value: 2 }],
            },
        ]);
        expect(text).toBe(
            '# HELP maestro_test A test.\n# TYPE maestro_test gauge\nmaestro_test{file="a \\"quoted\\"\\\\path\\nnext"} 2\n',
        );
        expect(promtoolCheck(text)).toBe("");
    });

    it("writes atomically: the file appears whole, and no temp file is left", () => {
        const dir = tmp();
        writeMetricsFile(path.join(dir, "x.prom"), [
            { name: "maestro_test", help: "A test.", type: "gauge", samples: [] },
        ]);
        expect(fs.readdirSync(dir)).toEqual(["x.prom"]);
    });
});

describe(CI_METRIC.policyViolations, () => {
    it("counts violations per policy at its level, every enabled policy present at 0 when clean", () => {
        const report: PolicyReport = {
            stack: "prod",
            mode: "up",
            policyPack: { name: "maestro-guardrails", version: "0.1.0" },
            enforcement: {
                "evidence-hooks": "mandatory",
                "budgets-within-caps": "advisory",
                "dashboards-provisioned": "disabled",
                "slo-alerts-not-loosened": "mandatory",
            },
            violations: [
                violation("evidence-hooks", "mandatory"),
                violation("evidence-hooks", "mandatory"),
                violation("budgets-within-caps", "advisory"),
            ],
            mandatory: 2,
            advisory: 1,
            timings: { analyzeMs: 0, analyzeStackMs: 0 },
        };
        const family = policyViolationMetrics(report);
        expect(family.samples).toEqual([
            { labels: { stack: "prod", policy: "budgets-within-caps", enforcement_level: "advisory" }, value: 1 },
            { labels: { stack: "prod", policy: "evidence-hooks", enforcement_level: "mandatory" }, value: 2 },
            { labels: { stack: "prod", policy: "slo-alerts-not-loosened", enforcement_level: "mandatory" }, value: 0 },
        ]);
        expect(promtoolCheck(renderMetrics([family]))).toBe("");
    });
});

describe(CI_METRIC.releaseSignoffs, () => {
    it("counts the required roles signed and missing per release", () => {
        const family = releaseSignoffMetrics([
            {
                tag: "v1.1.0",
                environment: "prod",
                commit: "a".repeat(40),
                signed: ["SRE Lead", "Intern"],
                required: ["SRE Lead", "Sec Lead"],
                missing: ["Sec Lead"],
                complete: false,
            },
        ]);
        expect(family.samples).toEqual([
            { labels: { tag: "v1.1.0", environment: "prod", state: "signed" }, value: 1 },
            { labels: { tag: "v1.1.0", environment: "prod", state: "missing" }, value: 1 },
        ]);
    });

    it("is written by `provenance verify --metrics` from the shipped ledger", () => {
        const file = path.join(tmp(), "signoffs.prom");
        const r = runScript("provenance", "verify", "--metrics", file);
        expect(r.status).toBe(0);
        const text = fs.readFileSync(file, "utf8");
        expect(promtoolCheck(text)).toBe("");
        expect(text).toMatch(
            new RegExp(
                `^${CI_METRIC.releaseSignoffs}\\{tag="v\\d+\\.\\d+\\.\\d+",environment="prod",state="missing"\\} 0$`,
                "m",
            ),
        );
    });
});

describe(CI_METRIC.docsBrokenLinks, () => {
    it("counts broken links per document, titles aside", () => {
        const dir = tmp();
        const broken = path.join(dir, "broken.md");
        const clean = path.join(dir, "clean.md");
        fs.writeFileSync(broken, "no title\n\n[a](gone.md) [b](also-gone.md) [c](clean.md)\n");
        fs.writeFileSync(clean, "# Clean\n");
        const family = brokenLinkMetrics([broken, clean].map(displayPath), reviewMarkdown([broken, clean]));
        expect(family.samples.map((s) => s.value)).toEqual([2, 0]);
    });

    it("is written by `docs --check --metrics`, one series per reviewed document", () => {
        const file = path.join(tmp(), "docs.prom");
        const r = runScript("docs", "--check", "--metrics", file);
        expect(r.stderr).toBe("");
        const text = fs.readFileSync(file, "utf8");
        expect(promtoolCheck(text)).toBe("");
        expect(text).toContain(`${CI_METRIC.docsBrokenLinks}{file="README.md"} 0\n`);
    });
});
