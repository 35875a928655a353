import { z } from "zod";
import type { DomainEvent } from "../features/events/events.store.js";

/** A domain event as it travels on the bus: JSON-safe (created_at as ISO text). */
export const busEventSchema = z.object({
  id: z.number().int().positive(),
  org_id: z.string().min(1),
  team_id: z.string().min(1).nullable(),
  type: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});
export type BusEvent = z.infer<typeof busEventSchema>;

export interface BusListener {
  onEvent(event: BusEvent): void;
  /**
   * The bus may have dropped messages (e.g. Redis reconnected): catch up from the events table.
   * The table is the record; the bus only makes delivery prompt.
   */
  onResync(): void;
}

/** Fan-out of domain events to the SSE streams of every instance (Redis) or of this process (memory). */
export interface EventBus {
  readonly kind: "redis" | "memory";
  /** True when other instances see what this one publishes (so only one relay should publish). */
  readonly shared: boolean;
  /**
   * Hands events to the bus in order. Rejects when they could not all be handed over; the relay then
   * retries them all (some may have gone out: every SSE stream drops ids it has already sent).
   */
  publish(events: readonly BusEvent[]): Promise<void>;
  /** Listens to one org's events; returns the unsubscribe function. */
  subscribe(orgId: string, listener: BusListener): () => void;
  /** Throws when the bus is unreachable (readiness probe). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** The Redis channel of one org. */
export function eventChannel(orgId: string): string {
  return `entourage:events:${orgId}`;
}

/** The wire form of a stored event. */
export function toBusEvent(event: DomainEvent): BusEvent {
  const createdAt = event.created_at instanceof Date ? event.created_at.toISOString() : String(event.created_at);
  return { id: event.id, org_id: event.org_id, team_id: event.team_id, type: event.type, data: event.data, created_at: createdAt };
}
