import * as fs from "fs";
import * as path from "path";
import Ajv, { ValidateFunction } from "ajv";
import * as yaml from "js-yaml";
import { ALERT_SECRET_PREFIX } from "../core/conventions";
import { parseStackConfig } from "../core/stackConfig";
import { repoRoot, ValidationError } from "../core/validation";
import { extractArtifacts } from "../offline/artifacts";
import { readStackFile } from "../offline/mockRuntime";
import { synthStack } from "../offline/synth";
import {
    ALERTMANAGER_CONFIG_NAME,
    GROUP_BY,
    buildAlertmanagerConfig,
    parseMatcher,
    placeholderSecrets,
    renderAlertmanagerYaml,
    deliveries,
    routeAlert,
    treeFromAlertmanagerConfigSpec,
    treeFromAlertmanagerYaml,
} from "../routing";
import { alertLabelSets, intendedRole } from "../verify/alerting";
import { flatConfig, guardrails, KEY, stackConfig, STACKS, toAmp } from "./helpers";

const CRD = path.join(repoRoot, "routing", "schema", "monitoring.coreos.com_alertmanagerconfigs.yaml");

/** Go's case-insensitive flag `(?i)`, which JavaScript rejects, as the `i` flag of the whole expression. */
function goRegExp(pattern: string, flags: string): RegExp {
    return pattern.includes("(?i)")
        ? new RegExp(pattern.split("(?i)").join(""), `${flags}i`)
        : new RegExp(pattern, flags);
}

/**
 * The v1alpha1 schema as the API server applies it, and its route schema alone: the CRD leaves nested routes
 * unchecked (x-kubernetes-preserve-unknown-fields; the operator checks them when it reconciles), so each nested route
 * is checked against the route schema too. Compiled once per file (the schema is large).
 */
const crdValidators = (() => {
    let compiled: { object: ValidateFunction; route: ValidateFunction } | undefined;
    return () => {
        if (!compiled) {
            const doc = yaml.load(fs.readFileSync(CRD, "utf8")) as {
                spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: OpenApiObject } }> };
            };
            const schema = doc.spec.versions.find((v) => v.name === "v1alpha1")!.schema.openAPIV3Schema;
            const ajv = new Ajv({
                strict: false,
                allErrors: true,
                code: { regExp: Object.assign(goRegExp, { code: "goRegExp" }) },
            });
            ajv.addFormat("int64", true);
            compiled = { object: ajv.compile(schema), route: ajv.compile(schema.properties!.spec.properties!.route) };
        }
        return compiled;
    };
})();

interface OpenApiObject {
    properties?: Record<string, OpenApiObject>;
}

/** Every route of a tree, depth first. */
function allRoutes(route: { routes?: readonly unknown[] }): unknown[] {
    return [route, ...(route.routes ?? []).flatMap((r) => allRoutes(r as { routes?: readonly unknown[] }))];
}

function refusal(stack: string, change: (flat: Record<string, string>) => void, secretKeys?: string[]): string {
    const flat = flatConfig(stack, change);
    try {
        parseStackConfig(stack, flat.values, secretKeys ?? flat.secretKeys, guardrails);
    } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
    }
    throw new Error(`expected Pulumi.${stack}.yaml variant to be refused`);
}

const routingOf = (f: Record<string, string>) =>
    JSON.parse(f[KEY("alertRouting")]) as {
        receivers: Record<string, Record<string, unknown>>;
        routes: Record<string, string>;
    };

describe.each(STACKS)("routing of %s", (stack) => {
    const config = stackConfig(stack);
    const spec = buildAlertmanagerConfig(config);

    it("is an AlertmanagerConfig the API server accepts (the CRD's v1alpha1 schema)", () => {
        const { object: validate, route: validateRoute } = crdValidators();
        const object = {
            apiVersion: "monitoring.coreos.com/v1alpha1",
            kind: "AlertmanagerConfig",
            metadata: { name: ALERTMANAGER_CONFIG_NAME, namespace: "monitoring" },
            spec: JSON.parse(JSON.stringify(spec)) as unknown,
        };
        expect(validate(object) ? [] : validate.errors).toEqual([]);
        const nested = allRoutes(spec.route).slice(1);
        expect(nested.length).toBe(4);
        for (const route of nested) {
            expect(validateRoute(route) ? [] : validateRoute.errors).toEqual([]);
        }
        // Neither schema is vacuous: a matcher type Alertmanager does not have is refused, at the root and nested.
        const broken = JSON.parse(JSON.stringify(object)) as {
            spec: {
                route: {
                    matchers: Array<{ matchType: string }>;
                    routes: Array<{ matchers: Array<{ matchType: string }> }>;
                };
            };
        };
        broken.spec.route.matchers[0].matchType = "==";
        expect(validate(broken)).toBe(false);
        broken.spec.route.routes[0].matchers[0].matchType = "==";
        expect(validateRoute(broken.spec.route.routes[0])).toBe(false);
    });

    it("routes every alert the stack defines to the receiver its kind is meant for, never to nothing", () => {
        const tree = treeFromAlertmanagerConfigSpec(JSON.parse(JSON.stringify(spec)));
        for (const labels of alertLabelSets(config, guardrails)) {
            const receivers = routeAlert(tree.route, labels);
            expect({ labels, receivers }).toEqual({
                labels,
                receivers: [config.alertRouting.routes[intendedRole(labels)]],
            });
            expect(tree.integrations.get(receivers[0])).toBeGreaterThan(0);
        }
    });

    it("groups by alert, environment and what the alert is about, and sends only what it routes", () => {
        expect(spec.route.groupBy).toEqual([...GROUP_BY]);
        for (const key of ["env", "slo", "budget"]) {
            expect(spec.route.groupBy).toContain(key);
        }
        expect(spec.route.matchers).toEqual([{ name: "env", value: stack, matchType: "=" }]);
        const used = new Set(Object.values(config.alertRouting.routes));
        expect(spec.receivers.map((r) => r.name).sort()).toEqual([...used].sort());
    });

    it("holds a ticket back only for a page of the same SLO, environment and service", () => {
        const [slo] = spec.inhibitRules;
        expect(slo.equal).toEqual(["slo", "env", "service"]);
        expect(slo.sourceMatch).toEqual(expect.arrayContaining([{ name: "urgency", value: "page", matchType: "=" }]));
        expect(slo.targetMatch).toEqual(expect.arrayContaining([{ name: "urgency", value: "ticket", matchType: "=" }]));
        // Both sides name the guardrail: a cost page never holds back an SLO or cadence ticket.
        for (const side of [slo.sourceMatch, slo.targetMatch]) {
            expect(side).toEqual(expect.arrayContaining([{ name: "guardrail", value: "slo", matchType: "=" }]));
        }
    });

    it("reads the same inhibit rules, group waits and time intervals from the plain alertmanager.yml as from the spec", () => {
        const plain = treeFromAlertmanagerYaml(yaml.load(renderAlertmanagerYaml(spec, placeholderSecrets)));
        const crd = treeFromAlertmanagerConfigSpec(JSON.parse(JSON.stringify(spec)));
        const sorted = (t: typeof crd) =>
            t.inhibitRules.map((i) => ({
                source: [...i.sourceMatch].sort((a, b) => a.name.localeCompare(b.name)),
                target: [...i.targetMatch].sort((a, b) => a.name.localeCompare(b.name)),
                equal: i.equal,
            }));
        expect(sorted(plain)).toEqual(sorted(crd));
        expect(crd.inhibitRules).toHaveLength(spec.inhibitRules.length);
        for (const labels of alertLabelSets(config, guardrails)) {
            expect(deliveries(plain.route, labels)).toEqual(deliveries(crd.route, labels));
        }
        const muted = treeFromAlertmanagerYaml({
            route: { receiver: "a", group_wait: "1h", routes: [{ receiver: "b", mute_time_intervals: ["nights"] }] },
        });
        expect(deliveries(muted.route, {})).toEqual([{ receiver: "b", groupWait: "1h", timeIntervals: ["nights"] }]);
    });

    it("renders the same routes as a plain alertmanager.yml, secrets as placeholders", () => {
        const text = renderAlertmanagerYaml(spec, placeholderSecrets);
        const plain = treeFromAlertmanagerYaml(yaml.load(text));
        const crd = treeFromAlertmanagerConfigSpec(JSON.parse(JSON.stringify(spec)));
        for (const labels of alertLabelSets(config, guardrails)) {
            expect(routeAlert(plain.route, labels)).toEqual(routeAlert(crd.route, labels));
        }
        for (const [name, value] of Object.entries(config.alertSecrets)) {
            // synth reads placeholders; a real value never reaches the file.
            expect(value).toBe("[secret]");
            expect(text).not.toContain(`${ALERT_SECRET_PREFIX}${name}: `);
        }
        expect(text).not.toMatch(/\[secret\]/);
    });
});

describe("routing config", () => {
    it("refuses a routing key or webhook URL in plain text in the stack file, naming where", () => {
        const msg = refusal("prod", (f) => {
            const r = routingOf(f);
            r.receivers["on-call"] = { pagerduty: { routingKey: "R0UT1NGKEY" } };
            f[KEY("alertRouting")] = JSON.stringify(r);
        });
        expect(msg.split("\n")).toContain(
            `Pulumi.prod.yaml: ${KEY("alertRouting.receivers.on-call.pagerduty.routingKey")}: a secret in plain text in the stack file; allowed: pagerduty.routingKeySecret: <name>, with the value set by \`pulumi config set --secret ${KEY(`${ALERT_SECRET_PREFIX}<name>`)} <value>\``,
        );
        const hook = refusal("dev", (f) => {
            const r = routingOf(f);
            r.receivers["team-chat"] = { webhook: { url: "https://hooks.example/T0KEN" } };
            f[KEY("alertRouting")] = JSON.stringify(r);
        });
        expect(hook).toContain(`${KEY("alertRouting.receivers.team-chat.webhook.url")}: a secret in plain text`);
    });

    it("refuses a receiver secret that is not a Pulumi secret (the way around: its own key set in plain text)", () => {
        const key = KEY(`${ALERT_SECRET_PREFIX}pagerduty-routing-key`);
        const flat = flatConfig("prod");
        const msg = refusal(
            "prod",
            (f) => (f[key] = "R0UT1NGKEY"),
            flat.secretKeys.filter((k) => k !== key),
        );
        expect(msg).toContain(`${key}: must be a secret (it holds a receiver's credential)`);
    });

    it("refuses a receiver whose secret is not set, and a secret no receiver uses", () => {
        const missing = refusal("prod", (f) => delete f[KEY(`${ALERT_SECRET_PREFIX}pagerduty-routing-key`)]);
        expect(missing).toContain(
            `${KEY("alertRouting.receivers.on-call.pagerduty.routingKeySecret")}: names secret "pagerduty-routing-key", but ${KEY(`${ALERT_SECRET_PREFIX}pagerduty-routing-key`)} is not set`,
        );
        const webhookKey = KEY(`${ALERT_SECRET_PREFIX}team-chat-webhook`);
        expect(refusal("dev", (f) => delete f[webhookKey])).toBe(
            `Pulumi.dev.yaml: ${KEY("alertRouting.receivers.team-chat.webhook.urlSecret")}: names secret "team-chat-webhook", but ${webhookKey} is not set; allowed: set it with \`pulumi config set --secret ${webhookKey} <value>\``,
        );
        const flat = flatConfig("dev");
        const stray = KEY(`${ALERT_SECRET_PREFIX}team-chat-webhok`);
        const unused = refusal("dev", (f) => (f[stray] = "[secret]"), [...flat.secretKeys, stray]);
        expect(unused).toBe(
            `Pulumi.dev.yaml: ${stray}: no receiver uses it; allowed: a name given as routingKeySecret or urlSecret in ${KEY("alertRouting.receivers")} (team-chat-webhook)`,
        );
    });

    it("lists every secret the receivers use next to an unused one, or none when no receiver uses a secret", () => {
        const stray = KEY(`${ALERT_SECRET_PREFIX}on-call-key`);
        const prod = flatConfig("prod");
        expect(refusal("prod", (f) => (f[stray] = "[secret]"), [...prod.secretKeys, stray])).toContain(
            `${stray}: no receiver uses it; allowed: a name given as routingKeySecret or urlSecret in ${KEY("alertRouting.receivers")} (pagerduty-routing-key, team-tickets-webhook)`,
        );
        const amp = flatConfig("prod", toAmp);
        expect(
            refusal(
                "prod",
                (f) => {
                    toAmp(f);
                    f[stray] = "[secret]";
                },
                [...amp.secretKeys, stray],
            ),
        ).toContain(
            `${stray}: no receiver uses it; allowed: a name given as routingKeySecret or urlSecret in ${KEY("alertRouting.receivers")} (none)`,
        );
    });

    it("refuses a route to a receiver that does not exist, and a missing route", () => {
        expect(
            refusal("staging", (f) => {
                const r = routingOf(f);
                r.routes.page = "on-cal";
                f[KEY("alertRouting")] = JSON.stringify(r);
            }),
        ).toBe(
            `Pulumi.staging.yaml: ${KEY("alertRouting.routes.page")}: "on-cal" is not a receiver; allowed: team-chat, finops, release-manager`,
        );
        expect(
            refusal("staging", (f) => {
                const r = routingOf(f);
                delete r.routes.cost;
                f[KEY("alertRouting")] = JSON.stringify(r);
            }),
        ).toContain(`${KEY("alertRouting.routes")}: missing required key "cost"`);
        expect(refusal("staging", (f) => delete f[KEY("alertRouting")])).toContain(
            `${KEY("alertRouting")}: missing required key "alertRouting"`,
        );
    });

    it("refuses a receiver without any integration: a null receiver in the stack file", () => {
        expect(
            refusal("dev", (f) => {
                const r = routingOf(f);
                r.receivers.finops = {};
                f[KEY("alertRouting")] = JSON.stringify(r);
            }),
        ).toContain(`${KEY("alertRouting.receivers.finops")}: `);
    });

    it("refuses receivers AMP cannot send to when the rules go to AMP", () => {
        const msg = refusal("prod", (f) => (f[KEY("ruleTarget")] = JSON.stringify({ kind: "amp" })));
        expect(msg).toContain(
            `${KEY("alertRouting.receivers.on-call")}: uses pagerduty, which Amazon Managed Prometheus' alert manager cannot send to (ruleTarget.kind: amp); allowed: sns`,
        );
        const both = refusal(
            "prod",
            (f) => {
                toAmp(f);
                const r = routingOf(f);
                r.receivers.finops = {
                    sns: { topicArn: "arn:aws:sns:us-east-1:123456789012:finops" },
                    webhook: { urlSecret: "finops-webhook" },
                    email: {
                        to: ["finops@maestro.example"],
                        from: "am@maestro.example",
                        smarthost: "smtp.example:587",
                    },
                };
                f[KEY("alertRouting")] = JSON.stringify(r);
                f[KEY(`${ALERT_SECRET_PREFIX}finops-webhook`)] = "[secret]";
            },
            [...flatConfig("prod").secretKeys, KEY(`${ALERT_SECRET_PREFIX}finops-webhook`)],
        );
        expect(both).toBe(
            `Pulumi.prod.yaml: ${KEY("alertRouting.receivers.finops")}: uses webhook, email, which Amazon Managed Prometheus' alert manager cannot send to (ruleTarget.kind: amp); allowed: sns`,
        );
    });

    it("parses Alertmanager matchers as amtool writes them", () => {
        expect(parseMatcher('guardrail=~"slo|telemetry"')).toEqual({
            name: "guardrail",
            value: "slo|telemetry",
            matchType: "=~",
        });
        expect(parseMatcher("env!=dev")).toEqual({ name: "env", value: "dev", matchType: "!=" });
        expect(() => parseMatcher("not a matcher")).toThrow(/is not an Alertmanager matcher/);
    });
});

describe("routing as deployed", () => {
    it("puts the AlertmanagerConfig in the rules' namespace with the selector labels, and the secrets in a Secret it references", async () => {
        const result = await synthStack({ stack: "prod" });
        const am = result.run.resources.find((r) => r.type.endsWith(":AlertmanagerConfig"))!;
        const meta = am.inputs.metadata as { name: string; namespace: string; labels: Record<string, string> };
        expect(meta).toMatchObject({
            name: ALERTMANAGER_CONFIG_NAME,
            namespace: "monitoring",
            labels: expect.objectContaining({ release: "kube-prometheus-stack" }) as unknown,
        });
        const secret = result.run.resources.find((r) => r.type === "kubernetes:core/v1:Secret")!;
        // The values are Pulumi secrets on the wire: never plain in the state or a preview.
        expect(JSON.stringify(secret.inputs.stringData)).toContain("4dabf18193072939515e22adb298388d");
        expect(am.dependsOn).toContain(secret.urn);
        const artifact = result.artifacts.find((a) => a.path === "alertmanager/alertmanager.yml")!;
        expect(artifact.content).toContain("routing_key: <secret pagerduty-routing-key>");
    });

    it("sends to SNS through AMP's alert manager definition when the rules go to AMP", async () => {
        const result = await synthStack({
            stack: "prod",
            configFile: path.join(repoRoot, "test", "fixtures", "rules", "Pulumi.prod-amp.yaml"),
        });
        const def = result.run.resources.find(
            (r) => r.type === "aws:amp/alertManagerDefinition:AlertManagerDefinition",
        )!;
        const workspace = result.run.resources.find((r) => r.type === "aws:amp/workspace:Workspace")!;
        expect(def.inputs.workspaceId).toBe(`${workspace.name}-id`);
        const inner = (yaml.load(String(def.inputs.definition)) as { alertmanager_config: string }).alertmanager_config;
        expect(inner).toContain("sns_configs:");
        expect(
            extractArtifacts(result.run.resources).find((a) => a.path === "alertmanager/alertmanager.yml")?.content,
        ).toContain(inner);
        expect(
            readStackFile(path.join(repoRoot, "test", "fixtures", "rules", "Pulumi.prod-amp.yaml")).secretKeys,
        ).toEqual([]);
    });
});
