import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDown, migrateLatest } from "../../src/db/migrate.js";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

describe("migrations", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("roll all the way down with data present, and back up", async () => {
    const org = await bootstrapOrg(db.knex, { orgName: "m", teamName: "t", engineers: 1 });
    await db.knex("tasks").insert({ org_id: org.org_id, team_id: org.team_id, title: "kept until rollback" });

    const reverted = await migrateDown(db.knex);
    expect(reverted.length).toBeGreaterThan(0);
    const tables = await db.knex.raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'knex_%'");
    expect(tables.rows).toEqual([]);

    const applied = await migrateLatest(db.knex);
    expect(applied).toEqual(reverted.slice().reverse());
    const again = await bootstrapOrg(db.knex, { orgName: "m2", teamName: "t", engineers: 0 });
    expect(again.org_id).toBeTruthy();
  });

  it("refuse values outside the vocabulary", async () => {
    const org = await bootstrapOrg(db.knex, { orgName: "v", teamName: "t", engineers: 0 });
    await expect(db.knex("tasks").insert({ org_id: org.org_id, team_id: org.team_id, title: "x", status: "sleeping" })).rejects.toThrow(/check constraint/);
    await expect(
      db.knex("agents").insert({ org_id: org.org_id, team_id: org.team_id, name: "a", role: "overlord" }),
    ).rejects.toThrow(/check constraint/);
  });
});
