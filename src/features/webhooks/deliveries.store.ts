import type { Knex } from "knex";
import type { Queryable } from "../../db/create-db.js";
import pg from "pg";
import { CLAIM_PLANNER_SETTINGS, sqlLiteral } from "../../db/run-claim.js";
import { storableJson, storableText } from "../../lib/storable-text.js";
import { packPayload, PAYLOAD_COLUMNS, unpackPayload, type StoredPayload } from "./stored-payload.js";
import type { z } from "zod";
import { EVENTS_NOTIFY_CHANNEL, type DomainEvent } from "../events/events.store.js";
import type { deliveryListItemOutput, DeliveryStatus } from "./webhooks.schema.js";

/** A delivery in a webhook's log, as the API lists it (the webhook is the one asked about). */
export type DeliveryListItem = z.output<typeof deliveryListItemOutput>;

/** One delivery as the API shows it, its payload as stored (text: it is spliced into the answer as it arrived). */
export interface Delivery extends DeliveryListItem {
  payload: string | null;
  headers: Record<string, unknown>;
  next_attempt_at: Date;
}

const LIST_COLUMNS = [
  "id",
  "event_type",
  "status",
  "payload_summary",
  "actions",
  "error",
  "attempts",
  "delivery_guid",
  "created_at",
  "processed_at",
] as const;
const FULL_COLUMNS = [...LIST_COLUMNS, ...PAYLOAD_COLUMNS, "headers", "next_attempt_at"] as const;

export interface DeliveryFilter {
  webhook_id: string;
  status?: DeliveryStatus;
  event_type?: string;
  delivery_guid?: string;
  before?: { created_at: string; id: string };
  limit: number;
}

/** A webhook's deliveries, newest first (keyset on created_at, id). */
export async function listDeliveries(db: Queryable, filter: DeliveryFilter): Promise<DeliveryListItem[]> {
  const q = db("deliveries")
    .select(LIST_COLUMNS)
    .where({ webhook_id: filter.webhook_id })
    .orderBy([
      { column: "created_at", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .limit(filter.limit);
  if (filter.status) q.where("status", filter.status);
  if (filter.event_type) q.where("event_type", filter.event_type);
  if (filter.delivery_guid) q.where("delivery_guid", filter.delivery_guid);
  if (filter.before) q.whereRaw("(created_at, id) < (?::timestamptz, ?::uuid)", [filter.before.created_at, filter.before.id]);
  return q;
}

export async function findDelivery(db: Queryable, webhookId: string, id: string): Promise<Delivery | undefined> {
  const row = (await db("deliveries").select(FULL_COLUMNS).where({ webhook_id: webhookId, id }).first()) as
    | (Delivery & Omit<StoredPayload, "payload">)
    | undefined;
  if (!row) return undefined;
  const { payload_deflated: _deflated, payload_lz4: _lz4, ...delivery } = row;
  return { ...delivery, payload: unpackPayload(row) };
}

export interface DeliveryStats {
  counts: Record<DeliveryStatus, number>;
  last_delivery_at: Date | null;
}

export async function deliveryStats(db: Queryable, webhookIds: string[]): Promise<Map<string, DeliveryStats>> {
  const stats = new Map<string, DeliveryStats>();
  for (const id of webhookIds) {
    stats.set(id, { counts: { received: 0, processed: 0, failed: 0, ignored: 0, rejected: 0 }, last_delivery_at: null });
  }
  if (webhookIds.length === 0) return stats;
  // Rejections beyond the recording cap are counted on the next recorded one (`suppressed_before`).
  const rows = (await db("deliveries")
    .select("webhook_id", "status")
    .select(db.raw("count(*) + coalesce(sum((headers->>'suppressed_before')::int), 0) AS n"))
    .max({ last: "created_at" })
    .whereIn("webhook_id", webhookIds)
    .groupBy("webhook_id", "status")) as { webhook_id: string; status: DeliveryStatus; n: number; last: Date }[];
  for (const row of rows) {
    const entry = stats.get(row.webhook_id)!;
    entry.counts[row.status] = row.n;
    if (row.status !== "rejected" && (!entry.last_delivery_at || row.last > entry.last_delivery_at)) entry.last_delivery_at = row.last;
  }
  return stats;
}

/** Puts a failed delivery back in the queue; false when it is not failed. */
export async function requeueFailedDelivery(db: Queryable, webhookId: string, id: string): Promise<boolean> {
  const rows = await db("deliveries")
    .where({ webhook_id: webhookId, id, status: "failed" })
    .update({ status: "received", attempts: 0, error: null, next_attempt_at: db.fn.now(), locked_until: null, locked_by: null, processed_at: null }, ["id"]);
  return rows.length > 0;
}

/** For a repeated GUID: requeue it when it had failed (GitHub's "Redeliver"); otherwise report what it is. */
export async function resolveRepeatedGuid(
  db: Queryable,
  webhookId: string,
  guid: string,
): Promise<{ id: string; requeued: boolean } | undefined> {
  const requeued = await db("deliveries")
    .where({ webhook_id: webhookId, delivery_guid: guid, status: "failed" })
    .update({ status: "received", attempts: 0, error: null, next_attempt_at: db.fn.now(), locked_until: null, locked_by: null, processed_at: null }, ["id"]);
  if (requeued.length) return { id: (requeued[0] as { id: string }).id, requeued: true };
  const existing = (await db("deliveries").select("id").where({ webhook_id: webhookId, delivery_guid: guid }).first()) as { id: string } | undefined;
  return existing && { id: existing.id, requeued: false };
}

export interface ClaimedDelivery extends StoredPayload {
  id: string;
  webhook_id: string;
  org_id: string;
  delivery_guid: string;
  event_type: string;
  // The payload as stored (StoredPayload; read it with unpackPayload): unpacked by the worker per delivery, so one that cannot be fails alone.
  headers: Record<string, string>;
  attempts: number;
  /** `app`: routed from the GitHub App by a linked installation; `receive`: signed with the webhook's own secret. */
  via: "receive" | "app";
}

/**
 * Claims up to `limit` due deliveries for the caller's transaction: their rows stay locked until it
 * ends, SKIP LOCKED keeps concurrent transactions (any number of workers) off each other's rows, and
 * nothing is written to claim them. If the worker dies its session ends, the transaction rolls back
 * and the deliveries are claimable again at once; a worker that stops answering mid-transaction loses
 * them after `holdSeconds` (PostgreSQL's idle-in-transaction timeout for this transaction). `attempts`
 * is the attempt this is; the outcome recorded in the same transaction counts it.
 * With `ids`, only those (a group retried one by one).
 */
export async function claimDeliveries(trx: Knex.Transaction, limit: number, options: { holdSeconds: number; ids?: readonly string[] }): Promise<ClaimedDelivery[]> {
  const hold = `SET LOCAL idle_in_transaction_session_timeout = ${sqlLiteral(options.holdSeconds * 1000)}`;
  // The planner settings are the claim's alone: the rest of the transaction plans as usual.
  const results = (await trx.raw(
    `${hold}; ${CLAIM_PLANNER_SETTINGS}; ${claimDeliveriesStatement(limit, options.ids)}; SET LOCAL enable_bitmapscan TO DEFAULT; SET LOCAL enable_seqscan TO DEFAULT`,
  )) as unknown as pg.QueryResult[];
  return results.find((result) => result.command === "SELECT")!.rows as ClaimedDelivery[];
}

/**
 * claimDeliveries' statement: the oldest due first, read in the pending index's order (a lease of a
 * worker of an earlier version is respected until it ends).
 */
export function claimDeliveriesStatement(limit: number, ids?: readonly string[]): string {
  return `
  SELECT id, webhook_id, org_id, delivery_guid, event_type, ${PAYLOAD_COLUMNS.join(", ")}, headers, attempts + 1 AS attempts, via FROM deliveries
   WHERE status = 'received' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())${ids ? ` AND id = ANY(${sqlLiteral(ids)}::uuid[])` : ""}
   ORDER BY next_attempt_at, created_at
   LIMIT ${sqlLiteral(limit)}
   FOR UPDATE SKIP LOCKED`;
}

/** Records the outcome of claimed deliveries in their claiming transaction, each attempt counted. */
export async function markDeliveriesDone(
  db: Queryable,
  outcomes: { id: string; status: "processed" | "ignored"; actions: string[]; attempts: number }[],
): Promise<void> {
  if (outcomes.length === 0) return;
  await db.raw(
    `UPDATE deliveries d
        SET status = v.status, actions = v.actions::jsonb, attempts = v.attempts, error = NULL, processed_at = now(), locked_until = NULL, locked_by = NULL
       FROM unnest(?::uuid[], ?::text[], ?::text[], ?::int[]) AS v(id, status, actions, attempts)
      WHERE d.id = v.id`,
    [outcomes.map((o) => o.id), outcomes.map((o) => o.status), outcomes.map((o) => JSON.stringify(o.actions)), outcomes.map((o) => o.attempts)],
  );
}

/** A claimed delivery's last attempt failed: it is `failed` with the error. */
export async function markDeliveryFailed(db: Queryable, id: string, attempts: number, error: string): Promise<void> {
  await db("deliveries")
    .where({ id })
    .update({ status: "failed", actions: JSON.stringify([]), attempts, error, processed_at: db.fn.now(), locked_until: null, locked_by: null });
}

/** A claimed delivery's attempt failed: it is tried again after `delaySeconds`. */
export async function scheduleRetry(db: Queryable, id: string, attempts: number, error: string, delaySeconds: number): Promise<void> {
  await db("deliveries")
    .where({ id })
    .update({
      attempts,
      error,
      next_attempt_at: db.raw("now() + make_interval(secs => ?)", [delaySeconds]),
      locked_until: null,
      locked_by: null,
    });
}

/** When the org last received a delivery through the GitHub App door, or null. */
export async function findLastAppDeliveryAt(db: Queryable, orgId: string): Promise<Date | null> {
  const row = (await db("deliveries").where({ org_id: orgId, via: "app" }).max({ at: "created_at" }).first()) as { at: Date | null } | undefined;
  return row?.at ?? null;
}

export interface NewDelivery {
  webhook_id: string;
  org_id: string;
  delivery_guid: string;
  event_type: string;
  status: Exclude<DeliveryStatus, "received"> | "received";
  payload: string | null;
  headers: Record<string, string>;
  payload_summary: Record<string, unknown>;
  actions?: string[];
  error?: string | null;
  /** The door: `app` (routed from the GitHub App by a linked installation) or `receive` (the webhook's own secret; the default). */
  via?: "receive" | "app";
  /** The bytes `payload` was decoded from, when it arrived as the request's body: packed without encoding the text again. */
  payloadBytes?: Buffer;
  /** The sending webhook's provider: a metrics label only, not stored. */
  provider?: "github" | "custom";
}

/** A delivery ready to be inserted: its payload packed (stored-payload.ts). */
export interface PackedDelivery extends Omit<NewDelivery, "payload" | "payloadBytes"> {
  payload: Buffer | null;
}

/** Packs the payload; done as each delivery arrives, so a batch's inserting does not wait on it. */
export function packDelivery(row: NewDelivery): PackedDelivery {
  const { payloadBytes, ...rest } = row;
  return { ...rest, payload: row.payload === null ? null : packPayload(row.payload, payloadBytes) };
}

const COLUMNS_PER_ROW = 12;
const ROW_SQL = "(?::uuid, ?::uuid, ?, ?, ?, ?::bytea, ?::jsonb, ?::jsonb, ?::jsonb, ?, CASE WHEN ?::boolean THEN now() END, ?)";

/** A stored delivery as insertDeliveries reports it, with the `delivery.<status>` event appended for it. */
export interface InsertedDelivery {
  id: string;
  webhook_id: string;
  delivery_guid: string;
  status: string;
  /** Absent only if the webhook vanished while the statement ran. */
  event?: DomainEvent;
}

/**
 * Inserts deliveries in one statement that also appends their `delivery.<status>` events and
 * notifies listening workers and the event relay (`eventsNotifyPayload`: the relay's own, when the
 * caller hands it the events). A (webhook, GUID) already stored is skipped: it is missing from the
 * answer (a repeat; see resolveRepeatedGuid).
 */
export async function insertDeliveries(db: Queryable, rows: PackedDelivery[], options: { eventsNotifyPayload?: string } = {}): Promise<InsertedDelivery[]> {
  const bindings: Knex.RawBinding[] = [];
  for (const row of rows) {
    // A hostile document (NUL, lone surrogates) is still logged, not refused with a 503 for ever.
    bindings.push(
      row.webhook_id,
      row.org_id,
      row.delivery_guid,
      storableText(row.event_type),
      row.status,
      row.payload,
      JSON.stringify(storableJson(row.headers)),
      JSON.stringify(storableJson(row.payload_summary)),
      JSON.stringify(storableJson(row.actions ?? [])),
      row.error == null ? null : storableText(row.error),
      row.status !== "received",
      row.via ?? "receive",
    );
  }
  const sql = `
    WITH ins AS (
      INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload_lz4, headers, payload_summary, actions, error, processed_at, via)
      VALUES ${rows.map(() => ROW_SQL).join(", ")}
      ON CONFLICT (webhook_id, delivery_guid) DO NOTHING
      RETURNING id, webhook_id, org_id, delivery_guid, event_type, status, payload_summary, created_at
    ), ev AS (
      INSERT INTO events (org_id, team_id, type, data, created_at)
      SELECT ins.org_id, (w.config->>'team_id')::uuid, 'delivery.' || ins.status,
             jsonb_build_object('delivery_id', ins.id, 'webhook_id', ins.webhook_id, 'event_type', ins.event_type,
                                'status', ins.status, 'delivery_guid', ins.delivery_guid, 'payload_summary', ins.payload_summary),
             ins.created_at
        FROM ins JOIN webhooks w ON w.id = ins.webhook_id
      RETURNING id, org_id, team_id, type, data, created_at, (data->>'delivery_id')::uuid AS delivery_id
    )
    SELECT ins.id, ins.webhook_id, ins.delivery_guid, ins.status,
           ev.id AS event_id, ev.org_id AS event_org_id, ev.team_id AS event_team_id, ev.type AS event_type, ev.data AS event_data,
           ev.created_at AS event_created_at,
           pg_notify('entourage_deliveries', ''), pg_notify(?, ?)
      FROM ins LEFT JOIN ev ON ev.delivery_id = ins.id`;
  if (bindings.length !== rows.length * COLUMNS_PER_ROW) throw new Error("delivery batch bindings mismatch");
  bindings.push(EVENTS_NOTIFY_CHANNEL, options.eventsNotifyPayload ?? "");
  const result = await db.raw(sql, bindings);
  return (result.rows as InsertedRow[]).map((row) => ({
    id: row.id,
    webhook_id: row.webhook_id,
    delivery_guid: row.delivery_guid,
    status: row.status,
    event:
      row.event_id === null
        ? undefined
        : { id: row.event_id, org_id: row.event_org_id!, team_id: row.event_team_id, type: row.event_type!, data: row.event_data!, created_at: row.event_created_at! },
  }));
}

interface InsertedRow {
  id: string;
  webhook_id: string;
  delivery_guid: string;
  status: string;
  event_id: number | null;
  event_org_id: string | null;
  event_team_id: string | null;
  event_type: string | null;
  event_data: Record<string, unknown> | null;
  event_created_at: Date | null;
}
