/**
 * The pack's context as the shipped pack builds it (policies/context.ts over the compiled-in data): a prod release's
 * sign-offs read from the statements the stack uploads, and the net under every policy for a value a preview leaves
 * unknown (policies/preview.ts).
 */
import * as path from "path";
import { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { appendEntry, SignoffEntry, signoffObjects } from "../provenance/ledger";
import { RELEASE_ENVIRONMENT, requiredSignoffs } from "../governance";
import { SIGNOFF_OBJECT_TYPES, packContext, registeredSignoffs } from "../policies/context";
import { packData } from "../policies/packData";
import { decidedAtPreview, urnStack } from "../policies/preview";
import { POLICY_PACK_DIR } from "../offline/policyPackProcess";
import { AWS_TAG } from "../core/conventions";
import { UNKNOWN } from "../offline/mockRuntime";
import { guardrails } from "./helpers";

// The @pulumi/policy the pack's modules load (policies/node_modules), so its UnknownValueError is the one they catch.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const policyProxy = require(require.resolve("@pulumi/policy/proxy", { paths: [POLICY_PACK_DIR] })) as {
    unknownCheckingProxy: (v: unknown) => Record<string, unknown>;
};

const data = packData();
const ctx = packContext(data);
const governance = data.governance;
const milestone = governance.milestones.find((m) => m.environment === RELEASE_ENVIRONMENT);
if (!milestone) {
    throw new Error("governance plans no prod release");
}
const TAG = milestone.tag;
const ROLES = requiredSignoffs(governance, TAG, RELEASE_ENVIRONMENT);

function ledger(roles: readonly string[]): SignoffEntry[] {
    const entries: SignoffEntry[] = [];
    roles.forEach((role, i) =>
        entries.push(
            appendEntry(
                entries,
                {
                    tag: TAG,
                    commit: "3c5e0a9d8b7f61e24c0d9a8b7e6f5a4b3c2d1e0f",
                    environment: RELEASE_ENVIRONMENT,
                    role,
                    signer: `Signer ${i} <s${i}@maestro.example>`,
                    time: `2026-11-2${i}T09:00:00Z`,
                },
                { guardrails },
            ),
        ),
    );
    return entries;
}

/** The uploads the SignoffLedger component makes for `entries`, as the pack sees them. */
function uploads(entries: readonly SignoffEntry[]): PolicyResource[] {
    return signoffObjects(
        entries,
        { tag: TAG, environment: RELEASE_ENVIRONMENT },
        {
            objectLockMode: "COMPLIANCE",
            retentionDays: 30,
        },
    ).map((o, i) => ({
        urn: `urn:pulumi:prod::maestro-guardrails::aws:s3/bucketObjectv2:BucketObjectv2::signoff-${i}`,
        type: SIGNOFF_OBJECT_TYPES[0],
        name: `signoff-${i}`,
        props: { key: o.key, content: o.content },
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: {} },
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
    })) as unknown as PolicyResource[];
}

describe("a prod release's sign-offs, read from the stack's uploads", () => {
    it("clears a release whose every required role's statement is uploaded", () => {
        expect(ROLES.length).toBeGreaterThan(1);
        expect(ctx.verifyRelease(TAG, RELEASE_ENVIRONMENT, uploads(ledger(ROLES)))).toEqual({ ok: true, problems: [] });
    });

    it("names the missing role when one statement is not uploaded", () => {
        const all = uploads(ledger(ROLES));
        const check = ctx.verifyRelease(TAG, RELEASE_ENVIRONMENT, all.slice(0, -1));
        expect(check.ok).toBe(false);
        expect(check.problems.join("\n")).toContain(`missing the sign-off of ${ROLES[ROLES.length - 1]}`);
    });

    it("refuses an edited statement, one under another key, and a rewritten chain", () => {
        const entries = ledger(ROLES);
        const edited = uploads(entries);
        const statement = JSON.parse(String(edited[0].props.content)) as { predicate: { signer: string } };
        statement.predicate.signer = "Someone Else <x@example.com>";
        (edited[0].props as Record<string, unknown>).content = JSON.stringify(statement);
        expect(registeredSignoffs(edited, TAG, RELEASE_ENVIRONMENT).problems.join("\n")).toContain(
            "the entry's hash does not match its content",
        );

        const moved = uploads(entries);
        (moved[1].props as Record<string, unknown>).key = `${String(moved[1].props.key).replace(/\d{6}-/, "000099-")}`;
        expect(registeredSignoffs(moved, TAG, RELEASE_ENVIRONMENT).problems.join("\n")).toContain(
            "the key is not the entry's own",
        );

        // Two ledgers, each self-consistent, mixed: entry 2 of the second does not follow entry 1 of the first.
        const other = ledger([...ROLES].reverse());
        const mixed = [...uploads(entries).slice(0, 1), ...uploads(other).slice(1)];
        expect(registeredSignoffs(mixed, TAG, RELEASE_ENVIRONMENT).problems.join("\n")).toMatch(
            /sign-off seq 2 does not chain to seq 1/,
        );
    });

    it("ignores uploads of another release and non-object resources", () => {
        const all = uploads(ledger(ROLES));
        expect(registeredSignoffs(all, "v0.0.1", RELEASE_ENVIRONMENT)).toEqual({ entries: [], problems: [] });
        const asOtherType = all.map((r) => ({ ...r, type: "aws:s3/bucket:Bucket" })) as PolicyResource[];
        expect(ctx.verifyRelease(TAG, RELEASE_ENVIRONMENT, asOtherType).problems.join("\n")).toContain(
            "uploaded by this stack: none",
        );
    });
});

describe("a policy that meets an unknown value during a preview", () => {
    const reads = (props: Record<string, unknown>) => policyProxy.unknownCheckingProxy(props);
    const resourcePolicy: ResourceValidationPolicy = {
        name: "reads-x",
        description: "reads x",
        validateResource: (args) => {
            void args.props.x;
        },
    };
    const run = async (policy: ResourceValidationPolicy, urn: string, props: Record<string, unknown>) => {
        const reported: unknown[] = [];
        const wrapped = decidedAtPreview(ctx, policy) as ResourceValidationPolicy;
        const validate = wrapped.validateResource as (a: unknown, r: ReportViolation) => Promise<void>;
        await validate({ type: "aws:sns/topic:Topic", urn, name: "t", props: reads(props) }, (v: unknown) =>
            reported.push(v),
        );
        return reported;
    };

    it("reports a mandatory violation in a prod stack", async () => {
        const reported = await run(resourcePolicy, "urn:pulumi:prod::p::aws:sns/topic:Topic::t", { x: UNKNOWN });
        expect(reported).toEqual([
            expect.objectContaining({
                enforcementLevel: "mandatory",
                message: expect.stringContaining(
                    "reads-x cannot decide during this preview: string value at .x",
                ) as string,
            }),
        ]);
    });

    it("leaves the engine's advisory note in dev, and a known value alone", async () => {
        await expect(run(resourcePolicy, "urn:pulumi:dev::p::aws:sns/topic:Topic::t", { x: UNKNOWN })).rejects.toThrow(
            "string value at .x can't be known during preview",
        );
        expect(await run(resourcePolicy, "urn:pulumi:prod::p::aws:sns/topic:Topic::t", { x: "known" })).toEqual([]);
    });

    it("treats a resource stamped prod as prod whatever its stack is called", async () => {
        const props = { x: UNKNOWN, tags: { [AWS_TAG.environment]: "prod" } };
        const reported = await run(resourcePolicy, "urn:pulumi:renamed::p::aws:sns/topic:Topic::t", props);
        expect(reported).toHaveLength(1);
    });

    it("does not turn another error into a violation", async () => {
        const throws: ResourceValidationPolicy = {
            ...resourcePolicy,
            validateResource: () => {
                throw new Error("a bug");
            },
        };
        await expect(run(throws, "urn:pulumi:prod::p::aws:sns/topic:Topic::t", {})).rejects.toThrow("a bug");
    });

    it("covers stack policies, by the stack's name or its resources' stamps", async () => {
        const stackPolicy: StackValidationPolicy = {
            name: "reads-stack",
            description: "reads a resource",
            validateStack: (args) => {
                void args.resources[0].props.x;
            },
        };
        const wrapped = decidedAtPreview(ctx, stackPolicy) as StackValidationPolicy;
        const resources = (stack: string, tags: Record<string, string> = {}) =>
            [
                { type: "pulumi:pulumi:Stack", urn: `urn:pulumi:${stack}::p::pulumi:pulumi:Stack::s`, props: {} },
                { type: "aws:sns/topic:Topic", urn: `urn:pulumi:${stack}::p::aws:sns/topic:Topic::t`, props: { tags } },
            ].map((r, i) => ({
                ...r,
                props: reads(i === 0 ? { x: UNKNOWN } : r.props),
            })) as unknown as PolicyResource[];
        const reported: Array<{ enforcementLevel?: string; urn?: string }> = [];
        const report = ((v: { enforcementLevel?: string; urn?: string }) => reported.push(v)) as ReportViolation;
        await wrapped.validateStack({ resources: resources("prod"), getConfig: () => ({}) } as never, report);
        await wrapped.validateStack(
            { resources: resources("renamed", { [AWS_TAG.environment]: "prod" }), getConfig: () => ({}) } as never,
            report,
        );
        expect(reported.map((v) => [v.enforcementLevel, v.urn])).toEqual([
            ["mandatory", "urn:pulumi:prod::p::pulumi:pulumi:Stack::s"],
            ["mandatory", "urn:pulumi:renamed::p::pulumi:pulumi:Stack::s"],
        ]);
        await expect(
            wrapped.validateStack({ resources: resources("staging"), getConfig: () => ({}) } as never, report),
        ).rejects.toThrow("can't be known during preview");
    });

    it("reads the stack name from a URN", () => {
        expect(urnStack("urn:pulumi:prod::maestro-guardrails::pulumi:pulumi:Stack::x")).toBe("prod");
        expect(urnStack("not-a-urn")).toBe("");
        expect(path.basename(POLICY_PACK_DIR)).toBe("policies");
    });
});
