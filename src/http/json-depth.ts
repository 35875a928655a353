import { InputError } from "../errors.js";

/**
 * How deeply the API's JSON bodies may nest (objects and arrays). No body of ours needs more
 * than a handful of levels; the limit keeps recursive code (validation, serialisation) safe.
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/** The deepest nesting in JSON text, counted in one pass over the bytes (strings skipped), without parsing. */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > deepest) deepest = depth;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    }
  }
  return deepest;
}

/** express.json's `verify`: a body nested deeper than MAX_JSON_DEPTH is a 400 before it is parsed. */
export function refuseDeepJson(_req: unknown, _res: unknown, bytes: Buffer): void {
  if (jsonDepth(bytes) > MAX_JSON_DEPTH) {
    throw new InputError(`The body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`, undefined, "too_deep");
  }
}
