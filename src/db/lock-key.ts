import type { Queryable } from "./create-db.js";

/** Serialises transactions working on the same thing (an issue, a pull request) until commit. */
export async function lockKey(db: Queryable, key: string): Promise<void> {
  await db.raw("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [key]);
}

/** lockKey for many keys in one statement, always in the same (sorted) order so two batches cannot deadlock. */
export async function lockKeys(db: Queryable, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const sorted = [...new Set(keys)].sort();
  await db.raw("SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest(?::text[]) AS k", [sorted]);
}
