import * as pulumi from "@pulumi/pulumi";

/**
 * A component's plan, computed inside its constructor: a refusal becomes a ResourceError naming the component, so the
 * engine reports it against the component and registers none of its children.
 */
export function planOrRefuse<T>(component: pulumi.ComponentResource, plan: () => T): T {
    try {
        return plan();
    } catch (err) {
        throw new pulumi.ResourceError((err as Error).message, component);
    }
}
