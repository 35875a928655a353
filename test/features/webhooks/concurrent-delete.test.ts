import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitForLockWait } from "../../helpers/lock-wait.js";
import { registerWebhook } from "../../helpers/webhooks.js";

/**
 * A webhook deleted between a change's read and its write: the change answers 404 like any missing
 * webhook. The interleaving is forced, not hoped for: a transaction of the test's holds the row
 * lock, the request's UPDATE is seen waiting on it in pg_stat_activity, and only then is the row
 * deleted and the lock released.
 */
describe("a webhook or outbound endpoint deleted while a change to it is in flight", () => {
  let app: TestApp;
  let org: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp();
    org = await app.bootstrap();
  });
  afterAll(() => app.close());

  const targets = {
    webhook: {
      table: "webhooks",
      create: async () => (await registerWebhook(app, org.api_key, org.team_id)).id,
      path: (id: string) => `/api/v1/webhooks/${id}`,
    },
    "outbound endpoint": {
      table: "outbound_webhooks",
      create: async () => (await app.request("POST", "/api/v1/outbound-webhooks", { key: org.api_key, body: { url: "http://127.0.0.1:9/x", events: ["task.*"] } })).body.id as string,
      path: (id: string) => `/api/v1/outbound-webhooks/${id}`,
    },
  };

  it.each([
    ["webhook", "PATCH", "", { name: "renamed" }],
    ["webhook", "POST", "/regenerate-secret", {}],
    ["outbound endpoint", "PATCH", "", { description: "renamed" }],
  ] as const)("%s: %s %s answers 404, not 500", async (what, method, suffix, body) => {
    const target = targets[what];
    const id = await target.create();
    const knex = app.db.knex;
    const holder = await knex.transaction();
    try {
      await holder(target.table).where({ id }).forUpdate().first();
      const answer = app.request(method, `${target.path(id)}${suffix}`, { key: org.api_key, body });
      // The marker: the request's UPDATE of that row is waiting for our lock.
      await waitForLockWait(knex, `update "${target.table}"%`);
      await holder(target.table).where({ id }).delete();
      await holder.commit();
      const res = await answer;
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
      // Nothing was announced about a change that did not happen.
      expect(await knex("events").whereRaw("(data->>'webhook_id' = ? OR data->>'outbound_webhook_id' = ?)", [id, id]).whereRaw("type NOT LIKE '%.created'").pluck("type")).toEqual([]);
    } finally {
      if (!holder.isCompleted()) await holder.rollback();
    }
  });
});
