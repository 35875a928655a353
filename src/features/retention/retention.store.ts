import type { Queryable } from "../../db/create-db.js";
import { PAYLOAD_COLUMNS } from "../webhooks/stored-payload.js";

/** Where a walk over deliveries stands: created_at as PostgreSQL prints it (microseconds kept), and id. */
export interface DeliveryCursor {
  created_at: string;
  id: string;
}

export interface BatchResult<C> {
  /** Rows deleted, or payloads dropped. */
  pruned: number;
  /** Where the next batch starts; undefined when the walk is over. */
  next?: C;
}

const PRUNED_EVENTS = "events";
const FIRST_DELIVERY: DeliveryCursor = { created_at: "-infinity", id: "00000000-0000-0000-0000-000000000000" };
const PAYLOAD_KEPT = ["failed", "received"];

/** The next `limit` deliveries created before `before`, after the cursor, oldest first (the index deliveries_created_at_idx). */
const DELIVERY_BATCH = `
  SELECT id, created_at, created_at::text AS created_text FROM deliveries
   WHERE (created_at, id) > (?::timestamptz, ?::uuid) AND created_at < ?
   ORDER BY created_at, id LIMIT ?`;
const LAST_OF_BATCH = "(SELECT row_to_json(last) FROM (SELECT created_text AS created_at, id FROM batch ORDER BY created_at DESC, id DESC LIMIT 1) last) AS last";

/** Deletes finished deliveries created before `before`, one batch; queued (`received`) ones stay. */
export async function deleteDeliveriesBatch(db: Queryable, before: Date, limit: number, cursor = FIRST_DELIVERY): Promise<BatchResult<DeliveryCursor>> {
  const sql = `
    WITH batch AS (${DELIVERY_BATCH}),
    gone AS (
      DELETE FROM deliveries d USING batch WHERE d.id = batch.id AND d.status <> 'received' RETURNING 1
    )
    SELECT (SELECT count(*)::int FROM gone) AS pruned, (SELECT count(*)::int FROM batch) AS scanned, ${LAST_OF_BATCH}`;
  return finish(await db.raw(sql, [cursor.created_at, cursor.id, before, limit]), limit);
}

/**
 * Drops the payload and kept headers of processed, ignored and rejected deliveries created before
 * `before`, one batch; the row, status, summary, actions and error stay. Failed deliveries keep
 * their payload (they can be redelivered) until the row goes.
 */
export async function stripPayloadsBatch(db: Queryable, before: Date, limit: number, cursor = FIRST_DELIVERY): Promise<BatchResult<DeliveryCursor>> {
  const sql = `
    WITH batch AS (${DELIVERY_BATCH}),
    stripped AS (
      UPDATE deliveries d SET ${PAYLOAD_COLUMNS.map((column) => `${column} = NULL`).join(", ")}, headers = '{}'::jsonb FROM batch
       WHERE d.id = batch.id AND d.status <> ALL(?::text[])
         AND (${PAYLOAD_COLUMNS.map((column) => `d.${column} IS NOT NULL`).join(" OR ")} OR d.headers <> '{}'::jsonb)
      RETURNING 1
    )
    SELECT (SELECT count(*)::int FROM stripped) AS pruned, (SELECT count(*)::int FROM batch) AS scanned, ${LAST_OF_BATCH}`;
  return finish(await db.raw(sql, [cursor.created_at, cursor.id, before, limit, PAYLOAD_KEPT]), limit);
}

function finish(result: { rows: { pruned: number; scanned: number; last: DeliveryCursor | null }[] }, limit: number): BatchResult<DeliveryCursor> {
  const row = result.rows[0]!;
  return { pruned: row.pruned, next: row.scanned === limit && row.last ? row.last : undefined };
}

/**
 * Walks a table with a bigint id that grows with created_at (events, github_outbox) oldest first:
 * reads the next `limit` rows after `afterId` and deletes those created before `before` that
 * `deletable` allows. The walk ends at the first row created after `before`.
 */
async function deleteByIdBatch(
  db: Queryable,
  table: "events" | "github_outbox",
  deletable: string,
  before: Date,
  limit: number,
  afterId: number,
): Promise<BatchResult<number>> {
  // For events, the highest id deleted is recorded in the same statement: no SSE resume can see the gap without the mark.
  const mark =
    table === "events"
      ? `, mark AS (
          INSERT INTO retention_state (name, value, updated_at) SELECT '${PRUNED_EVENTS}', max(id), now() FROM gone HAVING count(*) > 0
          ON CONFLICT (name) DO UPDATE SET value = GREATEST(retention_state.value, EXCLUDED.value), updated_at = now()
        )`
      : "";
  const sql = `
    WITH batch AS (SELECT id, created_at FROM ${table} WHERE id > ? ORDER BY id LIMIT ?),
    gone AS (
      DELETE FROM ${table} t USING batch WHERE t.id = batch.id AND batch.created_at < ? AND ${deletable} RETURNING t.id
    )${mark}
    SELECT (SELECT count(*)::int FROM gone) AS pruned, (SELECT count(*)::int FROM batch) AS scanned,
           (SELECT max(id) FROM batch) AS last, (SELECT bool_or(created_at >= ?) FROM batch) AS reached_end`;
  const row = (await db.raw(sql, [afterId, limit, before, before])).rows[0] as { pruned: number; scanned: number; last: string | null; reached_end: boolean | null };
  return { pruned: row.pruned, next: row.scanned === limit && !row.reached_end && row.last !== null ? Number(row.last) : undefined };
}

/** Deletes relayed domain events created before `before`; an event still referenced by an outbound delivery stays until that goes. */
export function deleteEventsBatch(db: Queryable, before: Date, limit: number, afterId = 0) {
  return deleteByIdBatch(db, "events", "NOT EXISTS (SELECT 1 FROM outbound_deliveries o WHERE o.event_id = t.id)", before, limit, afterId);
}

/** Deletes sent, failed and skipped GitHub outbox rows created before `before`; pending ones stay. */
export function deleteGithubOutboxBatch(db: Queryable, before: Date, limit: number, afterId = 0) {
  return deleteByIdBatch(db, "github_outbox", "t.status <> 'pending'", before, limit, afterId);
}

/**
 * Deletes delivered and failed outbound deliveries (their attempts go with them) whose event was
 * appended before `before`, walking the events table by id; pending ones stay.
 */
export async function deleteOutboundDeliveriesBatch(db: Queryable, before: Date, limit: number, afterId = 0): Promise<BatchResult<number>> {
  const sql = `
    WITH batch AS (SELECT id, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?),
    gone AS (
      DELETE FROM outbound_deliveries o USING batch
       WHERE o.event_id = batch.id AND batch.created_at < ? AND o.status IN ('delivered', 'failed') RETURNING 1
    )
    SELECT (SELECT count(*)::int FROM gone) AS pruned, (SELECT count(*)::int FROM batch) AS scanned,
           (SELECT max(id) FROM batch) AS last, (SELECT bool_or(created_at >= ?) FROM batch) AS reached_end`;
  const row = (await db.raw(sql, [afterId, limit, before, before])).rows[0] as { pruned: number; scanned: number; last: string | null; reached_end: boolean | null };
  return { pruned: row.pruned, next: row.scanned === limit && !row.reached_end && row.last !== null ? Number(row.last) : undefined };
}


/** The highest event id retention has deleted (0 when none). */
export async function readPrunedEventId(db: Queryable): Promise<number> {
  const row = (await db("retention_state").where("name", PRUNED_EVENTS).first("value")) as { value: string } | undefined;
  return Number(row?.value ?? 0);
}
