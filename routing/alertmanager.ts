/**
 * The plain Alertmanager configuration (alertmanager.yml) of an AlertmanagerConfig spec: what AMP's alert manager
 * definition holds, what synth writes to out/<stack>/alertmanager/alertmanager.yml, and what the real Alertmanager in
 * the tests runs. Field names follow https://prometheus.io/docs/alerting/latest/configuration/.
 */
import * as yaml from "js-yaml";
import { AlertmanagerConfigSpec, Matcher, Receiver, Route, SecretKeySelector } from "./types";

/** What a receiver's secret becomes in the file: its value (a deploy, a test) or a placeholder (synth). */
export type SecretResolver = (ref: SecretKeySelector, use: "routingKey" | "url") => string;

/**
 * Placeholders for a file a person reads or commits: a routing key is named, a webhook URL stays a URL (so
 * `amtool check-config` still parses it) on the reserved `.invalid` domain, which never resolves.
 */
export const placeholderSecrets: SecretResolver = (ref, use) =>
    use === "url" ? `https://secret.invalid/${ref.key}` : `<secret ${ref.key}>`;

/** `name="value"`, the matcher syntax of Alertmanager 0.22 and later; values JSON-quoted as it expects. */
export function matcherString(m: Matcher): string {
    return `${m.name}${m.matchType}${JSON.stringify(m.value)}`;
}

function route(r: Route): Record<string, unknown> {
    return {
        ...(r.receiver !== undefined ? { receiver: r.receiver } : {}),
        ...(r.matchers && r.matchers.length > 0 ? { matchers: r.matchers.map(matcherString) } : {}),
        ...(r.groupBy ? { group_by: [...r.groupBy] } : {}),
        ...(r.groupWait ? { group_wait: r.groupWait } : {}),
        ...(r.groupInterval ? { group_interval: r.groupInterval } : {}),
        ...(r.repeatInterval ? { repeat_interval: r.repeatInterval } : {}),
        ...(r.continue !== undefined ? { continue: r.continue } : {}),
        ...(r.routes && r.routes.length > 0 ? { routes: r.routes.map(route) } : {}),
    };
}

function receiver(r: Receiver, secret: SecretResolver): Record<string, unknown> {
    return {
        name: r.name,
        ...(r.pagerdutyConfigs
            ? {
                  pagerduty_configs: r.pagerdutyConfigs.map((c) => ({
                      routing_key: secret(c.routingKey, "routingKey"),
                      send_resolved: c.sendResolved,
                  })),
              }
            : {}),
        ...(r.webhookConfigs
            ? {
                  webhook_configs: r.webhookConfigs.map((c) => ({
                      url: secret(c.urlSecret, "url"),
                      send_resolved: c.sendResolved,
                  })),
              }
            : {}),
        ...(r.emailConfigs
            ? {
                  email_configs: r.emailConfigs.map((c) => ({
                      to: c.to,
                      from: c.from,
                      smarthost: c.smarthost,
                      send_resolved: c.sendResolved,
                  })),
              }
            : {}),
        ...(r.snsConfigs
            ? {
                  sns_configs: r.snsConfigs.map((c) => ({
                      topic_arn: c.topicARN,
                      send_resolved: c.sendResolved,
                      ...(c.sigv4 ? { sigv4: { region: c.sigv4.region } } : {}),
                  })),
              }
            : {}),
    };
}

/**
 * The configuration as a plain object (alertmanager.yml's shape). Alertmanager's root route takes no matchers, so the
 * spec's route becomes the root's one child, as prometheus-operator nests an AlertmanagerConfig's route; the root
 * sends anything else to the same receiver, never to a null route.
 */
export function alertmanagerConfigDocument(
    spec: AlertmanagerConfigSpec,
    secret: SecretResolver,
): Record<string, unknown> {
    const root: Route = { ...spec.route, matchers: [], routes: [] };
    return {
        route: { ...route(root), routes: [route(spec.route)] },
        receivers: spec.receivers.map((r) => receiver(r, secret)),
        inhibit_rules: spec.inhibitRules.map((r) => ({
            source_matchers: r.sourceMatch.map(matcherString),
            target_matchers: r.targetMatch.map(matcherString),
            equal: [...r.equal],
        })),
    };
}

/** alertmanager.yml text. */
export function renderAlertmanagerYaml(spec: AlertmanagerConfigSpec, secret: SecretResolver): string {
    return yaml.dump(alertmanagerConfigDocument(spec, secret), { lineWidth: -1, noRefs: true });
}

/** AMP's alert manager definition: the configuration under `alertmanager_config`, as a YAML string. */
export function renderAmpDefinition(spec: AlertmanagerConfigSpec): string {
    return yaml.dump(
        { alertmanager_config: renderAlertmanagerYaml(spec, placeholderSecrets) },
        { lineWidth: -1, noRefs: true },
    );
}
