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
  const known = knownEntitlement(input);
  if (known) return known.refused;
  const repository = (input.payload.repository as { full_name: string }).full_name;
  const first = await claimFirstRepository(db, input.webhook.id, repository);
  return first === undefined ? undefined : refusalForFirst(first, repository);
}

/**
 * repositoryNotEntitled as far as it can be told without the database: `{ refused }` (undefined
 * when the delivery may act), or undefined when the webhook has yet to record its first repository.
 */
export function knownEntitlement(input: DeliveryInput): { refused: string | undefined } | undefined {
  if (input.delivery.via === "app" || input.webhook.provider !== "github") return { refused: undefined };
  const repository = (input.payload.repository as { full_name?: unknown } | undefined)?.full_name;
  if (typeof repository !== "string") return { refused: undefined }; // the rules refuse what they cannot place
  const named = input.webhook.config.repositories ?? [];
  if (named.length) {
    if (named.some((name) => sameRepository(name, repository))) return { refused: undefined };
    return { refused: `ignored: this webhook acts only on ${named.join(", ")} (config.repositories), not on ${repository}` };
  }
  const first = input.webhook.first_repository;
  return first == null ? undefined : { refused: refusalForFirst(first, repository) };
}

function refusalForFirst(first: string, repository: string): string | undefined {
  if (sameRepository(first, repository)) return undefined;
  return `ignored: this webhook acts only on ${first}, the first repository it received from (name others in config.repositories), not on ${repository}`;
}

/** GitHub treats owner/name case-insensitively. */
export function sameRepository(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
