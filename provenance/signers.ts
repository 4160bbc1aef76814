/**
 * Who may sign a release sign-off: governance/signers.json lists each person's Ed25519 public key and the roles they
 * sign for. Loading validates the file against its JSON Schema (ajv) and then what a schema cannot say: every key
 * parses as Ed25519, no key or email is listed twice (one key is one person), and every role is a governance role.
 */
import { KeyObject } from "crypto";
import * as path from "path";
import type { Problem } from "../core/validation";
import { ValidationError, displayPath, readDataFile, repoRoot, validateAgainstSchema } from "../core/validation";
import { keyId, publicKeyFromText } from "./dsse";

export const SIGNERS_FILE = path.join(repoRoot, "governance", "signers.json");
export const SIGNERS_SCHEMA = path.join(repoRoot, "governance", "signers.schema.json");

/** One person allowed to sign, with the key that proves it is them. */
export interface Signer {
    readonly name: string;
    readonly email: string;
    readonly roles: readonly string[];
    readonly publicKey: KeyObject;
    /** sha256 of the key's SPKI DER, hex: the keyid in their envelopes. */
    readonly keyid: string;
    /** `Name <email>`, as sign-offs name the signer. */
    readonly identity: string;
}

export interface Signers {
    /** Display path of the file, for messages. */
    readonly file: string;
    readonly signers: readonly Signer[];
    readonly byKeyId: ReadonlyMap<string, Signer>;
}

interface SignersDoc {
    readonly signers: { name: string; email: string; roles: string[]; publicKey: string }[];
}

/**
 * Validate a parsed signers document. `roles` (governance/raci.json's role names) is the allowed set of roles; when
 * given, a role outside it is a problem naming the allowed ones.
 */
export function parseSigners(data: unknown, file: string, roles?: readonly string[]): Signers {
    const doc = validateAgainstSchema<SignersDoc>(data, SIGNERS_SCHEMA, file);
    const problems: Problem[] = [];
    const signers: Signer[] = [];
    const byKeyId = new Map<string, Signer>();
    const emails = new Map<string, number>();
    doc.signers.forEach((s, i) => {
        let publicKey: KeyObject;
        try {
            publicKey = publicKeyFromText(s.publicKey);
        } catch (err) {
            problems.push({
                file,
                path: `/signers/${i}/publicKey`,
                message: `${(err as Error).message}; allowed: an Ed25519 public key in PEM (openssl pkey -pubout) or an OpenSSH ssh-ed25519 line`,
            });
            return;
        }
        // Stryker disable next-line MethodExpression: upper-casing folds case just as well; the folded email is only compared with other folded ones
        const email = s.email.toLowerCase();
        if (emails.has(email)) {
            problems.push({
                file,
                path: `/signers/${i}/email`,
                message: `${s.email} is already listed at /signers/${emails.get(email)}; one entry per person, with all their roles`,
            });
        }
        emails.set(email, i);
        const id = keyId(publicKey);
        const twin = byKeyId.get(id);
        if (twin) {
            problems.push({
                file,
                path: `/signers/${i}/publicKey`,
                message: `the key ${id} is already ${twin.identity}'s; a key belongs to one person`,
            });
        }
        s.roles.forEach((role, j) => {
            if (roles && !roles.includes(role)) {
                problems.push({
                    file,
                    path: `/signers/${i}/roles/${j}`,
                    message: `unknown role "${role}"; allowed: ${roles.join(", ")}`,
                });
            }
        });
        const signer: Signer = {
            name: s.name,
            email: s.email,
            roles: [...s.roles],
            publicKey,
            keyid: id,
            identity: `${s.name} <${s.email}>`,
        };
        signers.push(signer);
        byKeyId.set(id, twin ?? signer);
    });
    if (problems.length > 0) {
        throw new ValidationError(problems);
    }
    return { file, signers, byKeyId };
}

/** Load and validate a signers file (governance/signers.json by default). */
export function loadSigners(file: string = SIGNERS_FILE, roles?: readonly string[]): Signers {
    return parseSigners(readDataFile(file), displayPath(file), roles);
}
