import type { Knex } from "knex";
import type { Logger } from "pino";
import { tryWithSessionLock } from "../../db/try-with-session-lock.js";
import type { Metrics, PrunedTable } from "../metrics/create-metrics.js";
import {
  deleteDeliveriesBatch,
  deleteEventsBatch,
  deleteGithubOutboxBatch,
  deleteOutboundDeliveriesBatch,
  stripPayloadsBatch,
  type BatchResult,
  type DeliveryCursor,
} from "./retention.store.js";

/** Days to keep each kind of row; 0 keeps it for ever. */
export interface RetentionSettings {
  DELIVERY_PAYLOAD_RETENTION_DAYS: number;
  DELIVERY_RETENTION_DAYS: number;
  EVENT_RETENTION_DAYS: number;
}

export interface PruneDeps {
  knex: Knex;
  logger: Logger;
  metrics?: Pick<Metrics, "prunedRows">;
  /** The clock (tests move it forward instead of waiting). */
  now?: () => Date;
}

export interface PruneOptions {
  /** Rows a batch looks at: each batch is one short statement of its own. */
  batchSize?: number;
  /** Pause between batches, leaving the database to the acknowledgement path. */
  pauseMs?: number;
}

export type PruneCounts = Record<PrunedTable, number>;

const DAY_MS = 86_400_000;
// Arbitrary but fixed: the session-level advisory lock that makes one instance prune at a time.
export const RETENTION_LOCK: [number, number] = [0x656e74, 2];

/**
 * One retention pass, run by one instance at a time (advisory lock; the others skip the pass):
 * 1. delete finished deliveries older than DELIVERY_RETENTION_DAYS;
 * 2. drop payloads and kept headers of processed, ignored and rejected deliveries older than
 *    DELIVERY_PAYLOAD_RETENTION_DAYS (failed ones keep theirs for redelivery);
 * 3. delete delivered or failed outbound deliveries and finished GitHub outbox rows older than
 *    DELIVERY_RETENTION_DAYS;
 * 4. delete domain events older than EVENT_RETENTION_DAYS that no outbound delivery still needs,
 *    and record the highest id deleted (SSE resumes from below it get a `reset`).
 * Every batch is one statement over at most `batchSize` rows, so no lock is held for long.
 * Returns what it removed, or undefined when another instance holds the lock.
 */
export async function pruneHistory(deps: PruneDeps, settings: RetentionSettings, options: PruneOptions = {}): Promise<PruneCounts | undefined> {
  const result = await tryWithSessionLock(deps.knex, RETENTION_LOCK, () => prune(deps, settings, options));
  return result.ran ? result.value : undefined;
}

async function prune(deps: PruneDeps, settings: RetentionSettings, options: PruneOptions): Promise<PruneCounts> {
  const { knex } = deps;
  const limit = options.batchSize ?? 500;
  const now = (deps.now ?? (() => new Date()))().getTime();
  const cutoff = (days: number) => (days > 0 ? new Date(now - days * DAY_MS) : undefined);
  const counts: PruneCounts = { deliveries: 0, delivery_payloads: 0, events: 0, outbound_deliveries: 0, github_outbox: 0 };

  const walk = async <C>(table: PrunedTable, batch: (cursor: C | undefined) => Promise<BatchResult<C>>) => {
    let cursor: C | undefined;
    do {
      const done = await batch(cursor);
      counts[table] += done.pruned;
      deps.metrics?.prunedRows.inc({ table }, done.pruned);
      cursor = done.next;
      if (cursor !== undefined && options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    } while (cursor !== undefined);
  };

  const rows = cutoff(settings.DELIVERY_RETENTION_DAYS);
  const payloads = cutoff(settings.DELIVERY_PAYLOAD_RETENTION_DAYS);
  const events = cutoff(settings.EVENT_RETENTION_DAYS);
  if (rows) await walk<DeliveryCursor>("deliveries", (cursor) => deleteDeliveriesBatch(knex, rows, limit, cursor));
  if (payloads) await walk<DeliveryCursor>("delivery_payloads", (cursor) => stripPayloadsBatch(knex, payloads, limit, cursor));
  if (rows) {
    await walk<number>("outbound_deliveries", (after) => deleteOutboundDeliveriesBatch(knex, rows, limit, after));
    await walk<number>("github_outbox", (after) => deleteGithubOutboxBatch(knex, rows, limit, after));
  }
  if (events) {
    await walk<number>("events", (after) => deleteEventsBatch(knex, events, limit, after));
  }
  const removed = Object.values(counts).reduce((sum, n) => sum + n, 0);
  if (removed) deps.logger.info({ pruned: counts }, "retention pass removed old history");
  return counts;
}
