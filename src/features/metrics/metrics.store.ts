import type { Queryable } from "../../db/create-db.js";

export interface QueueState {
  depth: number;
  /** Seconds since the oldest `received` delivery arrived; 0 when the queue is empty. */
  oldestAgeSeconds: number;
}

/** The `received` backlog as the database sees it, so every instance reports the same figures. */
export async function readDeliveryQueue(db: Queryable): Promise<QueueState> {
  const row = (await db("deliveries")
    .where("status", "received")
    .select(db.raw("count(*)::int AS depth"), db.raw("COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age"))
    .first()) as { depth: number; age: number };
  return { depth: row.depth, oldestAgeSeconds: Math.max(0, row.age) };
}

/** GitHub writes waiting to be sent. */
export async function countPendingGithubOutbox(db: Queryable): Promise<number> {
  const row = (await db("github_outbox").where("status", "pending").count({ n: "*" }).first()) as { n: string | number };
  return Number(row.n);
}

// What outbound-webhooks.service writes when a person pauses an endpoint: not an alert.
const DISABLED_BY_A_USER = "disabled by a user";

/** Outbound endpoints Entourage disabled (410 Gone, or failing too long) and nobody has re-enabled. */
export async function countDisabledOutboundEndpoints(db: Queryable): Promise<number> {
  const row = (await db("outbound_webhooks").where("active", false).whereNotNull("disabled_at").whereNot("disabled_reason", DISABLED_BY_A_USER).count({ n: "*" }).first()) as { n: string | number };
  return Number(row.n);
}

/** Seconds since the oldest event after `publishedId` was appended (0 when the relay is caught up). */
export async function readEventRelayLag(db: Queryable, publishedId: number): Promise<number> {
  const row = (await db("events")
    .where("id", ">", publishedId)
    .orderBy("id", "asc")
    .first(db.raw("EXTRACT(EPOCH FROM now() - created_at)::float8 AS lag"))) as { lag: number } | undefined;
  return Math.max(0, row?.lag ?? 0);
}
