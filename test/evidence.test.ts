import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as grafana from "@pulumiverse/grafana";
import * as pulumi from "@pulumi/pulumi";
import { AWS_TAG, K8S_ANNOTATION, K8S_LABEL } from "../core/conventions";
import { EvidenceItem, evidenceTransformation, TagContext, withDashboardTags } from "../core/evidence";
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

class ServesA extends pulumi.ComponentResource {
    readonly backlogItem = "ITEM-A";
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:evidence:ServesA", name, {}, opts);
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
    readonly backlogItem = "ITEM-B";
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:evidence:ServesB", name, {}, opts);
        new aws.sns.Topic(`${name}-topic`, {}, { parent: this });
        this.registerOutputs({});
    }
}

async function run(program: () => void): Promise<RegisteredResource[]> {
    const result = await runWithMocks({
        stack: "staging",
        config: { values: {}, secretKeys: [] },
        program: () => {
            pulumi.runtime.registerStackTransformation(evidenceTransformation(ctx, resolve));
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
            readonly backlogItem = "NOPE";
            constructor(name: string) {
                super("test:evidence:Dangling", name, {});
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

describe("withDashboardTags", () => {
    it("does not duplicate a tag the model already has", () => {
        expect(JSON.parse(withDashboardTags(JSON.stringify({ tags: ["a"] }), ["a", "b"])).tags).toEqual(["a", "b"]);
    });
});
