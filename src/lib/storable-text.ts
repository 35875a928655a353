const SUSPECT = /[\u0000\ud800-\udfff]/;
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * PostgreSQL text and jsonb cannot hold NUL, and jsonb refuses lone UTF-16 surrogates: both become
 * U+FFFD, so a record of what arrived can always be written.
 */
export function storableText(value: string): string {
  return SUSPECT.test(value) ? value.replace(UNSTORABLE, "\uFFFD") : value;
}

/** storableText applied to every string (keys included) of a JSON-like value. */
export function storableJson<T>(value: T): T {
  if (typeof value === "string") return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storableJson) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [storableText(key), storableJson(item)])) as T;
  }
  return value;
}
