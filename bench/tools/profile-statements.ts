// Where PostgreSQL's time goes, per delivery (not a test): starts an embedded PostgreSQL 17 with
// pg_stat_statements, Entourage on it (from dist/), then
//   1. ack: PROFILE_ACK_SECONDS (default 5) of load at 50 connections → statements per acknowledged delivery;
//   2. drain: PROFILE_BACKLOG (default 5,000) seeded issues.opened deliveries for a webhook with
//      auto_assign PROFILE_AUTO_ASSIGN (default true), drained by one worker → statements per delivery.
// For each phase: CPU µs per delivery (web + workers + PostgreSQL; PostgreSQL's part), and the top
// statements by total execution time with calls and µs per delivery.
// PROFILE_CPU_PROF=<dir>: every Entourage process runs with --cpu-prof.
// Run: npm run build && npx tsx bench/tools/profile-statements.ts
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { createDatabase } from "../lib/databases.js";
import { measureDrain, seedBacklog } from "../lib/drain.js";
import { startEntourage } from "../lib/entourage-instance.js";
import { createIssueDeliveries } from "../lib/issue-payloads.js";
import { fireLoad } from "../lib/load.js";
import { loadAverage, postmasterPid } from "../lib/processes.js";

const ackSeconds = Number(process.env.PROFILE_ACK_SECONDS ?? 5);
const backlog = Number(process.env.PROFILE_BACKLOG ?? 5_000);
const autoAssign = process.env.PROFILE_AUTO_ASSIGN !== "false";
const top = Number(process.env.PROFILE_TOP ?? 25);
const cpuProf = process.env.PROFILE_CPU_PROF ? path.resolve(process.env.PROFILE_CPU_PROF) : undefined;

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "entourage-profile-"));
  chmodSync(dataDir, 0o755);
  const pgDir = path.join(dataDir, "server");
  const server = await startEmbeddedPostgres({
    dataDir: pgDir,
    logger: pino({ level: "warn" }),
    settings: { shared_preload_libraries: "pg_stat_statements", "pg_stat_statements.track": "all", track_io_timing: "off" },
  });
  try {
    const databaseUrl = await createDatabase(server.url, "entourage_profile");
    const postmaster = postmasterPid(path.join(pgDir, "pg"))!;
    const appDir = path.join(dataDir, "app");
    mkdirSync(appDir, { mode: 0o755 });
    const entourage = await startEntourage({ label: "p", dataDir: appDir, databaseUrl, serverPids: [postmaster],
      nodeFlags: cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${cpuProf}`, "--cpu-prof-name=%ROLE%-%N.cpuprofile"] : undefined,
    });
    try {
      const db = entourage.db;
      await db.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      const webhook = await entourage.createWebhook({ autoAssign });
      const deliveries = createIssueDeliveries(webhook.secret);
      let number = 1;
      const next = () => deliveries.make(number++);
      console.log(`load average ${loadAverage()}`);

      if (ackSeconds > 0) {
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
        await printStatements(db, n);
        // The load's backlog is not part of the drain below.
        await db.query("UPDATE deliveries SET status = 'ignored' WHERE status = 'received'");
      }

      // PROFILE_SQL: statements to try before the backlog is seeded (an index, a storage parameter).
      if (process.env.PROFILE_SQL) await db.query(process.env.PROFILE_SQL);
      await seedBacklog(db, webhook, (n) => deliveries.make(n).body, 5_000_000, backlog);
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
      const drain = await measureDrain(entourage, 1);
      console.log(
        `\nDRAIN (auto_assign ${autoAssign}): ${drain.backlog} in ${drain.seconds.toFixed(1)} s = ${drain.perSecond.toFixed(0)}/s, ` +
          `${drain.cpuPerDeliveryUs.toFixed(0)} µs CPU each, PostgreSQL ${(((entourage.databaseCpuSeconds() - db0) / drain.backlog) * 1e6).toFixed(0)} µs`,
      );
      await printStatements(db, drain.backlog);
      console.log(`load average ${loadAverage()}`);
    } finally {
      await entourage.stop();
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function printStatements(db: pg.Pool, deliveries: number) {
  const { rows } = await db.query(
    `SELECT calls, total_exec_time + total_plan_time AS ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) AS query
       FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY 2 DESC LIMIT $1`,
    [top],
  );
  const all = (
    await db.query(
      "SELECT sum(calls)::bigint AS calls, sum(total_exec_time + total_plan_time) AS ms, sum(wal_bytes)::bigint AS wal, sum(wal_fpi)::bigint AS fpi FROM pg_stat_statements",
    )
  ).rows[0];
  console.log(
    `all statements: ${(Number(all.calls) / deliveries).toFixed(2)} calls and ${((Number(all.ms) * 1000) / deliveries).toFixed(0)} µs per delivery; ` +
      `WAL ${(Number(all.wal) / deliveries).toFixed(0)} bytes and ${(Number(all.fpi) / deliveries).toFixed(2)} full-page images per delivery`,
  );
  console.log("calls/delivery | µs/delivery | µs/call | query");
  for (const row of rows) {
    console.log(
      `${(Number(row.calls) / deliveries).toFixed(2).padStart(6)} | ${((row.ms * 1000) / deliveries).toFixed(1).padStart(7)} | ${((row.ms * 1000) / Number(row.calls)).toFixed(1).padStart(7)} | ${row.query}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
