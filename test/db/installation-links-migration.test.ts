import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationSource } from "../../src/db/migration-source.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

const NAME = "20261201010000_installation_links";

describe(`migration ${NAME}`, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("records the oldest org as the instance org, leaves existing rows unlinked and received by hand, and goes down and up again with the data", async () => {
    await db.knex.migrate.down({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasTable("entourage_instance")).toBe(false);
    // Rows as they were before the migration: two orgs (the first one older), an installation, a webhook and a delivery.
    const [first] = await db.knex("orgs").insert({ name: "first", created_at: new Date("2026-01-01T00:00:00Z") }).returning("id");
    const [second] = await db.knex("orgs").insert({ name: "second", created_at: new Date("2026-02-01T00:00:00Z") }).returning("id");
    const [team] = await db.knex("teams").insert({ org_id: second.id, name: "t" }).returning("id");
    await db.knex("github_installations").insert({ id: 42, account_login: "acme" });
    const [webhook] = await db
      .knex("webhooks")
      .insert({ org_id: second.id, provider: "github", events: ["issues.*"], config: JSON.stringify({ team_id: team.id, installation_id: 42 }), secret_sealed: "x", secret_hint: "whsec_…x" })
      .returning("id");
    await db.knex("deliveries").insert({ webhook_id: webhook.id, org_id: second.id, delivery_guid: "g-1", event_type: "issues.opened", status: "processed", payload: "{}" });

    await db.knex.migrate.up({ migrationSource, name: NAME });
    expect(await db.knex("entourage_instance").select("id", "org_id")).toEqual([{ id: 1, org_id: first.id }]);
    expect(await db.knex("github_installations").where({ id: 42 }).first()).toMatchObject({ account_login: "acme", org_id: null, team_id: null, linked_at: null });
    expect(await db.knex("webhooks").where({ id: webhook.id }).first()).toMatchObject({ first_repository: null });
    expect(await db.knex("deliveries").where({ delivery_guid: "g-1" }).first()).toMatchObject({ via: "receive" });
    await expect(db.knex("deliveries").where({ delivery_guid: "g-1" }).update({ via: "smuggled" })).rejects.toThrow(/check/);
    await expect(db.knex("entourage_instance").insert({ id: 2, org_id: second.id })).rejects.toThrow(/check/);

    // A link follows its org and team: deleting the team unlinks the team only, deleting the org the link.
    await db.knex("github_installations").where({ id: 42 }).update({ org_id: second.id, team_id: team.id, linked_at: new Date() });
    await db.knex("teams").where({ id: team.id }).delete();
    expect(await db.knex("github_installations").where({ id: 42 }).first()).toMatchObject({ org_id: second.id, team_id: null });

    await db.knex.migrate.down({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasTable("entourage_instance")).toBe(false);
    expect(await db.knex.schema.hasColumn("github_installations", "org_id")).toBe(false);
    expect(await db.knex.schema.hasColumn("deliveries", "via")).toBe(false);
    expect(await db.knex.schema.hasColumn("webhooks", "first_repository")).toBe(false);
    expect(await db.knex("github_installations").where({ id: 42 }).first()).toMatchObject({ account_login: "acme" });
    expect(await db.knex("deliveries").where({ delivery_guid: "g-1" }).first()).toMatchObject({ status: "processed" });

    await db.knex.migrate.up({ migrationSource, name: NAME });
    expect(await db.knex("entourage_instance").pluck("org_id")).toEqual([first.id]);
  });
});
