/** Rules for a prometheus-operator: PrometheusRule objects in a namespace, labelled for its `ruleSelector`. */
export interface OperatorRuleDestination {
    readonly kind: "prometheus-operator";
    /** Namespace the PrometheusRule objects are created in. */
    readonly namespace: string;
    /**
     * Labels the Prometheus `ruleSelector` matches: a rule object without them is never loaded. Required in the stack
     * file, since no default matches every install (kube-prometheus-stack selects `release: <helm release>`).
     */
    readonly ruleSelectorLabels: Readonly<Record<string, string>>;
}

/**
 * Where Prometheus rules go: a namespace a prometheus-operator watches, or an Amazon Managed Prometheus workspace.
 * One type for every reader; `Amp` says how the workspace is known: an id (outputs, the kit's targets), an optional
 * id (the stack config: absent means the stack creates the workspace), or a Pulumi input (while it is created).
 */
export type RuleDestination<Amp = { readonly workspaceId: string }> =
    OperatorRuleDestination | ({ readonly kind: "amp" } & Amp);
