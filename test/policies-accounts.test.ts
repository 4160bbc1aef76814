/**
 * aws-account-pinned, providers-not-redirected and cost-anomaly-detection, condition by condition: the account and
 * region pin of every provider (the default one, explicit ones, unused ones), per-resource region overrides,
 * resources without a provider, an IAM role's trust policy principal by principal, each redirecting provider input
 * and how it may be spelled unset, and the anomaly monitor and subscription per account layout, at and past the
 * guardrail's threshold.
 */
import * as path from "path";
import { AWS_TAG } from "../core/conventions";
import { accountSharedWith } from "../core/guardrails";
import { repoRoot } from "../core/validation";
import { AWS_ACCOUNT_POLICY, awsAccountPolicy, foreignPrincipals, providerProblems } from "../policies/accounts";
import { ANOMALY_POLICY, anomalyPolicy, anomalyThresholdUsd } from "../policies/anomaly";
import { PROVIDERS_POLICY, providerProblems as redirections, providersPolicy } from "../policies/providers";
import {
    FixtureResource,
    FixtureStack,
    fixtureContext,
    happyStack,
    policyResources,
    unreadableProp,
} from "./fixtures/policies/stackResources";
import { runStack, runStackOn } from "./fixtures/policies/run";
import { guardrails, STACKS } from "./fixtures/shipped";

// The @pulumi/policy the pack's modules load (policies/node_modules when present), so its UnknownValueError is theirs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require(require.resolve("@pulumi/policy/proxy", { paths: [path.join(repoRoot, "policies")] })) as {
    unknownCheckingProxy: (v: unknown) => Record<string, unknown>;
};
/** The sentinel the engine sends for a string unknown during preview (docs/policies.md, Previews). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const ctx = fixtureContext(guardrails);
const shared = STACKS.find((e) => accountSharedWith(guardrails, e).length > 0)!;
const own = STACKS.find((e) => accountSharedWith(guardrails, e).length === 0)!;
const declared = (env: string) => guardrails.accounts[env];
const otherAccount = (env: string) =>
    STACKS.map(declared).find((a) => a.accountId !== declared(env).accountId)!.accountId;
const otherRegion = (env: string) => (declared(env).region === "eu-west-1" ? "us-west-2" : "eu-west-1");
const provider = (s: FixtureStack) => s.resources.find((r) => r.type === "pulumi:providers:aws")!;
function explicitProvider(s: FixtureStack, name: string, props: Record<string, unknown>): FixtureResource {
    const p = provider(s);
    const explicit = { ...p, name, urn: p.urn.replace("default_7_48_0", name), props: { ...p.props, ...props } };
    s.resources.push(explicit);
    return explicit;
}

describe(`${AWS_ACCOUNT_POLICY}: one provider's pin (providerProblems)`, () => {
    const pin = { accountId: "111122223333", region: "us-east-1" };

    it("takes exactly the declared account, as JSON, a comma list or a list, and the declared region", () => {
        for (const ids of ['["111122223333"]', "111122223333", " 111122223333 ", ["111122223333"]]) {
            expect(providerProblems({ allowedAccountIds: ids, region: "us-east-1" }, pin)).toEqual([]);
        }
    });

    it("refuses no pin, naming the account to pin", () => {
        expect(providerProblems({ region: "us-east-1" }, pin)).toEqual([
            `pins no account (allowedAccountIds unset); allowed: ["111122223333"]`,
        ]);
    });

    it("refuses another account, an extra one, none, or an unreadable list", () => {
        for (const ids of ['["444455556666"]', "111122223333,444455556666", "[]", "{}"]) {
            expect(providerProblems({ allowedAccountIds: ids, region: "us-east-1" }, pin)).toEqual([
                `allowedAccountIds is ${JSON.stringify(ids)}; allowed: exactly ["111122223333"]`,
            ]);
        }
    });

    it("refuses another region or none", () => {
        expect(providerProblems({ allowedAccountIds: "111122223333", region: "eu-west-1" }, pin)).toEqual([
            `region is "eu-west-1"; allowed: "us-east-1"`,
        ]);
        expect(providerProblems({ allowedAccountIds: "111122223333" }, pin)).toEqual([
            `region is null; allowed: "us-east-1"`,
        ]);
    });

    it("refuses skipping the account lookup, however it is spelled, and takes false or unset", () => {
        const base = { allowedAccountIds: "111122223333", region: "us-east-1" };
        for (const v of [true, "true", "TRUE", " yes ", 1]) {
            expect(providerProblems({ ...base, skipRequestingAccountId: v }, pin)).toEqual([
                `skipRequestingAccountId is ${JSON.stringify(v)}, which turns off the account check; allowed: false or unset`,
            ]);
            expect(providerProblems({ ...base, skipCredentialsValidation: v }, pin)).toEqual([
                `skipCredentialsValidation is ${JSON.stringify(v)}, which turns off the account check; allowed: false or unset`,
            ]);
        }
        for (const v of [false, "false", " False ", null, undefined]) {
            expect(
                providerProblems({ ...base, skipRequestingAccountId: v, skipCredentialsValidation: v }, pin),
            ).toEqual([]);
        }
    });
});

describe(`${AWS_ACCOUNT_POLICY}: a role's trust policy (foreignPrincipals)`, () => {
    const own = "111122223333";
    const other = "444455556666";
    const trust = (...Statement: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement });
    const allow = (Principal: unknown) => ({ Effect: "Allow", Principal, Action: "sts:AssumeRole" });

    it("names anyone as *, and everyone but some principal as NotPrincipal", () => {
        expect(foreignPrincipals(trust(allow("*")), own)).toEqual(["*"]);
        expect(
            foreignPrincipals(trust({ Effect: "Allow", NotPrincipal: { AWS: own }, Action: "sts:AssumeRole" }), own),
        ).toEqual(["NotPrincipal (everyone else)"]);
    });

    it("checks AWS, federated and canonical-user principals, naming each foreign one by its kind", () => {
        const principal = {
            AWS: [own, other],
            Federated: `arn:aws:iam::${other}:saml-provider/idp`,
            CanonicalUser: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
        };
        expect(foreignPrincipals(trust(allow(principal)), own)).toEqual([
            `AWS ${other}`,
            `Federated arn:aws:iam::${other}:saml-provider/idp`,
            `CanonicalUser ${principal.CanonicalUser}`,
        ]);
    });

    it("reads the account of an ARN in any AWS partition, and only from an ARN's start", () => {
        for (const p of [`arn:aws-us-gov:iam::${own}:role/ops`, `arn:aws-cn:sts::${own}:assumed-role/ops/s`]) {
            expect(foreignPrincipals(trust(allow({ AWS: p })), own)).toEqual([]);
        }
        for (const p of [`x-arn:aws:iam::${own}:root`, `arn:aws:iam::*:root`, `arn:aws:iam:::root`]) {
            expect(foreignPrincipals(trust(allow({ AWS: p })), own)).toEqual([`AWS ${p}`]);
        }
    });

    it("takes a principal kind spelled null (unset) beside an AWS service", () => {
        expect(foreignPrincipals(trust(allow({ AWS: null, Service: "budgets.amazonaws.com" }), null), own)).toEqual([]);
    });

    it("reads a document given as an object (the provider's PolicyDocument input) as it reads its JSON text", () => {
        const doc = (...Statement: unknown[]) => ({ Version: "2012-10-17", Statement });
        expect(foreignPrincipals(doc(allow({ AWS: own })), own)).toEqual([]);
        expect(foreignPrincipals(doc(allow({ AWS: own }), allow({ AWS: [other] })), own)).toEqual([`AWS ${other}`]);
        expect(foreignPrincipals(doc(allow("*")), own)).toEqual(["*"]);
    });

    it.each([["{not json"], ["null"], ["5"], ["[]"], [undefined], [null], [5], [[allow("*")]]])(
        "refuses a trust policy it cannot read: %j",
        (policy) => {
            expect(foreignPrincipals(policy, own)).toEqual([`an unreadable trust policy (${JSON.stringify(policy)})`]);
        },
    );
});

describe(`${AWS_ACCOUNT_POLICY}: the stack's providers and resources`, () => {
    const fix =
        "Fix: pin the account and region in the stack file (aws:allowedAccountIds, aws:region) as guardrails/guardrails.yaml /accounts declares, and create AWS resources with the stack's default provider.";
    const reported = (s: FixtureStack | FixtureResource[]) =>
        runStack(awsAccountPolicy(ctx), Array.isArray(s) ? s : s.resources);

    it.each(STACKS)("passes the %s stack", (env) => {
        expect(reported(happyStack(guardrails, env))).toEqual([]);
    });

    it("refuses the default provider pinned to another account, on the provider, naming where the pin is declared", () => {
        const s = happyStack(guardrails, "prod");
        const p = provider(s);
        p.props.allowedAccountIds = JSON.stringify([otherAccount("prod")]);
        expect(reported(s)).toEqual([
            {
                message: `AWS provider "default_7_48_0" of the prod stack: allowedAccountIds is ${JSON.stringify(p.props.allowedAccountIds)}; allowed: exactly ["${declared("prod").accountId}"] (guardrails/guardrails.yaml /accounts/prod). ${fix}`,
                urn: p.urn,
            },
        ]);
    });

    /** The stack plus an IAM role (built from the budget, so it has the stack's provider) trusting `policy`. */
    const withRole = (env: string, policy: unknown) => {
        const s = happyStack(guardrails, env);
        const budget = s.byName("budgets-total");
        const role: FixtureResource = {
            ...budget,
            type: "aws:iam/role:Role",
            name: "admin",
            urn: budget.urn.replace(/aws:budgets\/budget:Budget::budgets-total$/, "aws:iam/role:Role::admin"),
            props: { assumeRolePolicy: policy },
        };
        s.resources.push(role);
        return { s, role };
    };

    it("refuses a role trusting principals of other accounts, naming each on the role", () => {
        const other = otherAccount("prod");
        const { s, role } = withRole(
            "prod",
            JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: [other, "*"] } }] }),
        );
        const account = declared("prod").accountId;
        expect(reported(s)).toEqual([
            {
                message: `aws:iam/role:Role "admin" trusts principals outside the prod account ${account}: AWS ${other}, AWS *; allowed: AWS services, and principals and identity providers of account ${account} (guardrails/guardrails.yaml /accounts/prod). Fix: let only the stack's own account (or an AWS service, scoped by aws:SourceAccount) assume the role.`,
                urn: role.urn,
            },
        ]);
    });

    it("checks every role's trust policy, not only the first one's", () => {
        const trusting = (account: string) =>
            JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` } }] });
        const { s, role } = withRole("prod", trusting(declared("prod").accountId));
        const second: FixtureResource = {
            ...role,
            name: "ops",
            urn: role.urn.replace(/::admin$/, "::ops"),
            props: { assumeRolePolicy: trusting(otherAccount("prod")) },
        };
        s.resources.push(second);
        expect(runStack(awsAccountPolicy(fixtureContext(guardrails)), s.resources).map((v) => v.urn)).toEqual([
            second.urn,
        ]);
    });

    it("leaves a trust policy unknown during preview to the update, and fails on one unreadable for another reason", () => {
        const previewed = (s: FixtureStack) =>
            runStackOn(
                awsAccountPolicy(ctx),
                policyResources(s.resources).map((r) => ({ ...r, props: proxy.unknownCheckingProxy(r.props) })),
            );
        expect(previewed(withRole("dev", UNKNOWN).s)).toEqual([]);
        const { s, role } = withRole("dev", undefined);
        unreadableProp(role.props, "assumeRolePolicy");
        expect(() => previewed(s)).toThrow("broken read");
    });

    it("names every problem of one provider together", () => {
        const s = happyStack(guardrails, "prod");
        const p = provider(s);
        p.props.allowedAccountIds = JSON.stringify([otherAccount("prod")]);
        p.props.region = otherRegion("prod");
        expect(reported(s)).toEqual([
            {
                message: `AWS provider "default_7_48_0" of the prod stack: allowedAccountIds is ${JSON.stringify(p.props.allowedAccountIds)}; allowed: exactly ["${declared("prod").accountId}"]; region is "${otherRegion("prod")}"; allowed: "${declared("prod").region}" (guardrails/guardrails.yaml /accounts/prod). ${fix}`,
                urn: p.urn,
            },
        ]);
    });

    it("checks a provider the engine sends with a resource even when it is no resource of the stack", () => {
        const s = happyStack(guardrails, "staging");
        provider(s).props.region = otherRegion("staging");
        // The engine hands the provider with each resource; the provider resource itself is not in the list.
        const rs = policyResources(s.resources).filter((r) => r.type !== "pulumi:providers:aws");
        expect(runStackOn(awsAccountPolicy(ctx), rs).map((v) => v.message)).toEqual([
            expect.stringContaining(
                `AWS provider "default_7_48_0" of the staging stack: region is "${otherRegion("staging")}"`,
            ),
        ]);
    });

    it("refuses each provider once, however many resources use it", () => {
        const s = happyStack(guardrails, "dev");
        const bad = explicitProvider(s, "bad", { region: otherRegion("dev") });
        s.resources.filter((r) => r.provider).forEach((r) => (r.provider = bad.urn));
        expect(reported(s)).toHaveLength(1);
    });

    it("refuses a resource that overrides its region, and takes one that sets the declared region or none", () => {
        const s = happyStack(guardrails, "dev");
        const r = s.byName("budgets-total");
        r.props.region = declared("dev").region;
        s.byName("budgets-llm").props.region = null;
        expect(reported(s)).toEqual([]);
        r.props.region = otherRegion("dev");
        expect(reported(s)).toEqual([
            {
                message: `aws:budgets/budget:Budget "budgets-total" overrides its region to "${otherRegion("dev")}"; allowed: "${declared("dev").region}" or unset (guardrails/guardrails.yaml /accounts/dev). ${fix}`,
                urn: r.urn,
            },
        ]);
    });

    it("counts a resource without its provider, naming three and how many more", () => {
        const s = happyStack(guardrails, "dev");
        const aws = s.resources.filter((r) => r.type.startsWith("aws:"));
        aws.forEach((r) => delete r.provider);
        const names = aws
            .slice(0, 3)
            .map((r) => `${r.type} "${r.name}"`)
            .join(", ");
        expect(reported(s)).toEqual([
            {
                message: `${aws.length} AWS resource(s) of the dev stack came without their provider (${names}, ...), so the account they deploy to cannot be checked against guardrails/guardrails.yaml /accounts/dev. ${fix}`,
                urn: s.byName("maestro-guardrails-dev").urn,
            },
        ]);
        const t = happyStack(guardrails, "dev");
        delete t.byName("budgets-total").provider;
        expect(reported(t)[0].message).toContain(
            `1 AWS resource(s) of the dev stack came without their provider (aws:budgets/budget:Budget "budgets-total"), so`,
        );
        // Exactly three: all named, none more.
        const u = happyStack(guardrails, "dev");
        u.resources.filter((r) => r.type.startsWith("aws:")).forEach((r, i) => i < 3 && delete r.provider);
        expect(reported(u)[0].message).toContain(
            `3 AWS resource(s) of the dev stack came without their provider (${names}), so`,
        );
    });

    it("judges nothing in a stack without AWS, and asks a stack with AWS for its environment", () => {
        const s = happyStack(guardrails, "dev");
        const noAws = s.resources.filter((r) => !r.type.startsWith("aws:") && r.type !== "pulumi:providers:aws");
        const unbound = (rs: FixtureResource[]) =>
            rs.map((r) => ({ ...r, urn: r.urn.replace("urn:pulumi:dev::", "urn:pulumi:sandbox::") }));
        expect(reported(unbound(noAws))).toEqual([]);
        expect(reported(unbound(s.resources)).map((v) => v.message)).toEqual([
            expect.stringContaining(`${AWS_ACCOUNT_POLICY} cannot tell the stack's environment`),
        ]);
        const onlyProvider = s.resources.filter(
            (r) => r.type === "pulumi:providers:aws" || r.type === "pulumi:pulumi:Stack",
        );
        expect(reported(unbound(onlyProvider)).map((v) => v.message)).toEqual([
            expect.stringContaining(`${AWS_ACCOUNT_POLICY} cannot tell the stack's environment`),
        ]);
    });

    it("counts a pulumi provider resource as no AWS resource", () => {
        const s = happyStack(guardrails, "dev");
        const other = {
            ...provider(s),
            type: "pulumi:providers:aws-native",
            name: "n",
            urn: `${provider(s).urn}-n`,
            props: {},
        };
        s.resources.push(other);
        expect(reported(s)).toEqual([]);
    });
});

describe(PROVIDERS_POLICY, () => {
    const reported = (s: FixtureStack) => runStack(providersPolicy(ctx), s.resources);

    it.each(STACKS)("passes the %s stack", (env) => {
        expect(reported(happyStack(guardrails, env))).toEqual([]);
    });

    it.each([
        ["endpoints", [{ s3: "http://localhost:4566" }], "points services at custom endpoints"],
        ["endpoints", '[{"s3":"http://localhost:4566"}]', "points services at custom endpoints"],
        ["insecure", true, "accepts any TLS certificate"],
        ["insecure", "true", "accepts any TLS certificate"],
        ["customCaBundle", "-----BEGIN CERTIFICATE-----", "trusts a custom certificate authority"],
        ["httpProxy", "http://proxy:3128", "sends requests through a proxy"],
        ["httpsProxy", "http://proxy:3128", "sends requests through a proxy"],
        ["endpoints", "[not json", "points services at custom endpoints"],
        // JSON of a string, not of a list: only a list or map spelled as JSON is read as one.
        ["endpoints", '"[]"', "points services at custom endpoints"],
        ["insecure", 1, "accepts any TLS certificate"],
        // Set in a later entry, after empty ones: every entry is read, not only the first.
        ["endpoints", [{}, { s3: "", sts: "https://sts.example.internal" }], "points services at custom endpoints"],
    ])("refuses %s set to %j, naming the provider, its users and why", (key, value, why) => {
        const s = happyStack(guardrails, "dev");
        const p = provider(s);
        p.props[key] = value;
        const users = s.resources.filter((r) => r.provider === p.urn);
        const examples = users
            .slice(0, 3)
            .map((r) => `${r.type} "${r.name}"`)
            .join(", ");
        expect(reported(s)).toEqual([
            {
                message:
                    `provider pulumi:providers:aws "default_7_48_0", used by ${users.length} resource(s), e.g. ${examples}: ${key} is ${JSON.stringify(value)} (${why}); allowed: unset. ` +
                    "Fix: use the default AWS provider with the stack's pinned account and region, and no endpoint or check overrides.",
                urn: p.urn,
            },
        ]);
    });

    it.each([
        ["false", false],
        ['"false"', "false"],
        ["empty", ""],
        ["null", null],
        ["an empty list", []],
        ["a list of empty entries", [{}, { s3: "" }]],
        ["JSON of nothing", '[{"s3":""}]'],
        ["JSON of nothing after blanks", ' \n[{"s3":""}]'],
        ["an empty map", {}],
    ])("takes an input spelled unset: %s", (_what, value) => {
        const s = happyStack(guardrails, "dev");
        provider(s).props.endpoints = value;
        expect(reported(s)).toEqual([]);
    });

    it("names every redirecting input of one provider together, and a provider no resource uses", () => {
        const s = happyStack(guardrails, "prod");
        const p = explicitProvider(s, "unused", { insecure: true, httpProxy: "http://p" });
        expect(reported(s)).toEqual([
            {
                message: `provider pulumi:providers:aws "unused": insecure is true (accepts any TLS certificate); allowed: unset; httpProxy is "http://p" (sends requests through a proxy); allowed: unset. Fix: use the default AWS provider with the stack's pinned account and region, and no endpoint or check overrides.`,
                urn: p.urn,
            },
        ]);
    });

    it("judges AWS providers only", () => {
        expect(redirections({ type: "pulumi:providers:kubernetes", props: { insecure: true } })).toEqual([]);
        expect(redirections({ type: "pulumi:providers:aws", props: { insecure: true } })).toHaveLength(1);
    });

    it("judges a provider the engine sends with a resource, once, naming the resources using it", () => {
        const s = happyStack(guardrails, "dev");
        const hidden = explicitProvider(s, "hidden", { insecure: true });
        s.byName("budgets-total").provider = hidden.urn;
        s.byName("budgets-llm").provider = hidden.urn;
        const rs = policyResources(s.resources).filter((r) => r.name !== "hidden");
        expect(runStackOn(providersPolicy(ctx), rs).map((v) => v.message)).toEqual([
            expect.stringContaining(
                `provider pulumi:providers:aws "hidden", used by 2 resource(s), e.g. aws:budgets/budget:Budget "budgets-total", aws:budgets/budget:Budget "budgets-llm": insecure`,
            ),
        ]);
    });
});

describe(ANOMALY_POLICY, () => {
    const FIX =
        "Fix: deploy the anomaly monitor and subscription of components/costBudgets.ts (budgets/specs.ts anomalySpec).";
    const AT = "guardrails/guardrails.yaml /cost/anomalyImpactShareOfCap";
    const reported = (s: FixtureStack) => runStack(anomalyPolicy(ctx), s.resources);
    const messages = (s: FixtureStack) => reported(s).map((v) => v.message);
    const sub = (s: FixtureStack) => s.byName("budgets-anomaly-subscription");
    const monitor = (s: FixtureStack) => s.byName("budgets-anomaly-monitor");
    const expression = (s: FixtureStack) =>
        sub(s).props.thresholdExpression as {
            dimension: { values: string[]; key: string; matchOptions: string[] };
        } & Record<string, unknown>;
    const noSubscription = (env: string) =>
        `the ${env} stack has no Cost Anomaly Detection subscription notifying its topic at ${anomalyThresholdUsd(ctx, env)} USD or less (${AT}) from a monitor of its spend. ${FIX}`;
    const subscriptionProblem = (_s: FixtureStack, problem: string) =>
        `aws:costexplorer/anomalySubscription:AnomalySubscription "budgets-anomaly-subscription": ${problem}. ${FIX}`;
    const thresholdProblem = (s: FixtureStack, env: string) =>
        `thresholdExpression is ${JSON.stringify(sub(s).props.thresholdExpression ?? null)}; allowed: dimension ANOMALY_TOTAL_IMPACT_ABSOLUTE, GREATER_THAN_OR_EQUAL, one value <= ${anomalyThresholdUsd(ctx, env)} USD (${AT})`;

    it("computes the threshold as the guardrail's share of the cap, in cents", () => {
        for (const env of STACKS) {
            const cap = guardrails.cost.caps[env].monthlyUsd;
            expect(anomalyThresholdUsd(ctx, env)).toBe(
                Math.round(cap * guardrails.cost.anomalyImpactShareOfCap * 100) / 100,
            );
        }
        const odd = {
            ...ctx,
            guardrails: { ...guardrails, cost: { ...guardrails.cost, anomalyImpactShareOfCap: 1 / 3 } },
        };
        expect(anomalyThresholdUsd(odd, "dev")).toBe(Math.round((guardrails.cost.caps.dev.monthlyUsd / 3) * 100) / 100);
    });

    it.each(STACKS)("takes a %s threshold at the guardrail's value or below, and refuses one a cent above", (env) => {
        const s = happyStack(guardrails, env);
        const allowed = anomalyThresholdUsd(ctx, env);
        expression(s).dimension.values = [String(allowed)];
        expect(reported(s)).toEqual([]);
        expression(s).dimension.values = [String(allowed / 2)];
        expect(reported(s)).toEqual([]);
        expression(s).dimension.values = [String(allowed + 0.01)];
        expect(messages(s)).toEqual([subscriptionProblem(s, thresholdProblem(s, env)), noSubscription(env)]);
    });

    it.each([
        ["a percentage", (e: ReturnType<typeof expression>) => (e.dimension.key = "ANOMALY_TOTAL_IMPACT_PERCENTAGE")],
        ["a GREATER_THAN match", (e: ReturnType<typeof expression>) => (e.dimension.matchOptions = ["GREATER_THAN"])],
        [
            "two match options",
            (e: ReturnType<typeof expression>) => (e.dimension.matchOptions = ["GREATER_THAN_OR_EQUAL", "EQUALS"]),
        ],
        [
            "no match option",
            (e: ReturnType<typeof expression>) => delete (e.dimension as Partial<typeof e.dimension>).matchOptions,
        ],
        ["two values", (e: ReturnType<typeof expression>) => (e.dimension.values = ["1", "2"])],
        ["no values", (e: ReturnType<typeof expression>) => delete (e.dimension as Partial<typeof e.dimension>).values],
        ["a value that is no number", (e: ReturnType<typeof expression>) => (e.dimension.values = ["lots"])],
        ["an extra condition", (e: ReturnType<typeof expression>) => (e.ands = [{ dimension: { key: "X" } }])],
        ["no dimension", (e: ReturnType<typeof expression>) => delete (e as Partial<typeof e>).dimension],
    ])("refuses a threshold with %s", (_what, edit) => {
        const s = happyStack(guardrails, "prod");
        edit(expression(s));
        expect(messages(s)).toEqual([subscriptionProblem(s, thresholdProblem(s, "prod")), noSubscription("prod")]);
    });

    it("refuses a subscription without a threshold", () => {
        const s = happyStack(guardrails, "prod");
        delete sub(s).props.thresholdExpression;
        expect(messages(s)[0]).toBe(subscriptionProblem(s, thresholdProblem(s, "prod")));
    });

    it("takes empty extra fields beside the dimension", () => {
        const s = happyStack(guardrails, "prod");
        Object.assign(expression(s), { ands: undefined, ors: null });
        expect(reported(s)).toEqual([]);
    });

    it("refuses a subscription to a literal ARN or to a monitor that is refused, and takes several good monitors", () => {
        const s = happyStack(guardrails, own);
        sub(s).deps = { ...sub(s).deps, monitorArnLists: [] };
        const problem =
            "monitorArnLists must be the ARNs of this stack's environment monitors (by output, not a literal ARN)";
        expect(messages(s)).toEqual([subscriptionProblem(s, problem), noSubscription(own)]);
        delete sub(s).deps.monitorArnLists;
        expect(messages(s)).toEqual([subscriptionProblem(s, problem), noSubscription(own)]);
        const t = happyStack(guardrails, own);
        const second = { ...monitor(t), name: "second", urn: `${monitor(t).urn}-2`, props: { ...monitor(t).props } };
        t.resources.push(second);
        sub(t).deps = { ...sub(t).deps, monitorArnLists: [monitor(t).urn, second.urn] };
        expect(reported(t)).toEqual([]);
        second.props.monitorDimension = "LINKED_ACCOUNT";
        expect(messages(t)).toEqual([
            expect.stringContaining(
                'aws:costexplorer/anomalyMonitor:AnomalyMonitor "second": in an account of its own',
            ),
            subscriptionProblem(t, problem),
            noSubscription(own),
        ]);
    });

    it("refuses a subscription without an SNS subscriber, or whose topic is not the stack's", () => {
        const problem = "no SNS subscriber that is a topic of this stack (the budget topic)";
        const s = happyStack(guardrails, "dev");
        sub(s).props.subscribers = [{ type: "EMAIL", address: "a@maestro.example" }];
        expect(messages(s)[0]).toBe(subscriptionProblem(s, problem));
        delete sub(s).props.subscribers;
        expect(messages(s)[0]).toBe(subscriptionProblem(s, problem));
        const t = happyStack(guardrails, "dev");
        sub(t).deps = { ...sub(t).deps, subscribers: [t.byName("budgets-alerts-policy").urn] };
        expect(messages(t)[0]).toBe(subscriptionProblem(t, problem));
        const u = happyStack(guardrails, "dev");
        delete sub(u).deps.subscribers;
        expect(messages(u)[0]).toBe(subscriptionProblem(u, problem));
    });

    it("names every problem of a subscription together", () => {
        const s = happyStack(guardrails, "dev");
        expression(s).dimension.values = [String(anomalyThresholdUsd(ctx, "dev") + 1)];
        sub(s).props.subscribers = [{ type: "EMAIL", address: "a@maestro.example" }];
        expect(messages(s)).toEqual([
            subscriptionProblem(
                s,
                `${thresholdProblem(s, "dev")}; no SNS subscriber that is a topic of this stack (the budget topic)`,
            ),
            noSubscription("dev"),
        ]);
    });

    it("takes one good subscription beside a bad one", () => {
        const s = happyStack(guardrails, "dev");
        const bad = { ...sub(s), name: "bad", urn: `${sub(s).urn}-bad`, props: { ...sub(s).props, subscribers: [] } };
        s.resources.push(bad);
        expect(messages(s)).toEqual([expect.stringContaining('AnomalySubscription "bad": no SNS subscriber')]);
    });

    it("in an account of its own, takes only a services monitor", () => {
        const s = happyStack(guardrails, own);
        const problem = `in an account of its own the monitor watches every AWS service; allowed: monitorType "DIMENSIONAL", monitorDimension "SERVICE"`;
        for (const change of [{ monitorType: "CUSTOM" }, { monitorDimension: "LINKED_ACCOUNT" }]) {
            const t = happyStack(guardrails, own);
            Object.assign(monitor(t).props, change);
            expect(reported(t)[0]).toEqual({
                message: `aws:costexplorer/anomalyMonitor:AnomalyMonitor "budgets-anomaly-monitor": ${problem}. ${FIX}`,
                urn: monitor(t).urn,
            });
        }
        expect(reported(s)).toEqual([]);
    });

    it("in a shared account, takes only a tag monitor on exactly this environment", () => {
        const problem = `in a shared account the monitor watches only the environment's tagged spend; allowed: monitorType "CUSTOM" with monitorSpecification {"Tags":{"Key":"${AWS_TAG.environment}","Values":["${shared}"],...}}`;
        const spec = (v: unknown) => ({ monitorSpecification: typeof v === "string" ? v : JSON.stringify(v) });
        const good = { Tags: { Key: AWS_TAG.environment, Values: [shared], MatchOptions: ["EQUALS"] } };
        const s = happyStack(guardrails, shared);
        Object.assign(monitor(s).props, spec(good));
        expect(reported(s)).toEqual([]);
        for (const change of [
            { monitorType: "DIMENSIONAL" },
            spec({ ...good, Dimensions: { Key: "SERVICE", Values: ["x"] } }),
            spec({ Tags: { ...good.Tags, Key: "team" } }),
            spec({ Tags: { ...good.Tags, Values: [shared, "prod"] } }),
            spec({ Tags: { ...good.Tags, Values: ["prod"] } }),
            spec({ Tags: { ...good.Tags, Values: shared } }),
            spec({}),
            spec("{not json"),
            { monitorSpecification: undefined },
            { monitorSpecification: null },
            // Not a string: the engine sends the specification as JSON text, so no other value is read as one.
            { monitorSpecification: good },
            { monitorSpecification: [JSON.stringify(good)] },
        ]) {
            const t = happyStack(guardrails, shared);
            Object.assign(monitor(t).props, change);
            expect(messages(t)[0]).toBe(
                `aws:costexplorer/anomalyMonitor:AnomalyMonitor "budgets-anomaly-monitor": ${problem}. ${FIX}`,
            );
        }
    });
});
