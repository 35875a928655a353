import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { CLAIM_DELIVERIES_SQL } from "../../src/features/webhooks/deliveries.store.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

describe("the delivery queue", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("claims the oldest due deliveries by reading the index in order, not by sorting the whole backlog", async () => {
    const org = await bootstrapOrg(db.knex, { orgName: "q", teamName: "t", engineers: 0 });
    const [webhook] = await db
      .knex("webhooks")
      .insert({ org_id: org.org_id, provider: "github", events: ["*"], config: { team_id: org.team_id }, secret_sealed: "x", secret_hint: "x" })
      .returning("id");
    await db.knex.raw(
      `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, created_at)
       SELECT ?, ?, 'guid-' || g, 'issues.opened', CASE WHEN g % 10 = 0 THEN 'processed' ELSE 'received' END, '{}', now() - make_interval(secs => g)
         FROM generate_series(1, 20000) AS g`,
      [webhook.id, org.org_id],
    );
    await db.knex.raw("ANALYZE deliveries");
    const plan = (await db.knex.raw(`EXPLAIN (FORMAT JSON) ${CLAIM_DELIVERIES_SQL}`, [60, "w", 100])).rows[0]["QUERY PLAN"];
    const text = JSON.stringify(plan);
    expect(text).toContain('"Index Name":"deliveries_pending_order_idx"');
    expect(text).not.toContain('"Node Type":"Sort"');
  });
});
