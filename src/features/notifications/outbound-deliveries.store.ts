import type { Queryable } from "../../db/create-db.js";
import { runClaim, sqlLiteral } from "../../db/run-claim.js";

export const OUTBOUND_DELIVERY_STATUSES = ["pending", "delivered", "failed"] as const;
export type OutboundDeliveryStatus = (typeof OUTBOUND_DELIVERY_STATUSES)[number];

export interface OutboundDeliveryRow {
  id: string;
  org_id: string;
  endpoint_id: string;
  event_id: number;
  event_type: string;
  body: string;
  status: OutboundDeliveryStatus;
  attempt_count: number;
  retry_index: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface OutboundAttemptRow {
  id: number;
  delivery_id: string;
  attempted_at: Date;
  duration_ms: number;
  status_code: number | null;
  response_excerpt: string | null;
  error: string | null;
  next_retry_at: Date | null;
}

const COLUMNS = [
  "id",
  "org_id",
  "endpoint_id",
  "event_id",
  "event_type",
  "body",
  "status",
  "attempt_count",
  "retry_index",
  "next_attempt_at",
  "last_status_code",
  "last_error",
  "delivered_at",
  "created_at",
  "updated_at",
] as const;

const ATTEMPT_COLUMNS = ["id", "delivery_id", "attempted_at", "duration_ms", "status_code", "response_excerpt", "error", "next_retry_at"] as const;

export type NewOutboundDelivery = Pick<OutboundDeliveryRow, "org_id" | "endpoint_id" | "event_id" | "event_type" | "body">;

/**
 * Senders LISTEN here. Only what makes a delivery claimable notifies it (new rows, a redelivery, a
 * release, an endpoint turned back on): events alone do not, so a busy pipeline without outbound
 * endpoints never wakes a sender.
 */
export const OUTBOUND_NOTIFY_CHANNEL = "entourage_outbound";

/** Tells the senders that deliveries may be claimable now (delivered at commit inside a transaction). */
export async function notifyOutboundSenders(db: Queryable): Promise<void> {
  await db.raw("SELECT pg_notify(?, '')", [OUTBOUND_NOTIFY_CHANNEL]);
}

/** Queues deliveries and notifies the senders, in one statement. */
export async function insertOutboundDeliveries(db: Queryable, rows: NewOutboundDelivery[]): Promise<void> {
  if (rows.length === 0) return;
  await db.with("inserted", db("outbound_deliveries").insert(rows)).select(db.raw("pg_notify(?, '')", [OUTBOUND_NOTIFY_CHANNEL]));
}

/** A delivery claimed by one sender until `locked_until`; `claim_token` proves it still holds it. */
export interface ClaimedOutboundDelivery extends Pick<OutboundDeliveryRow, "id" | "org_id" | "endpoint_id" | "event_type" | "body" | "attempt_count" | "retry_index"> {
  claim_token: string;
}

/**
 * Claims up to `limit` due deliveries of active endpoints (skipping `excludeEndpoints`) for
 * `leaseMs`: SKIP LOCKED lets any number of senders claim side by side without waiting.
 */
export async function claimDueDeliveries(
  db: Queryable,
  options: { limit: number; leaseMs: number; excludeEndpoints: string[] },
): Promise<ClaimedOutboundDelivery[]> {
  return runClaim<ClaimedOutboundDelivery>(
    db,
    `WITH due AS (
       SELECT d.id FROM outbound_deliveries d
       JOIN outbound_webhooks w ON w.id = d.endpoint_id AND w.active
       WHERE d.status = 'pending' AND d.next_attempt_at <= now()
         AND (d.locked_until IS NULL OR d.locked_until <= now())
         AND NOT (d.endpoint_id = ANY(${sqlLiteral(options.excludeEndpoints)}::uuid[]))
       ORDER BY d.next_attempt_at
       LIMIT ${sqlLiteral(options.limit)}
       FOR UPDATE OF d SKIP LOCKED
     )
     UPDATE outbound_deliveries d
     SET locked_until = now() + ${sqlLiteral(options.leaseMs)} * interval '1 millisecond', claim_token = gen_random_uuid(), updated_at = now()
     FROM due WHERE d.id = due.id
     RETURNING d.id, d.org_id, d.endpoint_id, d.event_type, d.body, d.attempt_count, d.retry_index, d.claim_token`,
  );
}

/** Gives a claimed delivery back untouched (this sender had no room for it). */
export async function releaseOutboundDelivery(db: Queryable, claim: ClaimedOutboundDelivery): Promise<void> {
  await db("outbound_deliveries").where({ id: claim.id, claim_token: claim.claim_token }).update({ locked_until: null, claim_token: null });
  await notifyOutboundSenders(db);
}

export interface AttemptOutcome {
  attempted_at: Date;
  duration_ms: number;
  status_code: number | null;
  response_excerpt: string | null;
  error: string | null;
  /** The delivery's new state. */
  status: OutboundDeliveryStatus;
  next_retry_at: Date | null;
  retry_index: number;
}

/**
 * Logs one attempt and moves the delivery on, if this sender still holds the claim;
 * returns false when its lease was lost (another sender owns the delivery now).
 */
export async function recordAttempt(db: Queryable, claim: ClaimedOutboundDelivery, outcome: AttemptOutcome): Promise<boolean> {
  const updated = await db("outbound_deliveries")
    .where({ id: claim.id, claim_token: claim.claim_token })
    .update({
      status: outcome.status,
      attempt_count: db.raw("attempt_count + 1"),
      retry_index: outcome.retry_index,
      next_attempt_at: outcome.next_retry_at ?? db.fn.now(),
      locked_until: null,
      claim_token: null,
      last_status_code: outcome.status_code,
      last_error: outcome.error,
      delivered_at: outcome.status === "delivered" ? outcome.attempted_at : null,
      updated_at: db.fn.now(),
    });
  await db("outbound_delivery_attempts").insert({
    delivery_id: claim.id,
    attempted_at: outcome.attempted_at,
    duration_ms: outcome.duration_ms,
    status_code: outcome.status_code,
    response_excerpt: outcome.response_excerpt,
    error: outcome.error ?? (updated ? null : "lease lost: another sender took this delivery over"),
    next_retry_at: updated ? outcome.next_retry_at : null,
  });
  return updated > 0;
}

/** Deliveries of one endpoint, newest event first, before a keyset position. */
export async function listOutboundDeliveryRows(
  db: Queryable,
  query: { endpoint_id: string; status?: OutboundDeliveryStatus; before?: { event_id: number; id: string }; limit: number },
): Promise<OutboundDeliveryRow[]> {
  const q = db("outbound_deliveries")
    .select(COLUMNS)
    .where("endpoint_id", query.endpoint_id)
    .orderBy([
      { column: "event_id", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .limit(query.limit);
  if (query.status) q.where("status", query.status);
  if (query.before) q.whereRaw("(event_id, id) < (?, ?::uuid)", [query.before.event_id, query.before.id]);
  return (await q) as OutboundDeliveryRow[];
}

export async function findOutboundDeliveryRow(db: Queryable, endpointId: string, id: string): Promise<OutboundDeliveryRow | undefined> {
  return (await db("outbound_deliveries").select(COLUMNS).where({ endpoint_id: endpointId, id }).first()) as OutboundDeliveryRow | undefined;
}

/** Attempts of these deliveries, oldest first. */
export async function listAttempts(db: Queryable, deliveryIds: string[]): Promise<OutboundAttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  return (await db("outbound_delivery_attempts").select(ATTEMPT_COLUMNS).whereIn("delivery_id", deliveryIds).orderBy("id")) as OutboundAttemptRow[];
}

/** Puts a delivery back in the queue, due now, at the start of the retry schedule; undefined when it is gone (its endpoint deleted meanwhile). */
export async function requeueDelivery(db: Queryable, id: string): Promise<OutboundDeliveryRow | undefined> {
  const [row] = (await db("outbound_deliveries")
    .where("id", id)
    .update({ status: "pending", retry_index: 0, next_attempt_at: db.fn.now(), updated_at: db.fn.now() })
    .returning(COLUMNS)) as OutboundDeliveryRow[];
  if (row) await notifyOutboundSenders(db);
  return row;
}
