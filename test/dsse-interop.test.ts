/**
 * Interoperability with an independent DSSE implementation: Debian's python3-securesystemslib (Ed25519 keys and
 * signatures; PAE written in Python from the DSSE spec, since securesystemslib 0.26 has no envelope module). It
 * verifies the shipped ledger's envelopes with the public keys in governance/signers.json, refuses a tampered one,
 * and signs a sign-off statement that our verifier accepts. Debian's interpreter is used because that is where the
 * package installs (`.ci/run` installs it).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import { publicKeyFromText } from "../provenance/dsse";
import { LEDGER_FILE, canonicalJson, signoffStatement, verifyLedger } from "../provenance/ledger";
import { SIGNERS_FILE, parseSigners } from "../provenance/signers";
import { guardrails } from "./helpers";
import { NOW, milestoneOf, requiredRoles } from "./fixtures/provenance/signedLedger";

const PYTHON = "/usr/bin/python3";

/** Run a Python program with JSON on stdin; bounded, so a hung interpreter fails the test instead of the run. */
function python(program: string, input: unknown): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(PYTHON, ["-c", program], { input: JSON.stringify(input), encoding: "utf8", timeout: 60_000 });
    if (r.error) {
        throw new Error(
            `${PYTHON} did not run (install python3-securesystemslib and python3-nacl): ${r.error.message}`,
        );
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PAE = `
def pae(payload_type, payload):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)
`;

const VERIFY = `
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import SSlibKey, Signature
${PAE}
req = json.load(sys.stdin)
results = []
for env in req["envelopes"]:
    sig = env["signatures"][0]
    pem = req["keys"][sig["keyid"]]
    raw = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = SSlibKey(sig["keyid"], "ed25519", "ed25519", {"public": raw.hex()})
    data = pae(env["payloadType"], base64.b64decode(env["payload"]))
    try:
        key.verify_signature(Signature(sig["keyid"], base64.b64decode(sig["sig"]).hex()), data)
        results.append(True)
    except Exception:
        results.append(False)
print(json.dumps(results))
`;

const SIGN = `
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from securesystemslib import keys
from securesystemslib.signer import SSlibSigner
${PAE}
req = json.load(sys.stdin)
key = keys.generate_ed25519_key()
payload = req["payload"].encode("utf-8")
signature = SSlibSigner(key).sign(pae(req["payloadType"], payload))
pem = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key["keyval"]["public"])).public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
print(json.dumps({
    "publicKey": pem,
    "envelope": {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": req["payloadType"],
        "signatures": [{"keyid": req["keyid"], "sig": base64.b64encode(bytes.fromhex(signature.signature)).decode()}],
    },
}))
`;

describe("DSSE interoperability with securesystemslib", () => {
    const shipped = fs
        .readFileSync(LEDGER_FILE, "utf8")
        .trimEnd()
        .split("\n")
        .map(
            (l) =>
                JSON.parse(l) as { payload: string; payloadType: string; signatures: { keyid: string; sig: string }[] },
        );
    // Read in each test (not while the file loads), so mutation testing sees which tests reach the signers code.
    const keys = () =>
        Object.fromEntries(
            parseSigners(JSON.parse(fs.readFileSync(SIGNERS_FILE, "utf8")), "governance/signers.json").signers.map(
                (s) => [s.keyid, s.publicKey.export({ type: "spki", format: "pem" }).toString()],
            ),
        );

    it("securesystemslib verifies every shipped envelope with the keys in governance/signers.json", () => {
        const r = python(VERIFY, { envelopes: shipped, keys: keys() });
        expect(r.stderr).toBe("");
        expect(JSON.parse(r.stdout)).toEqual(shipped.map(() => true));
    });

    it("securesystemslib refuses a shipped envelope whose payload was changed", () => {
        const [first] = shipped;
        const statement = Buffer.from(first.payload, "base64")
            .toString("utf8")
            .replace('"Release Manager"', '"Sec Lead"');
        const tampered = { ...first, payload: Buffer.from(statement).toString("base64") };
        const r = python(VERIFY, { envelopes: [tampered, first], keys: keys() });
        expect(r.stderr).toBe("");
        expect(JSON.parse(r.stdout)).toEqual([false, true]);
    });

    it("a sign-off securesystemslib signs verifies with ours, as a ledger entry of a person listed with its key", () => {
        const predicate = {
            seq: 1,
            prevHash: "0".repeat(64),
            environment: "staging",
            role: "Release Manager",
            milestone: milestoneOf("v1.1.0", "staging"),
            signer: "Py Signer <py@maestro.example>",
            time: "2026-11-30T09:00:00Z",
            checked: ["R1-SIGNOFF-LEDGER"],
        };
        const payload = canonicalJson(signoffStatement("v1.1.0", "b".repeat(40), predicate));
        // The keyid is ours (sha256 of the SPKI DER): computed after Python returns the key, so sign with a
        // placeholder first, then set it; the keyid is not part of what is signed.
        const r = python(SIGN, { payload, payloadType: "application/vnd.in-toto+json", keyid: "pending" });
        expect(r.stderr).toBe("");
        const out = JSON.parse(r.stdout) as {
            publicKey: string;
            envelope: { payload: string; payloadType: string; signatures: { keyid: string; sig: string }[] };
        };
        const team = parseSigners(
            {
                signers: [
                    {
                        name: "Py Signer",
                        email: "py@maestro.example",
                        roles: ["Release Manager"],
                        publicKey: out.publicKey,
                    },
                ],
            },
            "signers.json",
        );
        const keyid = team.signers[0].keyid;
        expect(publicKeyFromText(out.publicKey).asymmetricKeyType).toBe("ed25519");
        const line = canonicalJson({ ...out.envelope, signatures: [{ ...out.envelope.signatures[0], keyid }] });
        const options = { guardrails, requiredRoles, milestoneOf, signers: team, now: NOW, complete: "none" as const };
        const v = verifyLedger(line + "\n", "ledger.jsonl", options);
        expect(v.problems).toEqual([]);
        expect(v.entries[0]).toMatchObject({ role: "Release Manager", tag: "v1.1.0", signer: predicate.signer });
        // The same envelope with one signature byte changed does not verify with ours either.
        const sig = Buffer.from(out.envelope.signatures[0].sig, "base64");
        sig[0] ^= 1;
        const broken = canonicalJson({ ...out.envelope, signatures: [{ keyid, sig: sig.toString("base64") }] });
        expect(verifyLedger(broken + "\n", "ledger.jsonl", options).problems).toEqual([
            expect.stringContaining("signature does not verify with Py Signer <py@maestro.example>'s key"),
        ]);
    });
});
