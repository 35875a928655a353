import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKnex, ensureDatabase } from "../../src/db/create-db.js";
import { LISTENER_APPLICATION_NAME } from "../../src/db/listen-for-notifications.js";
import { migrateLatest } from "../../src/db/migrate.js";
import type { BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { sleep } from "../../src/lib/sleep.js";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.js";
import { waitFor } from "../helpers/wait-for.js";
import { startEntourageProcess, type EntourageProcess } from "./helpers/entourage-process.js";
import { runLoad } from "./helpers/load.js";
import { startRestartablePostgres, type RestartablePostgres } from "./helpers/restartable-postgres.js";
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

const DELIVERIES = 1_500;
const OUTAGE_MS = 4_000;

describe("PostgreSQL restarted in the middle of a run", () => {
  let postgres: RestartablePostgres;
  let redis: RedisServer;
  let knex: Knex;
  let org: BootstrapResult;
  let server: EntourageProcess;
  let webhook: ScenarioWebhook;

  beforeAll(async () => {
    postgres = await startRestartablePostgres();
    redis = await startRedisServer();
    const url = await ensureDatabase(postgres.adminUrl, "entourage_faults");
    knex = createKnex(url, 4);
    await migrateLatest(knex);
    org = await bootstrapScenarioOrg(knex, "postgres-restart");
    server = await startEntourageProcess({ databaseUrl: url, redisUrl: redis.url });
    webhook = await registerIssuesWebhook(server.url, org);
  });

  afterAll(async () => {
    await server?.stop();
    await knex?.destroy();
    await redis?.stop();
    await postgres?.destroy();
  });

  it("answers 503 during the outage, never 2xx for what it did not store, and recovers by itself", async () => {
    let outage: Promise<void> | undefined;
    const result = await runLoad({
      targets: () => [server.url],
      webhook,
      count: DELIVERIES,
      concurrency: 16,
      payload: (n) => issueOpened("pgrestart", n),
      maxTries: 200,
      retryDelayMs: 100,
      deadlineMs: 90_000,
      onProgress(acked) {
        if (acked >= DELIVERIES / 4 && !outage) {
          outage = (async () => {
            await postgres.stop();
            await sleep(OUTAGE_MS);
            await postgres.start();
          })();
        }
      },
    });
    await outage;
    const counts = statusCounts(result.responses);
    console.info(`postgres restart: ${result.acked.size} acknowledged; answers by status ${JSON.stringify(counts)}`);

    expect(counts["503"], "the outage was answered 503").toBeGreaterThan(0);
    expect(Object.keys(counts).sort(), "only 202 and 503 (no other 5xx, no dropped connection)").toEqual(["202", "503"]);
    for (const response of result.responses.filter((r) => r.status === 503)) {
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: "service_unavailable" } });
    }
    // Recovered without a restart of Entourage: the later deliveries were all taken.
    expect(result.unacked).toEqual([]);

    await waitUntilSettled(knex, webhook.id, result.acked);
    await expectProcessedExactlyOnce(knex, webhook.id, result.acked);
    await expectNoDuplicateWork(knex, org.org_id);

    // The dedicated sessions came back: the process's listening session (the worker's channel among
    // those it LISTENs on again, all in one statement), and the relay's (it holds the relay lock again).
    let sessions: unknown[] = [];
    await waitFor(
      async () => {
        sessions = (
          await knex.raw(
            `SELECT a.application_name, a.query, l.locktype
               FROM pg_stat_activity a LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
              WHERE a.datname = current_database() AND (a.query LIKE 'LISTEN %' OR l.locktype IS NOT NULL)`,
          )
        ).rows as { query: string; locktype: string | null }[];
        const rows = sessions as { application_name: string; query: string; locktype: string | null }[];
        const listening = rows.some((row) => row.application_name === LISTENER_APPLICATION_NAME && row.query.split("; ").includes("LISTEN entourage_deliveries"));
        return listening && rows.some((row) => row.locktype === "advisory");
      },
      "the LISTEN connections to be re-established",
      15_000,
      250,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; sessions now: ${JSON.stringify(sessions)}\n${server.output()}`);
    });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
