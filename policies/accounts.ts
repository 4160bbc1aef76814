/**
 * Every AWS resource of the stack deploys to the account and region the guardrails declare for its environment
 * (guardrails/guardrails.yaml /accounts). The pack reads what the engine sends with each resource: its provider,
 * the default one (whose inputs are the stack file's `aws:*` config) or an explicit `aws.Provider`, and every
 * provider resource of the stack. Each must pin exactly the declared account (`allowedAccountIds`), use the declared
 * region, and keep the account lookup that pin relies on; no resource may override the region on its own (the AWS
 * provider 7 `region` input). An IAM role may be assumed only from that account (or by an AWS service, which its
 * condition scopes): a role trusting another account's principals, or anyone (`*`), hands the stack's permissions out
 * of the pinned account, whatever component it is built under.
 */
import { PolicyResource, StackValidationPolicy, UnknownValueError } from "@pulumi/policy";
import { AWS_ACCOUNT_CHECK_SKIPS, AWS_PIN_KEYS, parseAccountIds } from "../core/guardrails";
import { PackContext } from "./context";
import { describeResource, jsonOrUndefined, stackUrn } from "./resources";
import { environmentOrReport } from "./stack";

export const AWS_ACCOUNT_POLICY = "aws-account-pinned";

/** The provider package whose resources this policy checks, and its provider resource type. */
const AWS_PACKAGE = "aws";
const AWS_PROVIDER_TYPE = "pulumi:providers:aws";

const FIX =
    "Fix: pin the account and region in the stack file (aws:allowedAccountIds, aws:region) as guardrails/guardrails.yaml /accounts declares, and create AWS resources with the stack's default provider.";

/** What a provider's config sets wrong, against the declared account and region. */
export function providerProblems(
    props: Record<string, unknown>,
    declared: { readonly accountId: string; readonly region: string },
): string[] {
    const problems: string[] = [];
    const key = (k: string) => k.slice(`${AWS_PACKAGE}:`.length);
    const ids = props[key(AWS_PIN_KEYS.accounts)];
    const parsed = parseAccountIds(ids);
    if (ids === undefined) {
        problems.push(`pins no account (${key(AWS_PIN_KEYS.accounts)} unset); allowed: ["${declared.accountId}"]`);
    } else if (!parsed || parsed.length !== 1 || parsed[0] !== declared.accountId) {
        problems.push(
            `${key(AWS_PIN_KEYS.accounts)} is ${JSON.stringify(ids)}; allowed: exactly ["${declared.accountId}"]`,
        );
    }
    if (props[key(AWS_PIN_KEYS.region)] !== declared.region) {
        problems.push(
            `region is ${JSON.stringify(props[key(AWS_PIN_KEYS.region)] ?? null)}; allowed: "${declared.region}"`,
        );
    }
    for (const skip of AWS_ACCOUNT_CHECK_SKIPS.map(key)) {
        const v = props[skip];
        const text = typeof v === "string" ? v.trim().toLowerCase() : JSON.stringify(v);
        if (v !== undefined && v !== null && text !== "false") {
            problems.push(
                `${skip} is ${JSON.stringify(v)}, which turns off the account check; allowed: false or unset`,
            );
        }
    }
    return problems;
}

/**
 * The account an IAM principal names: an ARN's account field, else the principal itself (an account id is its own
 * account; `*`, or an ARN without an account, matches none).
 */
function principalAccount(principal: string): string {
    return /^arn:aws[a-z-]*:(?:iam|sts)::([0-9]{12}):/.exec(principal)?.[1] ?? principal;
}

/**
 * The principals of a role's trust policy that are outside `accountId`: AWS principals and federated identity
 * providers of another account, `*`, or a federated provider that is not an IAM OIDC/SAML provider of the account.
 */
export function foreignPrincipals(assumeRolePolicy: unknown, accountId: string): string[] {
    // The provider takes the document as JSON text or as an object (its `PolicyDocument` input): both are read.
    const doc: unknown = typeof assumeRolePolicy === "string" ? jsonOrUndefined(assumeRolePolicy) : assumeRolePolicy;
    // A policy document is a JSON object: `null` would crash the reading below, `[]` or `5` would pass unread.
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        return [`an unreadable trust policy (${JSON.stringify(assumeRolePolicy)})`];
    }
    const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
    const foreign: string[] = [];
    for (const raw of list((doc as { Statement?: unknown }).Statement)) {
        const st = (raw ?? {}) as Record<string, unknown>;
        if (st.Effect !== "Allow") {
            continue;
        }
        if (st.NotPrincipal !== undefined || st.Principal === "*") {
            foreign.push(st.NotPrincipal !== undefined ? "NotPrincipal (everyone else)" : "*");
            continue;
        }
        const principal = (st.Principal ?? {}) as Record<string, unknown>;
        for (const kind of ["AWS", "Federated", "CanonicalUser"]) {
            for (const p of list(principal[kind]).map(String)) {
                if (principalAccount(p) !== accountId) {
                    foreign.push(`${kind} ${p}`);
                }
            }
        }
    }
    return foreign;
}

export function awsAccountPolicy(ctx: PackContext): StackValidationPolicy {
    return {
        name: AWS_ACCOUNT_POLICY,
        description:
            "Every AWS resource deploys through a provider pinned to the environment's declared account and region.",
        enforcementLevel: "mandatory",
        validateStack: (args, reportViolation) => {
            const awsResources = args.resources.filter((r) => r.type.split(":")[0] === AWS_PACKAGE);
            const providerResources = args.resources.filter((r) => r.type === AWS_PROVIDER_TYPE);
            if (awsResources.length === 0 && providerResources.length === 0) {
                return;
            }
            const env = environmentOrReport(ctx, args.resources, reportViolation, AWS_ACCOUNT_POLICY);
            if (env === undefined) {
                return;
            }
            const declared = ctx.guardrails.accounts[env];
            const at = `guardrails/guardrails.yaml /accounts/${env}`;
            // Every provider the engine says an AWS resource uses, and every AWS provider resource of the stack.
            const providers = new Map<string, { name: string; props: Record<string, unknown> }>();
            for (const p of providerResources) {
                providers.set(p.urn, { name: p.name, props: p.props });
            }
            const unseen: PolicyResource[] = [];
            for (const r of awsResources) {
                if (r.provider) {
                    providers.set(r.provider.urn, { name: r.provider.name, props: r.provider.props });
                } else {
                    unseen.push(r);
                }
                if (r.props.region !== undefined && r.props.region !== null && r.props.region !== declared.region) {
                    reportViolation(
                        `${describeResource(r)} overrides its region to ${JSON.stringify(r.props.region)}; allowed: "${declared.region}" or unset (${at}). ${FIX}`,
                        r.urn,
                    );
                }
            }
            for (const r of awsResources.filter((x) => x.type === "aws:iam/role:Role")) {
                let trust: unknown;
                try {
                    trust = r.props.assumeRolePolicy;
                } catch (err) {
                    // Unknown during a first preview (built from another resource's outputs): the update judges it.
                    if (err instanceof UnknownValueError) {
                        continue;
                    }
                    throw err;
                }
                const foreign = foreignPrincipals(trust, declared.accountId);
                if (foreign.length > 0) {
                    reportViolation(
                        `${describeResource(r)} trusts principals outside the ${env} account ${declared.accountId}: ${foreign.join(", ")}; allowed: AWS services, and principals and identity providers of account ${declared.accountId} (${at}). Fix: let only the stack's own account (or an AWS service, scoped by aws:SourceAccount) assume the role.`,
                        r.urn,
                    );
                }
            }
            for (const [urn, p] of providers) {
                const problems = providerProblems(p.props, declared);
                if (problems.length > 0) {
                    reportViolation(
                        `AWS provider "${p.name}" of the ${env} stack: ${problems.join("; ")} (${at}). ${FIX}`,
                        urn,
                    );
                }
            }
            if (unseen.length > 0) {
                // The engine sends every custom resource's provider; without it the account cannot be checked.
                reportViolation(
                    `${unseen.length} AWS resource(s) of the ${env} stack came without their provider (${unseen
                        .slice(0, 3)
                        .map(describeResource)
                        .join(
                            ", ",
                        )}${unseen.length > 3 ? ", ..." : ""}), so the account they deploy to cannot be checked against ${at}. ${FIX}`,
                    stackUrn(args.resources),
                );
            }
        },
    };
}
