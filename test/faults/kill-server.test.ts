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

const DELIVERIES = 5_000;

describe("kill -9 of the server in the middle of a run", () => {
  let db: TestDatabase;
  let org: BootstrapResult;
  let server: EntourageProcess;
  let webhook: ScenarioWebhook;

  beforeAll(async () => {
    db = await createTestDatabase();
    org = await bootstrapScenarioOrg(db.knex, "kill-9");
    server = await startEntourageProcess({ databaseUrl: db.url });
    webhook = await registerIssuesWebhook(server.url, org);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("processes every acknowledged delivery exactly once after a restart", async () => {
    let crash: Promise<void> | undefined;
    const result = await runLoad({
      targets: () => [server.url],
      webhook,
      count: DELIVERIES,
      concurrency: 32,
      payload: (n) => issueOpened("kill9", n),
      // The sender keeps retrying through the crash and the restart, as GitHub's redeliver would.
      maxTries: 200,
      retryDelayMs: 100,
      deadlineMs: 90_000,
      onProgress(acked) {
        if (acked >= DELIVERIES * 0.4 && !crash) {
          crash = (async () => {
            await server.kill9();
            await server.restart();
          })();
        }
      },
    });
    await crash;

    const counts = statusCounts(result.responses);
    console.info(`kill -9: ${result.acked.size} acknowledged; answers by status ${JSON.stringify(counts)}`);
    expect(counts["0"], "some requests hit the dead server").toBeGreaterThan(0);
    expect(result.unacked).toEqual([]);
    expect(Object.keys(counts).filter((status) => Number(status) >= 500)).toEqual([]);

    await waitUntilSettled(db.knex, webhook.id, result.acked, 90_000);
    await expectProcessedExactlyOnce(db.knex, webhook.id, result.acked);
    await expectNoDuplicateWork(db.knex, org.org_id);
  });
});
