// Where PostgreSQL's time goes, per delivery (not a test): starts an embedded PostgreSQL 17 with
// pg_stat_statements, Entourage on it (from dist/), then
//   1. ack: PROFILE_ACK_SECONDS (default 5) of load at 50 connections → statements per acknowledged delivery;
//   2. drain: PROFILE_BACKLOG (default 5,000) seeded issues.opened deliveries for a webhook with
//      auto_assign PROFILE_AUTO_ASSIGN (default true), drained by one worker → statements per delivery;
//      PROFILE_SENDER=custom: custom senders' task.create deliveries instead (a webhook with provider custom);
//      custom:task.update or custom:task.close: those creates are drained first (not measured), then one
//      update (priority and tags) or close per task is the measured backlog.
// For each phase: CPU µs per delivery (web + workers + PostgreSQL; PostgreSQL's part), and the top
// statements by total execution time with calls and µs per delivery.
// PROFILE_PG_SETTINGS="name=value,...": settings for the profiled server (shared_buffers=512MB).
// PROFILE_CPU_PROF=<dir>: every Entourage process runs with --cpu-prof.
// PROFILE_WORKERS: worker processes for the measured drain (default 1).
// PROFILE_ACK_SQL: statements to run before the acknowledgements (to try a schema change on them).
// Run: npm run build && npx tsx bench/tools/profile-statements.ts
import path from "node:path";
import { measureDrain, seedBacklog, seedCustomBacklog } from "../lib/drain.js";
import { createIssueDeliveries } from "../lib/issue-payloads.js";
import { fireLoad } from "../lib/load.js";
import { loadAverage } from "../lib/processes.js";
import { printStatements, withProfiledEntourage } from "../lib/profiled-entourage.js";

const ackSeconds = Number(process.env.PROFILE_ACK_SECONDS ?? 5);
const backlog = Number(process.env.PROFILE_BACKLOG ?? 5_000);
const autoAssign = process.env.PROFILE_AUTO_ASSIGN !== "false";
const sender = process.env.PROFILE_SENDER ?? "github";
const top = Number(process.env.PROFILE_TOP ?? 25);
const drainWorkers = Number(process.env.PROFILE_WORKERS ?? 1);
const serverSettings = Object.fromEntries(
  (process.env.PROFILE_PG_SETTINGS ?? "")
    .split(",")
    .filter(Boolean)
    .map((pair) => pair.split("=") as [string, string]),
);
const cpuProf = process.env.PROFILE_CPU_PROF ? path.resolve(process.env.PROFILE_CPU_PROF) : undefined;

async function main() {
  await withProfiledEntourage({ label: "profile", settings: { track_io_timing: "off", ...serverSettings }, cpuProfDir: cpuProf }, async (entourage) => {
    const db = entourage.db;
    const webhook = await entourage.createWebhook({ autoAssign });
    const deliveries = createIssueDeliveries(webhook.secret);
    let number = 1;
    const next = () => deliveries.make(number++);
    console.log(`load average ${loadAverage()}`);

    if (ackSeconds > 0) {
      if (process.env.PROFILE_ACK_SQL) await db.query(process.env.PROFILE_ACK_SQL);
      await fireLoad({ url: webhook.receiveUrl, connections: 50, seconds: 2, next });
      await db.query("SELECT pg_stat_statements_reset()");
      const cpu0 = entourage.cpuSeconds();
      const db0 = entourage.databaseCpuSeconds();
      const load = await fireLoad({ url: webhook.receiveUrl, connections: 50, seconds: ackSeconds, next });
      const n = load.ok2xx;
      console.log(
        `\nACK: ${n} acknowledged, ${(load.ackPerSecond).toFixed(0)}/s, p99 ${load.p99} ms; CPU ${(((entourage.cpuSeconds() - cpu0) / n) * 1e6).toFixed(0)} µs/ack, ` +
          `PostgreSQL ${(((entourage.databaseCpuSeconds() - db0) / n) * 1e6).toFixed(0)} µs/ack`,
      );
      await printStatements(db, n, top);
      // The load's backlog is not part of the drain below.
      await db.query("UPDATE deliveries SET status = 'ignored' WHERE status = 'received'");
    }

    // PROFILE_SQL: statements to try before the backlog is seeded (an index, a storage parameter).
    if (process.env.PROFILE_SQL) await db.query(process.env.PROFILE_SQL);
    if (sender.startsWith("custom")) {
      const custom = await entourage.createWebhook({ autoAssign, provider: "custom" });
      await seedCustomBacklog(db, custom, 5_000_000, backlog);
      const followUp = sender.split(":")[1];
      if (followUp) {
        await measureDrain(entourage, 1);
        await entourage.stopWorkers();
        await seedCustomBacklog(db, custom, 5_000_000, backlog, followUp);
      }
    } else await seedBacklog(db, webhook, (n) => deliveries.make(n).body, 5_000_000, backlog);
    await db.query("VACUUM ANALYZE");
    // PROFILE_EXPLAIN: a statement to EXPLAIN (ANALYZE, BUFFERS) on the seeded backlog, rolled back.
    if (process.env.PROFILE_EXPLAIN) {
      const client = await db.connect();
      try {
        await client.query("BEGIN");
        const plan = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${process.env.PROFILE_EXPLAIN}`);
        console.log(plan.rows.map((row) => row["QUERY PLAN"]).join("\n"));
      } finally {
        await client.query("ROLLBACK");
        client.release();
      }
    }
    await db.query("SELECT pg_stat_statements_reset()");
    const db0 = entourage.databaseCpuSeconds();
    const drain = await measureDrain(entourage, drainWorkers);
    console.log(
      `\nDRAIN (${sender}, auto_assign ${autoAssign}, ${drainWorkers} worker${drainWorkers === 1 ? "" : "s"}): ${drain.backlog} in ${drain.seconds.toFixed(1)} s = ${drain.perSecond.toFixed(0)}/s, ` +
        `${drain.cpuPerDeliveryUs.toFixed(0)} µs CPU each, PostgreSQL ${(((entourage.databaseCpuSeconds() - db0) / drain.backlog) * 1e6).toFixed(0)} µs`,
    );
    await printStatements(db, drain.backlog, top);
    console.log(`load average ${loadAverage()}`);
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
