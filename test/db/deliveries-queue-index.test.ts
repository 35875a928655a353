import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { CLAIM_PLANNER_SETTINGS } from "../../src/db/run-claim.js";
import { claimDeliveries, claimDeliveriesStatement } from "../../src/features/webhooks/deliveries.store.js";
import { DeliveryWorker } from "../../src/features/webhooks/delivery-worker.js";
import { secondClaimReads } from "../helpers/second-claim-reads.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";
import { waitFor } from "../helpers/wait-for.js";

async function createWebhook(db: TestDatabase, name: string) {
  const org = await bootstrapOrg(db.knex, { orgName: name, teamName: "t", engineers: 0 });
  const [webhook] = await db
    .knex("webhooks")
    .insert({ org_id: org.org_id, provider: "github", events: ["*"], config: { team_id: org.team_id }, secret_sealed: "x", secret_hint: "x" })
    .returning("id");
  return { org, webhook };
}

describe("the delivery queue", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const newWebhook = (name: string) => createWebhook(db, name);

  it("hands claimed deliveries over oldest first, whatever order their rows lie in", async () => {
    const { org, webhook } = await newWebhook("order");
    // Stored newest first: the table's physical order is the reverse of the queue's.
    await db.knex.raw(
      `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, created_at, next_attempt_at)
       SELECT ?, ?, 'order-' || g, 'issues.opened', 'received', '{}', now() - make_interval(secs => g), now() - interval '1 hour'
         FROM generate_series(1, 5) AS g`,
      [webhook.id, org.org_id],
    );
    const claimed = await db.knex.transaction((trx) => claimDeliveries(trx, 10, { holdSeconds: 60 }));
    expect(claimed.map((d) => d.delivery_guid)).toEqual(["order-5", "order-4", "order-3", "order-2", "order-1"]);
    await db.knex("deliveries").where({ webhook_id: webhook.id }).delete();
  });

  it("claims for its transaction alone: the planner's settings end with the claim, the hold with the transaction", async () => {
    const { org, webhook } = await newWebhook("settings");
    await db.knex("deliveries").insert({ webhook_id: webhook.id, org_id: org.org_id, delivery_guid: "held", event_type: "issues.opened", status: "received", payload: "{}" });
    const settings = await db.knex.transaction(async (trx) => {
      const [claimed] = await claimDeliveries(trx, 10, { holdSeconds: 7 });
      expect(claimed?.delivery_guid).toBe("held");
      // Another transaction's claim skips the locked row.
      expect(await db.knex.transaction((other) => claimDeliveries(other, 10, { holdSeconds: 60 }))).toEqual([]);
      const show = async (name: string) => (await trx.raw(`SHOW ${name}`)).rows[0][name];
      return { bitmap: await show("enable_bitmapscan"), seq: await show("enable_seqscan"), hold: await show("idle_in_transaction_session_timeout") };
    });
    expect(settings).toEqual({ bitmap: "on", seq: "on", hold: "7s" });
    const after = (await db.knex.raw("SHOW idle_in_transaction_session_timeout")).rows[0].idle_in_transaction_session_timeout;
    expect(after).toBe("0");
    await expect(db.knex.transaction((trx) => claimDeliveries(trx, 1.5, { holdSeconds: 60 }))).rejects.toThrow(TypeError);
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
    const plan = await db.knex.transaction(async (trx) => {
      await trx.raw(CLAIM_PLANNER_SETTINGS); // as claimDeliveries sends it
      return (await trx.raw(`EXPLAIN (FORMAT JSON) ${claimDeliveriesStatement(100)}`)).rows[0]["QUERY PLAN"];
    });
    // The backlog is never sorted: the claim reads the pending index in queue order.
    const tree = JSON.stringify(plan[0].Plan);
    expect(tree).toContain('"Index Name":"deliveries_pending_order_idx"');
    expect(tree).not.toContain('"Node Type":"Sort"');
  });
});

describe("the delivery queue after traffic", () => {
  // A database of its own: the other tests leave deliveries pending.
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  // Every processed delivery leaves dead entries in the pending index until VACUUM. A claim must mark
  // them dead as it steps over them, or each claim reads all of them again and the queue slows with
  // traffic. Two ways that broke: a bitmap scan (the planner's choice when few rows are pending) never
  // marks entries dead, and a row locked by the transaction but updated in one of its savepoints gets
  // a multixact as xmax, which an index scan cannot judge dead.
  it("reads the entries of processed deliveries once, however many there are: the next claim skips them", async () => {
    const { org, webhook } = await createWebhook(db, "traffic");
    const insert = (prefix: string, count: number) =>
      db.knex.raw(
        `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, created_at, next_attempt_at)
         SELECT ?, ?, ? || g, 'issues.opened', 'received', '{}', now() - interval '1 hour' + make_interval(secs => g), now() - interval '1 hour'
           FROM generate_series(1, ?) AS g`,
        [webhook.id, org.org_id, prefix, count],
      );
    // A log long enough that the planner will not read the whole table for the claim.
    await db.knex.raw(
      `INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, created_at)
       SELECT ?, ?, 'log-' || g, 'issues.opened', 'processed', '{}', now() - interval '1 day' FROM generate_series(1, 20000) AS g`,
      [webhook.id, org.org_id],
    );
    const processed = 6000;
    await insert("old-", processed);
    // Processed as the worker does under load: groups of 25, each delivery in its savepoint.
    const worker = new DeliveryWorker({
      knex: db.knex,
      logger: pino({ level: "silent" }),
      workerId: "drainer",
      pollMs: 50,
      concurrency: 1,
      perTransaction: 25,
      processor: async () => ({ actions: [] }),
    });
    await worker.start();
    await waitFor(async () => Number((await db.knex("deliveries").where({ status: "processed" }).count({ n: "*" }))[0]!.n) === 20000 + processed, "the backlog processed", 30_000);
    await worker.stop();
    await insert("new-", 3);
    await db.knex.raw("ANALYZE deliveries"); // what autovacuum would have learnt: hardly anything is pending

    const { claimed, entries, blocks } = await secondClaimReads(db.knex, "deliveries_pending_order_idx", "deliveries", (trx, limit) =>
      claimDeliveries(trx, limit, { holdSeconds: 60 }),
    );
    // Both claims are the transaction's own: the second takes the first's row again.
    expect(claimed.map((d) => d.delivery_guid)).toEqual(["new-1", "new-2", "new-3"]);
    // The second claim reads the live entries, the dead ones on the one page the first claim wrote to
    // (their marks are not kept: the page changed under the scan) and a few pages; not the 12,000
    // entries of the processed deliveries, nor the whole table.
    expect(entries).toBeLessThan(300);
    expect(blocks).toBeLessThan(300);
  });
});
