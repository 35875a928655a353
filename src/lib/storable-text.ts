const SUSPECT = /[\u0000\ud800-\udfff]/;
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * PostgreSQL text and jsonb cannot hold NUL, and jsonb refuses lone UTF-16 surrogates: both become
 * U+FFFD, so a record of what arrived can always be written.
 */
export function storableText(value: string): string {
  return SUSPECT.test(value) ? value.replace(UNSTORABLE, "\uFFFD") : value;
}

/**
 * storableText applied to every string (keys included) of a JSON-like value. Iterative, so a
 * document of any depth is copied without running out of call stack.
 */
export function storableJson<T>(value: T): T {
  const root: { value: unknown } = { value: undefined };
  const work: { from: unknown; into: Record<string | number, unknown>; key: string | number }[] = [{ from: value, into: root, key: "value" }];
  while (work.length) {
    const { from, into, key } = work.pop()!;
    if (typeof from === "string") into[key] = storableText(from);
    else if (Array.isArray(from)) {
      const copy: unknown[] = new Array(from.length);
      into[key] = copy;
      from.forEach((item, index) => work.push({ from: item, into: copy as unknown as Record<number, unknown>, key: index }));
    } else if (from && typeof from === "object") {
      const copy: Record<string, unknown> = {};
      into[key] = copy;
      for (const [name, item] of Object.entries(from)) {
        const safeName = storableText(name);
        copy[safeName] = undefined; // keeps the key order, whatever order the work is done in
        work.push({ from: item, into: copy, key: safeName });
      }
    } else into[key] = from;
  }
  return root.value as T;
}
