/**
 * Stacks whose rules one Prometheus evaluates (the same namespace of the same cluster, or the same AMP workspace)
 * must stay apart: no rule object name in common, no recorded or alert series in common, and SLI selectors that
 * cannot read each other's traffic. Pure: callers (`npm run validate`, the program's preflight) read the stack files.
 */
import { PROJECT } from "../core/conventions";
import { StackConfig } from "../core/stackConfig";
import { Problem } from "../core/validation";
import { isAlertingRule, RuleSet } from "./types";

/** One stack as the check sees it: its config and the rule sets built from it. */
export interface PlacedStack {
    readonly config: StackConfig;
    readonly sets: readonly RuleSet[];
}

/** Every series a stack's rules write, as `name{label="value",...}` with the rules' own labels, sorted. */
export function writtenSeries(sets: readonly RuleSet[]): string[] {
    const series = sets.flatMap((s) =>
        s.groups.flatMap((g) =>
            g.rules.map((r) => {
                const labels = isAlertingRule(r) ? { alertname: r.alert, ...r.labels } : r.labels;
                const body = Object.keys(labels)
                    .sort()
                    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
                    .join(",");
                return `${isAlertingRule(r) ? "ALERTS" : r.record}{${body}}`;
            }),
        ),
    );
    return [...new Set(series)].sort();
}

/**
 * A label both stacks' sliMatchers set, to different values: then no series is selected by both. Equality matchers
 * only, so this is exact: without such a label some series (one carrying both scopes' labels) is read by both.
 */
export function separatingLabel(a: StackConfig, b: StackConfig): string | undefined {
    return Object.keys(a.sliMatchers).find((l) => l in b.sliMatchers && b.sliMatchers[l] !== a.sliMatchers[l]);
}

/**
 * Problems of each later stack against every earlier one with the same rule placement: a shared rule object name,
 * a shared written series, or SLI selectors that overlap. Each names the stack file, the key to change and what is
 * allowed.
 */
export function stacksApartProblems(stacks: readonly PlacedStack[]): Problem[] {
    const problems: Problem[] = [];
    const configs = stacks.map((s) => s.config);
    const names = new Map(stacks.map((s) => [s.config, s.sets.map((x) => x.name)]));
    const series = new Map(stacks.map((s) => [s.config, writtenSeries(s.sets)]));
    configs.forEach((b, j) => {
        for (const a of configs.slice(0, j)) {
            if (a.rulePlacement !== b.rulePlacement) {
                continue;
            }
            const where = `stacks ${a.stack} (${a.sourceFile}) and ${b.stack} share ${b.rulePlacement}`;
            /** Both stacks would write `what` (the first of `both` named, the rest counted). */
            const bothWrite = (what: string, both: readonly string[]) => {
                if (both.length > 0) {
                    problems.push({
                        file: b.sourceFile,
                        path: `${PROJECT}:environment`,
                        message: `${where} and would both write ${what} ${both[0]}${both.length > 1 ? ` (and ${both.length - 1} more)` : ""}; allowed: an environment no other stack there uses, or another ruleTarget`,
                    });
                }
            };
            bothWrite(
                "rule object",
                names.get(b)!.filter((n) => names.get(a)!.includes(n)),
            );
            bothWrite(
                "the series",
                series.get(b)!.filter((s) => series.get(a)!.includes(s)),
            );
            if (separatingLabel(a, b) === undefined) {
                const example = Object.keys(a.sliMatchers)[0] ?? "namespace";
                problems.push({
                    file: b.sourceFile,
                    path: `${PROJECT}:sliMatchers`,
                    message: `${where}, and their SLI selectors can read the same series (sliMatchers ${JSON.stringify(a.sliMatchers)} and ${JSON.stringify(b.sliMatchers)}), so one stack's traffic would count in the other's SLOs; allowed: sliMatchers giving a label both stacks set a different value (e.g. ${example}), or another ruleTarget`,
                });
            }
        }
    });
    return problems;
}
