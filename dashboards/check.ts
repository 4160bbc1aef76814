/**
 * Offline checks of a dashboard model, as strong as possible without a Grafana server: Grafana's dashboard JSON
 * Schema (plus the panel plugins' and the Prometheus query's schemas), unique panel ids, no overlapping panels,
 * every `$variable` defined, every datasource reference known, every PromQL expression parsed by Prometheus' own
 * grammar (@prometheus-io/lezer-promql) and reading only series the stack defines or the instrumentation
 * requirements name, and the summary's single-screen rule. Each returns problems naming the file and JSON pointer.
 */
import * as fs from "fs";
import * as path from "path";
import { ValidateFunction } from "ajv";
import type { parser as PromqlGrammar } from "@prometheus-io/lezer-promql" with { "resolution-mode": "import" };
import { CADENCE_METRIC, COST_METRIC } from "../core/conventions";
import { Guardrails } from "../core/guardrails";
import { histogramRequirements } from "../core/instrumentation";
import type { StackScope } from "../core/scope";
import { StackConfig } from "../core/stackConfig";
import { Problem, ajvProblems, cachedValidator, repoRoot, schemaCompiler } from "../core/validation";
import { RuleGroup, buildRuleGroups, isAlertingRule, isRecordingRule } from "../rules";
import { DATASOURCE_VARIABLE, DashboardJson, PanelJson, allPanels } from "./common";

export const SCHEMA_DIR = path.join(repoRoot, "dashboards", "schema");

/** Where synth writes a model; problems name this file. */
export function modelFile(uid: string): string {
    return `grafana/${uid}.json`;
}

// The published schemas need `strict: false` (they use keywords Ajv's strict mode does not know, such as
// `x-deprecation-message`); everything else about them is checked as written.
const compiler = schemaCompiler(false);
const loaded = new Set<string>();
const validators = new Map<string, ValidateFunction | undefined>();
const texts = new Map<string, { text: string; definitions: Record<string, unknown> } | undefined>();

/**
 * Where the published schemas contradict Grafana and the SDK that ships with them: CUE's "any" (`_`) was rendered
 * as `{"type": "object"}`, yet Grafana's own matchers take a string (`byFrameRefID` -> "B", which the SDK's
 * overrideByQuery writes) and override values are numbers, strings or objects. Only these two definitions are
 * relaxed, to "any JSON value"; the copied files stay verbatim (dashboards/schema/SOURCE.md).
 */
export const SCHEMA_CORRECTIONS: ReadonlyArray<{ schema: string; definition: string; property: string }> = [
    { schema: "dashboard", definition: "MatcherConfig", property: "options" },
    { schema: "dashboard", definition: "DynamicConfigValue", property: "value" },
];

/** Add a schema (its published text, corrected) to the compiler, once. */
function loadSchema(name: string, text: string): void {
    if (!loaded.has(name)) {
        const schema = JSON.parse(text) as {
            definitions: Record<string, { properties: Record<string, unknown> }>;
        };
        for (const c of SCHEMA_CORRECTIONS.filter((x) => x.schema === name)) {
            const def = schema.definitions[c.definition];
            if (!def?.properties?.[c.property]) {
                throw new Error(
                    `${path.join(SCHEMA_DIR, `${name}.jsonschema.json`)}: /definitions/${c.definition}/properties/${c.property} not found; SCHEMA_CORRECTIONS in dashboards/check.ts no longer matches the schema`,
                );
            }
            def.properties[c.property] = { description: `any JSON value (corrected, see dashboards/check.ts)` };
        }
        compiler.ajv.addSchema(schema, name);
        loaded.add(name);
    }
}

/** A schema file's text and definitions, as published (undefined when there is no such file). */
function schemaText(name: string): { text: string; definitions: Record<string, unknown> } | undefined {
    if (!texts.has(name)) {
        const file = path.join(SCHEMA_DIR, `${name}.jsonschema.json`);
        const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
        const definitions =
            text === undefined ? {} : ((JSON.parse(text) as { definitions?: object }).definitions ?? {});
        texts.set(name, text === undefined ? undefined : { text, definitions: definitions as Record<string, unknown> });
    }
    return texts.get(name);
}

/** The validator of a schema's root or one of its definitions; undefined when that schema or definition is absent. */
function validator(name: string, definition?: string): ValidateFunction | undefined {
    const key = `${name}#${definition ?? ""}`;
    if (!validators.has(key)) {
        const schema = schemaText(name);
        const present =
            schema !== undefined && (definition === undefined || Object.hasOwn(schema.definitions, definition));
        const compile = (): ValidateFunction => {
            loadSchema(name, (schema as { text: string }).text);
            return definition === undefined
                ? (compiler.ajv.getSchema(name) as ValidateFunction)
                : compiler.ajv.compile({ $ref: `${name}#/definitions/${definition}` });
        };
        validators.set(
            key,
            present
                ? cachedValidator(
                      compiler,
                      [name, definition ?? "", schema.text, JSON.stringify(SCHEMA_CORRECTIONS)],
                      compile,
                  )
                : undefined,
        );
    }
    return validators.get(key);
}

/** Panel plugins whose schemas are in dashboards/schema; a panel of any other type is a problem (it cannot be checked). */
export const CHECKED_PANEL_TYPES = ["stat", "timeseries", "gauge", "table", "text"] as const;

/** Grafana's dashboard schema, then each panel's options and custom field config, then each Prometheus query. */
export function schemaProblems(model: DashboardJson): Problem[] {
    const file = modelFile(model.uid);
    const problems: Problem[] = [];
    const check = (v: ValidateFunction | undefined, data: unknown, at: string) => {
        if (v && !v(data)) {
            problems.push(...ajvProblems(file, v.errors).map((p) => ({ ...p, path: at + p.path })));
        }
    };
    // Panels one by one against their own definition: against the schema's oneOf (Panel | RowPanel), a bad panel
    // would also be reported against the branch it was never meant to be.
    check(validator("dashboard"), { ...model, panels: [] }, "");
    (model.panels ?? []).forEach((p, i) => {
        const at = `/panels/${i}`;
        if (p.type === "row") {
            check(validator("dashboard", "RowPanel"), p, at);
            return;
        }
        check(validator("dashboard", "Panel"), p, at);
        if (!(CHECKED_PANEL_TYPES as readonly string[]).includes(p.type)) {
            problems.push({
                file,
                path: `${at}/type`,
                message: `panel type "${p.type}" has no schema in dashboards/schema; allowed: ${CHECKED_PANEL_TYPES.join(", ")}`,
            });
            return;
        }
        check(validator(p.type, "Options"), p.options ?? {}, `${at}/options`);
        const custom = p.fieldConfig?.defaults?.custom;
        if (custom !== undefined) {
            check(validator(p.type, "FieldConfig"), custom, `${at}/fieldConfig/defaults/custom`);
        }
        (p.targets ?? []).forEach((t, j) => check(validator("prometheus", "Dataquery"), t, `${at}/targets/${j}`));
    });
    return problems;
}

/** Every panel has an integer id > 0, unique in the dashboard (rows and panels inside rows included). */
export function panelIdProblems(model: DashboardJson): Problem[] {
    const file = modelFile(model.uid);
    const seen = new Map<number, string>();
    const problems: Problem[] = [];
    allPanels(model).forEach((p) => {
        const title = p.title ?? p.type;
        if (!Number.isInteger(p.id) || p.id <= 0) {
            problems.push({
                file,
                path: `/panels (${title})`,
                message: `panel id ${String(p.id)} is not a positive integer`,
            });
        } else if (seen.has(p.id)) {
            problems.push({
                file,
                path: `/panels (${title})`,
                message: `panel id ${p.id} is also used by "${seen.get(p.id)}"; ids must be unique`,
            });
        } else {
            seen.set(p.id, title);
        }
    });
    return problems;
}

function overlaps(a: PanelJson["gridPos"], b: PanelJson["gridPos"]): boolean {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** No two panels of the dashboard's grid overlap, and every panel fits the 24-column grid. */
export function gridProblems(model: DashboardJson): Problem[] {
    const file = modelFile(model.uid);
    const panels = model.panels ?? [];
    const problems: Problem[] = [];
    panels.forEach((p, i) => {
        if (!p.gridPos) {
            problems.push({
                file,
                path: `/panels/${i}/gridPos`,
                message: "missing; every panel needs an explicit position",
            });
            return;
        }
        if (p.gridPos.x + p.gridPos.w > 24) {
            problems.push({
                file,
                path: `/panels/${i}/gridPos`,
                message: `x + w = ${p.gridPos.x + p.gridPos.w}; allowed: at most 24 (the grid's columns)`,
            });
        }
        for (let j = 0; j < i; j++) {
            if (panels[j].gridPos && overlaps(p.gridPos, panels[j].gridPos)) {
                problems.push({
                    file,
                    path: `/panels/${i}/gridPos`,
                    message: `"${p.title ?? p.type}" overlaps "${panels[j].title ?? panels[j].type}" (/panels/${j})`,
                });
            }
        }
    });
    return problems;
}

/** Grafana's own variables (`$__interval`, `$__all`, ...) need no definition. */
function isBuiltin(name: string): boolean {
    return name.startsWith("__") || /^\d+$/.test(name);
}

/** Names of the variables a string refers to: `$name`, `${name}`, `${name:format}`, `[[name]]`. */
export function variableReferences(s: string): string[] {
    const names: string[] = [];
    for (const m of s.matchAll(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]/g)) {
        names.push(m[1] ?? m[2] ?? m[3]);
    }
    return names.filter((n) => !isBuiltin(n));
}

/** Every string in the model, with its JSON pointer. */
function strings(v: unknown, at = ""): Array<[string, string]> {
    if (typeof v === "string") {
        return [[at, v]];
    }
    if (Array.isArray(v)) {
        return v.flatMap((x, i) => strings(x, `${at}/${i}`));
    }
    if (v !== null && typeof v === "object") {
        return Object.entries(v).flatMap(([k, x]) => strings(x, `${at}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`));
    }
    return [];
}

/** Every `$variable` anywhere in the model (queries, titles, datasource refs, legends) is defined in templating. */
export function variableProblems(model: DashboardJson): Problem[] {
    const file = modelFile(model.uid);
    const defined = new Set((model.templating.list ?? []).map((v) => v.name));
    return strings(model).flatMap(([at, s]) =>
        variableReferences(s)
            .filter((n) => !defined.has(n))
            .map((n) => ({
                file,
                path: at,
                message: `refers to $${n}, which the dashboard does not define; defined: ${[...defined].join(", ") || "(none)"}`,
            })),
    );
}

/** Every datasource reference is the `datasource` variable or the stack's Prometheus uid, of type prometheus. */
export function datasourceProblems(
    model: DashboardJson,
    config: Pick<StackScope, "prometheusDatasourceUid">,
): Problem[] {
    const file = modelFile(model.uid);
    const allowed = [`\${${DATASOURCE_VARIABLE}}`, config.prometheusDatasourceUid];
    const problems: Problem[] = [];
    const visit = (v: unknown, at: string) => {
        if (Array.isArray(v)) {
            v.forEach((x, i) => visit(x, `${at}/${i}`));
        } else if (v !== null && typeof v === "object") {
            for (const [k, x] of Object.entries(v)) {
                if (k === "datasource" && x !== null && typeof x === "object") {
                    const ref = x as { type?: string; uid?: string };
                    if (!ref.uid || !allowed.includes(ref.uid)) {
                        problems.push({
                            file,
                            path: `${at}/datasource/uid`,
                            message: `unknown datasource uid ${JSON.stringify(ref.uid)}; allowed: ${allowed.join(", ")}`,
                        });
                    }
                    if (ref.type !== "prometheus") {
                        problems.push({
                            file,
                            path: `${at}/datasource/type`,
                            message: `datasource type ${JSON.stringify(ref.type)}; allowed: "prometheus"`,
                        });
                    }
                } else {
                    visit(x, `${at}/${k}`);
                }
            }
        }
    };
    visit(model.panels ?? [], "/panels");
    visit(model.templating.list ?? [], "/templating/list");
    const dsVar = (model.templating.list ?? []).find((v) => v.name === DATASOURCE_VARIABLE);
    if (!dsVar || dsVar.type !== "datasource" || dsVar.query !== "prometheus") {
        problems.push({
            file,
            path: "/templating/list",
            message: `needs a "${DATASOURCE_VARIABLE}" variable of type datasource over prometheus`,
        });
    } else if (dsVar.current?.value !== config.prometheusDatasourceUid) {
        problems.push({
            file,
            path: "/templating/list (datasource)/current/value",
            message: `defaults to ${JSON.stringify(dsVar.current?.value)}; allowed: the stack's prometheusDatasourceUid ${JSON.stringify(config.prometheusDatasourceUid)}`,
        });
    }
    return problems;
}

/** The summary's rule: every panel ends at or above `maxUnits` grid rows, and nothing repeats or collapses (which would push panels down). */
export function screenProblems(model: DashboardJson, maxUnits: number): Problem[] {
    const file = modelFile(model.uid);
    return allPanels(model).flatMap((p, i): Problem[] => {
        const problems: Problem[] = [];
        const bottom = p.gridPos ? p.gridPos.y + p.gridPos.h : Number.POSITIVE_INFINITY;
        if (bottom > maxUnits) {
            problems.push({
                file,
                path: `/panels/${i}/gridPos`,
                message: `"${p.title ?? p.type}" ends at row ${bottom}, below the fold; allowed: y + h <= ${maxUnits} (dashboards/design.ts visibleGridUnits)`,
            });
        }
        if (p.repeat || p.type === "row") {
            problems.push({
                file,
                path: `/panels/${i}`,
                message: `"${p.title ?? p.type}" is a row or repeats, so its height depends on the data; allowed on the single screen: plain panels`,
            });
        }
        return problems;
    });
}

/** One PromQL expression of a panel, with the values its variables take. */
export interface PanelQuery {
    readonly panelId: number;
    readonly panelTitle: string;
    readonly refId: string;
    /** JSON pointer of the expression in the model. */
    readonly path: string;
    /** As written, with Grafana variables. */
    readonly expr: string;
    /** One concrete expression per combination of variable values (what Prometheus receives). */
    readonly expanded: ReadonlyArray<{ readonly values: Readonly<Record<string, string>>; readonly expr: string }>;
}

/** The values a variable takes: its options (without "All") or its current value. */
function variableValues(model: DashboardJson, name: string): string[] {
    const v = (model.templating.list ?? []).find((x) => x.name === name);
    const flat = (x: string | string[] | undefined) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
    const fromOptions = (v?.options ?? []).flatMap((o) => flat(o.value)).filter((x) => x !== "$__all");
    return fromOptions.length > 0 ? fromOptions : flat(v?.current?.value).filter((x) => x !== "$__all");
}

/** Replace `$name` / `${name}` by a value. */
export function substitute(expr: string, values: Readonly<Record<string, string>>): string {
    return expr.replace(/\$\{(\w+)(?::[^}]*)?\}|\$(\w+)/g, (all, a: string | undefined, b: string | undefined) => {
        const name = a ?? b ?? "";
        return name in values ? values[name] : all;
    });
}

/** Every Prometheus expression of a model's panels, expanded over its variables' values. */
export function panelQueries(model: DashboardJson): PanelQuery[] {
    const out: PanelQuery[] = [];
    (model.panels ?? []).forEach((p, i) =>
        (p.targets ?? []).forEach((t, j) => {
            const names = [...new Set(variableReferences(t.expr))];
            let combos: Array<Record<string, string>> = [{}];
            for (const n of names) {
                combos = combos.flatMap((c) => variableValues(model, n).map((v) => ({ ...c, [n]: v })));
            }
            out.push({
                panelId: p.id,
                panelTitle: p.title ?? p.type,
                refId: t.refId,
                path: `/panels/${i}/targets/${j}/expr`,
                expr: t.expr,
                expanded: combos.map((values) => ({ values, expr: substitute(t.expr, values) })),
            });
        }),
    );
    return out;
}

// Prometheus' grammar, alone: the parser @prometheus-io/codemirror-promql wraps for its editor (the same grammar and
// top rule, without loading five @codemirror packages into synth, the pack and every test that checks a dashboard).
// The package is typed as an ES module, but ships CommonJS for require (its exports' "require" condition).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser: promqlGrammar } = require("@prometheus-io/lezer-promql") as { parser: typeof PromqlGrammar };
const promql = promqlGrammar.configure({ top: "PromQL" });

/** Parse with Prometheus' grammar: the syntax errors (as text positions) and the metric names the expression reads. */
export function parsePromQL(expr: string): { errors: number[]; metrics: string[] } {
    const errors: number[] = [];
    const metrics: string[] = [];
    promql.parse(expr).iterate({
        enter: (n) => {
            if (n.type.isError) {
                errors.push(n.from);
            }
            if (n.name === "Identifier" && n.node.parent?.name === "VectorSelector") {
                metrics.push(expr.slice(n.from, n.to));
            }
        },
    });
    return { errors, metrics };
}

/**
 * The series a dashboard may read: the stack's recording rules, ALERTS (written by its alerting rules), and the raw
 * series the instrumentation requirements name (SLI histograms, the cost exporter, the release pipeline).
 */
export function knownSeries(config: StackConfig, guardrails: Guardrails): Set<string> {
    const names = seriesDefinedBy(
        buildRuleGroups(config, guardrails),
        histogramRequirements(guardrails).map((h) => h.metric),
    );
    Object.values(COST_METRIC).forEach((m) => names.add(m));
    Object.values(CADENCE_METRIC).forEach((m) => names.add(m));
    return names;
}

/** The series some rule groups write (recordings, and ALERTS when any rule alerts) plus the given histograms' series. */
export function seriesDefinedBy(groups: readonly RuleGroup[], histogramMetrics: readonly string[]): Set<string> {
    const rules = groups.flatMap((g) => [...g.rules]);
    const names = new Set<string>(rules.filter(isRecordingRule).map((r) => r.record));
    if (rules.some(isAlertingRule)) {
        names.add("ALERTS");
    }
    for (const metric of histogramMetrics) {
        for (const suffix of ["_bucket", "_count", "_sum"]) {
            names.add(`${metric}${suffix}`);
        }
    }
    return names;
}

/** Every panel expression parses (after variable substitution) and reads only known series; so does the env variable's query. */
export function promqlProblems(model: DashboardJson, known: ReadonlySet<string>): Problem[] {
    const file = modelFile(model.uid);
    const problems: Problem[] = [];
    const checkExpr = (expr: string, at: string) => {
        const { errors, metrics } = parsePromQL(expr);
        if (errors.length > 0) {
            problems.push({ file, path: at, message: `PromQL does not parse at offset ${errors[0]}: ${expr}` });
        }
        for (const m of metrics.filter((x) => !known.has(x))) {
            problems.push({
                file,
                path: at,
                message: `reads ${m}, which neither the stack's rules define nor the instrumentation requirements name`,
            });
        }
    };
    for (const q of panelQueries(model)) {
        if (q.expanded.length === 0) {
            problems.push({ file, path: q.path, message: `uses a variable with no values: ${q.expr}` });
        }
        q.expanded.forEach((e) => checkExpr(e.expr, q.path));
    }
    (model.templating.list ?? []).forEach((v, i) => {
        const m = typeof v.query === "string" ? /^label_values\((.+),\s*(\w+)\)$/.exec(v.query) : null;
        if (v.type === "query") {
            if (!m) {
                problems.push({
                    file,
                    path: `/templating/list/${i}/query`,
                    message: `expected label_values(<series>, <label>), got ${JSON.stringify(v.query)}`,
                });
            } else {
                checkExpr(m[1], `/templating/list/${i}/query`);
            }
        }
    });
    return problems;
}

/** Every check that needs no external tool, for one model. */
export function dashboardProblems(
    model: DashboardJson,
    config: Pick<StackScope, "prometheusDatasourceUid">,
    known: ReadonlySet<string>,
): Problem[] {
    return [
        ...schemaProblems(model),
        ...panelIdProblems(model),
        ...gridProblems(model),
        ...variableProblems(model),
        ...datasourceProblems(model, config),
        ...promqlProblems(model, known),
    ];
}
