/**
 * A downstream service's own backlog: the file its evidence hooks must come from, validated by the same schema as
 * this stack's governance/backlog.json. A service's resources then name an item someone planned, with the hooks that
 * item declares, instead of whatever string the program passes.
 */
import * as path from "path";
import { EvidenceItem } from "../core/evidence";
import { displayPath, readDataFile, repoRoot, validateAgainstSchema } from "../core/validation";

/** The backlog schema the stack's own governance data follows; downstream backlogs follow it too. */
export const BACKLOG_SCHEMA = path.join(repoRoot, "governance", "backlog.schema.json");

export interface ServiceBacklog {
    /** The file, for messages. */
    readonly file: string;
    /** Items by id, with the four hooks each declares. */
    readonly items: ReadonlyMap<string, EvidenceItem>;
}

/** A parsed backlog document, validated against the schema (throws a ValidationError naming file and path). */
export function serviceBacklog(doc: unknown, file: string): ServiceBacklog {
    const valid = validateAgainstSchema<{ items: Array<{ id: string; hooks: EvidenceItem["hooks"] }> }>(
        doc,
        BACKLOG_SCHEMA,
        file,
    );
    return { file, items: new Map(valid.items.map((i) => [i.id, { id: i.id, hooks: { ...i.hooks } }])) };
}

/** The service's backlog file (JSON or YAML), validated by the same schema as governance/backlog.json. */
export function loadServiceBacklog(file: string): ServiceBacklog {
    return serviceBacklog(readDataFile(file), displayPath(file));
}
