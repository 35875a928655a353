// Benchmarks (not tests): `npm run bench:ingest` (a, b, c + drain) and `npm run bench` (everything).
// Knobs: BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_BACKLOG, BENCH_E2E_RATE, BENCH_E2E_SECONDS, BENCH_E2E_WARMUP,
// BENCH_DRAIN_BACKLOG, BENCH_TARGETS (a,b,c,d), BENCH_DATABASE_URL / BENCH_REDIS_URL (for d), BENCH_PG_FLUSH_AFTER and BENCH_PG_GLIBC_TUNABLES (d),
// BENCH_CPU_PROF (a directory).
// Retention (target r, not in the default list: BENCH_TARGETS=r npm run bench): BENCH_HISTORY deliveries of
// history (default 1,000,000) and BENCH_HISTORY_PAYLOAD=small|real (2 KB, or the real 11.6 KB issues.opened).
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createDatabase, startPostgresCluster, startRedis, type Server } from "./lib/databases.js";
import { measureDrain, seedBacklog, type DrainResult } from "./lib/drain.js";
import { describeNotAcked, measureEndToEnd, type EndToEndResult } from "./lib/end-to-end.js";
import { countRows, startEntourage, type Entourage } from "./lib/entourage-instance.js";
import { createIssueDeliveries } from "./lib/issue-payloads.js";
import { fireLoad, type LoadResult } from "./lib/load.js";
import { measureRetention, type RetentionResult } from "./lib/retention.js";
import { cpuSecondsOfTrees, loadAverage, memoryOf, startChild } from "./lib/processes.js";

const suite = process.argv[2] === "ingest" ? "ingest" : "all";
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const knobs = {
  duration: env("BENCH_DURATION", 10),
  warmup: env("BENCH_WARMUP", 3),
  connections: env("BENCH_CONNECTIONS", 50),
  backlog: env("BENCH_BACKLOG", 100_000),
  e2eRate: env("BENCH_E2E_RATE", 200),
  e2eSeconds: env("BENCH_E2E_SECONDS", 15),
  e2eWarmup: env("BENCH_E2E_WARMUP", 3),
  drainBacklog: env("BENCH_DRAIN_BACKLOG", 20_000),
  targets: (process.env.BENCH_TARGETS ?? (suite === "ingest" ? "a,b,c" : "a,b,c,d")).split(","),
  cpuProf: process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined,
  history: env("BENCH_HISTORY", 1_000_000),
  historyPayload: process.env.BENCH_HISTORY_PAYLOAD === "real" ? "real" : "small",
};
const ROOT = path.resolve(import.meta.dirname, "..");

interface TargetResult {
  key: string;
  name: string;
  load: LoadResult;
  /** CPU time of the target's processes (and its database) per acknowledged delivery, microseconds. */
  ackCpuUs: number;
  /** The database's part of ackCpuUs (Entourage targets). */
  ackDatabaseCpuUs?: number;
  warmup2xx: number;
  stored?: { rows: number; acked: number; ackedIds: number; ackedIdsFound: number; cutOff: number };
  /** One worker on the load's backlog, webhook with auto_assign on (the seed's configuration). */
  drain1?: DrainResult;
  /** One worker on BENCH_DRAIN_BACKLOG deliveries, auto_assign off. */
  drain1Off?: DrainResult;
  drain2?: DrainResult;
  e2e?: EndToEndResult;
  peakRss: Record<string, number>;
  postgres?: string;
}

const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)} load ${loadAverage().split(" ")[0]}] ${line}`);
const results: TargetResult[] = [];
let retention: RetentionResult | undefined;
const versions: Record<string, string> = {};
let issueNumber = 1;

async function main() {
  const loadBefore = loadAverage();
  log(`suite ${suite}; ${JSON.stringify(knobs)}`);
  for (const key of knobs.targets) {
    if (key === "a") results.push(await plainServer("a", "raw node:http + HMAC", "bench/servers/raw-hmac-server.ts"));
    if (key === "b") results.push(await plainServer("b", "bare Probot (createNodeMiddleware)", "bench/servers/probot-server.ts"));
    if (key === "c") results.push(await entourageTarget("c", "Entourage, embedded PostgreSQL", {}));
    if (key === "d") results.push(await entourageTarget("d", "Entourage, Debian PostgreSQL + Redis", { external: true }));
    if (key === "r") retention = await retentionTarget();
  }
  report(loadBefore, loadAverage());
}

async function plainServer(key: string, name: string, script: string): Promise<TargetResult> {
  log(`${key}: ${name}`);
  const secret = "whsec_benchmarksecretbenchmarksecret";
  const child = startChild(process.execPath, ["--import", "tsx", script], { ...process.env, BENCH_SECRET: secret, PORT: "0" }, ROOT);
  try {
    const [, port] = await child.waitFor(/listening on (\d+)/, 30_000);
    const deliveries = createIssueDeliveries(secret);
    const url = `http://127.0.0.1:${port}/api/github/webhooks`;
    const next = () => deliveries.make(issueNumber++);
    const warm = await fireLoad({ url, connections: knobs.connections, seconds: knobs.warmup, next });
    const cpu0 = cpuSecondsOfTrees([child.pid]);
    const load = await fireLoad({ url, connections: knobs.connections, seconds: knobs.duration, next });
    const ackCpuUs = ((cpuSecondsOfTrees([child.pid]) - cpu0) / load.ok2xx) * 1e6;
    log(`${key}: ${load.ackPerSecond.toFixed(0)} acks/s, ${ackCpuUs.toFixed(0)} µs CPU each, p50 ${load.p50} ms, p99 ${load.p99} ms, non-2xx ${load.non2xx}`);
    return { key, name, load, ackCpuUs, warmup2xx: warm.ok2xx, peakRss: { server: memoryOf(child.pid)?.peakMb ?? 0 } };
  } finally {
    await child.stop();
  }
}

async function entourageTarget(key: string, name: string, options: { external?: boolean }): Promise<TargetResult> {
  log(`${key}: ${name}`);
  const stops: (() => Promise<void>)[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `entourage-bench-${key}-`));
  chmodSync(dataDir, 0o755); // the embedded PostgreSQL runs as another user
  stops.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  try {
    let databaseUrl: string | undefined;
    let redisUrl: string | undefined;
    const serverPids: number[] = [];
    if (options.external) {
      let maintenance = process.env.BENCH_DATABASE_URL;
      if (!maintenance) {
        const cluster: Server = await startPostgresCluster();
        stops.push(() => cluster.stop());
        maintenance = cluster.url;
        serverPids.push(...cluster.pids);
      }
      databaseUrl = await createDatabase(maintenance, `entourage_bench_${Date.now()}`);
      redisUrl = process.env.BENCH_REDIS_URL;
      if (!redisUrl) {
        const redis = await startRedis();
        stops.push(() => redis.stop());
        redisUrl = redis.url;
        versions.redis = redis.version;
        serverPids.push(...redis.pids);
      }
    } else if (process.env.BENCH_DATABASE_URL && suite === "ingest") {
      databaseUrl = await createDatabase(process.env.BENCH_DATABASE_URL, `entourage_bench_${Date.now()}`);
    }
    let nodeFlags: string[] | undefined;
    if (knobs.cpuProf) {
      mkdirSync(knobs.cpuProf, { recursive: true });
      nodeFlags = ["--cpu-prof", `--cpu-prof-dir=${knobs.cpuProf}`, `--cpu-prof-name=${key}-%ROLE%-%N.cpuprofile`];
    }
    const entourage: Entourage = await startEntourage({ label: key, dataDir, databaseUrl, redisUrl, nodeFlags, serverPids });
    stops.push(() => entourage.stop());
    // The seed's configuration (auto_assign on, a team of two engineers) takes the load; a second
    // webhook with auto_assign off gets seeded backlogs, for the drains without assignment.
    const webhook = await entourage.createWebhook({ autoAssign: true });
    const offWebhook = await entourage.createWebhook({ autoAssign: false });
    const deliveries = createIssueDeliveries(webhook.secret);
    const next = () => deliveries.make(issueNumber++);

    // 1. Acknowledgements at 50 connections (web only: ENTOURAGE_WORKER=off).
    const ackedIds: string[] = [];
    const onAcknowledged = (id: string) => void ackedIds.push(id);
    const warm = await fireLoad({ url: webhook.receiveUrl, connections: knobs.connections, seconds: knobs.warmup, next, onAcknowledged });
    const cpu0 = entourage.cpuSeconds();
    const db0 = entourage.databaseCpuSeconds();
    const load = await fireLoad({ url: webhook.receiveUrl, connections: knobs.connections, seconds: knobs.duration, next, onAcknowledged });
    const ackCpuUs = ((entourage.cpuSeconds() - cpu0) / load.ok2xx) * 1e6;
    const ackDatabaseCpuUs = ((entourage.databaseCpuSeconds() - db0) / load.ok2xx) * 1e6;
    log(`${key}: ${load.ackPerSecond.toFixed(0)} acks/s, ${ackCpuUs.toFixed(0)} µs CPU each (database ${ackDatabaseCpuUs.toFixed(0)}), p50 ${load.p50} ms, p99 ${load.p99} ms, non-2xx ${load.non2xx}, errors ${load.errors}`);

    // 2. Durability: every acknowledged delivery is a row (and no row is missing an acknowledgement).
    // A row without an acknowledgement is a request cut off in flight when autocannon stopped (at most one per connection per run).
    const counted = await countRows(entourage.db);
    const acked = warm.ok2xx + load.ok2xx;
    const found = (await entourage.db.query("SELECT count(*)::int AS n FROM deliveries WHERE id = ANY($1::uuid[])", [ackedIds])).rows[0].n as number;
    log(`${key}: stored ${counted.total} deliveries for ${acked} acknowledgements; ${found} of the ${ackedIds.length} acknowledged ids found (${warm.errors + load.errors} errors, ${warm.timeouts + load.timeouts} timeouts)`);
    const result: TargetResult = {
      key, name, load, ackCpuUs, ackDatabaseCpuUs, warmup2xx: warm.ok2xx, peakRss: {}, postgres: entourage.postgresVersion,
      stored: { rows: counted.total, acked, ackedIdsFound: found, ackedIds: ackedIds.length, cutOff: warm.errors + load.errors + warm.timeouts + load.timeouts },
    };

    // 3. Drain the backlog the load left, with one worker process.
    result.drain1 = await measureDrain(entourage, 1);
    await entourage.stopWorkers();
    log(`${key}: 1 worker, auto_assign on, drained ${result.drain1.backlog} in ${result.drain1.seconds.toFixed(1)} s = ${result.drain1.perSecond.toFixed(0)}/s, ${result.drain1.cpuPerDeliveryUs.toFixed(0)} µs CPU each`);

    // 3b. The same with auto_assign off, on a seeded backlog.
    await seedBacklog(entourage.db, offWebhook, (n) => deliveries.make(n).body, 5_000_000, knobs.drainBacklog);
    result.drain1Off = await measureDrain(entourage, 1);
    await entourage.stopWorkers();
    log(`${key}: 1 worker, auto_assign off, drained ${result.drain1Off.backlog} in ${result.drain1Off.seconds.toFixed(1)} s = ${result.drain1Off.perSecond.toFixed(0)}/s, ${result.drain1Off.cpuPerDeliveryUs.toFixed(0)} µs CPU each`);

    if (suite === "all") {
      // 4. A backlog of BENCH_BACKLOG drained by two worker processes, sampling their RSS.
      await seedBacklog(entourage.db, offWebhook, (n) => deliveries.make(n).body, 10_000_000, knobs.backlog);
      result.drain2 = await measureDrain(entourage, 2);
      await entourage.stopWorkers();
      log(`${key}: 2 workers drained ${result.drain2.backlog} in ${result.drain2.seconds.toFixed(1)} s = ${result.drain2.perSecond.toFixed(0)}/s`);

      // 5. End to end at a steady rate: one worker process, the web process relays events to SSE.
      await entourage.startWorker();
      let e2eCpu0 = 0;
      let e2eDb0 = 0;
      result.e2e = await measureEndToEnd({
        baseUrl: entourage.url,
        apiKey: entourage.apiKey,
        receiveUrl: webhook.receiveUrl,
        rate: knobs.e2eRate,
        seconds: knobs.e2eSeconds,
        warmupSeconds: knobs.e2eWarmup,
        onMeasuring: () => {
          e2eCpu0 = entourage.cpuSeconds();
          e2eDb0 = entourage.databaseCpuSeconds();
        },
        firstNumber: 20_000_000,
        make: (n) => deliveries.make(n),
      });
      // Where the time goes: stored → picked up by a worker (processed_at is its transaction's start).
      const lag = (
        await entourage.db.query(
          `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
             FROM (SELECT extract(epoch FROM processed_at - created_at) * 1000 AS ms FROM deliveries
                    WHERE (payload_summary->'issue'->>'number')::bigint >= 20000000) AS t`,
        )
      ).rows[0] as { p50: number; p99: number };
      result.e2e.cpuPerDeliveryUs = ((entourage.cpuSeconds() - e2eCpu0) / result.e2e.sent) * 1e6;
      result.e2e.databaseCpuPerDeliveryUs = ((entourage.databaseCpuSeconds() - e2eDb0) / result.e2e.sent) * 1e6;
      result.e2e.workerLagP50 = Number(lag.p50);
      result.e2e.workerLagP99 = Number(lag.p99);
      log(`${key}: e2e at ${knobs.e2eRate}/s: p50 ${result.e2e.p50.toFixed(1)} ms, p99 ${result.e2e.p99.toFixed(1)} ms (${result.e2e.seen}/${result.e2e.acked})${notAckedText(result.e2e.notAcked)}`);
    }
    const final = await countRows(entourage.db);
    log(`${key}: final rows ${JSON.stringify(final)}`);
    const peaks = entourage.peakRss();
    result.peakRss = { web: peaks.web, worker: Math.max(0, ...peaks.workers) };
    return result;
  } finally {
    for (const stop of stops.reverse()) await stop().catch((error) => log(`cleanup: ${error}`));
    // Let the removed data dir's writeback finish so it does not land on the next target's fsyncs.
    execFileSync("sync");
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  }
}

/** Target r: acknowledgement p99 over a large history, with retention pruning beside it and without. */
async function retentionTarget(): Promise<RetentionResult> {
  log(`r: Entourage, embedded PostgreSQL, ${knobs.history} deliveries of history (${knobs.historyPayload} payloads)`);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "entourage-bench-r-"));
  chmodSync(dataDir, 0o755); // the embedded PostgreSQL runs as another user
  const entourage = await startEntourage({ label: "r", dataDir });
  try {
    const webhook = await entourage.createWebhook({ autoAssign: false });
    const deliveries = createIssueDeliveries(webhook.secret);
    const real = deliveries.make(1).body;
    const payload = knobs.historyPayload === "real" ? real : real.slice(0, 2048);
    return await measureRetention({
      db: entourage.db,
      databaseUrl: entourage.databaseUrl,
      webhook,
      payload,
      history: knobs.history,
      connections: knobs.connections,
      seconds: knobs.duration,
      next: () => deliveries.make(issueNumber++),
      log,
    });
  } finally {
    await entourage.stop().catch((error) => log(`cleanup: ${error}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(loadBefore: string, loadAfter: string) {
  const by = (key: string) => results.find((result) => result.key === key);
  const ratio = (x?: TargetResult, y?: TargetResult) => (x && y ? (x.load.ackPerSecond / y.load.ackPerSecond).toFixed(2) : "n/a");
  const f = (value: number | undefined, digits = 0) => (value === undefined || Number.isNaN(value) ? "n/a" : value.toFixed(digits));
  const lines = [
    `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`,
    `postgres: ${results.filter((r) => r.postgres).map((r) => `${r.key}=${r.postgres}`).join(", ") || "n/a"}${versions.redis ? `; redis ${versions.redis}` : ""}`,
    `load average before ${loadBefore}, after ${loadAfter}`,
    `${knobs.connections} connections, ${knobs.warmup} s warm-up + ${knobs.duration} s, real issues.opened payload (${createIssueDeliveries("x").bytes} bytes)`,
    "",
    "| target | acks/s | CPU µs/ack (× b) | p50 ms | p99 ms | non-2xx | errors | every 2xx stored | drain 1 worker, auto_assign on | drain 1 worker, off | drain 2 workers, off | e2e p50/p99 ms | peak RSS MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- | --- | --- |",
    ...results.map((r) =>
      [
        `${r.key}) ${r.name}`,
        f(r.load.ackPerSecond),
        `${f(r.ackCpuUs)} (${by("b") ? (r.ackCpuUs / by("b")!.ackCpuUs).toFixed(2) : "n/a"})${r.ackDatabaseCpuUs === undefined ? "" : `, db ${f(r.ackDatabaseCpuUs)}`}`,
        f(r.load.p50),
        f(r.load.p99),
        String(r.load.non2xx),
        String(r.load.errors + r.load.timeouts),
        r.stored
          ? `${r.stored.ackedIdsFound}/${r.stored.ackedIds} acked ids stored ${r.stored.ackedIdsFound === r.stored.acked ? "yes" : "NO"}; ${r.stored.rows} rows (${r.stored.rows - r.stored.acked} unacked, cut off in flight)`
          : "-",
        describeDrain(r.drain1),
        describeDrain(r.drain1Off),
        describeDrain(r.drain2),
        r.e2e ? `${f(r.e2e.p50, 1)} / ${f(r.e2e.p99, 1)} (${r.e2e.seen}/${r.e2e.acked} seen)` : "-",
        Object.entries(r.peakRss).map(([k, v]) => `${k} ${f(v)}`).join(", "),
      ].join(" | ").replace(/^/, "| ").concat(" |"),
    ),
    "",
    `ratios: c/b ${ratio(by("c"), by("b"))}, d/b ${ratio(by("d"), by("b"))}, Entourage/Probot ${ratio(by("c"), by("b"))}`,
  ];
  for (const r of results) {
    if (r.drain2) {
      r.drain2.rss.forEach((s, i) =>
        lines.push(`${r.key}: worker ${i + 1} RSS while ${r.drain2!.backlog} drained: min ${f(s.min)} MB, max ${f(s.max)} MB, first quarter ${f(s.firstQuarter)} MB, last quarter ${f(s.lastQuarter)} MB, trend over 2nd half ${f(s.slopeMbPerMin, 1)} MB/min (${s.samples} samples)`),
      );
    }
    if (r.e2e) {
      lines.push(
        `${r.key}: e2e at ${r.e2e.rate}/s: sent ${r.e2e.sent}, acked ${r.e2e.acked}${notAckedText(r.e2e.notAcked)}, seen ${r.e2e.seen}, max ${f(r.e2e.max, 1)} ms, ack p99 ${f(r.e2e.ackP99, 1)} ms; ` +
          `stored → worker transaction start p50 ${f(r.e2e.workerLagP50, 1)} ms, p99 ${f(r.e2e.workerLagP99, 1)} ms; ` +
          `CPU ${f(r.e2e.cpuPerDeliveryUs)} µs per delivery (web + worker + database; database ${f(r.e2e.databaseCpuPerDeliveryUs)})`,
      );
    }
  }
  if (retention) {
    lines.push(
      "",
      `retention (r): ${retention.history} deliveries + events of history over 120 days (filled in ${f(retention.fillSeconds)} s), ${knobs.connections} connections, ${knobs.duration} s each`,
      "| ack latency | p50 ms | p99 ms | acks/s |",
      "| --- | ---: | ---: | ---: |",
      `| without pruning | ${f(retention.without.p50)} | ${f(retention.without.p99)} | ${f(retention.without.ackPerSecond)} |`,
      `| pruning beside | ${f(retention.beside.p50)} | ${f(retention.beside.p99)} | ${f(retention.beside.ackPerSecond)} |`,
      `pruned while loading (${retention.passes} pass(es)): ${JSON.stringify(retention.pruned)}`,
    );
  }
  console.log(lines.join("\n"));

  function describeDrain(drain?: DrainResult): string {
    return drain ? `${drain.backlog} in ${f(drain.seconds, 1)} s = ${f(drain.perSecond)}/s, ${f(drain.cpuPerDeliveryUs)} µs CPU each` : "-";
  }
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, JSON.stringify({ knobs, loadBefore, loadAfter, results, retention }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

/** ", not acknowledged: 503 ×2, ECONNRESET ×1", or nothing when every request was. */
function notAckedText(notAcked: Record<string, number>): string {
  const described = describeNotAcked(notAcked);
  return described ? `, not acknowledged: ${described}` : "";
}
