/**
 * Providers are part of the deploy: an AWS provider whose endpoints point elsewhere, or that skips the credential,
 * account or region checks, sends every resource it manages somewhere the guardrails never see. The pack reads the
 * provider resources the engine hands over (explicit `aws.Provider`s and the default provider, whose inputs are the
 * stack's `aws:*` config) and each resource's own provider.
 */
import { PolicyProviderResource, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { REDIRECTING_AWS_PROVIDER_KEYS } from "../core/conventions";
import { PackContext } from "./context";
import { EvidenceCoverage, reportDisabledFloor } from "./coverage";
import { describeResource } from "./resources";

export const PROVIDERS_POLICY = "providers-not-redirected";

/** Whether a provider input is set to something other than its safe default (unset, false, empty). */
function isSet(v: unknown): boolean {
    if (v === undefined || v === null || v === false || v === "" || v === "false") {
        return false;
    }
    // A list or a map (Object.values lists a list's items): set when any of its entries is.
    if (typeof v === "object") {
        return Object.values(v).some((x) => isSet(x));
    }
    if (typeof v === "string" && /^\s*[[{]/.test(v)) {
        try {
            return isSet(JSON.parse(v));
        } catch {
            // Not JSON: a string that is set, as below.
        }
    }
    return true;
}

/** What is wrong with one AWS provider's inputs (empty when nothing redirects it). */
export function providerProblems(p: Pick<PolicyProviderResource, "type" | "props">): string[] {
    if (p.type !== "pulumi:providers:aws") {
        return [];
    }
    return Object.entries(REDIRECTING_AWS_PROVIDER_KEYS)
        .filter(([key]) => isSet(p.props[key]))
        .map(([key, why]) => `${key} is ${JSON.stringify(p.props[key])} (${why}); allowed: unset`);
}

export function providersPolicy(ctx?: PackContext, coverage?: EvidenceCoverage): StackValidationPolicy {
    return {
        name: PROVIDERS_POLICY,
        description:
            "No AWS provider (explicit or the default one from the stack's aws:* config) uses custom endpoints, proxies or skips the credential, account or region checks.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            if (ctx && coverage) {
                reportDisabledFloor(ctx, coverage, args.resources, reportViolation);
            }
            const seen = new Map<
                string,
                { p: Pick<PolicyProviderResource, "type" | "props" | "name">; users: string[] }
            >();
            const note = (p: PolicyProviderResource | PolicyResource, user?: PolicyResource) => {
                const entry = seen.get(p.urn) ?? { p, users: [] };
                if (user) {
                    entry.users.push(describeResource(user));
                }
                seen.set(p.urn, entry);
            };
            for (const r of args.resources) {
                // Any resource may be a provider (providerProblems judges the AWS ones and passes every other).
                note(r);
                if (r.provider) {
                    note(r.provider, r);
                }
            }
            for (const [urn, { p, users }] of seen) {
                const problems = providerProblems(p);
                if (problems.length === 0) {
                    continue;
                }
                const used =
                    users.length > 0
                        ? `, used by ${users.length} resource(s), e.g. ${users.slice(0, 3).join(", ")}`
                        : "";
                reportViolation(
                    `provider ${describeResource({ type: p.type, name: p.name })}${used}: ${problems.join("; ")}. ` +
                        "Fix: use the default AWS provider with the stack's pinned account and region, and no endpoint or check overrides.",
                    urn,
                );
            }
        },
    };
}
