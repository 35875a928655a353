// Where the end-to-end time goes (not a test): starts an embedded PostgreSQL 17 with
// track_commit_timestamp on, Entourage on it (from dist/: the web process with ENTOURAGE_WORKER=off and
// one `entourage worker`), a webhook with auto_assign PROFILE_AUTO_ASSIGN (default true), then sends
// PROFILE_E2E_RATE deliveries/s (default 200) for PROFILE_E2E_SECONDS (default 15) and, per delivery,
// splits the time from the request being sent to its task.created arriving on SSE into stages:
//   sent → received   the receive path's INSERT committed (commit timestamp of its delivery.received event)
//   received → acked  the 2xx reached the client
//   received → picked the worker's transaction started (deliveries.processed_at)
//   picked → done     the worker's transaction committed (commit timestamp of the task.created event)
//   done → seen       the relay read it, published it, the SSE stream delivered it
// PROFILE_E2E_WARMUP (default 3) seconds are sent at the same rate first and neither timed nor counted (cold caches);
// PROFILE_BACKLOG_FIRST=n drains n seeded deliveries first (a database that has seen traffic); PROFILE_UNIX_SOCKET=1
// connects Entourage through the server's Unix socket instead of loopback TCP;
// PROFILE_CPU_PROF=<dir>: every Entourage process runs with --cpu-prof; PROFILE_TOP: statements listed (25);
// PROFILE_TIMELINE=<file.json>: every delivery's timestamps (ms since the first was sent), to find where the tail sits.
// Run: npm run build && npx tsx bench/tools/profile-end-to-end.ts
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { measureDrain, seedBacklog } from "../lib/drain.js";
import { describeNotAcked, measureEndToEnd, percentile } from "../lib/end-to-end.js";
import { createIssueDeliveries } from "../lib/issue-payloads.js";
import { cpuSecondsOfTrees, loadAverage, preciseCpuSecondsOfTrees, readProcStats } from "../lib/processes.js";
import { printStatements, withProfiledEntourage } from "../lib/profiled-entourage.js";

const rate = Number(process.env.PROFILE_E2E_RATE ?? 200);
const seconds = Number(process.env.PROFILE_E2E_SECONDS ?? 15);
const warmup = Number(process.env.PROFILE_E2E_WARMUP ?? 3);
const backlogFirst = Number(process.env.PROFILE_BACKLOG_FIRST ?? 0);
const autoAssign = process.env.PROFILE_AUTO_ASSIGN !== "false";
const cpuProf = process.env.PROFILE_CPU_PROF ? path.resolve(process.env.PROFILE_CPU_PROF) : undefined;
const top = Number(process.env.PROFILE_TOP ?? 25);
const FIRST_NUMBER = 20_000_000;

async function main() {
  await withProfiledEntourage({ label: "e2e", settings: { track_commit_timestamp: "on" }, cpuProfDir: cpuProf, unixSocket: process.env.PROFILE_UNIX_SOCKET === "1" }, async (entourage, postmaster) => {
    const db = entourage.db;
    const webhook = await entourage.createWebhook({ autoAssign });
    const deliveries = createIssueDeliveries(webhook.secret);
    if (backlogFirst > 0) {
      await seedBacklog(db, webhook, (n) => deliveries.make(n).body, 5_000_000, backlogFirst);
      const drain = await measureDrain(entourage, 1);
      await entourage.stopWorkers();
      console.log(`drained ${drain.backlog} first in ${drain.seconds.toFixed(1)} s`);
    }
    await entourage.startWorker();
    console.log(`load average ${loadAverage()}; ${rate}/s for ${warmup} s of warm-up, then ${seconds} s measured; auto_assign ${autoAssign}`);
    const roots = () => ({ web: [entourage.web.pid], worker: entourage.workers.map((w) => w.pid), postgres: [postmaster] });
    // Counters are read when the first timed delivery is sent, so the warm-up's cost is not counted either.
    let cpu0 = 0;
    let db0 = 0;
    let node0 = { web: 0, worker: 0 };
    let backends0 = new Map<number, { ticks: number; user: number; system: number; title: string }>();
    let precise0: Record<string, number> = {};
    let split0: [number, number][] = [];
    let statementsReset: Promise<unknown> = Promise.resolve();
    const startCounting = () => {
      statementsReset = db.query("SELECT pg_stat_statements_reset()");
      cpu0 = entourage.cpuSeconds();
      db0 = entourage.databaseCpuSeconds();
      node0 = { web: cpuSecondsOfTrees([entourage.web.pid]), worker: cpuSecondsOfTrees(entourage.workers.map((w) => w.pid)) };
      backends0 = backendTicks(postmaster);
      precise0 = Object.fromEntries(Object.entries(roots()).map(([key, pids]) => [key, preciseCpuSecondsOfTrees(pids)]));
      split0 = [entourage.web.pid, ...entourage.workers.map((w) => w.pid)].map(userSystemTicks);
    };
    const result = await measureEndToEnd({
      baseUrl: entourage.url,
      apiKey: entourage.apiKey,
      receiveUrl: webhook.receiveUrl,
      rate,
      seconds,
      warmupSeconds: warmup,
      onMeasuring: startCounting,
      firstNumber: FIRST_NUMBER,
      make: (n) => deliveries.make(n),
    });
    await statementsReset;
    const cpu = ((entourage.cpuSeconds() - cpu0) / result.sent) * 1e6;
    const backends1 = backendTicks(postmaster);
    const precise = Object.entries(roots()).map(([key, pids]) => `${key} ${(((preciseCpuSecondsOfTrees(pids) - precise0[key]!) / result.sent) * 1e6).toFixed(0)} µs`);
    const split = [entourage.web.pid, ...entourage.workers.map((w) => w.pid)].map((pid, i) => {
      const [user, system] = userSystemTicks(pid);
      const perDelivery = (ticks: number) => ((ticks / 100 / result.sent) * 1e6).toFixed(0);
      return `${i === 0 ? "web" : "worker"} user ${perDelivery(user - split0[i]![0])} µs, system ${perDelivery(system - split0[i]![1])} µs`;
    });
    const webCpu = cpuSecondsOfTrees([entourage.web.pid]) - node0.web;
    const workerCpu = cpuSecondsOfTrees(entourage.workers.map((w) => w.pid)) - node0.worker;
    const activity = new Map(
      (await db.query("SELECT pid, backend_type, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS query FROM pg_stat_activity")).rows.map((row) => [
        Number(row.pid),
        `${row.backend_type}: ${row.query}`,
      ]),
    );
    const perBackend = [...backends1]
      .map(([pid, { ticks, title }]) => ({ pid, us: ((ticks - (backends0.get(pid)?.ticks ?? 0)) / 100 / result.sent) * 1e6, what: activity.get(pid) ?? title }))
      .filter((entry) => entry.us >= 5)
      .sort((a, b) => b.us - a.us);
    const dbCpu = ((entourage.databaseCpuSeconds() - db0) / result.sent) * 1e6;
    const { rows } = await db.query(
      `SELECT (d.payload_summary->'issue'->>'number')::bigint AS number,
              extract(epoch FROM pg_xact_commit_timestamp(r.xmin)) * 1000 AS received,
              extract(epoch FROM d.processed_at) * 1000 AS picked,
              extract(epoch FROM pg_xact_commit_timestamp(t.xmin)) * 1000 AS done
         FROM deliveries d
         JOIN events r ON r.type = 'delivery.received' AND r.data->>'delivery_id' = d.id::text
         JOIN events t ON t.type = 'task.created'
                      AND (t.data->'task'->'source'->>'issue_number')::bigint = (d.payload_summary->'issue'->>'number')::bigint
        WHERE (d.payload_summary->'issue'->>'number')::bigint >= $1`,
      [FIRST_NUMBER],
    );
    const byNumber = new Map(rows.map((row) => [Number(row.number), row as { received: number; picked: number; done: number }]));
    const timeline: { n: number; sent: number; received: number; acked: number; picked: number; done: number; seen: number }[] = [];
    const stages: Record<string, number[]> = { "sent → received": [], "received → acked": [], "received → picked": [], "picked → done": [], "done → seen": [], "sent → seen": [] };
    for (const timing of result.timings) {
      const row = byNumber.get(timing.issueNumber);
      if (!row || timing.seenAt === undefined || timing.ackedAt === undefined) continue;
      stages["sent → received"]!.push(Number(row.received) - timing.sentAt);
      stages["received → acked"]!.push(timing.ackedAt - Number(row.received));
      stages["received → picked"]!.push(Number(row.picked) - Number(row.received));
      stages["picked → done"]!.push(Number(row.done) - Number(row.picked));
      stages["done → seen"]!.push(timing.seenAt - Number(row.done));
      stages["sent → seen"]!.push(timing.seenAt - timing.sentAt);
      timeline.push({ n: timing.issueNumber, sent: timing.sentAt, received: Number(row.received), acked: timing.ackedAt, picked: Number(row.picked), done: Number(row.done), seen: timing.seenAt });
    }
    if (process.env.PROFILE_TIMELINE) {
      const origin = Math.min(...timeline.map((entry) => entry.sent));
      console.log(`timeline: ms after ${origin} (epoch ms), to line up with other samplers`);
      const relative = timeline.map((entry) => Object.fromEntries(Object.entries(entry).map(([key, value]) => [key, key === "n" ? value : +(value - origin).toFixed(2)])));
      writeFileSync(process.env.PROFILE_TIMELINE, JSON.stringify(relative));
    }
    const notAcked = describeNotAcked(result.notAcked);
    console.log(`sent ${result.sent}, acked ${result.acked}${notAcked ? ` (not acknowledged: ${notAcked})` : ""}, seen ${result.seen}, timed ${stages["sent → seen"]!.length}; ` +
      `CPU ${cpu.toFixed(0)} µs per delivery (PostgreSQL ${dbCpu.toFixed(0)})`);
    console.log(`Node: web ${((webCpu / result.sent) * 1e6).toFixed(0)} µs, worker ${((workerCpu / result.sent) * 1e6).toFixed(0)} µs per delivery; PostgreSQL processes (µs per delivery, pid, last query):`);
    console.log(`  Node processes: ${split.join("; ")}`);
    console.log(`  scheduler clock (exact), per delivery: ${precise.join(", ")}`);
    const pgUser = [...backends1].reduce((sum, [pid, { user }]) => sum + user - (backends0.get(pid)?.user ?? 0), 0);
    const pgSystem = [...backends1].reduce((sum, [pid, { system }]) => sum + system - (backends0.get(pid)?.system ?? 0), 0);
    console.log(`  PostgreSQL processes alive at the end: user ${((pgUser / 100 / result.sent) * 1e6).toFixed(0)} µs, system ${((pgSystem / 100 / result.sent) * 1e6).toFixed(0)} µs`);
    for (const entry of perBackend) console.log(`  ${entry.us.toFixed(0).padStart(6)}  ${entry.pid}  ${entry.what}`);
    console.log("stage             |   p50 ms |   p90 ms |   p99 ms |   max ms");
    for (const [stage, values] of Object.entries(stages)) {
      const sorted = values.sort((a, b) => a - b);
      const cell = (p: number) => percentile(sorted, p).toFixed(1).padStart(8);
      console.log(`${stage.padEnd(17)} | ${cell(0.5)} | ${cell(0.9)} | ${cell(0.99)} | ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(8)}`);
    }
    await printStatements(db, result.sent, top);
    console.log(`load average ${loadAverage()}`);
  });
}

/** CPU ticks of the postmaster and its children, with each one's title. */
function backendTicks(postmaster: number): Map<number, { ticks: number; user: number; system: number; title: string }> {
  const found = new Map<number, { ticks: number; user: number; system: number; title: string }>();
  for (const { pid, ppid, user, system } of readProcStats().values()) {
    if (pid !== postmaster && ppid !== postmaster) continue;
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      found.set(pid, { ticks: user + system, user, system, title });
    } catch {
      // gone
    }
  }
  return found;
}

/** User and system CPU ticks of one process. */
function userSystemTicks(pid: number): [number, number] {
  const stat = readProcStats().get(pid);
  return [stat?.user ?? 0, stat?.system ?? 0];
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
