import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapOrg, type BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { listPullRequestsReviews } from "../../src/features/reviews/reviews.store.js";
import { pagesRead } from "../helpers/pages-read.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

// A batch of pull request events reads their reviews in one statement. With many reviews stored it
// must cost what their own reviews cost (reviews_pull_idx), not a pass over every review ever made.
// (On a small table, 3,000 reviews, the planner rightly prefers one scan of it to 25 index probes.)
describe("the reviews of many pull requests, read at once", () => {
  let db: TestDatabase;
  let org: BootstrapResult;
  const count = 6000;

  beforeAll(async () => {
    db = await createTestDatabase();
    org = await bootstrapOrg(db.knex, { orgName: "busy", teamName: "t", engineers: 0 });
    await db.knex.raw(
      `INSERT INTO reviews (org_id, team_id, repository, pull_number, head_sha, html_url, status)
       SELECT :org, :team, 'Acme/Widgets', g, md5(g::text), 'https://github.com/acme/widgets/pull/' || g, 'cancelled'
         FROM generate_series(1, :count) AS g`,
      { org: org.org_id, team: org.team_id, count },
    );
    await db.knex.raw("ANALYZE reviews");
  }, 60_000);
  afterAll(() => db.drop());

  it("reads 25 pull requests' reviews through the index, locked, each pull request's in order", async () => {
    const numbers = Array.from({ length: 25 }, (_, i) => 3000 + i * 7);
    // The repository as the payloads spell it, in another case than stored.
    const refs = numbers.map((pull_number) => ({ org_id: org.org_id, repository: "acme/widgets", pull_number }));
    const { result, pages } = await pagesRead(db.knex, "reviews", (trx) => listPullRequestsReviews(trx, refs, { forUpdate: true }));
    expect(result.map((reviews) => reviews.map((review) => review.pull_number))).toEqual(numbers.map((n) => [n]));
    expect(pages).toBeLessThan(60);
  });
});
