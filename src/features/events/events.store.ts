import type { Queryable } from "../../db/create-db.js";
import { whereEventTypeMatches } from "../../lib/event-type-pattern.js";
import { enqueueOutboundDeliveries } from "../notifications/enqueue-outbound-deliveries.js";
import type { DomainEvent, DomainEventInput } from "./domain-event.js";

export type { DomainEvent, DomainEventInput } from "./domain-event.js";

const COLUMNS = ["id", "org_id", "team_id", "type", "data", "created_at"] as const;

/** Channel the relay LISTENs on; a NOTIFY inside a transaction is delivered at its commit. */
export const EVENTS_NOTIFY_CHANNEL = "entourage_events";

/** The events each holding transaction keeps back (see holdEvents), in the order they were appended. */
const heldEvents = new WeakMap<object, DomainEventInput[]>();

/** A transaction's held events (see holdEvents). */
export interface HeldEvents {
  /** How many are held: a mark to come back to. */
  readonly count: number;
  /** Forgets those held after `mark`, for the savepoint the caller rolled back to. */
  dropAfter(mark: number): void;
  /** Returns the held events in order and stops holding. */
  take(): DomainEventInput[];
}

/**
 * Until `take()`, appendEvents on this transaction keeps its events instead of inserting them: the
 * delivery worker appends all of a group's events in one statement at its end (each INSERT is a
 * round trip, and a pull request event appends three or four). A reader of the events table within
 * the transaction would not see them: nothing in a worker's rules reads it.
 */
export function holdEvents(db: Queryable): HeldEvents {
  if (heldEvents.has(db)) throw new Error("this transaction already holds its events");
  const held: DomainEventInput[] = [];
  heldEvents.set(db, held);
  return {
    get count() {
      return held.length;
    },
    dropAfter(mark) {
      held.length = mark;
    },
    take() {
      heldEvents.delete(db);
      return held;
    },
  };
}

/**
 * Appends domain events; call it inside the transaction that made the change.
 * Outbound notifications for them are queued in that same transaction (the outbox).
 * Returns their ids; none while the transaction holds its events (see holdEvents).
 */
export async function appendEvents(db: Queryable, events: DomainEventInput[]): Promise<number[]> {
  if (events.length === 0) return [];
  const held = heldEvents.get(db);
  if (held) {
    held.push(...events);
    return [];
  }
  // The NOTIFY rides on the INSERT (one round trip); it wakes the relay at commit, and never if the
  // transaction rolls back. Repeats of one notification in a transaction are folded into one.
  const inserted = db("events")
    .insert(events.map((event) => ({ ...event, team_id: event.team_id ?? null, data: JSON.stringify(event.data) })))
    .returning(COLUMNS);
  // It also says whether the org has any active outbound endpoint, so the fan-out below costs
  // nothing (no second round trip) for the many orgs that have none.
  const rows = (await db
    .with("inserted", inserted)
    .select(
      ...COLUMNS.map((column) => `inserted.${column}`),
      db.raw("pg_notify(?, '')", [EVENTS_NOTIFY_CHANNEL]),
      db.raw("EXISTS (SELECT 1 FROM outbound_webhooks o WHERE o.org_id = inserted.org_id AND o.active) AS has_outbound"),
    )
    .from("inserted")
    .orderBy("inserted.id")) as (DomainEvent & { pg_notify?: unknown; has_outbound?: boolean })[];
  const fanOut = rows.some((row) => row.has_outbound);
  for (const row of rows) {
    delete row.pg_notify;
    delete row.has_outbound;
  }
  if (fanOut) await enqueueOutboundDeliveries(db, rows);
  return rows.map((row) => row.id);
}

export interface ListEventsQuery {
  org_id: string;
  after_id?: number;
  /** Inclusive upper bound. */
  up_to_id?: number;
  /** Exact types, or patterns ending in `*` (`task.*`); `*` alone matches all. */
  types?: string[];
  team_id?: string;
  limit?: number;
}

/** Events of one org after an id, oldest first. */
export async function listEvents(db: Queryable, query: ListEventsQuery): Promise<DomainEvent[]> {
  const q = db("events")
    .select(COLUMNS)
    .where("org_id", query.org_id)
    .where("id", ">", query.after_id ?? 0)
    .orderBy("id", "asc")
    .limit(query.limit ?? 500);
  if (query.up_to_id !== undefined) q.where("id", "<=", query.up_to_id);
  if (query.types?.length) whereEventTypeMatches(q, "type", query.types);
  if (query.team_id) q.where("team_id", query.team_id);
  return (await q) as DomainEvent[];
}

/** Every org's events after an id, oldest first (the relay's read). */
export async function listAllEventsAfter(db: Queryable, afterId: number, limit: number): Promise<DomainEvent[]> {
  return (await db("events").select(COLUMNS).where("id", ">", afterId).orderBy("id", "asc").limit(limit)) as DomainEvent[];
}

/** The highest event id, 0 on an empty table. */
export async function maxEventId(db: Queryable): Promise<number> {
  const row = (await db("events").max({ max: "id" }).first()) as { max: number | null } | undefined;
  return Number(row?.max ?? 0);
}
