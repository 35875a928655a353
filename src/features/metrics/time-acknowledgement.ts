import type { ServerResponse } from "node:http";
import type { Metrics } from "./create-metrics.js";

/** Observes the time from a delivery's request to its answer, whatever the answer. */
export function timeAcknowledgement(metrics: Metrics, res: ServerResponse): void {
  const stop = metrics.ackDuration.startTimer();
  res.once("finish", () => stop());
}
