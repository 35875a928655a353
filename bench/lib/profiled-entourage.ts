import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type pg from "pg";
import pino from "pino";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { createDatabase } from "./databases.js";
import { startEntourage, type Entourage } from "./entourage-instance.js";
import { postmasterPid } from "./processes.js";

/**
 * For the profiling tools: an embedded PostgreSQL 17 of its own with pg_stat_statements (and any
 * `settings`), Entourage on it from dist/ (`cpuProfDir`: every process with --cpu-prof), the
 * extension created; runs `use`, then stops both and removes their files.
 */
export async function withProfiledEntourage(
  options: { label: string; settings?: Record<string, string>; cpuProfDir?: string; unixSocket?: boolean },
  use: (entourage: Entourage, postmaster: number) => Promise<void>,
): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `entourage-${options.label}-`));
  chmodSync(dataDir, 0o755);
  const pgDir = path.join(dataDir, "server");
  const socketDir = path.join(dataDir, "sock");
  if (options.unixSocket) {
    mkdirSync(socketDir);
    chmodSync(socketDir, 0o777); // the server runs as its own user
  }
  const server = await startEmbeddedPostgres({
    dataDir: pgDir,
    logger: pino({ level: "warn" }),
    settings: {
      shared_preload_libraries: "pg_stat_statements",
      "pg_stat_statements.track": "all",
      ...(options.unixSocket ? { unix_socket_directories: socketDir } : {}),
      ...options.settings,
    },
  });
  try {
    let databaseUrl = await createDatabase(server.url, `entourage_${options.label}`);
    if (options.unixSocket) {
      // Same server, reached through its Unix socket (the port names the socket file).
      const url = new URL(databaseUrl);
      url.searchParams.set("host", socketDir);
      databaseUrl = url.toString();
    }
    const postmaster = postmasterPid(path.join(pgDir, "pg"))!;
    const appDir = path.join(dataDir, "app");
    mkdirSync(appDir, { mode: 0o755 });
    const entourage = await startEntourage({
      label: options.label,
      dataDir: appDir,
      databaseUrl,
      serverPids: [postmaster],
      nodeFlags: options.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`, "--cpu-prof-name=%ROLE%-%N.cpuprofile"] : undefined,
    });
    try {
      await entourage.db.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      await use(entourage, postmaster);
    } finally {
      await entourage.stop();
    }
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Prints pg_stat_statements since its last reset per delivery: all statements, then the `top` by time. */
export async function printStatements(db: pg.Pool, deliveries: number, top: number): Promise<void> {
  const { rows } = await db.query(
    `SELECT calls, total_exec_time + total_plan_time AS ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), ${Number(process.env.PROFILE_QUERY_WIDTH ?? 150)}) AS query
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
