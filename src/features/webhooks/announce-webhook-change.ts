import type { Queryable } from "../../db/create-db.js";
import { appendEvents } from "../events/events.store.js";

export type WebhookChange = "created" | "updated" | "secret_regenerated" | "deleted";

/**
 * Appends `webhook.<change>` so other open consoles of the org redraw at once. The data names the
 * webhook, never its secret; outbound endpoints are not sent these (not a deliverable type).
 */
export async function announceWebhookChange(
  db: Queryable,
  webhook: { id: string; org_id: string; name: string; active: boolean; config: { team_id: string } },
  change: WebhookChange,
): Promise<void> {
  await appendEvents(db, [
    { org_id: webhook.org_id, team_id: webhook.config.team_id, type: `webhook.${change}`, data: { webhook_id: webhook.id, name: webhook.name, active: webhook.active } },
  ]);
}
