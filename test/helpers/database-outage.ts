import pg from "pg";
import { inject } from "vitest";
import { LISTENER_APPLICATION_NAME } from "../../src/db/listen-for-notifications.js";
import type { TestDatabase } from "./test-database.js";

/** A statement run as the test server's superuser, on a connection of its own. */
export async function adminQuery(sql: string, bindings: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: inject("databaseAdminUrl") });
  await client.connect();
  try {
    return await client.query(sql, bindings);
  } finally {
    await client.end();
  }
}

const databaseName = (db: TestDatabase) => new URL(db.url).pathname.slice(1);

/** The server pids of the listening sessions (listenForNotifications: one per process and database) in the test's database. */
export async function listenerPids(db: TestDatabase): Promise<number[]> {
  const rows = (await adminQuery("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2", [databaseName(db), LISTENER_APPLICATION_NAME])).rows;
  return rows.map((row) => row.pid as number);
}

/**
 * Like a restart as a listener sees it: its session dies and, for `outageMs`, no new one is
 * accepted (longer than one reconnection attempt).
 */
export async function cutOffListener(db: TestDatabase, pid: number, outageMs = 2_500): Promise<void> {
  await adminQuery(`ALTER DATABASE "${databaseName(db)}" ALLOW_CONNECTIONS false`);
  try {
    await adminQuery("SELECT pg_terminate_backend($1)", [pid]);
    await new Promise((resolve) => setTimeout(resolve, outageMs));
  } finally {
    await adminQuery(`ALTER DATABASE "${databaseName(db)}" ALLOW_CONNECTIONS true`);
  }
}
