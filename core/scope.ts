/**
 * Which stack a build is for. One type for every builder that needs to know: the rule groups, the dashboards and the
 * evidence stamps each read a few of these facts, and take exactly those (`Pick<StackScope, ...>`), so the stack passes
 * its StackConfig whole (a StackConfig is a scope), the guardrail kit builds one for a downstream service, and a test
 * writes only the fields the builder reads.
 */
import type { SloObjective } from "./guardrails";

export interface StackScope {
    /** The Pulumi stack's name. */
    readonly stack: string;
    /** The guardrail environment (dev, staging, prod). */
    readonly environment: string;
    /** Team accountable for what the build provisions (evidence tags). */
    readonly owner: string;
    /** Where the values came from, for messages: the stack file, or the kit's arguments. */
    readonly sourceFile: string;
    /**
     * A downstream service's name (the kit); absent for this stack's own build. Its recordings carry a `service`
     * label, so both share recording names without ever writing the same series.
     */
    readonly service?: string;
    /** The release deployed (vX.Y.Z); required on staging and prod. */
    readonly releaseTag?: string;
    /**
     * Keys of the tags the AWS provider adds to every resource (`aws:defaultTags`). S3 counts them against an
     * object's 10-tag limit, so objects keep fewer of the stamps as tags (see fitObjectTags).
     */
    readonly defaultTagKeys?: readonly string[];
    /** The Prometheus datasource dashboards query by default. */
    readonly prometheusDatasourceUid: string;
    /** The SLOs held in this scope, with any (tighter) override applied. */
    readonly slos: readonly SloObjective[];
    /**
     * Grafana's base URL (`grafana:url`); absent only where it is unknown (the kit's targets read from a file). A
     * notification is read far from Grafana, so alerts link to dashboards under it, absolutely.
     */
    readonly grafanaUrl?: string;
    /** The docs folder as a browser opens it (`runbookBaseUrl`), for runbook links; default: this repository's docs. */
    readonly runbookBaseUrl?: string;
}
