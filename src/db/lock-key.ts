import type { Queryable } from "./create-db.js";

/** Serialises transactions working on the same thing (an issue, a pull request) until commit. */
export async function lockKey(db: Queryable, key: string): Promise<void> {
  await db.raw("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [key]);
}
