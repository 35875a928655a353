import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimGithubActions } from "../../src/features/github/github-outbox.store.js";
import { claimDueDeliveries } from "../../src/features/notifications/outbound-deliveries.store.js";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { secondClaimReads } from "../helpers/second-claim-reads.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

// The outbound and GitHub outbox queues have the delivery queue's shape (a partial index of pending
// rows read in order, a lease): each row sent leaves a dead entry in that index until VACUUM, and a
// claim must mark such entries dead as it passes, or every claim reads all of them again
// (test/db/deliveries-queue-index.test.ts has the delivery queue's own test).
describe("the outbound and GitHub outbox queues after traffic", () => {
  const sent = 6000;
  let db: TestDatabase;
  let orgId: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    orgId = (await bootstrapOrg(db.knex, { orgName: "queues", teamName: "t", engineers: 0 })).org_id;
  });
  afterAll(() => db.drop());

  // Rows sent since the last VACUUM (their entries dead, all due before the pending ones), a long log
  // of older rows (so that reading the whole table is dear), then three pending rows.
  const timeOf = { log: "now() - interval '3 hours'", sent: "now() - interval '2 hours' + make_interval(secs => g)", pending: "now() - interval '1 minute' + make_interval(secs => g)" };

  it("outbound deliveries: a claim reads the pending ones, not every one sent since the last VACUUM", async () => {
    const [endpoint] = await db
      .knex("outbound_webhooks")
      .insert({ org_id: orgId, url: "http://127.0.0.1:9/hook", events: ["*"], secret_sealed: "x", secret_hint: "x" })
      .returning("id");
    const [event] = await db.knex("events").insert({ org_id: orgId, type: "task.created", data: {} }).returning("id");
    const insert = (count: number, status: string, at: string) =>
      db.knex.raw(
        `INSERT INTO outbound_deliveries (org_id, endpoint_id, event_id, event_type, body, status, next_attempt_at)
         SELECT ?, ?, ?, 'task.created', '{}', ?, ${at} FROM generate_series(1, ?) AS g`,
        [orgId, endpoint.id, event.id, status, count],
      );
    await insert(20_000, "delivered", timeOf.log);
    await insert(sent, "pending", timeOf.sent);
    await db.knex("outbound_deliveries").where({ status: "pending" }).update({ status: "delivered", delivered_at: db.knex.fn.now() });
    await insert(3, "pending", timeOf.pending);
    await db.knex.raw("ANALYZE outbound_deliveries"); // hardly anything pending, as autovacuum would learn

    const read = await secondClaimReads(db.knex, "outbound_deliveries_due_idx", "outbound_deliveries", (trx, limit) =>
      claimDueDeliveries(trx, { limit, leaseMs: 60_000, excludeEndpoints: [] }),
    );
    expect(read.claimed).toHaveLength(2);
    expect(read.entries).toBeLessThan(300);
    expect(read.blocks).toBeLessThan(300);
  });

  it("GitHub outbox: a claim reads the pending rows, not every one sent since the last VACUUM", async () => {
    const insert = (prefix: string, count: number, status: string, at: string) =>
      db.knex.raw(
        `INSERT INTO github_outbox (org_id, kind, repository, dedupe_key, request, status, next_attempt_at)
         SELECT ?, 'issue_comment', 'octo/repo', ? || g, '{}', ?, ${at} FROM generate_series(1, ?) AS g`,
        [orgId, prefix, status, count],
      );
    await insert("log-", 20_000, "sent", timeOf.log);
    await insert("sent-", sent, "pending", timeOf.sent);
    await db.knex("github_outbox").where({ status: "pending" }).update({ status: "sent", sent_at: db.knex.fn.now() });
    await insert("new-", 3, "pending", timeOf.pending);
    await db.knex.raw("ANALYZE github_outbox");

    const read = await secondClaimReads(db.knex, "github_outbox_pending_idx", "github_outbox", (trx, limit) => claimGithubActions(trx, "sender", limit, 60_000));
    expect(read.claimed).toHaveLength(2);
    expect(read.entries).toBeLessThan(300);
    expect(read.blocks).toBeLessThan(300);
  });
});
