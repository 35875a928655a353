import type { Queryable } from "../../db/create-db.js";
import { enqueueOutboundDeliveries } from "../notifications/enqueue-outbound-deliveries.js";

export interface DomainEventInput {
  org_id: string;
  team_id?: string | null;
  type: string;
  data: Record<string, unknown>;
}

export interface DomainEvent {
  id: number;
  org_id: string;
  team_id: string | null;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

const COLUMNS = ["id", "org_id", "team_id", "type", "data", "created_at"] as const;

/**
 * Appends domain events; call it inside the transaction that made the change.
 * Outbound notifications for them are queued in that same transaction (the outbox).
 */
export async function appendEvents(db: Queryable, events: DomainEventInput[]): Promise<number[]> {
  if (events.length === 0) return [];
  const rows = (await db("events")
    .insert(events.map((event) => ({ ...event, team_id: event.team_id ?? null, data: JSON.stringify(event.data) })))
    .returning(COLUMNS)) as DomainEvent[];
  await enqueueOutboundDeliveries(db, rows);
  return rows.map((row) => row.id);
}

export interface ListEventsQuery {
  org_id: string;
  after_id?: number;
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
  if (query.types?.length) q.whereIn("type", query.types);
  if (query.team_id) q.where("team_id", query.team_id);
  return (await q) as DomainEvent[];
}
