/**
 * The pack's context as the shipped pack builds it (policies/context.ts over the compiled-in data): a prod release's
 * sign-offs read from the statements the stack uploads, and the net under every policy for a value a preview leaves
 * unknown (policies/preview.ts).
 */
import * as path from "path";
import { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { generateKeyPairSync, KeyObject } from "crypto";
import * as fs from "fs";
import { LEDGER_FILE, SignoffEntry, parseLedger, signoffObjects } from "../provenance/ledger";
import { DsseEnvelope, signEnvelope } from "../provenance/dsse";
import { RELEASE_ENVIRONMENT, requiredSignoffs } from "../governance";
import { SIGNOFF_OBJECT_TYPES, keyRing, packContext, registeredSignoffs } from "../policies/context";
import { packData } from "../policies/packData";
import { decidedAtPreview, urnStack } from "../policies/preview";
import { POLICY_PACK_DIR } from "../offline/policyPackProcess";
import { AWS_TAG } from "../core/conventions";
import { UNKNOWN } from "../offline/mockRuntime";

// The @pulumi/policy the pack's modules load (policies/node_modules), so its UnknownValueError is the one they catch.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const policyProxy = require(require.resolve("@pulumi/policy/proxy", { paths: [POLICY_PACK_DIR] })) as {
    unknownCheckingProxy: (v: unknown) => Record<string, unknown>;
};

const data = packData();
// The context and key ring are built in each test, so that the tests reading them are the ones that cover them.
const ctx = () => packContext(data);
const ring = () => keyRing(data.signers);
const governance = data.governance;
const milestone = governance.milestones.find((m) => m.environment === RELEASE_ENVIRONMENT);
if (!milestone) {
    throw new Error("governance plans no prod release");
}
const TAG = milestone.tag;
const ROLES = requiredSignoffs(governance, TAG, RELEASE_ENVIRONMENT);

/** The shipped ledger's sign-offs of the prod release, signed with the keys governance/signers.json lists. */
const SHIPPED: SignoffEntry[] = parseLedger(fs.readFileSync(LEDGER_FILE, "utf8"), "ledger.jsonl")
    .lines.map((l) => l.entry)
    .filter((e) => e.tag === TAG && e.environment === RELEASE_ENVIRONMENT);
const DEPLOYED_AT = new Date("2026-12-01T00:00:00Z");

/** The uploads the SignoffLedger component makes for `entries`, as the pack sees them. */
function uploads(entries: readonly SignoffEntry[]): PolicyResource[] {
    return signoffObjects(
        entries,
        { tag: TAG, environment: RELEASE_ENVIRONMENT },
        { objectLockMode: "COMPLIANCE", retentionDays: 30 },
        DEPLOYED_AT,
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

/** An upload whose envelope is re-signed over a changed statement (`change`) with `key`. */
function resigned(
    r: PolicyResource,
    key: KeyObject,
    change: (statement: Record<string, unknown>) => void,
): PolicyResource {
    const envelope = JSON.parse(String(r.props.content)) as DsseEnvelope;
    const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")) as Record<string, unknown>;
    change(statement);
    const signed = signEnvelope(envelope.payloadType, Buffer.from(JSON.stringify(statement)), key);
    return { ...r, props: { ...r.props, content: JSON.stringify(signed) } };
}

describe("a prod release's sign-offs, read from the stack's uploads", () => {
    it("clears the shipped release: every required role's envelope uploaded and signed by its holder", () => {
        expect(ROLES.length).toBeGreaterThan(1);
        expect(SHIPPED.length).toBeGreaterThanOrEqual(ROLES.length);
        expect(ctx().verifyRelease(TAG, RELEASE_ENVIRONMENT, uploads(SHIPPED))).toEqual({ ok: true, problems: [] });
    });

    it("names the missing role when one envelope is not uploaded", () => {
        const all = uploads(SHIPPED);
        const dropped = SHIPPED[SHIPPED.length - 1].role;
        const check = ctx().verifyRelease(TAG, RELEASE_ENVIRONMENT, all.slice(0, -1));
        expect(check.ok).toBe(false);
        expect(check.problems.join("\n")).toContain(`missing the sign-off of ${dropped}`);
    });

    it("refuses an envelope whose statement was edited (its signature no longer verifies)", () => {
        const edited = uploads(SHIPPED);
        const envelope = JSON.parse(String(edited[0].props.content)) as DsseEnvelope;
        const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")) as {
            predicate: { signer: string };
        };
        statement.predicate.signer = "Someone Else <x@example.com>";
        const payload = Buffer.from(JSON.stringify(statement)).toString("base64");
        (edited[0].props as Record<string, unknown>).content = JSON.stringify({ ...envelope, payload });
        expect(registeredSignoffs(edited, TAG, RELEASE_ENVIRONMENT, ring()).problems.join("\n")).toContain(
            "signature does not verify with a key governance/signers.json lists",
        );
    });

    it("refuses an envelope signed by a key signers.json does not list, even with a well-formed statement", () => {
        const forged = uploads(SHIPPED);
        forged[0] = resigned(forged[0], generateKeyPairSync("ed25519").privateKey, () => undefined);
        expect(registeredSignoffs(forged, TAG, RELEASE_ENVIRONMENT, ring()).problems.join("\n")).toContain(
            "does not verify with a key governance/signers.json lists",
        );
    });

    it("refuses an envelope under another key", () => {
        const moved = uploads(SHIPPED);
        (moved[1].props as Record<string, unknown>).key = `${String(moved[1].props.key).replace(/\d{6}-/, "000099-")}`;
        expect(registeredSignoffs(moved, TAG, RELEASE_ENVIRONMENT, ring()).problems.join("\n")).toContain(
            "the key is not the entry's own",
        );
    });

    it("names every missing role, the required ones and the uploaded ones; a gap in the seqs is no broken chain", () => {
        // The second and third sign-offs not uploaded: the ones left are not consecutive, so no link between them is
        // checked (other releases' entries sit between a release's own in the ledger); the roles say what is missing.
        const kept = SHIPPED.filter((_, i) => i !== 1 && i !== 2);
        expect(kept[1].seq).toBeGreaterThan(kept[0].seq + 1);
        expect(kept[1].prevHash).not.toBe(kept[0].hash);
        const dropped = [SHIPPED[1].role, SHIPPED[2].role];
        expect(registeredSignoffs(uploads(kept), TAG, RELEASE_ENVIRONMENT, ring()).problems).toEqual([]);
        expect(ctx().verifyRelease(TAG, RELEASE_ENVIRONMENT, uploads(kept))).toEqual({
            ok: false,
            problems: [
                `${TAG} in ${RELEASE_ENVIRONMENT} is missing the sign-off of ${ROLES.filter((r) => dropped.includes(r)).join(", ")}` +
                    ` (required: ${ROLES.join(", ")}; uploaded by this stack: ${kept.map((e) => e.role).join(", ")});` +
                    ` record it with \`npm run provenance -- record --tag ${TAG} --environment ${RELEASE_ENVIRONMENT} --role "<role>"\`` +
                    " and deploy with the SignoffLedger component, which uploads every sign-off of the release",
            ],
        });
    });

    it("ignores uploads of another release and non-object resources", () => {
        const all = uploads(SHIPPED);
        expect(registeredSignoffs(all, "v0.0.1", RELEASE_ENVIRONMENT, ring())).toEqual({ entries: [], problems: [] });
        const asOtherType = all.map((r) => ({ ...r, type: "aws:s3/bucket:Bucket" })) as PolicyResource[];
        expect(ctx().verifyRelease(TAG, RELEASE_ENVIRONMENT, asOtherType).problems.join("\n")).toContain(
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
        const wrapped = decidedAtPreview(ctx(), policy) as ResourceValidationPolicy;
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
        const wrapped = decidedAtPreview(ctx(), stackPolicy) as StackValidationPolicy;
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
