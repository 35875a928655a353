import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Knex } from "knex";
import { countDisabledOutboundEndpoints, countPendingGithubOutbox, readDeliveryQueue, readEventRelayLag, type QueueState } from "./metrics.store.js";

/** Outcome labels, all from fixed lists: no label ever carries an id or a repository name. */
export type DeliveryOutcome = "received" | "processed" | "ignored" | "failed" | "rejected" | "duplicate";
export type OutboundResult = "delivered" | "retrying" | "failed";
export type PrunedTable = "deliveries" | "delivery_payloads" | "events" | "outbound_deliveries" | "github_outbox";

export interface Metrics {
  registry: Registry;
  deliveries: Counter<"provider" | "status">;
  ackDuration: Histogram;
  writeDuration: Histogram;
  writeBatchSize: Histogram;
  processingDuration: Histogram;
  outboundAttempts: Counter<"result">;
  prunedRows: Counter<"table">;
}

export interface MetricsSources {
  knex: Knex;
  /** Open SSE streams of this process. */
  sseClients?: () => number;
  /** The event relay's watermark, where this process has one. */
  relayPublishedId?: () => Promise<number>;
  /** Bytes of unverified webhook bodies held in memory right now (both doors share one budget). */
  unverifiedBodyBytes?: () => number;
  /** Uploads clients abandoned before their body arrived, since start. */
  abandonedUploads?: () => number;
}

// Acknowledgements are a few milliseconds; a second is already an outage.
const ACK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
// The writer's statements: one commit (an fsync) each, so rarely under a millisecond.
const WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
// Deliveries per statement: 1 when idle, up to the writer's cap (200) under load.
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 200];
const PROCESSING_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * One registry per Entourage instance (tests run several in one process): the default process
 * metrics, counters and histograms the pipeline feeds, and gauges read from PostgreSQL at scrape time.
 */
export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // Both queue gauges come from one query per scrape.
  let queueRead: Promise<QueueState> | undefined;
  const readQueue = () => {
    queueRead ??= readDeliveryQueue(sources.knex).finally(() => setImmediate(() => (queueRead = undefined)));
    return queueRead;
  };
  new Gauge({
    name: "entourage_delivery_queue_depth",
    help: "Deliveries waiting for the worker (status received), read from PostgreSQL",
    registers: [registry],
    async collect() {
      this.set((await readQueue()).depth);
    },
  });
  new Gauge({
    name: "entourage_delivery_queue_oldest_age_seconds",
    help: "Age of the oldest delivery waiting for the worker, read from PostgreSQL (0 when none waits)",
    registers: [registry],
    async collect() {
      this.set((await readQueue()).oldestAgeSeconds);
    },
  });
  new Gauge({
    name: "entourage_github_outbox_pending",
    help: "GitHub writes (comments, reviews, closes) waiting to be sent",
    registers: [registry],
    async collect() {
      this.set(await countPendingGithubOutbox(sources.knex));
    },
  });
  new Gauge({
    name: "entourage_outbound_endpoints_disabled",
    help: "Outbound endpoints Entourage disabled (410 Gone, or failing too long), read from PostgreSQL",
    registers: [registry],
    async collect() {
      this.set(await countDisabledOutboundEndpoints(sources.knex));
    },
  });
  new Gauge({
    name: "entourage_sse_clients",
    help: "Open Server-Sent Events streams on this instance",
    registers: [registry],
    collect() {
      this.set(sources.sseClients?.() ?? 0);
    },
  });
  new Gauge({
    name: "entourage_event_relay_lag_seconds",
    help: "Age of the oldest domain event not yet published to live streams (0 when caught up)",
    registers: [registry],
    async collect() {
      this.set(sources.relayPublishedId ? await readEventRelayLag(sources.knex, await sources.relayPublishedId()) : 0);
    },
  });
  new Gauge({
    name: "entourage_unverified_body_bytes",
    help: "Bytes of webhook bodies held in memory before their signature is checked (bounded by UNVERIFIED_BODY_BUDGET_MB)",
    registers: [registry],
    collect() {
      this.set(sources.unverifiedBodyBytes?.() ?? 0);
    },
  });
  new Counter({
    name: "entourage_webhook_uploads_abandoned_total",
    help: "Webhook uploads the client abandoned (closed or timed out) before the body arrived",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sources.abandonedUploads?.() ?? 0);
    },
  });

  return {
    registry,
    deliveries: new Counter({
      name: "entourage_deliveries_total",
      help: "Deliveries acknowledged, by provider and recorded outcome",
      labelNames: ["provider", "status"],
      registers: [registry],
    }),
    ackDuration: new Histogram({
      name: "entourage_ack_duration_seconds",
      help: "Time from a delivery's request to its acknowledgement (both doors)",
      buckets: ACK_BUCKETS,
      registers: [registry],
    }),
    writeDuration: new Histogram({
      name: "entourage_delivery_write_duration_seconds",
      help: "Time of one statement storing deliveries before their acknowledgement, from sending it to its commit",
      buckets: WRITE_BUCKETS,
      registers: [registry],
    }),
    writeBatchSize: new Histogram({
      name: "entourage_delivery_write_batch_size",
      help: "Deliveries in one statement of the writer (concurrent acknowledgements share a statement and its commit)",
      buckets: BATCH_BUCKETS,
      registers: [registry],
    }),
    processingDuration: new Histogram({
      name: "entourage_delivery_processing_duration_seconds",
      help: "Time the worker spends on a delivery, from claim to commit",
      buckets: PROCESSING_BUCKETS,
      registers: [registry],
    }),
    outboundAttempts: new Counter({
      name: "entourage_outbound_attempts_total",
      help: "Outbound notification attempts, by result",
      labelNames: ["result"],
      registers: [registry],
    }),
    prunedRows: new Counter({
      name: "entourage_pruned_rows_total",
      help: "Rows removed (or payloads dropped, table delivery_payloads) by retention",
      labelNames: ["table"],
      registers: [registry],
    }),
  };
}
