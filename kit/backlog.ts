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

/**
 * Each backlog this module validated, by the object handed out, with the copy it validated. The plan reads the copy:
 * an object built by hand (no schema check) is no backlog, and items set on a handed-out map after the check are not
 * in it.
 */
const validated = new WeakMap<object, ServiceBacklog>();

/** A parsed backlog document, validated against the schema (throws a ValidationError naming file and path). */
export function serviceBacklog(doc: unknown, file: string): ServiceBacklog {
    const valid = validateAgainstSchema<{ items: Array<{ id: string; hooks: EvidenceItem["hooks"] }> }>(
        doc,
        BACKLOG_SCHEMA,
        file,
    );
    const items = () => new Map(valid.items.map((i) => [i.id, { id: i.id, hooks: { ...i.hooks } }]));
    const backlog: ServiceBacklog = { file, items: items() };
    validated.set(backlog, Object.freeze({ file, items: items() }));
    return backlog;
}

/** The backlog as serviceBacklog validated it, or undefined for anything it did not hand out. */
export function validatedBacklog(backlog: unknown): ServiceBacklog | undefined {
    return typeof backlog === "object" && backlog !== null ? validated.get(backlog) : undefined;
}

/** The service's backlog file (JSON or YAML), validated by the same schema as governance/backlog.json. */
export function loadServiceBacklog(file: string): ServiceBacklog {
    return serviceBacklog(readDataFile(file), displayPath(file));
}
