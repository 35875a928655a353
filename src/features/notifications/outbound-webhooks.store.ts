import type { Queryable } from "../../db/create-db.js";

/** An outbound endpoint as stored; secrets stay sealed. */
export interface OutboundWebhookRow {
  id: string;
  org_id: string;
  team_id: string | null;
  url: string;
  events: string[];
  description: string;
  active: boolean;
  secret_sealed: string;
  secret_hint: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | null;
  api_key_sealed: string | null;
  failing_since: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = [
  "id",
  "org_id",
  "team_id",
  "url",
  "events",
  "description",
  "active",
  "secret_sealed",
  "secret_hint",
  "previous_secret_sealed",
  "previous_secret_expires_at",
  "api_key_sealed",
  "failing_since",
  "disabled_at",
  "disabled_reason",
  "created_at",
  "updated_at",
] as const;

export type NewOutboundWebhook = Pick<OutboundWebhookRow, "org_id" | "team_id" | "url" | "events" | "description" | "secret_sealed" | "secret_hint" | "api_key_sealed">;

export type OutboundWebhookChanges = Partial<
  Pick<
    OutboundWebhookRow,
    | "url"
    | "events"
    | "description"
    | "active"
    | "api_key_sealed"
    | "secret_sealed"
    | "secret_hint"
    | "previous_secret_sealed"
    | "previous_secret_expires_at"
    | "failing_since"
    | "disabled_at"
    | "disabled_reason"
  >
>;

export async function insertOutboundWebhook(db: Queryable, webhook: NewOutboundWebhook): Promise<OutboundWebhookRow> {
  const [row] = (await db("outbound_webhooks").insert(webhook).returning(COLUMNS)) as OutboundWebhookRow[];
  return row!;
}

/** One endpoint of an org; `forUpdate` locks it for the rest of the transaction. */
export async function findOutboundWebhook(
  db: Queryable,
  orgId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<OutboundWebhookRow | undefined> {
  const q = db("outbound_webhooks").select(COLUMNS).where({ org_id: orgId, id }).first();
  if (options.forUpdate) q.forUpdate();
  return (await q) as OutboundWebhookRow | undefined;
}

/** Endpoints of an org, oldest first, after a keyset position. */
export async function listOutboundWebhooks(
  db: Queryable,
  query: { org_id: string; after?: { created_at: string; id: string }; limit: number },
): Promise<OutboundWebhookRow[]> {
  // Milliseconds: the cursor carries a JavaScript Date, which has no microseconds.
  const q = db("outbound_webhooks").select(COLUMNS).where("org_id", query.org_id).orderByRaw("date_trunc('milliseconds', created_at), id").limit(query.limit);
  if (query.after) q.whereRaw("(date_trunc('milliseconds', created_at), id) > (?::timestamptz, ?::uuid)", [query.after.created_at, query.after.id]);
  return (await q) as OutboundWebhookRow[];
}

/** Active endpoints of these orgs: the fan-out candidates for new events. */
export async function listActiveOutboundWebhooks(
  db: Queryable,
  orgIds: string[],
): Promise<Pick<OutboundWebhookRow, "id" | "org_id" | "team_id" | "events">[]> {
  return db("outbound_webhooks").select("id", "org_id", "team_id", "events").whereIn("org_id", orgIds).where("active", true);
}

/** The changed row, or undefined when the org has no such endpoint (any more). */
export async function updateOutboundWebhook(db: Queryable, orgId: string, id: string, changes: OutboundWebhookChanges): Promise<OutboundWebhookRow | undefined> {
  const [row] = (await db("outbound_webhooks")
    .where({ org_id: orgId, id })
    .update({ ...changes, updated_at: db.fn.now() })
    .returning(COLUMNS)) as OutboundWebhookRow[];
  return row;
}

export async function deleteOutboundWebhook(db: Queryable, orgId: string, id: string): Promise<boolean> {
  return (await db("outbound_webhooks").where({ org_id: orgId, id }).delete()) > 0;
}

/** Marks an endpoint as failing since now unless it already is; returns when the streak began. */
export async function markOutboundWebhookFailing(db: Queryable, id: string): Promise<Date> {
  const [row] = (await db("outbound_webhooks")
    .where("id", id)
    .update({ failing_since: db.raw("COALESCE(failing_since, now())") })
    .returning(["failing_since"])) as { failing_since: Date }[];
  return row?.failing_since ?? new Date();
}

export async function clearOutboundWebhookFailing(db: Queryable, id: string): Promise<void> {
  await db("outbound_webhooks").where("id", id).whereNotNull("failing_since").update({ failing_since: null });
}

/** Endpoints by id, any org (the sender's view). */
export async function findOutboundWebhooksByIds(db: Queryable, ids: string[]): Promise<OutboundWebhookRow[]> {
  if (ids.length === 0) return [];
  return (await db("outbound_webhooks").select(COLUMNS).whereIn("id", ids)) as OutboundWebhookRow[];
}
