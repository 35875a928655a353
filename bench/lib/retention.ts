import knexFactory from "knex";
import type pg from "pg";
import pino from "pino";
import { pruneHistory, type PruneCounts } from "../../src/features/retention/prune-history.js";
import { packPayload } from "../../src/features/webhooks/stored-payload.js";
import { fireLoad, type LoadResult } from "./load.js";

export interface RetentionResult {
  history: number;
  fillSeconds: number;
  without: LoadResult;
  beside: LoadResult;
  /** What the pruning passes removed while `beside` ran, and how many passes that took. */
  pruned: PruneCounts;
  passes: number;
}

const DAY_SECONDS = 86_400;

/**
 * Fills the tables with `count` finished deliveries (and one event each) spread evenly over the
 * last 120 days, as a busy instance would have before retention was turned on, all with payloads
 * (deflated, as they are stored).
 * Rows go in by SQL in chunks: going through HTTP would take hours for a million.
 */
export async function fillHistory(db: pg.Pool, webhook: { id: string }, payload: string, count: number): Promise<void> {
  const { rows } = await db.query("SELECT org_id, (config->>'team_id')::uuid AS team_id FROM webhooks WHERE id = $1", [webhook.id]);
  const { org_id: orgId, team_id: teamId } = rows[0] as { org_id: string; team_id: string };
  const chunk = 20_000;
  const span = 120 * DAY_SECONDS;
  // Stored as the receive path stores payloads now (the same document for every row).
  const packed = packPayload(payload);
  for (let offset = 0; offset < count; offset += chunk) {
    const last = Math.min(count, offset + chunk) - 1;
    await db.query(
      `WITH d AS (
         INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload_lz4, headers, payload_summary, actions, created_at, processed_at)
         SELECT $1::uuid, $2::uuid, 'history-' || g, 'issues.opened', 'processed', $3::bytea,
                jsonb_build_object('x-github-event', 'issues', 'content-type', 'application/json'),
                jsonb_build_object('action', 'opened', 'issue', jsonb_build_object('number', g)), '["created task"]'::jsonb,
                now() - make_interval(secs => $6::float8 * ($7::int - g) / $7::int), now() - make_interval(secs => $6::float8 * ($7::int - g) / $7::int)
           FROM generate_series($4::int, $5::int) AS g
         RETURNING id, org_id, created_at
       )
       INSERT INTO events (org_id, team_id, type, data, created_at)
       SELECT org_id, $8::uuid, 'delivery.processed', jsonb_build_object('delivery_id', id), created_at FROM d ORDER BY created_at`,
      [webhook.id, orgId, packed, offset, last, span, count, teamId],
    );
  }
  await db.query("ANALYZE deliveries");
  await db.query("ANALYZE events");
}

/**
 * Acknowledgement latency with and without retention running beside it: one load run alone, then
 * one while pruning passes (the same code the worker runs, default settings) go on in a loop.
 */
export async function measureRetention(options: {
  db: pg.Pool;
  databaseUrl: string;
  webhook: { id: string; receiveUrl: string };
  payload: string;
  history: number;
  connections: number;
  seconds: number;
  next(): { body: string; headers: Record<string, string> };
  log(line: string): void;
}): Promise<RetentionResult> {
  const t0 = performance.now();
  await fillHistory(options.db, options.webhook, options.payload, options.history);
  const fillSeconds = (performance.now() - t0) / 1000;
  options.log(`r: filled ${options.history} deliveries and events over 120 days in ${fillSeconds.toFixed(0)} s`);

  const load = () => fireLoad({ url: options.webhook.receiveUrl, connections: options.connections, seconds: options.seconds, next: options.next });
  const without = await load();
  options.log(`r: without pruning p50 ${without.p50} ms, p99 ${without.p99} ms, ${without.ackPerSecond.toFixed(0)} acks/s`);

  const knex = knexFactory({ client: "pg", connection: options.databaseUrl, pool: { min: 0, max: 2 } });
  const settings = { DELIVERY_PAYLOAD_RETENTION_DAYS: 30, DELIVERY_RETENTION_DAYS: 90, EVENT_RETENTION_DAYS: 30 };
  const pruned: PruneCounts = { deliveries: 0, delivery_payloads: 0, events: 0, outbound_deliveries: 0, github_outbox: 0 };
  let passes = 0;
  let loading = true;
  const pruning = (async () => {
    while (loading) {
      const counts = await pruneHistory({ knex, logger: pino({ level: "silent" }) }, settings, { pauseMs: 10 });
      passes++;
      for (const [table, n] of Object.entries(counts ?? {})) pruned[table as keyof PruneCounts] += n;
      if (!Object.values(counts ?? {}).some(Boolean)) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const beside = await load().finally(() => (loading = false));
  await pruning;
  await knex.destroy();
  options.log(`r: beside pruning p50 ${beside.p50} ms, p99 ${beside.p99} ms, ${beside.ackPerSecond.toFixed(0)} acks/s; pruned ${JSON.stringify(pruned)} in ${passes} pass(es)`);
  return { history: options.history, fillSeconds, without, beside, pruned, passes };
}
