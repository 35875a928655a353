import type pg from "pg";
import { pendingCount, type Entourage } from "./entourage-instance.js";
import { memoryOf, sleep } from "./processes.js";
import { packPayload } from "../../src/features/webhooks/stored-payload.js";

export interface DrainResult {
  workers: number;
  backlog: number;
  seconds: number;
  perSecond: number;
  /** CPU time of the whole system (web, workers, database) per drained delivery, microseconds. */
  cpuPerDeliveryUs: number;
  /** RSS samples of each worker process, MB. */
  rss: { min: number; max: number; firstQuarter: number; lastQuarter: number; slopeMbPerMin: number; samples: number }[];
}

/**
 * Starts `workers` worker processes on a waiting backlog and times it until no delivery is
 * left `received`; the clock starts once every worker has said it is running.
 */
export async function measureDrain(entourage: Entourage, workers: number, sampleMs = 250): Promise<DrainResult> {
  const backlog = await pendingCount(entourage.db);
  const started = await Promise.all(Array.from({ length: workers }, () => entourage.startWorker()));
  const t0 = performance.now();
  const cpu0 = entourage.cpuSeconds();
  const samples: number[][] = started.map(() => []);
  const times: number[] = [];
  while ((await pendingCount(entourage.db)) > 0) {
    times.push((performance.now() - t0) / 1000);
    started.forEach((worker, i) => samples[i]!.push(memoryOf(worker.pid)?.rssMb ?? 0));
    await sleep(sampleMs);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = entourage.cpuSeconds() - cpu0;
  // Claimed rows are no longer `received` only once processed: wait for in-flight transactions too.
  return {
    workers,
    backlog,
    seconds,
    perSecond: backlog / seconds,
    cpuPerDeliveryUs: (cpu / backlog) * 1e6,
    rss: samples.map((series) => describeSeries(times, series)),
  };
}

function describeSeries(times: number[], values: number[]) {
  const n = values.length;
  if (n === 0) return { min: 0, max: 0, firstQuarter: 0, lastQuarter: 0, slopeMbPerMin: 0, samples: 0 };
  const quarter = Math.max(1, Math.floor(n / 4));
  const mean = (list: number[]) => list.reduce((a, b) => a + b, 0) / list.length;
  // Least-squares slope over the second half, after the heap has warmed up.
  const from = Math.floor(n / 2);
  const xs = times.slice(from);
  const ys = values.slice(from);
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return {
    min: Math.min(...values),
    max: Math.max(...values),
    firstQuarter: mean(values.slice(0, quarter)),
    lastQuarter: mean(values.slice(-quarter)),
    slopeMbPerMin: den ? (num / den) * 60 : 0,
    samples: n,
  };
}

/**
 * Puts `count` deliveries of real issues.opened payloads (new issue numbers from `firstNumber`)
 * straight into the queue, as the receive path stores them (the payload packed as
 * src/features/webhooks/stored-payload.ts does), without going through HTTP.
 */
export async function seedBacklog(db: pg.Pool, webhook: { id: string }, template: (number: number) => string, firstNumber: number, count: number): Promise<void> {
  const { rows } = await db.query("SELECT org_id FROM webhooks WHERE id = $1", [webhook.id]);
  const orgId = rows[0].org_id as string;
  const chunk = 2_000;
  for (let offset = 0; offset < count; offset += chunk) {
    const numbers = Array.from({ length: Math.min(chunk, count - offset) }, (_, i) => firstNumber + offset + i);
    await db.query(
      `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload_lz4, headers, payload_summary)
       SELECT $1::uuid, $2::uuid, gen_random_uuid()::text, 'issues.opened', 'received', p.packed,
              jsonb_build_object('x-github-event', 'issues', 'content-type', 'application/json'),
              jsonb_build_object('action', 'opened', 'issue', jsonb_build_object('number', p.g), 'repository', 'bench/entourage')
         FROM unnest($3::bytea[], $4::int[]) AS p(packed, g)`,
      [webhook.id, orgId, numbers.map((n) => packPayload(template(n))), numbers],
    );
  }
}

/**
 * Puts `count` custom senders' deliveries straight into the queue (external ids OPS-<firstNumber>…),
 * as the receive path stores them: `task.create` with a title, a description of a few hundred bytes,
 * a priority and a tag; `task.update` (priority and tags) or `task.close` (done) of those ids.
 */
export async function seedCustomBacklog(
  db: pg.Pool,
  webhook: { id: string },
  firstNumber: number,
  count: number,
  eventType = "task.create",
): Promise<void> {
  const { rows } = await db.query("SELECT org_id FROM webhooks WHERE id = $1", [webhook.id]);
  const description = "Certificates on the edge proxies expire in 14 days. Rotate them with the runbook, then check every region. ".repeat(4).trim();
  // Each document beside the id, as a JSON object merged into it.
  const documents: Record<string, object> = {
    "task.create": { description, priority: "high", tags: ["ops"] },
    "task.update": { priority: "critical", tags: ["ops", "paged"] },
    "task.close": { resolution: "done" },
  };
  if (!documents[eventType]) throw new Error(`no custom document for ${eventType}; one of ${Object.keys(documents).join(", ")}`);
  const title = eventType === "task.create" ? `'title', 'Rotate TLS certificates ' || g, ` : "";
  await db.query(
    `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, headers, payload_summary)
     SELECT $1::uuid, $2::uuid, gen_random_uuid()::text, $3::text, 'received', (jsonb_build_object(${title}'external_id', 'OPS-' || g) || $4::jsonb)::text,
            jsonb_build_object('x-entourage-event', $3::text, 'content-type', 'application/json'),
            jsonb_build_object('external_id', 'OPS-' || g)
       FROM generate_series($5::int, $6::int) AS g`,
    [webhook.id, rows[0].org_id, eventType, JSON.stringify(documents[eventType]), firstNumber, firstNumber + count - 1],
  );
}
