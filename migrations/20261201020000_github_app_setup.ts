import type { Knex } from "knex";

// GitHub App in one click (issue 16): the App's credentials as GitHub's manifest flow hands them
// over, sealed with ENCRYPTION_KEY so every instance reads them; and the single-use states that
// bind a manifest registration or an installation to the org that asked for it.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("github_app_credentials", (t) => {
    t.integer("id").primary().checkIn(["1"]);
    t.bigInteger("app_id").notNullable();
    t.text("slug").notNullable();
    t.text("name").notNullable();
    t.text("html_url").notNullable();
    t.text("client_id");
    t.text("pem_sealed").notNullable();
    t.text("webhook_secret_sealed").notNullable();
    t.text("client_secret_sealed");
    t.uuid("registered_by_org_id").references("orgs.id").onDelete("SET NULL");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable("github_setup_states", (t) => {
    // SHA-256 of the state: the state itself travels only through the browser.
    t.text("state_hash").primary();
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("purpose").notNullable().checkIn(["manifest", "install"]);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("used_at", { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("github_setup_states");
  await knex.schema.dropTableIfExists("github_app_credentials");
}
