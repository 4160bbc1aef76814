/**
 * DSSE (Dead Simple Signing Envelope, github.com/secure-systems-lab/dsse, protocol v1) with Ed25519 keys from Node's
 * `crypto`: the pre-authentication encoding, signing, verifying, key ids, and reading the private key formats people
 * already have (PKCS#8 PEM from `openssl genpkey`, and OpenSSH's own format from `ssh-keygen -t ed25519`). Pure
 * functions over bytes and key objects: no files, no network.
 */
import { KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify } from "crypto";

/** The payload type of an in-toto statement in a DSSE envelope. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface DsseSignature {
    /** Hint naming the key (here: sha256 of the key's SPKI DER, hex); the verifier never trusts it alone. */
    readonly keyid: string;
    /** Base64 (standard alphabet) of the Ed25519 signature over PAE(payloadType, payload). */
    readonly sig: string;
}

export interface DsseEnvelope {
    /** Base64 (standard alphabet) of the serialized payload. */
    readonly payload: string;
    readonly payloadType: string;
    readonly signatures: readonly DsseSignature[];
}

/**
 * The pre-authentication encoding DSSE signs: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN the byte
 * length in ASCII decimal without leading zeros. Signing this rather than the payload binds the type too.
 */
export function pae(payloadType: string, payload: Buffer): Buffer {
    const type = Buffer.from(payloadType, "utf8");
    return Buffer.concat([
        Buffer.from(`DSSEv1 ${type.length} `, "ascii"),
        type,
        Buffer.from(` ${payload.length} `, "ascii"),
        payload,
    ]);
}

/**
 * The bytes of `text` when it is exactly their standard base64 (padded, no whitespace, no URL alphabet, the bits past
 * the last byte zero), else undefined. Only one text per bytes: a decoder that ignored the unused bits would let
 * anyone, with no key, change a signed line (and so its hash, the next line's prevHash and its evidence object key)
 * while its signature still verified.
 */
function canonicalBase64(text: string): Buffer | undefined {
    const bytes = Buffer.from(text, "base64");
    return bytes.toString("base64") === text ? bytes : undefined;
}

/** The payload bytes of an envelope (throws when `payload` is not standard base64). */
export function envelopePayload(envelope: Pick<DsseEnvelope, "payload">): Buffer {
    const bytes = canonicalBase64(envelope.payload);
    if (bytes === undefined) {
        throw new Error("payload is not standard base64");
    }
    return bytes;
}

/** sha256 (hex) of PAE(payloadType, payload): what the signatures cover, and the envelope's digest. */
export function envelopeDigest(envelope: Pick<DsseEnvelope, "payload" | "payloadType">): string {
    return createHash("sha256")
        .update(pae(envelope.payloadType, envelopePayload(envelope)))
        .digest("hex");
}

/** A key's id: sha256 (hex) of its SubjectPublicKeyInfo DER, so it is the same whoever computes it. */
export function keyId(key: KeyObject): string {
    const pub = key.type === "private" ? createPublicKey(key) : key;
    return createHash("sha256")
        .update(pub.export({ type: "spki", format: "der" }))
        .digest("hex");
}

/** Sign `payload` into an envelope with one Ed25519 signature. */
export function signEnvelope(payloadType: string, payload: Buffer, privateKey: KeyObject): DsseEnvelope {
    assertEd25519(privateKey, "the signing key");
    const sig = sign(null, pae(payloadType, payload), privateKey);
    return {
        payload: payload.toString("base64"),
        payloadType,
        signatures: [{ keyid: keyId(privateKey), sig: sig.toString("base64") }],
    };
}

/** True when `signature` is `publicKey`'s Ed25519 signature over the envelope's PAE. */
export function verifySignature(
    envelope: Pick<DsseEnvelope, "payload" | "payloadType">,
    signature: DsseSignature,
    publicKey: KeyObject,
): boolean {
    const sig = canonicalBase64(signature.sig);
    return (
        publicKey.asymmetricKeyType === "ed25519" &&
        sig?.length === 64 &&
        verify(null, pae(envelope.payloadType, envelopePayload(envelope)), publicKey, sig)
    );
}

function assertEd25519(key: KeyObject, what: string): void {
    if (key.asymmetricKeyType !== "ed25519") {
        throw new Error(`${what} is a ${key.asymmetricKeyType ?? key.type} key; allowed: Ed25519`);
    }
}

/** An OpenSSH ssh-ed25519 public key blob up to its key: uint32 11, "ssh-ed25519", uint32 32 (the key's length). */
const SSH_ED25519_BLOB_HEAD = Buffer.from("\0\0\0\x0bssh-ed25519\0\0\0\x20", "latin1");

/**
 * A public key from PEM (SPKI, `-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes it) or an OpenSSH
 * public key line (`ssh-ed25519 AAAA... comment`, the `.pub` file people already have); throws unless Ed25519.
 */
export function publicKeyFromText(text: string): KeyObject {
    const ssh = /^ssh-ed25519 ([A-Za-z0-9+/]+={0,2})(?: [^\n]*)?\n?$/.exec(text.trim());
    if (ssh) {
        // The blob has one form: the string "ssh-ed25519", then the string of the 32 key bytes, nothing after; and
        // one spelling, its standard base64 (Node's decoder would drop a character past the last byte, or padding).
        const blob = canonicalBase64(ssh[1]);
        const head = SSH_ED25519_BLOB_HEAD;
        if (blob?.length !== head.length + 32 || !blob.subarray(0, head.length).equals(head)) {
            throw new Error("the OpenSSH public key is malformed; allowed: one ssh-ed25519 key");
        }
        const x = blob.subarray(head.length).toString("base64url");
        return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    }
    if (text.trimStart().startsWith("ssh-")) {
        throw new Error(`the OpenSSH public key is ${text.trim().split(" ")[0]}; allowed: ssh-ed25519`);
    }
    const key = createPublicKey({ key: text, format: "pem" });
    assertEd25519(key, "the public key");
    return key;
}

/**
 * The raw 32 bytes of an Ed25519 public key (what an OpenSSH `.pub` line carries), from either half of the pair: a
 * private key's JWK carries its public key's `x` too.
 */
export function rawPublicKey(key: KeyObject): Buffer {
    return Buffer.from((key.export({ format: "jwk" }) as { x: string }).x, "base64url");
}

const OPENSSH_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
const OPENSSH_END = "-----END OPENSSH PRIVATE KEY-----";

/**
 * An Ed25519 private key from a file's text: PKCS#8 PEM (`openssl genpkey -algorithm ed25519`) or an unencrypted
 * OpenSSH key (`ssh-keygen -t ed25519 -N ""`). An encrypted OpenSSH key is refused with how to use it: decrypting it
 * here would mean asking for the passphrase.
 */
export function privateKeyFromText(text: string): KeyObject {
    if (text.includes(OPENSSH_BEGIN)) {
        return openSshEd25519(text);
    }
    const key = createPrivateKey({ key: text, format: "pem" });
    assertEd25519(key, "the private key");
    return key;
}

/**
 * SSH wire fields read in order from `buf`: uint32, and string (uint32 length, then the bytes); one past the end
 * throws.
 */
function sshFields(buf: Buffer): { u32: () => number; string: () => Buffer } {
    let at = 0;
    const u32 = () => {
        if (at + 4 > buf.length) {
            throw new Error("the OpenSSH private key is truncated");
        }
        const v = buf.readUInt32BE(at);
        at += 4;
        return v;
    };
    const string = () => {
        const n = u32();
        if (at + n > buf.length) {
            throw new Error("the OpenSSH private key is truncated");
        }
        const b = buf.subarray(at, at + n);
        at += n;
        return b;
    };
    return { u32, string };
}

/** Parse `openssh-key-v1` (OpenSSH's PROTOCOL.key) far enough to read one Ed25519 key. */
function openSshEd25519(text: string): KeyObject {
    const start = text.indexOf(OPENSSH_BEGIN) + OPENSSH_BEGIN.length;
    const end = text.indexOf(OPENSSH_END);
    if (end < start) {
        throw new Error("the OpenSSH private key has no END line");
    }
    const blob = Buffer.from(text.slice(start, end).replace(/\s/g, ""), "base64");
    const magic = Buffer.from("openssh-key-v1\0", "latin1");
    if (!blob.subarray(0, magic.length).equals(magic)) {
        throw new Error("not an OpenSSH private key (no openssh-key-v1 header)");
    }
    const file = sshFields(blob.subarray(magic.length));
    const cipher = file.string().toString("latin1");
    file.string(); // kdf name
    file.string(); // kdf options
    if (cipher !== "none") {
        throw new Error(
            `the OpenSSH private key is encrypted (${cipher}); allowed: an unencrypted key. Export one for signing with ` +
                '`ssh-keygen -p -N "" -f COPY` on a copy kept on an encrypted disk, or convert it: `ssh-keygen -p -m PKCS8 -f COPY`',
        );
    }
    if (file.u32() !== 1) {
        throw new Error("the OpenSSH private key file holds several keys; allowed: exactly one");
    }
    const publicBlob = file.string();
    const section = sshFields(file.string());
    if (section.u32() !== section.u32()) {
        throw new Error("the OpenSSH private key's check integers differ (wrong passphrase or a corrupt key)");
    }
    const type = section.string().toString("latin1");
    if (type !== "ssh-ed25519") {
        throw new Error(`the OpenSSH private key is ${type}; allowed: ssh-ed25519`);
    }
    const pub = section.string();
    const secret = section.string(); // the 32-byte seed, then the public key again (so pub is 32 bytes too)
    if (secret.length !== 64 || !secret.subarray(32).equals(pub)) {
        throw new Error("the OpenSSH Ed25519 key is malformed");
    }
    // OpenSSH refuses a file whose public key differs from its private section's.
    if (!publicBlob.equals(Buffer.concat([SSH_ED25519_BLOB_HEAD, pub]))) {
        throw new Error("the OpenSSH private key's public key is not the one its private section holds");
    }
    const b64url = (b: Buffer) => b.toString("base64url");
    const key = createPrivateKey({
        key: { kty: "OKP", crv: "Ed25519", d: b64url(secret.subarray(0, 32)), x: b64url(pub) },
        format: "jwk",
    });
    // Node derives the public key from d and ignores x: a file claiming another public key would sign as a key
    // other than the one its owner lists.
    if (!rawPublicKey(key).equals(pub)) {
        throw new Error("the OpenSSH Ed25519 key's public key is not its secret key's");
    }
    return key;
}
