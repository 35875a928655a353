import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DeliveryWorker } from "../../../src/features/webhooks/delivery-worker.js";
import { cutOffListener, listenerPids } from "../../helpers/database-outage.js";
import { startTestApp } from "../../helpers/test-app.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";

describe("delivery worker wake-ups", () => {
  let db: TestDatabase;
  let worker: DeliveryWorker;

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
    const [pid] = await vi.waitFor(async () => {
      const found = await listenerPids(db);
      expect(found).toHaveLength(1);
      return found;
    });
    await cutOffListener(db, pid!);
    await vi.waitFor(async () => expect((await listenerPids(db)).filter((next) => next !== pid)).toHaveLength(1), { timeout: 10_000, interval: 100 });
  });
});

describe("a running Entourage's listening sessions", () => {
  it("is one session for the worker, the outbound sender and the GitHub outbox together", async () => {
    const app = await startTestApp();
    try {
      expect(await listenerPids(app.db)).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});
