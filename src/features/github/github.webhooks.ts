import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Probot } from "probot";
import type { DeliveryWriter } from "../webhooks/delivery-writer.js";
import type { RawAppDelivery } from "./github-app-door.js";
import { routeAppDelivery } from "./route-app-delivery.js";

export interface GithubHandlerDeps {
  knex: Knex;
  writer: DeliveryWriter;
  logger: Logger;
  /** The raw text and headers the door kept for a GUID in flight. */
  takeRaw(guid: string): RawAppDelivery | undefined;
}

/**
 * Every App event, whatever its name, enters the one pipeline: routed to the webhooks that
 * claim its repository or installation, or kept as unrouted. A throw answers GitHub 503, so
 * the delivery shows as failed there and the missed-delivery recovery asks for it again.
 */
export function registerGithubHandlers(app: Probot, deps: GithubHandlerDeps): void {
  app.onAny(async (context) => {
    const payload = context.payload as unknown as Record<string, unknown>;
    const raw = deps.takeRaw(context.id);
    try {
      const outcome = await routeAppDelivery(deps, {
        guid: context.id,
        eventName: context.name,
        payload,
        payloadText: raw?.payloadText ?? JSON.stringify(payload),
        headers: raw?.headers ?? { "x-github-event": context.name, "x-github-delivery": context.id },
      });
      if (!outcome.routed) {
        deps.logger.info(
          { guid: context.id, event: context.name, repository: outcome.repository, installation_id: outcome.installation_id },
          "App delivery matched no webhook; kept as unrouted (register a github webhook with config.repositories or config.installation_id to route it)",
        );
      }
    } catch (error) {
      deps.logger.error({ err: error, guid: context.id, event: context.name }, "could not store an App delivery; answered GitHub 503");
      // What GitHub (and Probot's own error log) gets: no SQL, no payload.
      throw Object.assign(new Error("The delivery could not be stored; retry later"), { status: 503 });
    }
  });
}
