/**
 * The annotation text Prometheus sends for an alert that fired with a given value: the `{{ $value | ... }}` fragments
 * the rule builders use (rules/design.ts VALUE), rendered as Prometheus' template functions render them. promtool
 * compares annotations as rendered text, so the suites state the value they expect and this writes the text.
 */
import { VALUE } from "../rules/design";

/** Go's `%.4g`: four significant digits, trailing zeros dropped, exponent form outside 1e-4 <= |x| < 1e4. */
export function goG4(x: number): string {
    if (x === 0) {
        return "0";
    }
    if (!Number.isFinite(x)) {
        return Number.isNaN(x) ? "NaN" : x > 0 ? "+Inf" : "-Inf";
    }
    const [mantissa, exp] = x.toExponential(3).split("e");
    const e = Number(exp);
    const trim = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
    if (e < -4 || e >= 4) {
        return `${trim(mantissa)}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
    }
    return trim(x.toFixed(Math.max(0, 3 - e)));
}

/** Prometheus' `humanize`: SI prefixes (k, M, G, ... / m, u, n, ...) on four significant digits. */
export function humanize(v: number): string {
    if (v === 0 || !Number.isFinite(v)) {
        return goG4(v);
    }
    if (Math.abs(v) >= 1) {
        let prefix = "";
        for (const p of ["k", "M", "G", "T", "P", "E", "Z", "Y"]) {
            if (Math.abs(v) < 1000) {
                break;
            }
            prefix = p;
            v /= 1000;
        }
        return `${goG4(v)}${prefix}`;
    }
    let prefix = "";
    for (const p of ["m", "u", "n", "p", "f", "a", "z", "y"]) {
        if (Math.abs(v) >= 1) {
            break;
        }
        prefix = p;
        v *= 1000;
    }
    return `${goG4(v)}${prefix}`;
}

/** Prometheus' `humanizePercentage`: the ratio times 100, four significant digits, and a `%`. */
export function humanizePercentage(v: number): string {
    return `${goG4(v * 100)}%`;
}

/** Prometheus' `humanizeDuration` for values of a second or more: `1d 2h 3m 4s`, leading zero units left out. */
export function humanizeDuration(v: number): string {
    if (Math.abs(v) < 1) {
        throw new Error(`humanizeDuration of ${v}: only durations of a second or more are rendered here`);
    }
    const sign = v < 0 ? "-" : "";
    let seconds = Math.trunc(Math.abs(v));
    const days = Math.trunc(seconds / 86400);
    const hours = Math.trunc(seconds / 3600) % 24;
    const minutes = Math.trunc(seconds / 60) % 60;
    seconds %= 60;
    if (days !== 0) {
        return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    }
    if (hours !== 0) {
        return `${sign}${hours}h ${minutes}m ${seconds}s`;
    }
    if (minutes !== 0) {
        return `${sign}${minutes}m ${seconds}s`;
    }
    return `${sign}${goG4(Math.abs(v))}s`;
}

/** The annotations as sent for an alert firing with `value`; throws if a template would be left unrendered. */
export function renderAnnotations(
    annotations: Readonly<Record<string, string>>,
    value: number | undefined,
): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, text] of Object.entries(annotations)) {
        if (!text.includes("{{")) {
            out[k] = text;
            continue;
        }
        if (value === undefined) {
            throw new Error(
                `annotation ${k} prints the alert's value ("${text}"); the test must say which value it expects`,
            );
        }
        let rendered = text;
        for (const [fragment, render] of [
            [VALUE.percent, humanizePercentage],
            [VALUE.number, humanize],
            [VALUE.duration, humanizeDuration],
        ] as const) {
            if (rendered.includes(fragment)) {
                rendered = rendered.split(fragment).join(render(value));
            }
        }
        if (rendered.includes("{{")) {
            throw new Error(`annotation ${k} uses a template this renderer does not know: "${text}"`);
        }
        out[k] = rendered;
    }
    return out;
}
