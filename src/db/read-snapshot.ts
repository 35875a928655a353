import type { Knex } from "knex";

/**
 * Runs several reads against one snapshot (REPEATABLE READ), so rows written together are seen
 * together: a delivery and the attempt that changed it, for instance. Inside a transaction
 * already, the caller's transaction is the snapshot.
 */
export async function readSnapshot<T>(db: Knex | Knex.Transaction, read: (trx: Knex.Transaction | Knex) => Promise<T>): Promise<T> {
  if ((db as Knex.Transaction).isTransaction) return read(db);
  return (db as Knex).transaction((trx) => read(trx), { isolationLevel: "repeatable read" });
}
