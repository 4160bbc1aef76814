/**
 * The routing model: prometheus-operator's `AlertmanagerConfig` spec (monitoring.coreos.com/v1alpha1), typed for the
 * fields this stack writes. It is the one form the builder produces; the plain Alertmanager configuration (AMP's
 * definition, synth's alertmanager.yml, the real Alertmanager in the tests) is rendered from it, so both targets
 * route alike.
 */

export type MatchType = "=" | "!=" | "=~" | "!~";

export interface Matcher {
    readonly name: string;
    readonly value: string;
    readonly matchType: MatchType;
}

export interface Route {
    readonly receiver?: string;
    readonly matchers?: readonly Matcher[];
    readonly groupBy?: readonly string[];
    readonly groupWait?: string;
    readonly groupInterval?: string;
    readonly repeatInterval?: string;
    readonly continue?: boolean;
    readonly routes?: readonly Route[];
}

/** A key of a Kubernetes Secret in the AlertmanagerConfig's namespace. */
export interface SecretKeySelector {
    readonly name: string;
    readonly key: string;
}

export interface Receiver {
    readonly name: string;
    readonly pagerdutyConfigs?: ReadonlyArray<{
        readonly routingKey: SecretKeySelector;
        readonly sendResolved: boolean;
    }>;
    readonly webhookConfigs?: ReadonlyArray<{ readonly urlSecret: SecretKeySelector; readonly sendResolved: boolean }>;
    readonly emailConfigs?: ReadonlyArray<{
        readonly to: string;
        readonly from: string;
        readonly smarthost: string;
        readonly sendResolved: boolean;
    }>;
    readonly snsConfigs?: ReadonlyArray<{
        readonly topicARN: string;
        readonly sendResolved: boolean;
        readonly sigv4?: { readonly region: string };
    }>;
}

export interface InhibitRule {
    readonly sourceMatch: readonly Matcher[];
    readonly targetMatch: readonly Matcher[];
    readonly equal: readonly string[];
}

export interface AlertmanagerConfigSpec {
    readonly route: Route;
    readonly receivers: readonly Receiver[];
    readonly inhibitRules: readonly InhibitRule[];
}

/** The integration lists a receiver may carry (a receiver with none of them is a null route: it drops alerts). */
export const INTEGRATION_FIELDS = ["pagerdutyConfigs", "webhookConfigs", "emailConfigs", "snsConfigs"] as const;
