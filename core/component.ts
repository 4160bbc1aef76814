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

/**
 * A component's plan, computed once per args object: index.ts runs every plan in its preflight (so that any refusal
 * comes before a resource is registered), then each constructor runs its plan again with the same args, and takes
 * the first result. A plan is a pure function of its args, which nothing changes once they are made; a refusal is not
 * kept (the next call throws again). A new args object is planned afresh.
 */
export function plannedOnce<A extends object, T>(plan: (args: A) => T): (args: A) => T {
    const planned = new WeakMap<A, T>();
    return (args: A): T => {
        if (planned.has(args)) {
            return planned.get(args) as T;
        }
        const result = plan(args);
        planned.set(args, result);
        return result;
    };
}
