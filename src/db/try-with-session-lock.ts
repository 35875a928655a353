import type { Knex } from "knex";

interface PgConnection {
  query(sql: string, values?: unknown[]): Promise<{ rows: { locked?: boolean }[] }>;
}

/**
 * Runs `work` only if this instance gets the session-level advisory lock `key` (another instance
 * holding it means the work is being done: returns undefined at once). The lock is held on one
 * pooled connection for the duration, while `work` runs its own short transactions.
 */
export async function tryWithSessionLock<T>(knex: Knex, key: [number, number], work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  const connection = (await knex.client.acquireConnection()) as PgConnection;
  let locked = false;
  try {
    locked = Boolean((await connection.query("SELECT pg_try_advisory_lock($1, $2) AS locked", key)).rows[0]?.locked);
    if (!locked) return { ran: false };
    return { ran: true, value: await work() };
  } finally {
    if (locked) await connection.query("SELECT pg_advisory_unlock($1, $2)", key).catch(() => undefined);
    await knex.client.releaseConnection(connection);
  }
}
