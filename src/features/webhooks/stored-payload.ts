import { isUtf8 } from "node:buffer";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { storableText } from "../../lib/storable-text.js";

/**
 * Payloads are stored deflated (raw DEFLATE of the UTF-8 text, level 1): an 11.6 KB issues.opened
 * becomes ~1.9 KB, which costs Node less to pack than it saves PostgreSQL in writing it (TOAST
 * chunks, WAL). docs/performance.md, "Payloads stored deflated". What is packed is what the text
 * column held: storable text (NUL and lone surrogates as U+FFFD). `bytes`: what `text` was decoded
 * from (`bytes.toString("utf8")`), when the caller has them.
 */
export function packPayload(text: string, bytes?: Buffer): Buffer {
  // The bytes the text was decoded from are the same document when they are valid UTF-8 without NUL:
  // packed as they are, the text is neither scanned nor encoded again.
  if (bytes && isUtf8(bytes) && !bytes.includes(0)) return deflateRawSync(bytes, { level: 1 });
  return deflateRawSync(storableText(text), { level: 1 });
}

/** A delivery row's payload as text: `payload` for rows stored before payloads were deflated. */
export function unpackPayload(row: { payload: string | null; payload_deflated: Buffer | null }): string | null {
  if (row.payload !== null) return row.payload;
  return row.payload_deflated === null ? null : inflateRawSync(row.payload_deflated).toString("utf8");
}
