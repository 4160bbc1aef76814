/**
 * The policy pack's build manifest: a bundle is started without a rebuild only while everything it was built from is
 * unchanged. Each case builds a small pack in a temporary folder, changes one thing a rebuild would see (a source, a
 * file that takes an import over, a nearer package, a package's or tsconfig's settings, the data, the bundle itself,
 * the manifest), and expects bundleProblem to name it; things a rebuild would not see leave the bundle current.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadGuardrails } from "../core/guardrails";
import { repoRoot } from "../core/validation";
import { BUILD_MANIFEST, BUILT_ENTRY, buildPolicyPack, bundleProblem } from "../offline/policyPackBuild";
import type { PackData } from "../policies/context";

const DATA = { fixture: "one" } as unknown as PackData;

/** A pack of five files: its entry imports a helper, a file in a sub-folder and a package; the sub-folder the same package. */
function fixturePack(): string {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "maestro-pack-build-")), "pack");
    const files: Record<string, string> = {
        "package.json": JSON.stringify({ version: `0.1.0+guardrails.${loadGuardrails().version}`, main: BUILT_ENTRY }),
        "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true } }),
        "index.ts": [
            'import { helper } from "./helper";',
            'import { used } from "./sub/use";',
            'import { packData } from "./packData";',
            'import dep = require("dep");',
            "export const all = [helper, used, packData(), dep];",
        ].join("\n"),
        "helper.ts": 'export const helper = "helper, as first written";\n',
        "packData.ts": "export const packData = (): unknown => undefined;\n",
        "sub/use.ts": 'import dep = require("dep");\nexport const used = dep;\n',
        "sub/node_modules/.keep": "",
        "node_modules/dep/package.json": JSON.stringify({ name: "dep", main: "main.js" }),
        "node_modules/dep/main.js": 'module.exports = "dep main";\n',
        "node_modules/dep/other.js": 'module.exports = "dep other";\n',
    };
    for (const [rel, content] of Object.entries(files)) {
        write(dir, rel, content);
    }
    return dir;
}

async function builtPack(): Promise<{ dir: string; bundle: () => Buffer }> {
    const dir = fixturePack();
    await buildPolicyPack({ packDir: dir, data: DATA });
    return { dir, bundle: () => fs.readFileSync(path.join(dir, BUILT_ENTRY)) };
}

function write(dir: string, rel: string, content: string): void {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
}

const rel = (dir: string, file: string) => path.relative(repoRoot, path.join(dir, file));

describe("a bundle whose record still holds is current", () => {
    it("right after its build, and the bundle holds every file it was built from", async () => {
        const { dir, bundle } = await builtPack();
        expect(bundleProblem(dir, bundle(), { data: DATA })).toBeUndefined();
        const text = bundle().toString("utf8");
        for (const marker of ["helper, as first written", "dep main", '"fixture": "one"']) {
            expect(text).toContain(marker);
        }
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, BUILD_MANIFEST), "utf8")) as {
            files: Record<string, string | null>;
        };
        expect(Object.keys(manifest.files)).toEqual(
            expect.arrayContaining(
                ["index.ts", "helper.ts", "sub/use.ts", "node_modules/dep/main.js", "tsconfig.json"].map((f) =>
                    rel(dir, f),
                ),
            ),
        );
        // A file esbuild never read is not part of the record.
        expect(Object.keys(manifest.files)).not.toContain(rel(dir, "node_modules/dep/other.js"));
    });

    it.each([
        ["a new folder (a folder never takes an import over)", (dir: string) => fs.mkdirSync(path.join(dir, "later"))],
        ["a file edited that was never bundled", (dir: string) => write(dir, "node_modules/dep/other.js", "changed")],
        [
            "a file rewritten with the same bytes",
            (dir: string) => write(dir, "helper.ts", fs.readFileSync(path.join(dir, "helper.ts"), "utf8")),
        ],
    ])("after %s", async (_what, change) => {
        const { dir, bundle } = await builtPack();
        change(dir);
        expect(bundleProblem(dir, bundle(), { data: DATA })).toBeUndefined();
    });
});

describe("anything a rebuild would see makes the bundle stale, named", () => {
    const cases: Array<[string, (dir: string) => void, (dir: string) => string]> = [
        [
            "a bundled source edited",
            (dir) => write(dir, "helper.ts", 'export const helper = "edited";\n'),
            (dir) => `${rel(dir, "helper.ts")} changed`,
        ],
        [
            "a new file that takes a relative import over (./helper resolves helper.tsx first)",
            (dir) => write(dir, "helper.tsx", 'export const helper = "shadow";\n'),
            (dir) => `the files in ${rel(dir, ".")}/ changed`,
        ],
        [
            "a nearer package that takes a bare import over",
            (dir) => write(dir, "sub/node_modules/dep/index.js", 'module.exports = "nearer";\n'),
            (dir) => `the files in ${rel(dir, "sub")}/ changed`,
        ],
        [
            "a package's main moved",
            (dir) => write(dir, "node_modules/dep/package.json", JSON.stringify({ name: "dep", main: "other.js" })),
            (dir) => `${rel(dir, "node_modules/dep/package.json")} changed`,
        ],
        [
            "the tsconfig.json esbuild reads",
            (dir) => write(dir, "tsconfig.json", JSON.stringify({ compilerOptions: { jsx: "preserve" } })),
            (dir) => `${rel(dir, "tsconfig.json")} changed`,
        ],
        [
            "a jsconfig.json that was not there",
            (dir) => write(dir, "sub/jsconfig.json", "{}"),
            (dir) => `${rel(dir, "sub/jsconfig.json")} changed`,
        ],
        [
            "the bundle edited by hand",
            (dir) => write(dir, BUILT_ENTRY, "// weakened\n"),
            () => "is not the bundle the manifest records",
        ],
        ["no manifest", (dir) => fs.rmSync(path.join(dir, BUILD_MANIFEST)), () => "no readable build manifest"],
        ["a manifest that is not JSON", (dir) => write(dir, BUILD_MANIFEST, "{"), () => "no readable build manifest"],
        [
            "a manifest of another format",
            (dir) => write(dir, BUILD_MANIFEST, '{"format": 0}'),
            () => "is not a build manifest of format 1",
        ],
    ];

    it.each(cases)("%s", async (_what, change, expected) => {
        const { dir } = await builtPack();
        change(dir);
        const problem = bundleProblem(dir, fs.readFileSync(path.join(dir, BUILT_ENTRY)), { data: DATA });
        expect(problem).toContain(expected(dir));
    });

    it("a manifest that lists nothing, or whose bundle hash was copied over, records no build", async () => {
        const { dir, bundle } = await builtPack();
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, BUILD_MANIFEST), "utf8")) as Record<string, unknown>;
        write(dir, BUILD_MANIFEST, JSON.stringify({ ...manifest, files: {}, folders: {} }));
        expect(bundleProblem(dir, bundle(), { data: DATA })).toContain("does not list what the bundle was built from");
        write(dir, BUILD_MANIFEST, JSON.stringify({ ...manifest, files: undefined }));
        expect(bundleProblem(dir, bundle(), { data: DATA })).toContain("lists no files or folders");
    });

    it("other data compiled in", async () => {
        const { dir, bundle } = await builtPack();
        const other = { fixture: "two" } as unknown as PackData;
        expect(bundleProblem(dir, bundle(), { data: other })).toBe(
            "the build's settings or the guardrails and governance data it compiles in changed",
        );
    });

    it("the rebuild after a change is current again, and holds the change", async () => {
        const { dir, bundle } = await builtPack();
        write(dir, "sub/node_modules/dep/index.js", 'module.exports = "nearer";\n');
        expect(bundleProblem(dir, bundle(), { data: DATA })).toBeDefined();
        await buildPolicyPack({ packDir: dir, data: DATA });
        expect(bundleProblem(dir, bundle(), { data: DATA })).toBeUndefined();
        expect(bundle().toString("utf8")).toContain("nearer");
    });
});
