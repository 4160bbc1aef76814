/**
 * decidedAtPreview (policies/preview.ts), case by case beyond test/pack-context.test.ts: resource policies with
 * several validations or none, where a stack policy's violation lands when the stack resource is missing, a
 * production stamp that is itself unknown, and the message. Values unknown at preview come through @pulumi/policy's
 * own proxy, as the analyzer server hands them over.
 */
import * as path from "path";
import {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { AWS_TAG } from "../core/conventions";
import { repoRoot } from "../core/validation";
import { decidedAtPreview, urnStack } from "../policies/preview";
import { fixtureContext } from "./fixtures/policies/stackResources";
import { guardrails } from "./fixtures/shipped";

// The @pulumi/policy the pack's modules load (policies/node_modules when present), so its UnknownValueError is theirs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const proxy = require(require.resolve("@pulumi/policy/proxy", { paths: [path.join(repoRoot, "policies")] })) as {
    unknownCheckingProxy: (v: unknown) => Record<string, unknown>;
};
/** The sentinel the engine sends for a value unknown during preview (docs/policies.md, Previews). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const ctx = fixtureContext(guardrails);
const undecided = (policy: string, detail: string) =>
    `${policy} cannot decide during this preview: ${detail}. In production a policy that cannot decide blocks the deploy. Fix: build the value from inputs (names and ARNs derived from stack, account and region) so it is known before the resource exists.`;

type Seen = { message: string; enforcementLevel?: string; urn?: string };
function collector(): [ReportViolation, Seen[]] {
    const seen: Seen[] = [];
    return [(v: Seen | string) => seen.push(typeof v === "string" ? { message: v } : v), seen];
}
const resourceArgs = (urn: string, props: Record<string, unknown>) =>
    ({
        type: "aws:sns/topic:Topic",
        urn,
        name: "t",
        props: proxy.unknownCheckingProxy(props),
    }) as unknown as ResourceValidationArgs;
const readsX = (args: ResourceValidationArgs) => void args.props.x;

describe("decidedAtPreview on a resource policy", () => {
    it("wraps each of several validations, and reports the unknown value in prod with the full message, on the resource", async () => {
        const calls: string[] = [];
        const policy: ResourceValidationPolicy = {
            name: "two-checks",
            description: "d",
            validateResource: [
                (args) => {
                    calls.push("first");
                    readsX(args);
                },
                (args) => {
                    calls.push("second");
                    readsX(args);
                },
            ],
        };
        const wrapped = decidedAtPreview(ctx, policy) as ResourceValidationPolicy;
        expect(Array.isArray(wrapped.validateResource)).toBe(true);
        const [report, seen] = collector();
        const urn = "urn:pulumi:prod::p::aws:sns/topic:Topic::t";
        for (const v of wrapped.validateResource as Array<
            (a: ResourceValidationArgs, r: ReportViolation) => Promise<void>
        >) {
            await v(resourceArgs(urn, { x: UNKNOWN }), report);
        }
        expect(calls).toEqual(["first", "second"]);
        expect(seen).toEqual([
            {
                message: undecided("two-checks", "string value at .x can't be known during preview"),
                enforcementLevel: "mandatory",
                urn,
            },
            {
                message: undecided("two-checks", "string value at .x can't be known during preview"),
                enforcementLevel: "mandatory",
                urn,
            },
        ]);
    });

    it("keeps the policy as it is when it validates nothing", () => {
        const policy = { name: "nothing", description: "d" } as ResourceValidationPolicy;
        expect(decidedAtPreview(ctx, policy)).toBe(policy);
    });

    it("leaves the engine's note when the resource's own stamp is unknown outside a production stack", async () => {
        const policy: ResourceValidationPolicy = { name: "reads-x", description: "d", validateResource: readsX };
        const wrapped = decidedAtPreview(ctx, policy) as ResourceValidationPolicy;
        const v = wrapped.validateResource as (a: ResourceValidationArgs, r: ReportViolation) => Promise<void>;
        const [report, seen] = collector();
        await expect(
            v(resourceArgs("urn:pulumi:renamed::p::aws:sns/topic:Topic::t", { x: UNKNOWN, tags: UNKNOWN }), report),
        ).rejects.toThrow("can't be known during preview");
        await expect(
            v(
                resourceArgs("urn:pulumi:renamed::p::aws:sns/topic:Topic::t", {
                    x: UNKNOWN,
                    tags: { [AWS_TAG.environment]: "dev" },
                }),
                report,
            ),
        ).rejects.toThrow("can't be known during preview");
        expect(seen).toEqual([]);
    });

    it("awaits an asynchronous validation, and reports what it meets after awaiting", async () => {
        const policy: ResourceValidationPolicy = {
            name: "later",
            description: "d",
            validateResource: async (args) => {
                await Promise.resolve();
                readsX(args);
            },
        };
        const v = (decidedAtPreview(ctx, policy) as ResourceValidationPolicy).validateResource as (
            a: ResourceValidationArgs,
            r: ReportViolation,
        ) => Promise<void>;
        const [report, seen] = collector();
        await v(resourceArgs("urn:pulumi:prod::p::aws:sns/topic:Topic::t", { x: UNKNOWN }), report);
        expect(seen.map((x) => x.enforcementLevel)).toEqual(["mandatory"]);
    });
});

describe("decidedAtPreview on a stack policy", () => {
    const reads: StackValidationPolicy = {
        name: "reads-stack",
        description: "d",
        validateStack: (args) => {
            void args.resources[args.resources.length - 1].props.x;
        },
    };
    const run = async (resources: Array<{ type: string; urn: string; props: Record<string, unknown> }>) => {
        const wrapped = decidedAtPreview(ctx, reads) as StackValidationPolicy;
        const [report, seen] = collector();
        const rs = resources.map((r) => ({
            ...r,
            props: proxy.unknownCheckingProxy(r.props),
        })) as unknown as PolicyResource[];
        await wrapped.validateStack({ resources: rs } as StackValidationArgs, report);
        return seen;
    };

    it("reports on the stack resource, or on the first resource without one, or on no URN without any", async () => {
        const topic = (stack: string, name: string) => ({
            type: "aws:sns/topic:Topic",
            urn: `urn:pulumi:${stack}::p::aws:sns/topic:Topic::${name}`,
            props: { x: UNKNOWN },
        });
        const stack = { type: "pulumi:pulumi:Stack", urn: "urn:pulumi:prod::p::pulumi:pulumi:Stack::s", props: {} };
        expect((await run([topic("prod", "a"), stack, topic("prod", "b")])).map((v) => v.urn)).toEqual([stack.urn]);
        expect((await run([topic("prod", "a"), topic("prod", "b")])).map((v) => v.urn)).toEqual([
            topic("prod", "a").urn,
        ]);
        const wrapped = decidedAtPreview(ctx, {
            ...reads,
            validateStack: () => {
                void proxy.unknownCheckingProxy({ x: UNKNOWN }).x;
            },
        }) as StackValidationPolicy;
        const [report, seen] = collector();
        // No resource at all: no stack name, no stamp, so nothing says production and the note stays.
        await expect(
            wrapped.validateStack({ resources: [] } as unknown as StackValidationArgs, report),
        ).rejects.toThrow("can't be known during preview");
        expect(seen).toEqual([]);
    });

    it("reports with the full message, mandatory", async () => {
        const stack = { type: "pulumi:pulumi:Stack", urn: "urn:pulumi:prod-eu::p::pulumi:pulumi:Stack::s", props: {} };
        const seen = await run([
            stack,
            { type: "aws:sns/topic:Topic", urn: "urn:pulumi:prod-eu::p::t::t", props: { x: UNKNOWN } },
        ]);
        expect(seen).toEqual([
            {
                message: undecided("reads-stack", "string value at .x can't be known during preview"),
                enforcementLevel: "mandatory",
                urn: stack.urn,
            },
        ]);
    });

    it("takes a suffixed production stack name as production only when it is one", () => {
        expect(urnStack("urn:pulumi:prod-eu::p::t::n")).toBe("prod-eu");
        expect(urnStack("urn:pulumi:::p")).toBe("");
        // Another scheme names no stack, however long.
        expect(urnStack("arn:aws:sns:us-east-1:123456789012:prod")).toBe("");
    });
});
