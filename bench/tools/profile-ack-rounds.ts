// Acknowledgements in successive windows on one Entourage (not a test): does their cost or their p99
// change as the database grows, or after a checkpoint? Starts an embedded PostgreSQL 17 and Entourage
// on it (from dist/), sends PROFILE_WARMUP seconds (default 2) of load at 50 connections, then works
// through PROFILE_ROUNDS (default "6,6,6,6"): a number is a window of that many seconds of load,
// "checkpoint" runs CHECKPOINT. For each window: acks/s, p50/p99, CPU µs per ack (web + PostgreSQL;
// PostgreSQL's part), the pages PostgreSQL wrote out of its buffers by who wrote them (the writer's own
// backend, the background writer, the checkpointer: pg_stat_io), the WAL files in pg_wal before and
// after, the database's size, and the writer's statements (from /metrics: how many, deliveries and
// milliseconds per statement).
// PROFILE_PG_SETTINGS="name=value,...": settings for the server (wal_init_zero=off, shared_buffers=512MB).
// Run: npm run build && npx tsx bench/tools/profile-ack-rounds.ts
import type pg from "pg";
import { createIssueDeliveries } from "../lib/issue-payloads.js";
import { fireLoad } from "../lib/load.js";
import { loadAverage } from "../lib/processes.js";
import { withProfiledEntourage } from "../lib/profiled-entourage.js";

const warmupSeconds = Number(process.env.PROFILE_WARMUP ?? 2);
const rounds = (process.env.PROFILE_ROUNDS ?? "6,6,6,6").split(",").filter(Boolean);
const serverSettings = Object.fromEntries(
  (process.env.PROFILE_PG_SETTINGS ?? "")
    .split(",")
    .filter(Boolean)
    .map((pair) => pair.split("=") as [string, string]),
);

interface ServerState {
  /** Relation pages written, by backend type. */
  writes: Map<string, number>;
  walFiles: number;
  databaseBytes: number;
}

async function serverState(db: pg.Pool): Promise<ServerState> {
  const writes = await db.query<{ backend_type: string; writes: number }>(
    "SELECT backend_type, coalesce(sum(writes), 0)::int AS writes FROM pg_stat_io WHERE object = 'relation' GROUP BY 1",
  );
  const wal = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_ls_waldir()");
  const size = await db.query<{ bytes: string }>("SELECT pg_database_size(current_database()) AS bytes");
  return {
    writes: new Map(writes.rows.map((row) => [row.backend_type, row.writes])),
    walFiles: wal.rows[0]!.n,
    databaseBytes: Number(size.rows[0]!.bytes),
  };
}

/** The writer's statements so far, from the web process's /metrics. */
async function writerStatements(url: string): Promise<{ count: number; deliveries: number; seconds: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return {
    count: value("entourage_delivery_write_batch_size_count"),
    deliveries: value("entourage_delivery_write_batch_size_sum"),
    seconds: value("entourage_delivery_write_duration_seconds_sum"),
  };
}

function pagesWritten(before: ServerState, after: ServerState, backendType: string): number {
  return (after.writes.get(backendType) ?? 0) - (before.writes.get(backendType) ?? 0);
}

async function main() {
  await withProfiledEntourage({ label: "ack-rounds", settings: { track_io_timing: "off", ...serverSettings } }, async (entourage) => {
    const db = entourage.db;
    const webhook = await entourage.createWebhook({ autoAssign: true });
    const deliveries = createIssueDeliveries(webhook.secret);
    let number = 1;
    const next = () => deliveries.make(number++);
    console.log(`load average ${loadAverage()}; settings ${JSON.stringify(serverSettings)}`);
    if (warmupSeconds > 0) await fireLoad({ url: webhook.receiveUrl, connections: 50, seconds: warmupSeconds, next });

    for (const round of rounds) {
      if (round === "checkpoint") {
        await db.query("CHECKPOINT");
        console.log("CHECKPOINT");
        continue;
      }
      const seconds = Number(round);
      if (!(seconds > 0)) throw new Error(`PROFILE_ROUNDS: "${round}" is neither seconds nor "checkpoint"`);
      const before = await serverState(db);
      const writes0 = await writerStatements(entourage.url);
      const cpu0 = entourage.cpuSeconds();
      const db0 = entourage.databaseCpuSeconds();
      const load = await fireLoad({ url: webhook.receiveUrl, connections: 50, seconds, next });
      const cpu = entourage.cpuSeconds() - cpu0;
      const dbCpu = entourage.databaseCpuSeconds() - db0;
      const after = await serverState(db);
      const writes1 = await writerStatements(entourage.url);
      const statements = writes1.count - writes0.count;
      const n = load.ok2xx;
      console.log(
        `ROUND ${seconds} s: ${load.ackPerSecond.toFixed(0)} acks/s, p50 ${load.p50} ms, p99 ${load.p99} ms; ` +
          `CPU ${((cpu / n) * 1e6).toFixed(0)} µs/ack (PostgreSQL ${((dbCpu / n) * 1e6).toFixed(0)}); ` +
          `pages written by the writer's backend ${pagesWritten(before, after, "client backend")}, background writer ${pagesWritten(before, after, "background writer")}, ` +
          `checkpointer ${pagesWritten(before, after, "checkpointer")}; WAL files ${before.walFiles} → ${after.walFiles}; ` +
          `database ${(before.databaseBytes / 1e6).toFixed(0)} → ${(after.databaseBytes / 1e6).toFixed(0)} MB; ` +
          `${(statements / load.seconds).toFixed(0)} writer statements/s, ${((writes1.deliveries - writes0.deliveries) / statements).toFixed(1)} deliveries and ` +
          `${(((writes1.seconds - writes0.seconds) / statements) * 1000).toFixed(1)} ms each`,
      );
    }
  });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
