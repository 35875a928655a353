import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";
import { startEntourageProcess, type EntourageProcess } from "./helpers/entourage-process.js";
import { runLoad } from "./helpers/load.js";
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

describe("two instances (web + worker each) on one PostgreSQL and one Redis", () => {
  let db: TestDatabase;
  let redis: RedisServer | undefined;
  let org: BootstrapResult;
  let instances: EntourageProcess[] = [];
  let webhook: ScenarioWebhook;

  beforeAll(async () => {
    db = await createTestDatabase();
    org = await bootstrapScenarioOrg(db.knex, "two-instances");
    let redisUrl = process.env.TEST_REDIS_URL;
    if (!redisUrl) {
      redis = await startRedisServer();
      redisUrl = redis.url;
    }
    instances = await Promise.all([0, 1].map(() => startEntourageProcess({ databaseUrl: db.url, redisUrl })));
    webhook = await registerIssuesWebhook(instances[0]!.url, org);
  });

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await redis?.stop();
    await db?.drop();
  });

  it("never processes a delivery twice while both ingest and work the same queue", async () => {
    const t0 = Date.now();
    const result = await runLoad({
      targets: () => instances.map((instance) => instance.url),
      webhook,
      count: 2_000,
      concurrency: 32,
      payload: (n) => issueOpened("two", n),
      deadlineMs: 60_000,
    });
    const counts = statusCounts(result.responses);
    console.info(`two instances: ${result.acked.size} acknowledged; answers by status ${JSON.stringify(counts)}`);
    expect(counts).toEqual({ 202: 2_000 });

    const t1 = Date.now();
    await waitUntilSettled(db.knex, webhook.id, result.acked);
    console.info(`ingest ${t1 - t0} ms, drain ${Date.now() - t1} ms`);
    await expectProcessedExactlyOnce(db.knex, webhook.id, result.acked);
    await expectNoDuplicateWork(db.knex, org.org_id);
  });
});
