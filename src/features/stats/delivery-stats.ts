import type { Queryable } from "../../db/create-db.js";
import { CHARTED_STATUSES, countDeliveriesByBucket, readBacklog, type ChartedStatus } from "./delivery-stats.store.js";
import type { DeliveryStatsQuery } from "./stats.schema.js";

export type StatusCounts = Record<ChartedStatus, number>;

export interface DeliveryStatsView {
  window_seconds: number;
  bucket_seconds: number;
  statuses: readonly ChartedStatus[];
  from: string;
  to: string;
  /** Oldest first; the last is the current (still filling) bucket. */
  buckets: ({ start: string } & StatusCounts)[];
  totals: StatusCounts & { total: number };
  backlog: { received: number; oldest_received_at: string | null; oldest_age_seconds: number | null };
}

const zeroCounts = (): StatusCounts => ({ processed: 0, ignored: 0, failed: 0, rejected: 0, received: 0 });

/**
 * The org's delivery traffic for a chart:
 * 1. the backlog and the database's clock;
 * 2. buckets aligned to whole multiples of the bucket size, the last one holding now;
 * 3. counts by arrival time and current status, each bucket filled with zeros where nothing came.
 */
export async function deliveryStats(db: Queryable, orgId: string, query: DeliveryStatsQuery): Promise<DeliveryStatsView> {
  const { window, bucket } = query;
  const backlog = await readBacklog(db, orgId);
  const now = backlog.now.getTime();
  const count = Math.ceil(window / bucket);
  const currentStart = Math.floor(now / 1000 / bucket) * bucket * 1000;
  const from = new Date(currentStart - (count - 1) * bucket * 1000);

  const buckets = Array.from({ length: count }, (_, i) => ({ start: new Date(from.getTime() + i * bucket * 1000).toISOString(), ...zeroCounts() }));
  const totals = { ...zeroCounts(), total: 0 };
  for (const row of await countDeliveriesByBucket(db, orgId, from, bucket)) {
    const target = buckets[row.bucket_index];
    if (!target || !CHARTED_STATUSES.includes(row.status)) continue; // a row stamped in the future (clock skew) has no bucket
    target[row.status] += row.n;
    totals[row.status] += row.n;
    totals.total += row.n;
  }
  const oldest = backlog.oldest_received_at;
  return {
    window_seconds: window,
    bucket_seconds: bucket,
    statuses: CHARTED_STATUSES,
    from: from.toISOString(),
    to: new Date(now).toISOString(),
    buckets,
    totals,
    backlog: {
      received: backlog.received,
      oldest_received_at: oldest ? oldest.toISOString() : null,
      oldest_age_seconds: oldest ? Math.max(0, Math.round((now - oldest.getTime()) / 1000)) : null,
    },
  };
}
