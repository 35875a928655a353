import type { Knex } from "knex";
import { acceptDelivery, type AcceptResult } from "../webhooks/accept-delivery.js";
import type { DeliveryWriter } from "../webhooks/delivery-writer.js";
import { payloadSummary } from "../webhooks/payload-summary.js";
import { githubEventType } from "../webhooks/webhook-events.js";
import { findGithubWebhooksFor } from "../webhooks/webhooks.store.js";
import { trackInstallation } from "./track-installation.js";
import { insertUnroutedDelivery } from "./unrouted-deliveries.store.js";

/** One verified App delivery, as GitHub sent it. */
export interface AppDelivery {
  /** X-GitHub-Delivery */
  guid: string;
  /** X-GitHub-Event */
  eventName: string;
  payload: Record<string, unknown>;
  /** The exact JSON text received (stored as is, like the receive endpoint does). */
  payloadText: string;
  headers: Record<string, string>;
}

export type RouteOutcome =
  | { routed: true; results: { webhook_id: string; result: AcceptResult }[] }
  | { routed: false; repository: string | null; installation_id: number | null };

/**
 * The App door's half of the one pipeline:
 * 1. track installations and their repositories (installation events);
 * 2. find the active github webhooks that route this repository or installation, in the org the
 *    installation is linked to (none while it is linked to no org);
 * 3. hand the delivery to each through `acceptDelivery` (filtering, GUID dedupe, worker, rules);
 * 4. none: keep it as unrouted, never drop it.
 */
export async function routeAppDelivery(deps: { knex: Knex; writer: DeliveryWriter }, delivery: AppDelivery): Promise<RouteOutcome> {
  const { payload } = delivery;
  await trackInstallation(deps.knex, delivery.eventName, payload);
  const repository = (payload.repository as { full_name?: unknown } | undefined)?.full_name;
  const installationId = (payload.installation as { id?: unknown } | undefined)?.id;
  const target = {
    repository: typeof repository === "string" ? repository : undefined,
    installationId: typeof installationId === "number" ? installationId : undefined,
  };
  const webhooks = await findGithubWebhooksFor(deps.knex, target);
  if (webhooks.length === 0) {
    await insertUnroutedDelivery(deps.knex, {
      delivery_guid: delivery.guid,
      installation_id: target.installationId ?? null,
      repository: target.repository ?? null,
      event_type: githubEventType(delivery.eventName, payload),
      payload_summary: payloadSummary(payload),
      payload: delivery.payloadText,
      headers: delivery.headers,
    });
    return { routed: false, repository: target.repository ?? null, installation_id: target.installationId ?? null };
  }
  const results = await Promise.all(
    webhooks.map(async (webhook) => ({
      webhook_id: webhook.id,
      result: await acceptDelivery(deps.writer, {
        webhook,
        guid: delivery.guid,
        eventName: delivery.eventName,
        payloadText: delivery.payloadText,
        payload,
        headers: delivery.headers,
        via: "app",
      }),
    })),
  );
  return { routed: true, results };
}
