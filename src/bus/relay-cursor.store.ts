import type pg from "pg";
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

/**
 * Moves the given marks forward only: a stale leader cannot pull them back. Written through the
 * leader's own session (the one holding its lock), which commits without waiting for the WAL flush
 * (see startEventRelay): the cursor is a resume point, and after a crash a mark that fell back only
 * makes a successor publish some events again, which streams drop, or a new stream read a few more.
 */
export async function saveRelayCursor(session: Pick<pg.ClientBase, "query">, name: string, marks: Partial<RelayCursor>): Promise<void> {
  // greatest() ignores a NULL: an absent mark stays as it is.
  await session.query(
    "UPDATE event_relay_cursors SET settled_id = greatest(settled_id, $2), last_id = greatest(last_id, $3), updated_at = now() WHERE name = $1",
    [name, marks.settledId ?? null, marks.publishedId ?? null],
  );
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
