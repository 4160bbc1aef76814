/**
 * Composition root of the Maestro Conductor guardrails stack: load the guardrails, this stack's config and the
 * governance data, run every component's plan (all validated before any resource exists), build one component per
 * capability, export what downstream workstreams read. Pulumi calls the exported function inside the stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { AlertRouting } from "./components/alertRouting";
import { CostBudgets } from "./components/costBudgets";
import { CostCollector } from "./components/costCollector";
import { GrafanaDashboards } from "./components/grafanaDashboards";
import { GuardrailRules } from "./components/prometheusRules";
import { ProvenanceBucket } from "./components/provenanceBucket";
import { SignoffLedger } from "./components/signoffLedger";
import { currentDeployMode, priorDeployHead } from "./components/deployFacts";
import { releasePlanFromGovernance } from "./dashboards";
import { evidenceResolver, loadGovernance, milestoneFor, requiredSignoffs } from "./governance";
import { registerEvidenceStamping } from "./core/evidence";
import { loadGuardrails } from "./core/guardrails";
import { stackConfigFromPulumi } from "./core/stackConfig";
import { OutputsOf, StackOutputs } from "./core/stackOutputs";
import { loadStackConfigs } from "./core/stackFile";
import { preflight, repoRoot } from "./core/validation";
import { checkoutState, gitFacts } from "./provenance/git";
import { SIGNOFF_KEY_LAYOUT } from "./provenance/ledger";
import { loadSigners } from "./provenance/signers";

export = async () => {
    const guardrails = loadGuardrails();
    const config = stackConfigFromPulumi(guardrails);
    const governance = loadGovernance();
    // Validated with the rest of the config (alerts link to its dashboards), so a missing key fails before any resource.
    const grafanaUrl = config.grafanaUrl;
    // The AWS provider adds these to every resource; S3 counts them against an object's 10 tags.
    const defaultTagKeys = Object.keys(
        new pulumi.Config("aws").getObject<{ tags?: Record<string, string> }>("defaultTags")?.tags ?? {},
    );

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
        signers: loadSigners(
            undefined,
            governance.roles.map((r) => r.name),
        ),
        requiredRoles: (tag: string, env: string) => requiredSignoffs(governance, tag, env),
        milestoneOf: (tag: string, env: string) => milestoneFor(governance, tag, env).id,
        git: gitFacts(repoRoot),
        checkout: checkoutState(repoRoot),
        mode: currentDeployMode(),
        deployedAt: new Date(),
        defaultTagKeys,
    };
    const dashboardArgs = { config, guardrails, releasePlan: releasePlanFromGovernance(governance), grafanaUrl };
    const collectorArgs = { config, guardrails };
    preflight(config.stack, {
        "guardrail rules": () => GuardrailRules.plan(rulesArgs),
        "cost budgets": () => CostBudgets.plan(budgetArgs),
        "provenance bucket": () => ProvenanceBucket.plan(bucketArgs),
        "release sign-offs": () => SignoffLedger.plan(signoffArgs),
        dashboards: () => GrafanaDashboards.plan(dashboardArgs),
        ...(config.costCollector.enabled ? { "cost collector": () => CostCollector.plan(collectorArgs) } : {}),
        // The AMP workspace may not exist yet; the plan only needs to know one will.
        "alert routing": () =>
            AlertRouting.plan({ config, ampWorkspaceId: config.ruleTarget.kind === "amp" ? "" : undefined }),
    });
    // The anchor: the ledger must extend the head this stack's previous deploy recorded (state, not a repo file).
    // Read after every input is known valid, and checked before any resource is created.
    const priorHead = await priorDeployHead();
    preflight(config.stack, { "release sign-offs": () => SignoffLedger.plan({ ...signoffArgs, priorHead }) });

    // Registered before the first resource: every resource below carries its backlog item's evidence hooks.
    registerEvidenceStamping({ ...config, defaultTagKeys }, evidenceResolver(governance));

    const rules = new GuardrailRules("guardrail-rules", rulesArgs);
    const budgets = new CostBudgets("cost-budgets", budgetArgs);
    const provenance = new ProvenanceBucket("provenance", bucketArgs);
    const signoffs = new SignoffLedger("signoffs", { ...signoffArgs, priorHead, bucket: provenance });
    const dashboards = new GrafanaDashboards("dashboards", dashboardArgs);
    if (config.costCollector.enabled) {
        new CostCollector("cost-collector", collectorArgs);
    }
    const routing = new AlertRouting("alert-routing", { config, ampWorkspaceId: rules.ampWorkspaceId });

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
        alertRouting: {
            kind: config.ruleTarget.kind,
            location: routing.location,
            routes: config.alertRouting.routes,
        },
        provenance: {
            bucketName: provenance.bucketName,
            logBucketName: provenance.logBucketName,
            kmsKeyArn: provenance.kmsKeyArn,
            signoffKeyLayout: SIGNOFF_KEY_LAYOUT,
            signoffKeyPrefix: signoffs.keyPrefix,
            signoffObjectKeys: signoffs.objectKeys,
            ledgerHead: signoffs.ledgerHead,
            codeBinding: signoffs.codeBinding,
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
