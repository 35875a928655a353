import type { Queryable } from "../../db/create-db.js";

/** The statuses a chart stacks, in order; `received` is still waiting for the worker. */
export const CHARTED_STATUSES = ["processed", "ignored", "failed", "rejected", "received"] as const;
export type ChartedStatus = (typeof CHARTED_STATUSES)[number];

export interface StatusCountRow {
  bucket_index: number;
  status: ChartedStatus;
  n: number;
}

export interface Backlog {
  now: Date;
  received: number;
  oldest_received_at: Date | null;
}

/** The org's pending deliveries and the database's clock (buckets align to it, not to this process's). */
export async function readBacklog(db: Queryable, orgId: string): Promise<Backlog> {
  const row = (await db("deliveries")
    .where({ org_id: orgId, status: "received" })
    .select(db.raw("now() AS now"), db.raw("count(*)::int AS received"), db.raw("min(created_at) AS oldest_received_at"))
    .first()) as Backlog;
  return row;
}

/**
 * Deliveries of the org created since `from`, counted per bucket index and status. Rejections
 * beyond the recording cap are counted on the next recorded one (`suppressed_before`).
 */
export async function countDeliveriesByBucket(db: Queryable, orgId: string, from: Date, bucketSeconds: number): Promise<StatusCountRow[]> {
  const rows = (await db("deliveries")
    .where("org_id", orgId)
    .where("created_at", ">=", from)
    .select(
      db.raw("floor(extract(epoch FROM created_at - ?::timestamptz) / ?)::int AS bucket_index", [from, bucketSeconds]),
      "status",
      db.raw("(count(*) + coalesce(sum((headers->>'suppressed_before')::int), 0))::int AS n"),
    )
    .groupByRaw("1, 2")) as StatusCountRow[];
  return rows;
}
