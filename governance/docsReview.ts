import * as fs from "fs";
import * as path from "path";
import { Problem, displayPath, repoRoot } from "../core/validation";

/** Markdown links and images: [text](target) and ![alt](target); reference-style links are not used here. */
const LINK = /!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

/** The documents the docs review reads: README.md and every docs/*.md. */
export function reviewedDocuments(root: string = repoRoot): string[] {
    const dir = path.join(root, "docs");
    return [
        path.join(root, "README.md"),
        ...fs
            .readdirSync(dir)
            .filter((f) => f.endsWith(".md"))
            .sort()
            .map((f) => path.join(dir, f)),
    ];
}

/**
 * The automated part of a release's docs review (backlog items R<n>-DOCS-REVIEW): every relative link in a
 * Markdown file resolves to a file in the repository, and every document opens with a `# ` title (the template).
 * External links are not fetched: CI has no network, and their rot is not a release blocker.
 */
export function reviewMarkdown(files: readonly string[]): Problem[] {
    const problems: Problem[] = [];
    for (const file of files) {
        const text = fs.readFileSync(file, "utf8");
        const shown = displayPath(file);
        if (!/^# \S/.test(text)) {
            problems.push({ file: shown, path: "line 1", message: 'a document opens with its title: "# <title>"' });
        }
        const withoutCode = text.replace(/```[\s\S]*?```/g, (block) => block.replace(/[^\n]/g, " "));
        for (const match of withoutCode.matchAll(LINK)) {
            const target = match[1];
            if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) {
                continue;
            }
            const resolved = path.resolve(path.dirname(file), decodeURIComponent(target.split("#")[0]));
            if (!fs.existsSync(resolved)) {
                const line = withoutCode.slice(0, match.index).split("\n").length;
                problems.push({
                    file: shown,
                    path: `line ${line}`,
                    message: `link target "${target}" does not exist (resolved to ${displayPath(resolved)})`,
                });
            }
        }
    }
    return problems;
}
