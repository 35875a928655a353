import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { sleep } from "../../src/lib/sleep.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";
import { waitFor } from "../helpers/wait-for.js";
import { startEntourageProcess, type EntourageProcess } from "./helpers/entourage-process.js";
import { runLoad } from "./helpers/load.js";
import { openResumableSse } from "./helpers/resumable-sse.js";
import {
  bootstrapScenarioOrg,
  expectNoDuplicateWork,
  expectProcessedExactlyOnce,
  issueOpened,
  registerIssuesWebhook,
  statusCounts,
  waitUntilSettled,
  type ScenarioWebhook,
} from "./helpers/scenario.js";

const DELIVERIES = 800;
const OUTAGE_MS = 3_000;

describe("Redis stopped in the middle of a run", () => {
  let db: TestDatabase;
  let redis: RedisServer;
  let org: BootstrapResult;
  let streaming: EntourageProcess;
  let ingesting: EntourageProcess;
  let webhook: ScenarioWebhook;

  beforeAll(async () => {
    db = await createTestDatabase();
    // A server of the suite's own, since it is killed; a shared one (TEST_REDIS_URL) must not be.
    redis = await startRedisServer();
    org = await bootstrapScenarioOrg(db.knex, "redis-outage");
    // SSE clients on one instance, deliveries into the other: every live event crosses Redis.
    const started = await Promise.all([0, 1].map(() => startEntourageProcess({ databaseUrl: db.url, redisUrl: redis.url })));
    streaming = started[0]!;
    ingesting = started[1]!;
    webhook = await registerIssuesWebhook(ingesting.url, org);
  });

  afterAll(async () => {
    await Promise.all([streaming, ingesting].map((instance) => instance?.stop()));
    await redis?.stop();
    await db?.drop();
  });

  it("keeps ingesting, and SSE clients resume with Last-Event-ID and miss nothing", async () => {
    const before = (await db.knex("events").max({ id: "id" }).first()) as { id: number | null };
    const clients = [0, 1].map(() =>
      openResumableSse(`${streaming.url}/api/v1/events`, { "x-api-key": org.api_key }, before.id ?? 0),
    );
    let outage: Promise<void> | undefined;
    try {
      const result = await runLoad({
        targets: () => [ingesting.url],
        webhook,
        count: DELIVERIES,
        concurrency: 8,
        payload: (n) => issueOpened("redis", n),
        deadlineMs: 60_000,
        onProgress(acked) {
          if (acked >= DELIVERIES / 4 && !outage) {
            outage = (async () => {
              await redis.stop();
              await sleep(OUTAGE_MS / 2);
              clients[1]!.drop(); // one client also loses its connection while Redis is away
              await sleep(OUTAGE_MS / 2);
              await redis.start();
            })();
          }
        },
      });
      await outage;
      const counts = statusCounts(result.responses);
      console.info(`redis outage: ${result.acked.size} acknowledged; answers by status ${JSON.stringify(counts)}`);
      expect(counts, "no ingestion errors").toEqual({ 202: DELIVERIES });

      await waitUntilSettled(db.knex, webhook.id, result.acked);
      await expectProcessedExactlyOnce(db.knex, webhook.id, result.acked);
      await expectNoDuplicateWork(db.knex, org.org_id);

      const expected = (await db.knex("events").select("id").where({ org_id: org.org_id }).where("id", ">", before.id ?? 0).orderBy("id")).map(
        (row: { id: number }) => row.id,
      );
      for (const client of clients) {
        await waitFor(() => new Set(client.ids).size >= expected.length, `${expected.length} events on the stream`, 30_000, 100).catch(() => undefined);
        expect(client.ids.filter((id) => !expected.includes(id)), "only this org's events").toEqual([]);
        expect(expected.filter((id) => !client.ids.includes(id)).slice(0, 10), "no event missed").toEqual([]);
        expect(client.ids.length, "no event twice").toBe(new Set(client.ids).size);
      }
      expect(clients[1]!.reconnects, "the dropped client came back").toBeGreaterThanOrEqual(1);
      console.info(`redis outage: ${expected.length} events streamed; reconnects ${clients.map((c) => c.reconnects).join(", ")}`);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});
