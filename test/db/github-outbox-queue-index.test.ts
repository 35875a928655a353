import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimGithubActions } from "../../src/features/github/github-outbox.store.js";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

// The GitHub outbox has the shape of the delivery queue (a partial index of pending rows read in
// order, a lease): each row sent leaves a dead entry in that index until VACUUM, and a claim must mark
// such entries dead as it passes, or every claim reads all of them again
// (test/db/deliveries-queue-index.test.ts has the delivery queue's own test).
describe("the GitHub outbox after traffic", () => {
  const sent = 6000;
  let db: TestDatabase;
  let orgId: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    orgId = (await bootstrapOrg(db.knex, { orgName: "queues", teamName: "t", engineers: 0 })).org_id;
  });
  afterAll(() => db.drop());

  /** What the second of two claims in one transaction reads of `index` and `table`, and what it claims. */
  async function secondClaim(index: string, table: string, claim: (trx: Knex.Transaction, limit: number) => Promise<unknown[]>) {
    return db.knex.transaction(async (trx) => {
      const counters = async () => {
        const row = (
          await trx.raw(`SELECT pg_stat_get_xact_tuples_returned(?::regclass) AS entries, pg_stat_get_xact_blocks_fetched(?::regclass) AS blocks`, [index, table])
        ).rows[0];
        return { entries: Number(row.entries), blocks: Number(row.blocks) };
      };
      // A planner that would rather not read the index in order (random pages made dear).
      await trx.raw("SET LOCAL random_page_cost = 1000");
      await claim(trx, 1);
      const before = await counters();
      const claimed = await claim(trx, 10);
      const after = await counters();
      return { claimed: claimed.length, entries: after.entries - before.entries, blocks: after.blocks - before.blocks };
    });
  }

  it("GitHub outbox: a claim reads the pending rows, not every one sent since the last VACUUM", async () => {
    const insert = (prefix: string, count: number) =>
      db.knex.raw(
        `INSERT INTO github_outbox (org_id, kind, repository, dedupe_key, request, next_attempt_at)
         SELECT ?, 'issue_comment', 'octo/repo', ? || g, '{}', now() - interval '1 hour' + make_interval(secs => g) FROM generate_series(1, ?) AS g`,
        [orgId, prefix, count],
      );
    await insert("sent-", sent);
    await db.knex("github_outbox").update({ status: "sent", sent_at: db.knex.fn.now() });
    await insert("new-", 3);
    await db.knex.raw("ANALYZE github_outbox");

    const read = await secondClaim("github_outbox_pending_idx", "github_outbox", (trx, limit) => claimGithubActions(trx, "sender", limit, 60_000));
    expect(read.claimed).toBe(2);
    expect(read.entries).toBeLessThan(300);
    expect(read.blocks).toBeLessThan(300);
  });
});
