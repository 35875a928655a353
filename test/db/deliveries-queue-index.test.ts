import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { CLAIM_DELIVERIES_SQL, claimDeliveries } from "../../src/features/webhooks/deliveries.store.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

describe("the delivery queue", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const newWebhook = async (name: string) => {
    const org = await bootstrapOrg(db.knex, { orgName: name, teamName: "t", engineers: 0 });
    const [webhook] = await db
      .knex("webhooks")
      .insert({ org_id: org.org_id, provider: "github", events: ["*"], config: { team_id: org.team_id }, secret_sealed: "x", secret_hint: "x" })
      .returning("id");
    return { org, webhook };
  };

  it("hands claimed deliveries over oldest first, whatever order their rows lie in", async () => {
    const { org, webhook } = await newWebhook("order");
    // Stored newest first: the table's physical order is the reverse of the queue's.
    await db.knex.raw(
      `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, created_at, next_attempt_at)
       SELECT ?, ?, 'order-' || g, 'issues.opened', 'received', '{}', now() - make_interval(secs => g), now() - interval '1 hour'
         FROM generate_series(1, 5) AS g`,
      [webhook.id, org.org_id],
    );
    const claimed = await claimDeliveries(db.knex, "w", 10, 60);
    expect(claimed.map((d) => d.delivery_guid)).toEqual(["order-5", "order-4", "order-3", "order-2", "order-1"]);
    await db.knex("deliveries").where({ webhook_id: webhook.id }).delete();
  });

  it("claims the oldest due deliveries by reading the index in order, not by sorting the whole backlog", async () => {
    const { org, webhook } = await newWebhook("q");
    await db.knex.raw(
      `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, created_at)
       SELECT ?, ?, 'guid-' || g, 'issues.opened', CASE WHEN g % 10 = 0 THEN 'processed' ELSE 'received' END, '{}', now() - make_interval(secs => g)
         FROM generate_series(1, 20000) AS g`,
      [webhook.id, org.org_id],
    );
    await db.knex.raw("ANALYZE deliveries");
    const plan = (await db.knex.raw(`EXPLAIN (FORMAT JSON) ${CLAIM_DELIVERIES_SQL}`, [100, 60, "w"])).rows[0]["QUERY PLAN"];
    // Only the claimed rows are sorted (to hand them over in order), never the backlog they are picked from.
    const picked = JSON.stringify(findNode(plan[0].Plan, (node) => node["Subplan Name"] === "CTE picked"));
    expect(picked).toContain('"Index Name":"deliveries_pending_order_idx"');
    expect(picked).not.toContain('"Node Type":"Sort"');
  });
});

interface PlanNode {
  [key: string]: unknown;
  Plans?: PlanNode[];
}

function findNode(node: PlanNode, match: (node: PlanNode) => boolean): PlanNode | undefined {
  if (match(node)) return node;
  for (const child of node.Plans ?? []) {
    const found = findNode(child, match);
    if (found) return found;
  }
  return undefined;
}
