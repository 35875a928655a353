import fc from "fast-check";

/** Strings that have broken servers before: SQL, traversal, NUL, lone surrogates, RTL, emoji, huge. */
export const NASTY_STRINGS = [
  "",
  " ",
  "null",
  "undefined",
  "0",
  "-1",
  "1e309",
  "NaN",
  "true",
  "[]",
  "{}",
  "' OR '1'='1",
  "1; DROP TABLE tasks; --",
  "' UNION SELECT secret_sealed FROM webhooks --",
  "$1",
  "%s%s%s%n",
  "{{7*7}}",
  "${jndi:ldap://127.0.0.1/x}",
  "../../../../etc/passwd",
  "..%2F..%2F..%2Fetc%2Fpasswd",
  "..\\..\\windows\\win.ini",
  "%00",
  "a\u0000b",
  "\u0000",
  "\ud800",
  "\udfff\ud800",
  "\u202eevil",
  "\ufeffbom",
  "Z̴̡̛͉͇a̷l̵g̸o̶",
  "😀👨‍👩‍👧‍👦🏳️‍🌈",
  "\r\nX-Injected: 1",
  "<script>alert(1)</script>",
  "__proto__",
  "constructor",
  "x".repeat(10_000),
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

/** Values of every JSON type (and nesting), hostile strings included. */
export const nastyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    nastyString,
    fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, -(2 ** 63), Number.MAX_SAFE_INTEGER + 2, 1e308),
    fc.integer(),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(nastyString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** `depth` levels of nested arrays or objects. */
export function deeplyNested(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

/** Request bodies: JSON of every shape, broken JSON, deep nesting, empty and big. */
export function bodyText(objectLike: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: objectLike.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: nastyValue.map((value) => JSON.stringify(value) ?? "") },
    { weight: 1, arbitrary: fc.constantFrom("", "{", '{"a":', "[1,]", "{'a':1}", "nul", '{"a":1}garbage', "\u0000", '"\\ud800"', '{"title":"\\u0000"}') },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom("array" as const, "object" as const)).map(([d, k]) => deeplyNested(d, k)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_100_000 }).map((n) => JSON.stringify({ title: "x".repeat(n) })) },
    // A well-formed body with one field (one the route reads, or `config`) nested thousands of levels deep.
    {
      weight: 1,
      arbitrary: fc
        .tuple(objectLike, fc.nat(), fc.integer({ min: 100, max: 20_000 }), fc.constantFrom("array" as const, "object" as const))
        .map(([value, pick, depth, kind]) => {
          const keys = [...Object.keys(value), "config"];
          const marker = "\u0001deep\u0001"; // JSON.stringify writes it escaped, so it cannot clash with the body's text
          const text = JSON.stringify({ ...value, [keys[pick % keys.length]!]: marker });
          return text.replace(JSON.stringify(marker), deeplyNested(depth, kind));
        }),
    },
  );
}

/** Ids for path segments: real ones (ours and the other org's), and malformed or hostile ones. */
export function pathId(real: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...real) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.integer({ min: -5, max: 2 ** 31 }).map(String) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "..",
        "%2e%2e",
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2f",
        "..%252f",
        "%00",
        "%ff",
        "%",
        "%E2%80%AE",
        "1%20OR%201%3D1",
        "1;DROP%20TABLE%20tasks",
        "%27%20OR%20%271%27%3D%271",
        "99999999999999999999",
        "%231",
        "0x10",
        "1e3",
        "00000000-0000-0000-0000-000000000000",
        "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
      ),
    },
    { weight: 1, arbitrary: nastyString.map((value) => percentEncode(value).slice(0, 300) || "x") },
  );
}

/** Percent-encodes the UTF-8 bytes of any string (lone surrogates included, unlike encodeURIComponent). */
export function percentEncode(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
