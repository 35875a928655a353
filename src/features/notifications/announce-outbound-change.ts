import type { Queryable } from "../../db/create-db.js";
import { appendEvents } from "../events/events.store.js";

export type OutboundChange = "created" | "updated" | "secret_rotated" | "deleted";

/**
 * Appends `outbound_webhook.<change>` so other open consoles of the org redraw at once; never the
 * secret or the API key. Not a deliverable type: endpoints are not sent these.
 */
export async function announceOutboundChange(
  db: Queryable,
  endpoint: { id: string; org_id: string; team_id: string | null; url: string; active: boolean },
  change: OutboundChange,
): Promise<void> {
  await appendEvents(db, [
    { org_id: endpoint.org_id, team_id: endpoint.team_id, type: `outbound_webhook.${change}`, data: { outbound_webhook_id: endpoint.id, url: endpoint.url, active: endpoint.active } },
  ]);
}
