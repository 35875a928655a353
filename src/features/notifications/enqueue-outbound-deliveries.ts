import type { Queryable } from "../../db/create-db.js";
import type { DomainEvent } from "../events/domain-event.js";
import { insertOutboundDeliveries } from "./outbound-deliveries.store.js";
import { subscribesTo } from "./outbound-webhooks.schema.js";
import { listActiveOutboundWebhooks } from "./outbound-webhooks.store.js";

/**
 * The outbox hook of appendEvents: in the same transaction, one delivery row per
 * (event × active endpoint of its org subscribed to its type, for all teams or the event's team).
 */
export async function enqueueOutboundDeliveries(db: Queryable, events: DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  const endpoints = await listActiveOutboundWebhooks(db, [...new Set(events.map((event) => event.org_id))]);
  if (endpoints.length === 0) return;
  const rows = events.flatMap((event) =>
    endpoints
      .filter((endpoint) => endpoint.org_id === event.org_id && (endpoint.team_id === null || endpoint.team_id === event.team_id))
      .filter((endpoint) => subscribesTo(endpoint.events, event.type))
      .map((endpoint) => ({
        org_id: event.org_id,
        endpoint_id: endpoint.id,
        event_id: event.id,
        event_type: event.type,
        body: JSON.stringify(outboundBody(event)),
      })),
  );
  await insertOutboundDeliveries(db, rows);
}

/**
 * The request body. Task events: `data` is the task snapshot and `details` what else the event
 * says (e.g. `from`/`to` of task.status_changed). Other events (review.*): `data` is the event's
 * data as appended, `task_id` its `task_id` when it has one.
 */
export function outboundBody(event: DomainEvent): Record<string, unknown> {
  const { task, task_id: taskId, ...details } = event.data as { task?: { id?: number }; task_id?: number } & Record<string, unknown>;
  return {
    event: event.type,
    task_id: taskId ?? task?.id ?? null,
    team_id: event.team_id,
    timestamp: new Date(event.created_at).toISOString(),
    data: task ?? { ...(taskId === undefined ? {} : { task_id: taskId }), ...details },
    details: task ? details : {},
  };
}
