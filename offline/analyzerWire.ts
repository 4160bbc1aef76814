/**
 * How the offline engine's analyzer client (offline/policyAnalyzer.ts) encodes the two requests that carry resource
 * properties, Analyze and AnalyzeStack: the generated serializers of @pulumi/pulumi's proto stubs, run on
 * google-protobuf's own BinaryWriter, with one change in how a long string's bytes are made.
 *
 * google-protobuf encodes a string to UTF-8 in JavaScript, a character at a time, pushing each byte onto an array. A
 * stack's properties hold rendered dashboards and rule files (tens of KiB each), sent once in their resource's Analyze
 * and again in AnalyzeStack; in `synth --all` that loop took ~690 ms of the analysis thread's ~1.8 s of CPU, on the
 * two cores the pack and the program need too. Here a long string goes through writeBytes with TextEncoder's bytes:
 * a string field and a bytes field share the wire type (length-delimited), so the tag, the length and the bytes are
 * the ones writeString writes, and the pack decodes the message the generated serializer would have sent
 * (test/policy-pack.test.ts compares the two byte for byte, over every shipped stack's resources).
 *
 * A string that is not well-formed UTF-16 (a lone surrogate) keeps google-protobuf's own encoding, which writes the
 * surrogate's three bytes where TextEncoder writes U+FFFD; short strings keep it too, as they cost it little.
 */
import { BinaryWriter, Message } from "google-protobuf";

/** Below this many UTF-16 units a string is written by google-protobuf's own loop. */
const NATIVE_FROM = 64;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const utf8 = new TextEncoder();

class NativeUtf8Writer extends BinaryWriter {
    override writeString(field: number, value?: string): void {
        if (value === undefined || value === null || value.length < NATIVE_FROM || LONE_SURROGATE.test(value)) {
            super.writeString(field, value);
            return;
        }
        this.writeBytes(field, utf8.encode(value));
    }
}

/** A message's wire bytes, as its generated `serializeBinaryToWriter` writes them, with long strings encoded natively. */
export function serializeMessage<M extends Message>(msg: M, toWriter: (msg: M, writer: BinaryWriter) => void): Buffer {
    const writer = new NativeUtf8Writer();
    toWriter(msg, writer);
    const bytes = writer.getResultBuffer();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
