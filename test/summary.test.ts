import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chromium } from "playwright-core";
import { Guardrails } from "../core/guardrails";
import { formatProblem, repoRoot } from "../core/validation";
import { guardrailCatalog, loadGovernance } from "../governance";
import { reviewMarkdown, reviewedDocuments } from "../governance/docsReview";
import {
    SUMMARY_FILES,
    buildSummary,
    renderSummaryHtml,
    renderSummaryMarkdown,
    shortRole,
} from "../governance/summary";
import { guardrails, runScript } from "./helpers";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = path.join(repoRoot, "test-artifacts", "conductor-summary.png");
const VIEWPORT = { width: 1920, height: 1080 };

const gov = loadGovernance();
const model = buildSummary(gov, guardrails);
const markdown = renderSummaryMarkdown(model);
const html = renderSummaryHtml(model);

describe("the Conductor summary render", () => {
    it("is a function of the data only: two renders are byte-identical and the committed files equal them", () => {
        expect(renderSummaryMarkdown(buildSummary(loadGovernance(), guardrails))).toBe(markdown);
        expect(renderSummaryHtml(buildSummary(loadGovernance(), guardrails))).toBe(html);
        expect(fs.readFileSync(SUMMARY_FILES.markdown, "utf8")).toBe(markdown);
        expect(fs.readFileSync(SUMMARY_FILES.html, "utf8")).toBe(html);
    });

    it("shows every guardrail with its target from the guardrails file", () => {
        for (const g of guardrailCatalog(guardrails)) {
            expect(markdown).toContain(`| ${g.title} (\`${g.id}\`) | ${g.target} |`);
            expect(html).toContain(g.target.replace(/&/g, "&amp;"));
        }
    });

    it("follows the guardrails file: a doubled latency threshold changes the rendered target", () => {
        const doubled = JSON.parse(JSON.stringify(guardrails)) as {
            slo: { objectives: Array<{ sli: { thresholdSeconds: number } }> };
        };
        doubled.slo.objectives[0].sli.thresholdSeconds = guardrails.slo.objectives[0].sli.thresholdSeconds * 2;
        const ms = String(guardrails.slo.objectives[0].sli.thresholdSeconds * 2 * 1000);
        const rendered = renderSummaryMarkdown(buildSummary(gov, doubled as unknown as Guardrails));
        expect(rendered).toContain(`≤ ${ms} ms`);
        expect(rendered).not.toBe(markdown);
    });

    it("lists both releases' milestones with status, tag and sign-offs, and the RACI with one A per milestone", () => {
        for (const m of gov.milestones) {
            expect(markdown).toMatch(
                new RegExp(
                    `\\| ${m.date} \\| .*\\(\`${m.id}\`\\) \\| ${m.environment} \\| \`${m.tag}\` \\| ${m.status} \\|`,
                ),
            );
            expect(html).toContain(`>${m.id} &middot; A: `);
        }
        const raciLines = markdown.split("\n").filter((l) => gov.milestones.some((m) => l.startsWith(`| ${m.id} |`)));
        expect(raciLines).toHaveLength(gov.milestones.length);
        for (const line of raciLines) {
            expect(line.split("|").filter((c) => c.trim() === "A")).toHaveLength(1);
        }
    });

    it("lists the risks by impact with their owners", () => {
        const rows = markdown.split("\n").filter((l) => gov.risks.some((r) => l.includes(`| ${r.title} |`)));
        expect(rows.map((l) => l.split("|")[1].trim())).toEqual(["High", "Medium", "Medium", "Medium", "Low"]);
        for (const r of gov.risks) {
            expect(markdown).toContain(`| ${r.impact} | ${r.title} | ${r.owner} |`);
        }
    });

    it("says where every item's hooks are verified", () => {
        for (const item of gov.items) {
            const row = markdown.split("\n").find((l) => l.startsWith(`| [\`${item.hooks.tests}\`]`));
            expect(row).toContain(item.id);
        }
    });

    it("abbreviates roles only in sign-off chips", () => {
        expect(shortRole("SRE Lead")).toBe("SRE");
        expect(shortRole("Release Manager")).toBe("Release Mgr");
    });

    it("is static and self-contained: no scripts, no external stylesheets, fonts or images", () => {
        expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
        expect(html).not.toMatch(/https?:\/\//);
    });
});

describe("npm run summary -- --check", () => {
    it("passes when the committed files are up to date", () => {
        const r = runScript("summary", "--check");
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    it("fails naming the stale file when the committed summary differs from the data", () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-summary-"));
        fs.writeFileSync(path.join(out, "conductor-summary.md"), markdown.replace("in-progress", "done"));
        fs.writeFileSync(path.join(out, "conductor-summary.html"), html);
        const r = runScript("summary", "--check", "--out", out);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(
            /conductor-summary\.md is out of date with the governance data and guardrails; run `npm run summary` and commit it/,
        );
        expect(r.stderr).not.toContain("conductor-summary.html");
    });

    it("fails naming a missing file, and writes both when asked to render", () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-summary-"));
        expect(runScript("summary", "--check", "--out", out).stderr).toMatch(/conductor-summary\.md is missing/);
        expect(runScript("summary", "--out", out).status).toBe(0);
        expect(fs.readFileSync(path.join(out, "conductor-summary.html"), "utf8")).toBe(html);
    });
});

describe("docs review (link checking and template compliance)", () => {
    const docs = reviewedDocuments();

    it("finds every relative link of README.md and docs/*.md resolving, and every doc opening with its title", () => {
        expect(reviewMarkdown(docs).map(formatProblem).join("\n")).toBe("");
    });

    it("flags a broken link with file and line, and a doc without a title", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-docs-"));
        const file = path.join(dir, "broken.md");
        fs.writeFileSync(file, "no title\n\nSee [the runbook](runbook.md) and [Grafana](https://grafana.example).\n");
        const problems = reviewMarkdown([file]).map((p) => `${p.path}: ${p.message}`);
        expect(problems).toEqual([
            'line 1: a document opens with its title: "# <title>"',
            expect.stringMatching(/^line 3: link target "runbook\.md" does not exist/),
        ]);
    });
});

describe("the HTML summary in Chromium at 1920x1080", () => {
    it("shows every section without scrolling; screenshot kept in test-artifacts/", async () => {
        if (!fs.existsSync(CHROMIUM)) {
            throw new Error(
                `${CHROMIUM} is missing: install Debian's chromium (\`apt-get install chromium\`; .ci/run does)`,
            );
        }
        const browser = await chromium.launch({
            executablePath: CHROMIUM,
            args: [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        });
        try {
            const page = await browser.newPage({ viewport: VIEWPORT });
            const requests: string[] = [];
            page.on("request", (req) => requests.push(req.url()));
            await page.goto(`file://${SUMMARY_FILES.html}`);
            // The page's own document; the test compiles without the DOM library, so it is typed here.
            type Doc = { documentElement: { scrollWidth: number; scrollHeight: number } };
            const size = await page.evaluate(() => {
                const root = (globalThis as unknown as { document: Doc }).document.documentElement;
                return { width: root.scrollWidth, height: root.scrollHeight };
            });
            expect(size.width).toBeLessThanOrEqual(VIEWPORT.width);
            expect(size.height).toBeLessThanOrEqual(VIEWPORT.height);
            for (const id of ["guardrails", "milestones", "raci", "risks", "evidence"]) {
                const section = page.locator(`section#${id}`);
                expect(await section.isVisible()).toBe(true);
                const box = (await section.boundingBox())!;
                expect(box.x).toBeGreaterThanOrEqual(0);
                expect(box.y).toBeGreaterThanOrEqual(0);
                expect(box.x + box.width).toBeLessThanOrEqual(VIEWPORT.width);
                expect(box.y + box.height).toBeLessThanOrEqual(VIEWPORT.height);
                // Nothing clipped inside a section either (a cell overflowing its column would hide text).
                const overflow = await section.evaluate((el) =>
                    [...el.querySelectorAll("td")]
                        .filter((td) => td.scrollWidth > td.clientWidth + 1)
                        .map((td) => td.textContent),
                );
                expect(overflow).toEqual([]);
            }
            const shown = await page.locator("main").innerText();
            for (const m of gov.milestones) {
                expect(shown).toContain(m.id);
            }
            for (const r of gov.risks) {
                expect(shown).toContain(r.owner);
            }
            expect(requests.every((u) => u.startsWith("file://"))).toBe(true);
            fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
            await page.screenshot({ path: SCREENSHOT });
            expect(fs.statSync(SCREENSHOT).size).toBeGreaterThan(0);
        } finally {
            await browser.close();
        }
    });
});
