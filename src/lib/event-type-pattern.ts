import type { Knex } from "knex";

/**
 * The one rule for event-type subscriptions everywhere in Entourage (webhook events, outbound
 * endpoints, live streams and their replay): `*` covers every type, `<prefix>.*` covers
 * `<prefix>` and every type under it (`task.*` → `task.created`), any other pattern only itself.
 */
export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((pattern) => {
    if (pattern === "*" || pattern === type) return true;
    if (!pattern.endsWith(".*")) return false;
    const prefix = pattern.slice(0, -2);
    return type === prefix || type.startsWith(`${prefix}.`);
  });
}

/** The same rule in SQL: restricts `column` to the types `patterns` cover (no restriction for `*`). */
export function whereEventTypeMatches(query: Knex.QueryBuilder, column: string, patterns: readonly string[]): void {
  if (patterns.includes("*")) return;
  const exact = patterns.filter((pattern) => !pattern.endsWith(".*"));
  const prefixes = patterns.filter((pattern) => pattern.endsWith(".*")).map((pattern) => pattern.slice(0, -2));
  query.where((where) => {
    const types = [...exact, ...prefixes];
    if (types.length) where.orWhereIn(column, types);
    for (const prefix of prefixes) where.orWhereRaw("left(??, ?) = ?", [column, prefix.length + 1, `${prefix}.`]);
  });
}
