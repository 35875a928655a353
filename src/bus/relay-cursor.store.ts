import type { Queryable } from "../db/create-db.js";

/**
 * The shared relay's two marks. `settledId`: every id up to it is final in the events table (committed,
 * or known never to commit) and will be published; it is written before the publish, and SSE streams
 * start from it. `publishedId`: every id up to it has been handed to the bus; a new leader resumes there.
 */
export interface RelayCursor {
  settledId: number;
  publishedId: number;
}

/** The relay's cursor; created at the current head so a first start does not replay history. */
export async function ensureRelayCursor(db: Queryable, name: string): Promise<RelayCursor> {
  await db.raw(
    `INSERT INTO event_relay_cursors (name, last_id, settled_id) SELECT ?, head, head FROM (SELECT coalesce(max(id), 0) AS head FROM events) AS events
     ON CONFLICT (name) DO NOTHING`,
    [name],
  );
  return (await readRelayCursor(db, name)) ?? { settledId: 0, publishedId: 0 };
}

export async function readRelayCursor(db: Queryable, name: string): Promise<RelayCursor | undefined> {
  const row = (await db("event_relay_cursors").select("settled_id", "last_id").where({ name }).first()) as
    | { settled_id: string | number; last_id: string | number }
    | undefined;
  return row ? { settledId: Number(row.settled_id), publishedId: Number(row.last_id) } : undefined;
}

/** Moves the given marks forward only: a stale leader cannot pull them back. */
export async function saveRelayCursor(db: Queryable, name: string, marks: Partial<RelayCursor>): Promise<void> {
  const columns = { settled_id: marks.settledId, last_id: marks.publishedId };
  const update: Record<string, unknown> = { updated_at: db.fn.now() };
  for (const [column, id] of Object.entries(columns)) {
    if (id !== undefined) update[column] = db.raw("greatest(??, ?)", [column, id]);
  }
  await db("event_relay_cursors").where({ name }).update(update);
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
