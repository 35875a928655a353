import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import pg from "pg";
import { inject } from "vitest";
import { createKnex } from "../../src/db/create-db.js";

export interface TestDatabase {
  url: string;
  knex: Knex;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject("databaseAdminUrl");
  const template = inject("templateDatabase");
  const name = `entourage_t${randomBytes(6).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const knex = createKnex(url.toString(), 10);
  return {
    url: url.toString(),
    knex,
    async drop() {
      await knex.destroy();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** An org, a team and a GitHub webhook inserted as rows (no secret that opens): for tests of the delivery tables. */
export async function insertWebhookRows(db: TestDatabase): Promise<{ orgId: string; webhookId: string }> {
  const [org] = await db.knex("orgs").insert({ name: "acme" }).returning("id");
  const [team] = await db.knex("teams").insert({ org_id: org.id, name: "t" }).returning("id");
  const [webhook] = await db
    .knex("webhooks")
    .insert({ org_id: org.id, provider: "github", events: ["*"], config: JSON.stringify({ team_id: team.id }), secret_sealed: "x", secret_hint: "whsec_…x" })
    .returning("id");
  return { orgId: org.id, webhookId: webhook.id };
}
