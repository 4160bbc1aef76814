/**
 * The release-cut metric from the sign-off ledger (rules lastReleaseCuts, written by `provenance verify
 * --metrics`): a staging cut is the Release Manager's staging sign-off of a tag, a production release their prod
 * sign-off; nothing else moves the metric. Checked on plain entries (any ledger format that yields tag,
 * environment, role and time), on a real ledger file through the CLI, and with `promtool check metrics`.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LEDGER_FILE, verifyLedgerFile } from "../provenance/ledger";
import { SIGNERS_FILE, loadSigners } from "../provenance/signers";
import { RELEASE_CUT_ROLE, SignoffFacts, cadenceTargets, lastReleaseCuts } from "../rules";
import { CadenceTarget } from "../rules/cadence";
import { loadGovernance, requiredSignoffs } from "../governance";
import { releaseCutMetrics, renderMetrics } from "../verify/ciMetrics";
import { CADENCE_METRIC } from "../core/conventions";
import { promtoolPath } from "../verify/promtool";
import { guardrails, runScript } from "./helpers";

// The targets are read in each test (not while the file loads), so mutation testing sees which tests reach them.
let staging: CadenceTarget;
let production: CadenceTarget;
beforeEach(() => {
    [staging, production] = cadenceTargets(guardrails);
});
const at = (iso: string) => Date.parse(iso) / 1000;
const facts = (tag: string, environment: string, role: string, time: string): SignoffFacts => ({
    tag,
    environment,
    role,
    time,
});

describe("the last cut per cadence target", () => {
    it("is the Release Manager's latest sign-off in the environment each target is watched from", () => {
        const cuts = lastReleaseCuts(
            [
                facts("v1.0.0", staging.environment, RELEASE_CUT_ROLE, "2026-11-02T10:00:00Z"),
                facts("v1.0.0", production.environment, RELEASE_CUT_ROLE, "2026-11-05T10:00:00Z"),
                facts("v1.1.0", staging.environment, RELEASE_CUT_ROLE, "2026-11-09T10:00:00Z"),
            ],
            guardrails,
        );
        expect(cuts).toEqual([
            { target: staging.target, tag: "v1.1.0", timestampSeconds: at("2026-11-09T10:00:00Z") },
            { target: production.target, tag: "v1.0.0", timestampSeconds: at("2026-11-05T10:00:00Z") },
        ]);
    });

    it("is not moved by other roles' sign-offs, other environments, or an unreadable time", () => {
        const base = facts("v1.0.0", staging.environment, RELEASE_CUT_ROLE, "2026-11-02T10:00:00Z");
        const cuts = lastReleaseCuts(
            [
                base,
                facts("v1.1.0", staging.environment, "Dev Lead", "2026-11-20T10:00:00Z"),
                facts("v1.1.0", "dev", RELEASE_CUT_ROLE, "2026-11-20T10:00:00Z"),
                facts("v1.2.0", staging.environment, RELEASE_CUT_ROLE, "yesterday"),
                // Role names are exact: a look-alike role does not cut.
                facts("v1.3.0", staging.environment, `${RELEASE_CUT_ROLE} (acting)`, "2026-11-21T10:00:00Z"),
            ],
            guardrails,
        );
        expect(cuts).toEqual([{ target: staging.target, tag: "v1.0.0", timestampSeconds: at(base.time) }]);
    });

    it("goes to the later ledger entry when two cuts carry the same second", () => {
        const time = "2026-11-02T10:00:00Z";
        const cuts = lastReleaseCuts(
            [
                facts("v1.0.0", staging.environment, RELEASE_CUT_ROLE, time),
                facts("v1.0.1", staging.environment, RELEASE_CUT_ROLE, "2026-11-02T10:00:00.500Z"),
            ],
            guardrails,
        );
        expect(cuts).toEqual([{ target: staging.target, tag: "v1.0.1", timestampSeconds: at(time) }]);
    });

    it("skips an unreadable time even when it comes first, so a later readable cut still counts", () => {
        const cuts = lastReleaseCuts(
            [
                facts("v1.0.0", staging.environment, RELEASE_CUT_ROLE, "not a time"),
                facts("v1.1.0", staging.environment, RELEASE_CUT_ROLE, "2026-11-09T10:00:00Z"),
            ],
            guardrails,
        );
        expect(cuts).toStrictEqual([
            { target: staging.target, tag: "v1.1.0", timestampSeconds: at("2026-11-09T10:00:00Z") },
        ]);
    });

    it("has exactly one entry per target that has a cut: none for a target without one", () => {
        const cuts = lastReleaseCuts(
            [facts("v1.0.0", production.environment, RELEASE_CUT_ROLE, "2026-11-05T10:00:00Z")],
            guardrails,
        );
        expect(cuts).toStrictEqual([
            { target: production.target, tag: "v1.0.0", timestampSeconds: at("2026-11-05T10:00:00Z") },
        ]);
        expect(lastReleaseCuts([], guardrails)).toHaveLength(0);
    });

    it("is not moved back by an earlier cut listed later", () => {
        const cuts = lastReleaseCuts(
            [
                facts("v1.1.0", staging.environment, RELEASE_CUT_ROLE, "2026-11-09T10:00:00Z"),
                facts("v1.0.0", staging.environment, RELEASE_CUT_ROLE, "2026-11-02T10:00:00Z"),
            ],
            guardrails,
        );
        expect(cuts).toEqual([{ target: staging.target, tag: "v1.1.0", timestampSeconds: at("2026-11-09T10:00:00Z") }]);
    });

    it("leaves a target nobody has cut absent (so the absent-metric alert speaks), never 0", () => {
        expect(lastReleaseCuts([], guardrails)).toEqual([]);
        expect(releaseCutMetrics([]).samples).toEqual([]);
    });

    it("names a role governance has (raci.json), so the ledger can hold it", () => {
        expect(loadGovernance().roles.map((r) => r.name)).toContain(RELEASE_CUT_ROLE);
    });

    it("renders one series per target that promtool accepts", () => {
        const text = renderMetrics([
            releaseCutMetrics(
                lastReleaseCuts(
                    [
                        facts("v1.0.0", staging.environment, RELEASE_CUT_ROLE, "2026-11-02T10:00:00Z"),
                        facts("v1.0.0", production.environment, RELEASE_CUT_ROLE, "2026-11-05T10:00:00Z"),
                    ],
                    guardrails,
                ),
            ),
        ]);
        const check = spawnSync(promtoolPath(), ["check", "metrics"], { input: text, encoding: "utf8" });
        expect(check.stdout + check.stderr).toBe("");
        expect(text).toContain(
            `${CADENCE_METRIC.lastCut}{target="${staging.target}",tag="v1.0.0"} ${at("2026-11-02T10:00:00Z")}`,
        );
    });
});

describe("provenance verify --metrics", () => {
    it("writes the last cut per target from the shipped, signed ledger, beside the sign-off counts", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "maestro-cuts-"));
        try {
            const out = path.join(dir, "release.prom");
            const run = runScript("provenance", "verify", "--metrics", out);
            expect(run.status).toBe(0);
            const { entries } = verifyLedgerFile(
                LEDGER_FILE,
                (tag, env) => requiredSignoffs(loadGovernance(), tag, env),
                {
                    guardrails,
                    signers: loadSigners(SIGNERS_FILE),
                    complete: "all",
                },
            );
            const expected = lastReleaseCuts(entries, guardrails);
            expect(expected.length).toBeGreaterThan(0);
            const text = fs.readFileSync(out, "utf8");
            const lines = text.split("\n").filter((l) => l.startsWith(CADENCE_METRIC.lastCut));
            expect(lines).toEqual(
                expected.map(
                    (c) => `${CADENCE_METRIC.lastCut}{target="${c.target}",tag="${c.tag}"} ${c.timestampSeconds}`,
                ),
            );
            expect(text).toContain("maestro_release_signoffs{");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
