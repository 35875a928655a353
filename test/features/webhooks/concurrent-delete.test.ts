import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook } from "../../helpers/webhooks.js";

/**
 * A webhook deleted between a change's read and its write: the change answers 404 like any missing
 * webhook. The interleaving is forced, not hoped for: a transaction of the test's holds the row
 * lock, the request's UPDATE is seen waiting on it in pg_stat_activity, and only then is the row
 * deleted and the lock released.
 */
describe("a webhook deleted while a change to it is in flight", () => {
  let app: TestApp;
  let org: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp();
    org = await app.bootstrap();
  });
  afterAll(() => app.close());

  it.each([
    ["PATCH", "", { name: "renamed" }],
    ["POST", "/regenerate-secret", {}],
  ] as const)("%s %s answers 404, not 500", async (method, suffix, body) => {
    const webhook = await registerWebhook(app, org.api_key, org.team_id);
    const knex = app.db.knex;
    const holder = await knex.transaction();
    try {
      await holder("webhooks").where({ id: webhook.id }).forUpdate().first();
      const answer = app.request(method, `/api/v1/webhooks/${webhook.id}${suffix}`, { key: org.api_key, body });
      // The marker: the request's UPDATE of that row is waiting for our lock.
      await vi.waitFor(
        async () => {
          const waiting = await knex.raw(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'update "webhooks"%'`);
          expect(waiting.rows.length).toBe(1);
        },
        { timeout: 10_000, interval: 20 },
      );
      await holder("webhooks").where({ id: webhook.id }).delete();
      await holder.commit();
      const res = await answer;
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    } finally {
      if (!holder.isCompleted()) await holder.rollback();
    }
  });
});
