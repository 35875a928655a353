import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
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

const DELIVERIES = 1_000;

describe("a duplicate storm: every delivery sent three times at once", () => {
  let db: TestDatabase;
  let org: BootstrapResult;
  let instances: EntourageProcess[] = [];
  let webhook: ScenarioWebhook;

  beforeAll(async () => {
    db = await createTestDatabase();
    org = await bootstrapScenarioOrg(db.knex, "duplicate-storm");
    // Two instances, so copies of one delivery race through different processes too.
    instances = await Promise.all([0, 1].map(() => startEntourageProcess({ databaseUrl: db.url })));
    webhook = await registerIssuesWebhook(instances[0]!.url, org);
  });

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await db?.drop();
  });

  it("stores and processes each delivery once, and answers the copies as duplicates", async () => {
    const t0 = Date.now();
    const result = await runLoad({
      targets: () => instances.map((instance) => instance.url),
      webhook,
      count: DELIVERIES,
      copies: 3,
      concurrency: 12,
      payload: (n) => issueOpened("storm", n),
      deadlineMs: 60_000,
    });
    const counts = statusCounts(result.responses);
    console.info(`duplicate storm: ${result.acked.size} acknowledged in ${Date.now() - t0} ms; answers by status ${JSON.stringify(counts)}`);
    expect(counts).toEqual({ 200: DELIVERIES * 2, 202: DELIVERIES });
    const firsts = new Map<string, number>();
    for (const response of result.responses) {
      if (response.status === 202) firsts.set(response.guid, (firsts.get(response.guid) ?? 0) + 1);
      else expect(JSON.parse(response.body)).toMatchObject({ duplicate: true });
    }
    expect([...firsts.values()].every((n) => n === 1)).toBe(true);

    await waitUntilSettled(db.knex, webhook.id, result.acked);
    const stored = (await db.knex("deliveries").where({ webhook_id: webhook.id }).count({ n: "*" }).first()) as { n: number };
    expect(stored.n).toBe(DELIVERIES);
    await expectProcessedExactlyOnce(db.knex, webhook.id, result.acked);
    await expectNoDuplicateWork(db.knex, org.org_id);
  });
});
