// ESLint flat config: typescript-eslint's recommended type-checked rules, Pulumi's own rules (an Output
// interpolated into a string renders as a warning text, not the value), and the layout's boundaries
// (docs/CONTRIBUTING.md): what `pulumi up` loads never reaches the offline engine or the verification tooling,
// pure builders never touch the Pulumi SDK, and no module takes part in an import cycle.
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";
import importX from "eslint-plugin-import-x";

/** Folders `pulumi up` and the policy pack load; neither may import the offline engine or verification. */
const DEPLOYED = ["index.ts", "core/**/*.ts", "components/**/*.ts", "kit/**/*.ts", "policies/**/*.ts"];
/** Pure builders: data in, data out, testable without any engine. */
const BUILDERS = [
    "collector/**/*.ts",
    "rules/**/*.ts",
    "routing/**/*.ts",
    "dashboards/**/*.ts",
    "budgets/**/*.ts",
    "governance/**/*.ts",
    "provenance/**/*.ts",
];
const TOOLING = [
    {
        group: ["**/offline", "**/offline/*"],
        message: "the offline engine (mock runtime, synth, analyzer) is tooling; `pulumi up` never loads it",
    },
    {
        group: ["**/verify", "**/verify/*"],
        message: "verification tooling (promtool suites, measurement, bench) never ships with the stack",
    },
    {
        group: ["**/scripts", "**/scripts/*"],
        message: "scripts are command-line entry points; import the module they call instead",
    },
    { group: ["**/test", "**/test/*"], message: "tests are never imported by code" },
];
const SDK = {
    group: ["@pulumi/*", "@pulumiverse/*"],
    message: "builders are pure: components hand their data to providers",
};

export default tseslint.config(
    {
        ignores: [
            "node_modules/**",
            "**/node_modules/**",
            "bin/**",
            "out/**",
            "coverage/**",
            "reports/**",
            ".stryker-tmp/**",
            "test-artifacts/**",
            "policies/dist/**",
            "**/*.js",
            "**/*.mjs",
        ],
    },
    ...tseslint.configs.recommendedTypeChecked,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { project: ["./tsconfig.test.json"], tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi, "import-x": importX },
        settings: { "import-x/extensions": [".ts"], "import-x/resolver": { node: { extensions: [".ts", ".js"] } } },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
            "import-x/no-cycle": ["error", { ignoreExternal: true }],
            eqeqeq: "error",
        },
    },
    {
        // Jest's asymmetric matchers (expect.any, expect.stringContaining) are typed `any`, and browser callbacks
        // run in a page whose DOM types this Node project does not load: the unsafe-any rules only add noise there.
        files: ["test/**/*.ts"],
        rules: {
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-return": "off",
            "@typescript-eslint/no-unsafe-call": "off",
        },
    },
    { files: DEPLOYED, rules: { "no-restricted-imports": ["error", { patterns: TOOLING }] } },
    { files: BUILDERS, rules: { "no-restricted-imports": ["error", { patterns: [...TOOLING, SDK] }] } },
);
