export * from "./settings";
export * from "./costExplorer";
export { CostCollector, systemRuntime } from "./collector";
export type { CollectorRuntime } from "./collector";
export { serveCollector } from "./server";
export type { RunningServer } from "./server";
