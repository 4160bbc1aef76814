/**
 * Composition root of the Maestro Conductor guardrails stack: load the guardrails, this stack's config and the
 * governance data, run every component's plan (all validated before any resource exists), build one component per
 * capability, export what downstream workstreams read. Pulumi calls the exported function inside the stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { CostBudgets } from "./components/costBudgets";
import { GrafanaDashboards } from "./components/grafanaDashboards";
import { GuardrailRules } from "./components/prometheusRules";
import { ProvenanceBucket } from "./components/provenanceBucket";
import { SignoffLedger } from "./components/signoffLedger";
import { releasePlanFromGovernance } from "./dashboards";
import { evidenceResolver, loadGovernance, requiredSignoffs } from "./governance";
import { evidenceTransformation } from "./core/evidence";
import { loadGuardrails } from "./core/guardrails";
import { stackConfigFromPulumi } from "./core/stackConfig";
import { OutputsOf, StackOutputs } from "./core/stackOutputs";
import { loadStackConfigs } from "./core/stackFile";
import { preflight, repoRoot } from "./core/validation";
import { SIGNOFF_KEY_LAYOUT } from "./provenance/ledger";

export = async () => {
    const guardrails = loadGuardrails();
    const config = stackConfigFromPulumi(guardrails);
    const governance = loadGovernance();
    // Read here, not in the component, so a missing key fails with the other config errors, before any resource.
    const grafanaUrl = new pulumi.Config("grafana").require("url");

    // The other stack files of the project, so two stacks sharing a Prometheus are refused here too, not only by
    // `npm run validate`.
    const siblings = loadStackConfigs(repoRoot, guardrails, [config.stack]).configs;
    const rulesArgs = { config, guardrails, siblings };
    const budgetArgs = { config, guardrails };
    const bucketArgs = {
        environment: config.environment,
        objectLock: config.provenance,
        sourceFile: config.sourceFile,
    };
    const signoffArgs = {
        environment: config.environment,
        releaseTag: config.releaseTag,
        objectLock: config.provenance,
        guardrails,
        requiredRoles: (tag: string, env: string) => requiredSignoffs(governance, tag, env),
    };
    const dashboardArgs = { config, guardrails, releasePlan: releasePlanFromGovernance(governance), grafanaUrl };
    preflight(config.stack, {
        "guardrail rules": () => GuardrailRules.plan(rulesArgs),
        "cost budgets": () => CostBudgets.plan(budgetArgs),
        "provenance bucket": () => ProvenanceBucket.plan(bucketArgs),
        "release sign-offs": () => SignoffLedger.plan(signoffArgs),
        dashboards: () => GrafanaDashboards.plan(dashboardArgs),
    });

    // Registered before the first resource: every resource below carries its backlog item's evidence hooks.
    pulumi.runtime.registerStackTransformation(
        evidenceTransformation(
            {
                environment: config.environment,
                owner: config.owner,
                stack: config.stack,
                releaseTag: config.releaseTag,
            },
            evidenceResolver(governance),
        ),
    );

    const rules = new GuardrailRules("guardrail-rules", rulesArgs);
    const budgets = new CostBudgets("cost-budgets", budgetArgs);
    const provenance = new ProvenanceBucket("provenance", bucketArgs);
    const signoffs = new SignoffLedger("signoffs", { ...signoffArgs, bucket: provenance });
    const dashboards = new GrafanaDashboards("dashboards", dashboardArgs);

    const cap = guardrails.cost.caps[config.environment];
    const outputs: OutputsOf<StackOutputs> = {
        environment: config.environment,
        releaseTag: config.releaseTag ?? null,
        guardrails,
        targets: {
            environment: config.environment,
            slos: config.slos,
            monthlyBudgetUsd: config.monthlyBudgetUsd,
            llmBudgetUsd: config.llmBudgetUsd,
            monthlyCapUsd: cap.monthlyUsd,
            llmCapUsd: cap.llmMonthlyUsd ?? null,
            costAlertThreshold: config.costAlertThreshold,
        },
        alertEmails: pulumi.secret(config.alertEmails),
        rules:
            config.ruleTarget.kind === "amp"
                ? { kind: "amp", workspaceId: rules.ampWorkspaceId!, objectNames: rules.ruleObjectNames }
                : {
                      kind: "prometheus-operator",
                      namespace: config.ruleTarget.namespace,
                      ruleSelectorLabels: config.ruleTarget.ruleSelectorLabels,
                      objectNames: rules.ruleObjectNames,
                  },
        budgetAlertTopicArn: budgets.topicArn,
        provenance: {
            bucketName: provenance.bucketName,
            logBucketName: provenance.logBucketName,
            kmsKeyArn: provenance.kmsKeyArn,
            signoffKeyLayout: SIGNOFF_KEY_LAYOUT,
            signoffKeyPrefix: signoffs.keyPrefix,
            signoffObjectKeys: signoffs.objectKeys,
            ledgerHead: signoffs.ledgerHead,
        },
        grafana: {
            folderUid: dashboards.folderUid,
            folderUrl: dashboards.folderUrl,
            prometheusDatasourceUid: config.prometheusDatasourceUid,
            dashboardUids: dashboards.dashboardUids,
            dashboardUrls: dashboards.dashboardUrls,
        },
    };
    return outputs;
};
