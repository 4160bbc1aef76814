/**
 * The contract between this stack and the projects that read it with a `StackReference`: every output's name and
 * type. index.ts is type-checked against it, the README documents it, and the guardrail kit reads it.
 */
import { RuleDestination } from "./ruleDestination";
import type * as pulumi from "@pulumi/pulumi";
import type { Guardrails, SloObjective } from "./guardrails";

/** This environment's effective targets: guardrail SLOs with any tighter override applied, budgets and caps. */
export interface StackTargets {
    readonly environment: string;
    readonly slos: readonly SloObjective[];
    /** Budget this stack enforces, at most the cap. */
    readonly monthlyBudgetUsd: number;
    readonly llmBudgetUsd: number;
    /** The environment's guardrail caps (the budgets may be lower). */
    readonly monthlyCapUsd: number;
    readonly llmCapUsd: number | null;
    readonly costAlertThreshold: number;
}

/** Where the stack's Prometheus rules live, with the names of its rule objects (a downstream service's go beside). */
export type RuleLocation = RuleDestination & { readonly objectNames: readonly string[] };

export interface StackOutputs {
    readonly environment: string;
    /** The release this deploy ships (`vX.Y.Z`), null in dev. */
    readonly releaseTag: string | null;
    /** The unified guardrails document (every environment's caps, the SLOs, the cadence), as validated. */
    readonly guardrails: Guardrails;
    readonly targets: StackTargets;
    /** Secret: budget notification recipients. */
    readonly alertEmails: readonly string[];
    readonly rules: RuleLocation;
    /** SNS topic the budgets notify; FinOps subscribes here. */
    readonly budgetAlertTopicArn: string;
    /**
     * Where the guardrail alerts are routed: the AlertmanagerConfig (`<namespace>/<name>`) or the AMP workspace whose
     * alert manager definition holds the routes, and the receiver each kind of alert goes to.
     */
    readonly alertRouting: {
        readonly kind: "prometheus-operator" | "amp";
        readonly location: string;
        readonly routes: Readonly<Record<"page" | "ticket" | "cost" | "cadence", string>>;
    };
    readonly provenance: {
        readonly bucketName: string;
        readonly logBucketName: string;
        readonly kmsKeyArn: string;
        /** `signoffs/<environment>/<tag>/<commit>/<seq>-<role>-<envelope sha256>.dsse.json` */
        readonly signoffKeyLayout: string;
        /** `signoffs/<environment>/<tag>/`, empty without a release. */
        readonly signoffKeyPrefix: string;
        readonly signoffObjectKeys: readonly string[];
        /** Hash of the sign-off ledger's last entry at deploy time: the next deploy's ledger must contain it. */
        readonly ledgerHead: string;
        /**
         * Whether the deployed code is the release's signed commit (differing at most in the ledger, nothing
         * uncommitted). An update refuses when not; a preview (or an offline render) reports the problems here.
         */
        readonly codeBinding: { readonly bound: boolean; readonly problems: readonly string[] };
    };
    readonly grafana: {
        readonly folderUid: string;
        readonly folderUrl: string;
        /** The Prometheus datasource the dashboards default to (`prometheusDatasourceUid`). */
        readonly prometheusDatasourceUid: string;
        readonly dashboardUids: Readonly<Record<"slo" | "cost" | "summary", string>>;
        readonly dashboardUrls: Readonly<Record<"slo" | "cost" | "summary", string>>;
    };
}

/** What a program may return for `T`: each value, or a Pulumi Output of it, nested objects alike. */
export type OutputsOf<T> = {
    readonly [K in keyof T]: pulumi.Input<T[K]> | (T[K] extends object ? OutputsOf<T[K]> : never);
};
