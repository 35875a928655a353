import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationSource } from "../../src/db/migration-source.js";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

const NAME = "20261201020000_github_app_setup";

describe(`migration ${NAME}`, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("keeps one App and single-use states bound to an org, and goes down and up again", async () => {
    const org = await bootstrapOrg(db.knex, { orgName: "m", teamName: "t", engineers: 0 });
    const app = { app_id: 1, slug: "s", name: "n", html_url: "https://github.com/apps/s", pem_sealed: "v1.x", webhook_secret_sealed: "v1.y", registered_by_org_id: org.org_id };
    await db.knex("github_app_credentials").insert({ id: 1, ...app });
    await expect(db.knex("github_app_credentials").insert({ id: 2, ...app })).rejects.toThrow(/check/);
    await db.knex("github_setup_states").insert({ state_hash: "h", org_id: org.org_id, purpose: "install", expires_at: new Date(Date.now() + 1000) });
    await expect(db.knex("github_setup_states").insert({ state_hash: "h2", org_id: org.org_id, purpose: "anything", expires_at: new Date() })).rejects.toThrow(/check/);
    // A state dies with its org; the App stays (its registrant forgotten).
    await db.knex("orgs").where({ id: org.org_id }).delete();
    expect(await db.knex("github_setup_states")).toEqual([]);
    expect(await db.knex("github_app_credentials").first()).toMatchObject({ slug: "s", registered_by_org_id: null });

    await db.knex.migrate.down({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasTable("github_app_credentials")).toBe(false);
    expect(await db.knex.schema.hasTable("github_setup_states")).toBe(false);
    await db.knex.migrate.up({ migrationSource, name: NAME });
    expect(await db.knex("github_app_credentials")).toEqual([]);
  });
});
