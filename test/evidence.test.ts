import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as grafana from "@pulumiverse/grafana";
import * as pulumi from "@pulumi/pulumi";
import { ResourceMonitorClient } from "@pulumi/pulumi/proto/resource_grpc_pb";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { AWS_TAG, K8S_ANNOTATION, K8S_LABEL } from "../core/conventions";
import {
    EvidenceItem,
    declareEvidence,
    registerEvidenceStamping,
    TagContext,
    withDashboardTags,
} from "../core/evidence";
import { RegisteredResource, runWithMocks } from "../offline/mockRuntime";

const ctx: TagContext = { environment: "staging", owner: "platform-team", stack: "staging", releaseTag: "v9.9.9" };
const items: Record<string, EvidenceItem> = {
    "ITEM-A": {
        id: "ITEM-A",
        hooks: {
            logs: "/maestro/a",
            metrics: "a_total",
            tests: "test/a.test.ts",
            provenance: "provenance/ledger.jsonl:item=ITEM-A",
        },
    },
    "ITEM-B": {
        id: "ITEM-B",
        hooks: {
            logs: "/maestro/b",
            metrics: "b_total",
            tests: "test/b.test.ts",
            provenance: "provenance/ledger.jsonl:item=ITEM-B",
        },
    },
};
const resolve = (id: string): EvidenceItem => {
    const item = items[id];
    if (!item) {
        throw new Error(`unknown backlog item ${id}`);
    }
    return item;
};

const SERVES_A_CREATES = [
    "aws:sns/topic:Topic",
    "aws:sns/topicPolicy:TopicPolicy",
    "kubernetes:core/v1:ConfigMap",
    "grafana:oss/dashboard:Dashboard",
];

class ServesA extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:evidence:ServesA", name, {}, opts);
        declareEvidence(this, { backlogItem: "ITEM-A", creates: SERVES_A_CREATES });
        const topic = new aws.sns.Topic(`${name}-topic`, { tags: { team: "explicit" } }, { parent: this });
        new aws.sns.TopicPolicy(`${name}-policy`, { arn: topic.arn, policy: "{}" }, { parent: this });
        new k8s.core.v1.ConfigMap(
            `${name}-cm`,
            { metadata: { name: "cm", labels: { app: "x" } }, data: { a: "b" } },
            { parent: this },
        );
        new grafana.oss.Dashboard(
            `${name}-dash`,
            { configJson: JSON.stringify({ uid: "u", title: "t", tags: ["own"] }) },
            { parent: this },
        );
        new ServesB(`${name}-nested`, { parent: this });
        this.registerOutputs({});
    }
}

class ServesB extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:evidence:ServesB", name, {}, opts);
        declareEvidence(this, { backlogItem: "ITEM-B", creates: ["aws:sns/topic:Topic"] });
        new aws.sns.Topic(`${name}-topic`, {}, { parent: this });
        this.registerOutputs({});
    }
}

async function run(program: () => void): Promise<RegisteredResource[]> {
    const result = await runWithMocks({
        stack: "staging",
        config: { values: {}, secretKeys: [] },
        program: () => {
            registerEvidenceStamping(ctx, resolve);
            program();
            return {};
        },
    });
    return [...result.resources];
}

const byName = (rs: RegisteredResource[], name: string) => {
    const r = rs.find((x) => x.name === name);
    if (!r) {
        throw new Error(`no resource ${name}; have ${rs.map((x) => x.name).join(", ")}`);
    }
    return r;
};

describe("the evidence transformation (the one tagging helper)", () => {
    let resources: RegisteredResource[];
    beforeAll(async () => {
        resources = await run(() => new ServesA("a"));
    });

    it("tags a taggable AWS resource with environment, owner, release, backlog item and all four hooks; explicit tags kept", () => {
        expect(byName(resources, "a-topic").inputs.tags).toEqual({
            team: "explicit",
            [AWS_TAG.environment]: "staging",
            [AWS_TAG.owner]: "platform-team",
            [AWS_TAG.stack]: "staging",
            [AWS_TAG.release]: "v9.9.9",
            [AWS_TAG.managedBy]: "pulumi-maestro-guardrails",
            [AWS_TAG.backlogItem]: "ITEM-A",
            [AWS_TAG.logs]: items["ITEM-A"].hooks.logs,
            [AWS_TAG.metrics]: "a_total",
            [AWS_TAG.tests]: "test/a.test.ts",
            [AWS_TAG.provenance]: "provenance/ledger.jsonl:item=ITEM-A",
        });
    });

    it("leaves AWS resources without a tags input untouched (the provider would reject the key)", () => {
        expect(byName(resources, "a-policy").inputs).not.toHaveProperty("tags");
    });

    it("labels and annotates Kubernetes objects, keeping their own labels", () => {
        const meta = byName(resources, "a-cm").inputs.metadata as {
            labels: Record<string, string>;
            annotations: Record<string, string>;
        };
        expect(meta.labels).toMatchObject({
            app: "x",
            [K8S_LABEL.backlogItem]: "ITEM-A",
            [K8S_LABEL.environment]: "staging",
        });
        expect(meta.annotations).toMatchObject({
            [K8S_ANNOTATION.tests]: "test/a.test.ts",
            [K8S_ANNOTATION.release]: "v9.9.9",
        });
    });

    it("adds key=value tags to Grafana dashboard models after their own", () => {
        const model = JSON.parse(byName(resources, "a-dash").inputs.configJson as string) as { tags: string[] };
        expect(model.tags[0]).toBe("own");
        expect(model.tags).toContain(`${AWS_TAG.backlogItem}=ITEM-A`);
        expect(model.tags).toContain(`${AWS_TAG.metrics}=a_total`);
    });

    it("uses the nearest ancestor's backlog item", () => {
        expect((byName(resources, "a-nested-topic").inputs.tags as Record<string, string>)[AWS_TAG.backlogItem]).toBe(
            "ITEM-B",
        );
    });

    it("fails the run when a component names a backlog item that does not exist", async () => {
        class Dangling extends pulumi.ComponentResource {
            constructor(name: string) {
                super("test:evidence:Dangling", name, {});
                declareEvidence(this, { backlogItem: "NOPE", creates: ["aws:sns/topic:Topic"] });
                new aws.sns.Topic(`${name}-topic`, {}, { parent: this });
            }
        }
        await expect(run(() => new Dangling("d"))).rejects.toThrow("unknown backlog item NOPE");
    });

    it("leaves resources outside any evidence-owning component alone", async () => {
        const rs = await run(() => new aws.sns.Topic("loose", {}));
        expect(byName(rs, "loose").inputs).not.toHaveProperty("tags");
    });
});

describe("evidence is not borrowed", () => {
    /** A component that declares ITEM-A for topics only, and creates whatever it is told to beside them. */
    class Declares extends pulumi.ComponentResource {
        constructor(name: string, extra: (parent: pulumi.Resource) => void, opts?: pulumi.ComponentResourceOptions) {
            super("test:evidence:Declares", name, {}, opts);
            declareEvidence(this, { backlogItem: "ITEM-A", creates: ["aws:sns/topic:Topic"] });
            new aws.sns.Topic(`${name}-topic`, {}, { parent: this });
            extra(this);
        }
    }
    class Plain extends pulumi.ComponentResource {
        constructor(name: string, extra: (parent: pulumi.Resource) => void, opts?: pulumi.ComponentResourceOptions) {
            super("test:evidence:Plain", name, {}, opts);
            extra(this);
        }
    }
    const role = (name: string, parent: pulumi.Resource) =>
        new aws.iam.Role(name, { assumeRolePolicy: "{}", tags: { team: "x" } }, { parent });
    const stamped = (rs: RegisteredResource[], name: string) =>
        (byName(rs, name).inputs.tags as Record<string, string> | undefined)?.[AWS_TAG.backlogItem];

    it("stamps the types the component declares", async () => {
        const rs = await run(() => new Declares("d", () => undefined));
        expect(stamped(rs, "d-topic")).toBe("ITEM-A");
    });

    it("does not stamp a type the component does not declare (an IAM role under it)", async () => {
        const rs = await run(() => new Declares("d", (p) => role("d-role", p)));
        expect(stamped(rs, "d-role")).toBeUndefined();
        expect(byName(rs, "d-role").inputs.tags).toEqual({ team: "x" });
    });

    it("does not stamp an undeclared type hidden one component deeper", async () => {
        const rs = await run(
            () =>
                new Declares("d", (p) => {
                    new Plain("d-inner", (inner) => role("d-inner-role", inner), { parent: p });
                }),
        );
        expect(stamped(rs, "d-inner-role")).toBeUndefined();
    });

    it("still stamps a declared type one undeclaring component deeper", async () => {
        const rs = await run(
            () =>
                new Declares("d", (p) => {
                    new Plain("d-inner", (inner) => new aws.sns.Topic("d-inner-topic", {}, { parent: inner }), {
                        parent: p,
                    });
                }),
        );
        expect(stamped(rs, "d-inner-topic")).toBe("ITEM-A");
    });

    it("lets the nearest declaration decide: a type the outer component declares is not stamped under an inner one that does not", async () => {
        class DeclaresB extends pulumi.ComponentResource {
            constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
                super("test:evidence:DeclaresB", name, {}, opts);
                declareEvidence(this, { backlogItem: "ITEM-B", creates: ["aws:sns/topicPolicy:TopicPolicy"] });
                new aws.sns.Topic(`${name}-topic`, {}, { parent: this });
            }
        }
        const rs = await run(() => new Declares("d", (p) => new DeclaresB("d-b", { parent: p })));
        expect(stamped(rs, "d-b-topic")).toBeUndefined();
    });
});

describe("why a stack transformation and not Pulumi's transforms", () => {
    it("cannot run transforms under the SDK's mock runtime: its monitor lacks the call the engine serves for them", () => {
        // registerResourceTransform hands the transform to the engine (RegisterStackTransform), which calls it back
        // per resource; the mock runtime's monitor does not implement that call, so nothing would ever be stamped.
        expect(typeof ResourceMonitorClient.prototype.registerStackTransform).toBe("function");
        expect("registerStackTransform" in MockMonitor.prototype).toBe(false);
    });
});

describe("withDashboardTags", () => {
    it("does not duplicate a tag the model already has", () => {
        expect(JSON.parse(withDashboardTags(JSON.stringify({ tags: ["a"] }), ["a", "b"])).tags).toEqual(["a", "b"]);
    });
});
