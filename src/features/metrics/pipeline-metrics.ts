import type { Metrics } from "./create-metrics.js";

/** Counts an acknowledged delivery by provider and the outcome recorded for it (a repeat: `duplicate`). */
export function countDelivery(metrics: Metrics, row: { provider?: "github" | "custom"; status: string }, result: { outcome: string }): void {
  const status = result.outcome === "duplicate" ? "duplicate" : row.status;
  metrics.deliveries.inc({ provider: row.provider ?? "unknown", status });
}

/** One observation per delivery of a group the worker committed together. */
export function observeProcessing(metrics: Metrics, deliveries: number, seconds: number): void {
  for (let i = 0; i < deliveries; i++) metrics.processingDuration.observe(seconds);
}

/** One statement of the delivery writer: how many deliveries it carried, and its time. */
export function observeWrite(metrics: Metrics, deliveries: number, seconds: number): void {
  metrics.writeBatchSize.observe(deliveries);
  metrics.writeDuration.observe(seconds);
}
