import type { Queryable } from "../../db/create-db.js";
import type { DeliveryInput } from "./delivery-processor.js";
import { claimFirstRepository } from "./webhooks.store.js";

/**
 * Why a delivery signed with a webhook's own secret may not act, or undefined when it may.
 * A secret entitles its holder to the repositories the webhook's config names or, when it names
 * none, to the first repository it receives from (recorded on the webhook). App deliveries were
 * entitled when they were routed: their installation is linked to the webhook's org.
 */
export async function repositoryNotEntitled(db: Queryable, input: DeliveryInput): Promise<string | undefined> {
  if (input.delivery.via === "app" || input.webhook.provider !== "github") return undefined;
  const repository = (input.payload.repository as { full_name?: unknown } | undefined)?.full_name;
  if (typeof repository !== "string") return undefined; // the rules refuse what they cannot place
  const named = input.webhook.config.repositories ?? [];
  if (named.length) {
    if (named.some((name) => sameRepository(name, repository))) return undefined;
    return `ignored: this webhook acts only on ${named.join(", ")} (config.repositories), not on ${repository}`;
  }
  const first = input.webhook.first_repository ?? (await claimFirstRepository(db, input.webhook.id, repository));
  if (first === undefined || sameRepository(first, repository)) return undefined;
  return `ignored: this webhook acts only on ${first}, the first repository it received from (name others in config.repositories), not on ${repository}`;
}

/** GitHub treats owner/name case-insensitively. */
export function sameRepository(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
