import type { Queryable } from "../db/create-db.js";

/** The relay's published-through id; created at the current head so a first start does not replay history. */
export async function ensureRelayCursor(db: Queryable, name: string): Promise<number> {
  await db.raw(
    `INSERT INTO event_relay_cursors (name, last_id) SELECT ?, coalesce(max(id), 0) FROM events
     ON CONFLICT (name) DO NOTHING`,
    [name],
  );
  return (await readRelayCursor(db, name)) ?? 0;
}

export async function readRelayCursor(db: Queryable, name: string): Promise<number | undefined> {
  const row = (await db("event_relay_cursors").select("last_id").where({ name }).first()) as { last_id: number } | undefined;
  return row ? Number(row.last_id) : undefined;
}

/** Moves the cursor forward only: a stale leader cannot pull it back. */
export async function saveRelayCursor(db: Queryable, name: string, lastId: number): Promise<void> {
  await db("event_relay_cursors")
    .where({ name })
    .update({ last_id: db.raw("greatest(last_id, ?)", [lastId]), updated_at: db.fn.now() });
}

/** The first transaction id not yet assigned: every writer that holds an event id has one below it. */
export async function currentXidHorizon(db: Queryable): Promise<string> {
  const result = await db.raw("SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax");
  return (result.rows[0] as { xmax: string }).xmax;
}

/** True once every transaction with an id below `horizon` has committed or rolled back. */
export async function transactionsFinishedBefore(db: Queryable, horizon: string): Promise<boolean> {
  const result = await db.raw("SELECT pg_snapshot_xmin(pg_current_snapshot()) >= ?::xid8 AS done", [horizon]);
  return (result.rows[0] as { done: boolean }).done;
}
