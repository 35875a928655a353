import type { Knex } from "knex";
import { waitFor } from "./wait-for.js";

/**
 * Resolves once exactly one statement on this database whose text matches `pattern` (ILIKE) waits on
 * a lock: the marker that a request has reached the row a test is holding.
 */
export async function waitForLockWait(knex: Knex, pattern: string): Promise<void> {
  await waitFor(async () => {
    const waiting = await knex.raw(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE ?`,
      [pattern],
    );
    return (waiting.rows[0] as { n: number }).n === 1;
  }, `a statement like ${pattern} to wait on a lock`);
}
