import type { Queryable } from "../../db/create-db.js";

export interface NewUnroutedDelivery {
  delivery_guid: string;
  installation_id: number | null;
  repository: string | null;
  event_type: string;
  payload_summary: Record<string, unknown>;
  payload: string;
  headers: Record<string, string>;
}

export interface UnroutedDeliveryRow extends Omit<NewUnroutedDelivery, "payload" | "headers"> {
  id: string;
  received_at: Date;
}

const LIST_COLUMNS = ["u.id", "u.delivery_guid", "u.installation_id", "u.repository", "u.event_type", "u.payload_summary", "u.received_at"] as const;

/** Keeps an App delivery no webhook routes; a repeated GUID (GitHub's redelivery) is kept once. */
export async function insertUnroutedDelivery(db: Queryable, delivery: NewUnroutedDelivery): Promise<void> {
  await db("unrouted_deliveries")
    .insert({ ...delivery, payload_summary: JSON.stringify(delivery.payload_summary), headers: JSON.stringify(delivery.headers) })
    .onConflict("delivery_guid")
    .ignore();
}

/**
 * Unrouted deliveries an org may see, newest first: those whose installation is linked to the
 * org; the instance org also sees those of installations linked to no org (or without one).
 * A config field proves nothing, so webhooks play no part here.
 */
export async function listUnroutedDeliveriesForOrg(
  db: Queryable,
  viewer: { orgId: string; isInstanceOrg: boolean },
  options: { before?: { received_at: string; id: string }; limit: number; event_type?: string; installation_id?: number },
): Promise<UnroutedDeliveryRow[]> {
  const q = db("unrouted_deliveries as u")
    .select(LIST_COLUMNS)
    .leftJoin("github_installations as i", "i.id", "u.installation_id")
    .where((w) => {
      w.where("i.org_id", viewer.orgId);
      if (viewer.isInstanceOrg) w.orWhereNull("i.org_id");
    });
  if (options.event_type) q.where("u.event_type", options.event_type);
  if (options.installation_id) q.where("u.installation_id", options.installation_id);
  if (options.before) {
    q.whereRaw("(u.received_at, u.id) < (?::timestamptz, ?::uuid)", [options.before.received_at, options.before.id]);
  }
  return q.orderBy("u.received_at", "desc").orderBy("u.id", "desc").limit(options.limit);
}

/** Which of these GUIDs Entourage already has, routed (in `deliveries`) or not. */
export async function findKnownDeliveryGuids(db: Queryable, guids: string[]): Promise<Set<string>> {
  if (!guids.length) return new Set();
  const rows = (await db
    .select("delivery_guid")
    .from("deliveries")
    .whereIn("delivery_guid", guids)
    .union((u) => u.select("delivery_guid").from("unrouted_deliveries").whereIn("delivery_guid", guids))) as { delivery_guid: string }[];
  return new Set(rows.map((row) => row.delivery_guid));
}
