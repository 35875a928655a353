import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationSource } from "../../src/db/migration-source.js";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

const NAME = "20261128009000_reviews";

describe(`migration ${NAME}`, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("allows one pending review per pull request, caches files per head SHA, and goes down and up again", async () => {
    const org = await bootstrapOrg(db.knex, { orgName: "m", teamName: "t", engineers: 1 });
    const review = { org_id: org.org_id, team_id: org.team_id, repository: "o/r", pull_number: 5, head_sha: "a", html_url: "https://github.com/o/r/pull/5" };
    const [first] = await db.knex("reviews").insert(review).returning(["id", "status", "comments", "linked_task_ids"]);
    expect(first).toMatchObject({ status: "pending", comments: [], linked_task_ids: [] });
    // Same PR, other case in the repository name: still the same pull request.
    await expect(db.knex("reviews").insert({ ...review, repository: "O/R", head_sha: "b" })).rejects.toThrow(/reviews_one_pending_idx/);
    await db.knex("reviews").where({ id: first.id }).update({ status: "outdated" });
    await db.knex("reviews").insert({ ...review, head_sha: "b" });
    await expect(db.knex("reviews").insert({ ...review, head_sha: "c", status: "approved" })).rejects.toThrow(/check/);

    const files = { org_id: org.org_id, repository: "o/r", pull_number: 5, head_sha: "b", files: JSON.stringify([{ filename: "a.ts" }]) };
    await db.knex("pull_request_files").insert(files);
    await expect(db.knex("pull_request_files").insert({ ...files, repository: "O/r" })).rejects.toThrow(/pull_request_files_key_idx/);

    await db.knex.migrate.down({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasTable("reviews")).toBe(false);
    expect(await db.knex.schema.hasTable("pull_request_files")).toBe(false);
    await db.knex.migrate.up({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasTable("reviews")).toBe(true);
  });
});
