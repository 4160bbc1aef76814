import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RunError } from "@pulumi/pulumi/errors";
import { plannedOnce } from "../core/component";
import { CostBudgets } from "../components/costBudgets";
import { GuardrailRules } from "../components/prometheusRules";
import { shippedStackConfig } from "../offline/shippedStacks";
import { guardrails } from "./helpers";
import {
    DeployRefusal,
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENT_NODES,
    Problem,
    ValidationError,
    ajvProblems,
    cachedValidator,
    displayPath,
    findRepoRoot,
    parseYamlBounded,
    preflight,
    readDataFile,
    repoRoot,
    schemaCacheFile,
    schemaCompiler,
    schemaValidator,
    validateAgainstSchema,
} from "../core/validation";

// Each test gets its own folder under the OS temp dir, removed after it.
let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-validation-"));
});
afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return file;
}

/** What `run` throws, checked to be a ValidationError. */
function refusalOf(run: () => unknown): ValidationError {
    try {
        run();
    } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return err as ValidationError;
    }
    throw new Error("expected a ValidationError");
}

/** The message of what `run` throws. */
function errorOf(run: () => unknown): string {
    try {
        run();
    } catch (err) {
        return (err as Error).message;
    }
    throw new Error("expected an error");
}

const TOO_MANY_VALUES = `expands to more than ${MAX_DOCUMENT_NODES} values (YAML aliases, \`*name\`, repeat what they point at); allowed: at most ${MAX_DOCUMENT_NODES} values once aliases are expanded`;

describe("the errors Pulumi prints as their message alone", () => {
    it("a ValidationError is a Pulumi RunError named ValidationError, one line per problem, / for the document itself", () => {
        const problems: Problem[] = [
            { file: "guardrails.yaml", path: "", message: "cannot parse: bad" },
            { file: "stack.json", path: "/accounts/0", message: 'missing required key "region"' },
        ];
        const err = new ValidationError(problems);
        expect(err).toBeInstanceOf(Error);
        expect(err.name).toBe("ValidationError");
        expect(err.problems).toEqual(problems);
        expect(err.message).toBe(
            'guardrails.yaml: /: cannot parse: bad\nstack.json: /accounts/0: missing required key "region"',
        );
        // The Pulumi SDK's test (the flag, not the class): its language host then prints no stack trace.
        expect(err.__pulumiRunError).toBe(true);
        expect(RunError.isInstance(err)).toBe(true);
    });

    it("a DeployRefusal is a Pulumi RunError named DeployRefusal, with its message as given", () => {
        const err = new DeployRefusal("the dev stack cannot deploy");
        expect(err).toBeInstanceOf(Error);
        expect(err.name).toBe("DeployRefusal");
        expect(err.message).toBe("the dev stack cannot deploy");
        expect(err.__pulumiRunError).toBe(true);
        expect(RunError.isInstance(err)).toBe(true);
    });
});

describe("the repository root is the nearest folder holding Pulumi.yaml", () => {
    it("is found from the sources: the folder above core/", () => {
        expect(repoRoot).toBe(path.resolve(__dirname, ".."));
        expect(fs.existsSync(path.join(repoRoot, "Pulumi.yaml"))).toBe(true);
        expect(findRepoRoot(path.join(repoRoot, "core"))).toBe(repoRoot);
    });

    it("is found from a folder two levels below it, and is the folder itself when it holds the file", () => {
        write("project/Pulumi.yaml", "name: x\n");
        const nested = path.join(dir, "project", "a", "b");
        fs.mkdirSync(nested, { recursive: true });
        expect(findRepoRoot(nested)).toBe(path.join(dir, "project"));
        expect(findRepoRoot(path.join(dir, "project"))).toBe(path.join(dir, "project"));
    });

    it("is undefined when no folder up to the filesystem's root holds Pulumi.yaml", () => {
        const nested = path.join(dir, "a", "b");
        fs.mkdirSync(nested, { recursive: true });
        expect(findRepoRoot(nested)).toBeUndefined();
    });
});

describe("displayPath names a file relative to the repository when it is inside, as given when it is not", () => {
    it("is relative inside the repository", () => {
        expect(displayPath(path.join(repoRoot, "core", "validation.ts"))).toBe(path.join("core", "validation.ts"));
    });

    it("is the path as given outside the repository: a temp file, and the repository's parent folder itself", () => {
        const file = path.join(dir, "guardrails.yaml");
        expect(displayPath(file)).toBe(file);
        const parent = path.dirname(repoRoot);
        expect(displayPath(parent)).toBe(parent);
    });

    it('is relative for a folder inside the repository whose name starts with ".." ("..foo" is not the parent)', () => {
        expect(displayPath(path.join(repoRoot, "..foo"))).toBe("..foo");
        expect(displayPath(path.join(repoRoot, "..foo", "x.yaml"))).toBe(path.join("..foo", "x.yaml"));
    });
});

describe("schema validation lists every problem with the allowed value", () => {
    const schema = {
        type: "object",
        additionalProperties: false,
        required: ["kind", "level", "owner"],
        properties: {
            kind: { const: "alert" },
            level: { enum: ["low", "high"] },
            count: { type: "integer" },
            labels: { type: "object", additionalProperties: false },
            owner: { type: "string" },
        },
    };

    it("names a missing key, an unknown key and the allowed ones ((none) for an object with no properties), const, enum and any other keyword", () => {
        const schemaFile = write("alert.schema.json", JSON.stringify(schema));
        const data = { kind: "page", level: "mid", count: 1.5, labels: { team: "x" }, extra: true };
        const err = refusalOf(() => validateAgainstSchema(data, schemaFile, "alerts.yaml"));
        expect(err.message).toBe(
            [
                'alerts.yaml: /: missing required key "owner"',
                'alerts.yaml: /: unknown key "extra"; allowed keys: kind, level, count, labels, owner',
                'alerts.yaml: /kind: must be "alert"',
                'alerts.yaml: /level: must be one of "low", "high"',
                "alerts.yaml: /count: must be integer",
                'alerts.yaml: /labels: unknown key "team"; allowed keys: (none)',
            ].join("\n"),
        );
        expect(err.problems[0]).toEqual({ file: "alerts.yaml", path: "", message: 'missing required key "owner"' });
    });

    it("returns the data itself when it conforms", () => {
        const schemaFile = write("alert.schema.json", JSON.stringify(schema));
        const data = { kind: "alert", level: "low", owner: "sre" };
        expect(validateAgainstSchema(data, schemaFile, "alerts.yaml")).toBe(data);
    });

    it("compiles a schema file once: the same validator by any path, the file not read again", () => {
        const schemaFile = write("once.schema.json", JSON.stringify({ type: "string" }));
        const validate = schemaValidator(schemaFile);
        fs.writeFileSync(schemaFile, JSON.stringify({ type: "number" }));
        expect(schemaValidator(path.relative(process.cwd(), schemaFile))).toBe(validate);
        expect(validate("text")).toBe(true);
    });

    it("gives two schema files with the same $id the validator compiled first", () => {
        const $id = "https://maestro.invalid/test/validation/same.json";
        const first = schemaValidator(write("a.schema.json", JSON.stringify({ $id, type: "string" })));
        expect(schemaValidator(write("b.schema.json", JSON.stringify({ $id, type: "string" })))).toBe(first);
    });
});

describe("compiled validators are kept between processes (.cache/schemas)", () => {
    // A schema no other test uses, so its cache file is this test's own.
    const uniqueSchema = () => ({
        $comment: `test/validation.test.ts ${process.pid} ${Math.random()}`,
        type: "object",
        properties: { kind: { const: "alert" }, count: { type: "integer" } },
        required: ["kind"],
        additionalProperties: false,
    });
    const kept: string[] = [];
    afterAll(() => kept.forEach((f) => fs.rmSync(f, { force: true })));
    const compileCounting = (schema: object) => {
        const compiler = schemaCompiler(true);
        const calls = { n: 0 };
        const compile = () => {
            calls.n++;
            return compiler.ajv.compile(schema);
        };
        return { compiler, calls, compile };
    };
    const options = schemaCompiler(true).options;
    const bad = { count: 1.5, team: "sre" };
    /** A fresh schema whose cache file already holds `text`. */
    const planted = (text: string) => {
        const schema = uniqueSchema();
        const key = [JSON.stringify(schema)];
        const file = schemaCacheFile(options, key);
        kept.push(file);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
        return { schema, key, file };
    };

    it("compiles once, then loads the kept code, which reports the very same errors", () => {
        const schema = uniqueSchema();
        const key = [JSON.stringify(schema)];
        const file = schemaCacheFile(options, key);
        kept.push(file);
        expect(fs.existsSync(file)).toBe(false);
        const first = compileCounting(schema);
        const compiled = cachedValidator(first.compiler, key, first.compile);
        expect(first.calls.n).toBe(1);
        expect(fs.existsSync(file)).toBe(true);
        const second = compileCounting(schema);
        const loaded = cachedValidator(second.compiler, key, second.compile);
        expect(second.calls.n).toBe(0);
        expect(loaded).not.toBe(compiled);
        expect(compiled(bad)).toBe(false);
        expect(loaded(bad)).toBe(false);
        expect(ajvProblems("a.yaml", loaded.errors)).toEqual(ajvProblems("a.yaml", compiled.errors));
        expect(ajvProblems("a.yaml", loaded.errors).map((p) => p.message)).toContain(
            'unknown key "team"; allowed keys: kind, count',
        );
        expect(loaded({ kind: "alert" })).toBe(true);
    });

    it("loads nothing from the cache under a real engine (pulumi up/preview): a validator planted there is not used", () => {
        const { schema, key } = planted("module.exports = () => true;\n");
        const saved = process.env.PULUMI_NODEJS_MONITOR;
        process.env.PULUMI_NODEJS_MONITOR = "127.0.0.1:1";
        try {
            const deploy = compileCounting(schema);
            expect(cachedValidator(deploy.compiler, key, deploy.compile)(bad)).toBe(false);
            expect(deploy.calls.n).toBe(1);
        } finally {
            if (saved === undefined) {
                delete process.env.PULUMI_NODEJS_MONITOR;
            } else {
                process.env.PULUMI_NODEJS_MONITOR = saved;
            }
        }
        // Outside a deploy the cache is trusted as the tools' own (what the release gate checks is the code).
        const offline = compileCounting(schema);
        expect(cachedValidator(offline.compiler, key, offline.compile)(bad)).toBe(true);
        expect(offline.calls.n).toBe(0);
    });

    it("keeps another schema, or the same one under other options, under another name", () => {
        const schema = uniqueSchema();
        const key = [JSON.stringify(schema)];
        expect(schemaCacheFile(options, [JSON.stringify(uniqueSchema())])).not.toBe(schemaCacheFile(options, key));
        expect(schemaCacheFile({ ...options, allErrors: false }, key)).not.toBe(schemaCacheFile(options, key));
    });

    it("names a kept validator by Ajv's version too: an upgraded Ajv never loads the code an older one generated", () => {
        const key = [JSON.stringify(uniqueSchema())];
        const version = (
            JSON.parse(fs.readFileSync(require.resolve("ajv/package.json"), "utf8")) as { version: string }
        ).version;
        const name = createHash("sha256")
            .update(JSON.stringify([version, options, ...key]))
            .digest("hex");
        expect(path.basename(schemaCacheFile(options, key))).toBe(`${name}.js`);
    });

    it("compiles again when the kept file loads but holds no validator", () => {
        const { schema, key } = planted("module.exports = { validate: () => true };\n");
        const first = compileCounting(schema);
        const validate = cachedValidator(first.compiler, key, first.compile);
        expect(first.calls.n).toBe(1);
        expect(validate(bad)).toBe(false);
    });

    it("makes one Ajv per compiler, on its first compile, with every schema of the compiler in it", () => {
        const compiler = schemaCompiler(true);
        expect(compiler.ajv).toBe(compiler.ajv);
        compiler.ajv.addSchema({ $id: "maestro-test-kind", type: "string", enum: ["alert"] });
        const validate = compiler.ajv.compile({ type: "object", properties: { kind: { $ref: "maestro-test-kind" } } });
        expect(validate({ kind: "alert" })).toBe(true);
        expect(validate({ kind: "other" })).toBe(false);
    });

    it("compiles a union type without a strict-mode warning (allowUnionTypes)", () => {
        const warned = jest.spyOn(console, "warn").mockImplementation(() => undefined);
        try {
            const validate = schemaCompiler(true).ajv.compile({ type: ["string", "integer"] });
            expect([validate("a"), validate(1), validate(1.5)]).toEqual([true, true, false]);
            expect(warned).not.toHaveBeenCalled();
        } finally {
            warned.mockRestore();
        }
    });

    it("gives a second schema file with the same $id the first's validator", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-schema-id-"));
        const id = `https://maestro.example/test/${process.pid}-${Math.random()}.json`;
        const write = (name: string, schema: object) => {
            const file = path.join(dir, name);
            fs.writeFileSync(file, JSON.stringify(schema));
            return file;
        };
        const first = schemaValidator(write("a.json", { $id: id, type: "string" }));
        const second = schemaValidator(write("b.json", { $id: id, type: "string", $comment: "another file" }));
        expect(second).toBe(first);
    });

    it("compiles again, and keeps the code again, when the kept file cannot be loaded", () => {
        const { schema, key, file } = planted("module.exports = (");
        const first = compileCounting(schema);
        expect(cachedValidator(first.compiler, key, first.compile)(bad)).toBe(false);
        expect(first.calls.n).toBe(1);
        // The next process loads what was written again (this one holds the broken text in jest's module cache).
        const next = spawnSync(
            process.execPath,
            [
                "-e",
                `const v = require(${JSON.stringify(file)}); process.exit(v(${JSON.stringify(bad)}) === false ? 0 : 1)`,
            ],
            { encoding: "utf8" },
        );
        expect(next.stderr).toBe("");
        expect(next.status).toBe(0);
    });
});

describe("readDataFile reads YAML or JSON by the file's extension, naming the file in every refusal", () => {
    it("reads .yaml and .yml as YAML and .json as JSON", () => {
        expect(readDataFile(write("a.yaml", "kind: alert\nlevels: [low, high]\n"))).toEqual({
            kind: "alert",
            levels: ["low", "high"],
        });
        expect(readDataFile(write("a.yml", "kind: alert\n"))).toEqual({ kind: "alert" });
        expect(readDataFile(write("a.json", '{"kind": "alert", "count": 2}'))).toEqual({ kind: "alert", count: 2 });
    });

    it("refuses a .json file written in YAML-only syntax as JSON", () => {
        const file = write("a.json", "kind: alert\n");
        expect(refusalOf(() => readDataFile(file)).problems).toEqual([
            {
                file,
                path: "",
                message: `cannot parse: Unexpected token 'k', "kind: alert\n" is not valid JSON`,
            },
        ]);
    });

    it("refuses a missing file with the allowed value", () => {
        const file = path.join(dir, "missing.yaml");
        expect(refusalOf(() => readDataFile(file)).message).toBe(
            `${file}: /: does not exist; allowed: the path of a readable YAML or JSON file`,
        );
    });

    it("refuses a folder as unreadable, with the reason and the allowed value", () => {
        expect(refusalOf(() => readDataFile(dir)).message).toBe(
            `${dir}: /: cannot be read (EISDIR: illegal operation on a directory, read); allowed: the path of a readable YAML or JSON file`,
        );
    });

    it("refuses a YAML syntax error with the file, line and column of the parser's message", () => {
        const file = write("broken.yaml", "kind: [alert\n");
        expect(refusalOf(() => readDataFile(file)).problems).toEqual([
            {
                file,
                path: "",
                message: `cannot parse: unexpected end of the stream within a flow collection in "${file}" (2:1)\n\n 1 | kind: [alert\n 2 | \n-----^`,
            },
        ]);
    });

    it("names the file relative to the repository when it is inside", () => {
        const rel = path.join("test", `.validation-missing-${process.pid}.yaml`);
        expect(refusalOf(() => readDataFile(path.join(repoRoot, rel))).problems[0].file).toBe(rel);
    });
});

describe("documents are bounded in bytes", () => {
    it("reads a YAML document of exactly the allowed bytes, refuses one byte more (bytes, not characters)", () => {
        const exact = "x: " + "y".repeat(MAX_DOCUMENT_BYTES - 3);
        expect(parseYamlBounded(exact, "a.yaml")).toEqual({ x: "y".repeat(MAX_DOCUMENT_BYTES - 3) });
        // Two bytes per "é": half as many characters as bytes.
        const over = "x: " + "é".repeat((MAX_DOCUMENT_BYTES - 2) / 2);
        expect(over.length).toBeLessThan(MAX_DOCUMENT_BYTES);
        expect(errorOf(() => parseYamlBounded(over, "a.yaml"))).toBe(
            `is ${MAX_DOCUMENT_BYTES + 1} bytes; allowed: at most ${MAX_DOCUMENT_BYTES} bytes`,
        );
    });

    it("bounds a .json file the same way", () => {
        const exact = write("exact.json", `{"x":"${"y".repeat(MAX_DOCUMENT_BYTES - 8)}"}`);
        expect(readDataFile(exact)).toEqual({ x: "y".repeat(MAX_DOCUMENT_BYTES - 8) });
        const over = write("over.json", `{"x":"${"y".repeat(MAX_DOCUMENT_BYTES - 7)}"}`);
        expect(refusalOf(() => readDataFile(over)).message).toBe(
            `${over}: /: cannot parse: is ${MAX_DOCUMENT_BYTES + 1} bytes; allowed: at most ${MAX_DOCUMENT_BYTES} bytes`,
        );
    });
});

describe("documents are bounded in values, aliases expanded", () => {
    it("counts the document and each scalar once, null included: one value more than allowed is refused", () => {
        // A sequence of n scalars is n + 1 values.
        const scalars = (n: number): string =>
            "[~, 0, " +
            Array(n - 2)
                .fill("a")
                .join(", ") +
            "]";
        expect(parseYamlBounded(scalars(MAX_DOCUMENT_NODES - 1), "a.yaml")).toHaveLength(MAX_DOCUMENT_NODES - 1);
        expect(errorOf(() => parseYamlBounded(scalars(MAX_DOCUMENT_NODES), "a.yaml"))).toBe(TOO_MANY_VALUES);
    });

    it("counts a map once and each of its values once, not its keys", () => {
        // n maps of one key: 2n values, the sequence and a last item 2 more.
        const n = (MAX_DOCUMENT_NODES - 2) / 2;
        const maps = "[" + "{k: a}, ".repeat(n);
        expect(parseYamlBounded(maps + "~]", "a.yaml")).toHaveLength(n + 1);
        expect(errorOf(() => parseYamlBounded(maps + "{k: a}]", "a.yaml"))).toBe(TOO_MANY_VALUES);
    });

    it("counts an aliased sequence again at each alias", () => {
        // The document 1, `a` 1 + 9, `b` 1 + 10 per alias + the scalars after them.
        const aliases = (N: number, scalars: number): string =>
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: [" + "*a, ".repeat(N) + Array(scalars).fill("0").join(", ") + "]\n";
        expect(parseYamlBounded(aliases(9998, 8), "a.yaml")).toHaveProperty("b.length", 9998 + 8);
        expect(errorOf(() => parseYamlBounded(aliases(9998, 9), "a.yaml"))).toBe(TOO_MANY_VALUES);
    });

    it("refuses a kilobyte alias bomb in a file within a second", () => {
        const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
        for (let i = 1; i <= 9; i++) {
            lines.push(
                `a${i}: &a${i} [${Array(9)
                    .fill(`*a${i - 1}`)
                    .join(",")}]`,
            );
        }
        const file = write("bomb.yaml", lines.join("\n") + "\n");
        const started = Date.now();
        expect(refusalOf(() => readDataFile(file)).message).toBe(`${file}: /: cannot parse: ${TOO_MANY_VALUES}`);
        expect(Date.now() - started).toBeLessThan(1000);
    });

    it("refuses a sequence that holds itself through an alias, within a second (counted as pushed, not as popped)", () => {
        // Counting values as they came off the stack, each one counted pushed the sequence's whole length again:
        // seconds and gigabytes for 10 KB, then "Invalid array length".
        const started = Date.now();
        expect(errorOf(() => parseYamlBounded("a: &a [" + "0, ".repeat(4999) + "*a]\n", "a.yaml"))).toBe(
            TOO_MANY_VALUES,
        );
        expect(Date.now() - started).toBeLessThan(1000);
    });

    it("refuses a sequence longer than allowed with the bound's message, not a call stack overflow", () => {
        const long = "[" + "0,".repeat(2 * MAX_DOCUMENT_NODES) + "0]";
        expect(Buffer.byteLength(long)).toBeLessThan(MAX_DOCUMENT_BYTES);
        expect(errorOf(() => parseYamlBounded(long, "a.yaml"))).toBe(TOO_MANY_VALUES);
    });

    it("bounds a .json file's values the same way", () => {
        const file = write("long.json", "[" + Array(MAX_DOCUMENT_NODES).fill(0).join(",") + "]");
        expect(refusalOf(() => readDataFile(file)).message).toBe(`${file}: /: cannot parse: ${TOO_MANY_VALUES}`);
    });
});

describe("preflight runs every plan before any resource is registered, and refuses with every failure", () => {
    it("passes when no plan throws, having run each once", () => {
        const plans = { guardrails: jest.fn(), budgets: jest.fn() };
        expect(() => preflight("dev", plans)).not.toThrow();
        expect(plans.guardrails).toHaveBeenCalledTimes(1);
        expect(plans.budgets).toHaveBeenCalledTimes(1);
    });

    it("refuses with each problem of a failing plan on its own line, prefixed by the plan, and still runs the others", () => {
        const after = jest.fn();
        const plans = {
            guardrails: () => {
                throw new ValidationError([
                    { file: "guardrails.yaml", path: "", message: "cannot parse: bad" },
                    { file: "guardrails.yaml", path: "/slo", message: 'missing required key "objectives"' },
                ]);
            },
            budgets: after,
        };
        let err: unknown;
        try {
            preflight("dev", plans);
        } catch (e) {
            err = e;
        }
        expect(err).toBeInstanceOf(DeployRefusal);
        expect((err as Error).message).toBe(
            [
                "the dev stack cannot deploy; nothing was registered:",
                "  guardrails: guardrails.yaml: /: cannot parse: bad",
                '  guardrails: guardrails.yaml: /slo: missing required key "objectives"',
            ].join("\n"),
        );
        expect(after).toHaveBeenCalledTimes(1);
    });

    it("lists the failures of several plans in order, an Error's message as is, a multi-line message indented", () => {
        const plans: Record<string, () => unknown> = {
            dashboards: () => {
                throw new ValidationError([
                    { file: "a.yaml", path: "", message: "cannot parse: bad indentation (1:3)\n\n 1 | a:\n-----^" },
                ]);
            },
            rules: () => undefined,
            budgets: () => {
                throw new TypeError("caps is not iterable");
            },
            routing: () => {
                throw new Error("no receiver for team sre\nand none for team data");
            },
        };
        expect(errorOf(() => preflight("prod", plans))).toBe(
            [
                "the prod stack cannot deploy; nothing was registered:",
                "  dashboards: a.yaml: /: cannot parse: bad indentation (1:3)",
                "    ",
                "     1 | a:",
                "    -----^",
                "  budgets: caps is not iterable",
                "  routing: no receiver for team sre",
                "    and none for team data",
            ].join("\n"),
        );
    });
});

describe("a component's plan runs once per args object (the preflight's, then the constructor's)", () => {
    it("returns the first result for the same args, plans new args afresh, and keeps no refusal", () => {
        let runs = 0;
        const plan = plannedOnce((args: { n: number }) => {
            runs++;
            if (args.n < 0) {
                throw new Error(`refused ${args.n}`);
            }
            return { doubled: args.n * 2 };
        });
        const args = { n: 2 };
        const first = plan(args);
        expect(plan(args)).toBe(first);
        expect(runs).toBe(1);
        expect(plan({ n: 2 })).toEqual(first);
        expect(runs).toBe(2);
        const bad = { n: -1 };
        expect(() => plan(bad)).toThrow("refused -1");
        expect(() => plan(bad)).toThrow("refused -1");
        expect(runs).toBe(4);
    });

    it("is how the stack's components plan: the constructor takes what the preflight computed", () => {
        const config = shippedStackConfig("dev");
        const rulesArgs = { config, guardrails };
        expect(GuardrailRules.plan(rulesArgs)).toBe(GuardrailRules.plan(rulesArgs));
        expect(GuardrailRules.plan({ config, guardrails })).not.toBe(GuardrailRules.plan(rulesArgs));
        const budgetArgs = { config, guardrails };
        expect(CostBudgets.plan(budgetArgs)).toBe(CostBudgets.plan(budgetArgs));
    });
});
