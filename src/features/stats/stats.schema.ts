import { z } from "zod";
import { UnprocessableError } from "../../errors.js";

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
const DURATION = /^(\d{1,6})([smhd])$/;

export const MAX_WINDOW_SECONDS = 7 * 86400;
export const MIN_BUCKET_SECONDS = 10;
export const MAX_BUCKETS = 1440;

const duration = (fallback: string) =>
  z
    .string()
    .regex(DURATION, "a duration: a number and s, m, h or d (e.g. 1h, 5m)")
    .default(fallback)
    .transform((text) => {
      const [, amount, unit] = DURATION.exec(text)!;
      return Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
    });

/** `?window=1h&bucket=1m`: the query's shape (a 400 when it is not one). */
export const deliveryStatsQuery = z.object({
  window: duration("1h"),
  bucket: duration("1m"),
});
export type DeliveryStatsQuery = z.infer<typeof deliveryStatsQuery>;

/** Well-formed but not answerable: a 422 naming the field. */
export function checkStatsRange({ window, bucket }: DeliveryStatsQuery): void {
  const problem = (field: string, message: string) => new UnprocessableError(`${field}: ${message}`, [{ field, message }]);
  if (window <= 0 || window > MAX_WINDOW_SECONDS) throw problem("window", "must be more than 0 and at most 7d");
  if (bucket < MIN_BUCKET_SECONDS) throw problem("bucket", `must be at least ${MIN_BUCKET_SECONDS}s`);
  if (bucket > window) throw problem("bucket", "must not be longer than the window");
  if (Math.ceil(window / bucket) > MAX_BUCKETS) throw problem("bucket", `too small for the window: at most ${MAX_BUCKETS} buckets (window / bucket)`);
}

const counts = { processed: z.int().min(0), ignored: z.int().min(0), failed: z.int().min(0), rejected: z.int().min(0), received: z.int().min(0) };

/** The answer of GET /stats/deliveries, as the OpenAPI document describes it. */
export const deliveryStatsOutput = z.strictObject({
  window_seconds: z.int().positive(),
  bucket_seconds: z.int().positive(),
  statuses: z.array(z.enum(["processed", "ignored", "failed", "rejected", "received"])),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  buckets: z.array(z.strictObject({ start: z.iso.datetime(), ...counts })),
  totals: z.strictObject({ ...counts, total: z.int().min(0) }),
  backlog: z.strictObject({ received: z.int().min(0), oldest_received_at: z.iso.datetime().nullable(), oldest_age_seconds: z.int().min(0).nullable() }),
});
