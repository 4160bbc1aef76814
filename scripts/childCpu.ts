/**
 * CPU time (user + system, ms) of this process's finished children and of everything they waited for, from
 * /proc/self/stat (Linux; undefined elsewhere). Taken before and after a child runs, it is that run's CPU whatever
 * else the machine runs: the figure to compare on a busy machine, where wall times are inflated.
 */
import * as fs from "fs";

export function childrenCpuMs(): number | undefined {
    try {
        const stat = fs.readFileSync("/proc/self/stat", "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // cutime and cstime: fields 16 and 17 of the file, 14 and 15 after the name, in USER_HZ (100 on Linux).
        const ticks = Number(fields[13]) + Number(fields[14]);
        return Number.isFinite(ticks) ? ticks * 10 : undefined;
    } catch {
        return undefined;
    }
}

/** The children's CPU since `before` (a childrenCpuMs() reading). */
export function childrenCpuSince(before: number | undefined): number | undefined {
    const now = childrenCpuMs();
    return before === undefined || now === undefined ? undefined : now - before;
}
