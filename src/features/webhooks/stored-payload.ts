import { isUtf8 } from "node:buffer";
import { inflateRawSync } from "node:zlib";
import { compressSync, uncompressSync } from "lz4-napi";
import { storableText } from "../../lib/storable-text.js";

/**
 * The largest payload an LZ4 block may claim to hold: bodies are capped at 25 MB, and making one
 * storable (NUL and lone surrogates as U+FFFD) at most triples it. A larger claim is damage, and is
 * refused before anything that size is allocated.
 */
const MAX_UNPACKED_BYTES = 3 * 25 * 1024 * 1024;

/** The columns a payload may be stored in (StoredPayload): what a reader selects and retention clears. */
export const PAYLOAD_COLUMNS = ["payload", "payload_deflated", "payload_lz4"] as const;

/** A delivery row's stored payload: one of the three columns is set, or none (retention cleared it). */
export interface StoredPayload {
  /** Text, for rows stored before payloads were packed. */
  payload: string | null;
  /** Raw DEFLATE, for rows stored between 2026-12-02's two migrations. */
  payload_deflated: Buffer | null;
  /** An LZ4 block (its length first, 4 bytes little-endian): how payloads are stored now. */
  payload_lz4: Buffer | null;
}

/**
 * Payloads are stored as LZ4 blocks of their UTF-8 text: an 11.6 KB issues.opened takes ~2.5 KB, and
 * packing it costs Node a third of what DEFLATE did (level 1, 1.9 KB), which PostgreSQL's writing of
 * the extra bytes does not take back. docs/performance.md, "Payloads packed with LZ4". What is packed
 * is what the text column held: storable text (NUL and lone surrogates as U+FFFD). `bytes`: what
 * `text` was decoded from (`bytes.toString("utf8")`), when the caller has them.
 */
export function packPayload(text: string, bytes?: Buffer): Buffer {
  // The bytes the text was decoded from are the same document when they are valid UTF-8 without NUL:
  // packed as they are, the text is neither scanned nor encoded again.
  if (bytes && isUtf8(bytes) && !bytes.includes(0)) return compressSync(bytes);
  return compressSync(storableText(text));
}

/** A delivery row's payload as text, from whichever column holds it; throws when it is damaged. */
export function unpackPayload(row: StoredPayload): string | null {
  if (row.payload_lz4 !== null) return unpackLz4(row.payload_lz4).toString("utf8");
  if (row.payload_deflated !== null) return inflateRawSync(row.payload_deflated).toString("utf8");
  return row.payload;
}

function unpackLz4(block: Buffer): Buffer {
  const claimed = block.length >= 4 ? block.readUInt32LE(0) : -1;
  if (claimed < 0 || claimed > MAX_UNPACKED_BYTES) throw new Error(`damaged payload: an LZ4 block of ${block.length} bytes claims ${claimed}`);
  const text = uncompressSync(block);
  if (text.length !== claimed) throw new Error(`damaged payload: an LZ4 block claims ${claimed} bytes and holds ${text.length}`);
  return text;
}
