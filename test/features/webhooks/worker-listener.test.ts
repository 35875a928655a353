import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, it } from "vitest";
import { inject } from "vitest";
import { DeliveryWorker } from "../../../src/features/webhooks/delivery-worker.js";
import { sleep } from "../../../src/lib/sleep.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";
import { waitFor } from "../../helpers/wait-for.js";

async function admin(sql: string, bindings: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: inject("databaseAdminUrl") });
  await client.connect();
  try {
    return await client.query(sql, bindings);
  } finally {
    await client.end();
  }
}

describe("delivery worker wake-ups", () => {
  let db: TestDatabase;
  let worker: DeliveryWorker;
  const name = () => new URL(db.url).pathname.slice(1);
  const listenerPids = async () =>
    (await admin("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query = 'LISTEN entourage_deliveries'", [name()])).rows.map((row) => row.pid as number);

  beforeAll(async () => {
    db = await createTestDatabase();
    worker = new DeliveryWorker({ knex: db.knex, logger: pino({ level: "silent" }), processor: async () => ({ actions: ["no rule applied"] }), databaseUrl: db.url, pollMs: 200 });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await db?.drop();
  });

  it("listens again after the database was away for longer than one retry", async () => {
    const pids = await waitFor(async () => {
      const found = await listenerPids();
      return found.length === 1 ? found : undefined;
    }, "the listener");
    const pid = pids[0];
    // Like a restart: the session dies and, for a few seconds, no new one is accepted.
    await admin(`ALTER DATABASE "${name()}" ALLOW_CONNECTIONS false`);
    try {
      await admin("SELECT pg_terminate_backend($1)", [pid]);
      await sleep(2_500);
    } finally {
      await admin(`ALTER DATABASE "${name()}" ALLOW_CONNECTIONS true`);
    }
    await waitFor(async () => (await listenerPids()).some((next) => next !== pid), "a new LISTEN session", 10_000, 100);
  });
});
