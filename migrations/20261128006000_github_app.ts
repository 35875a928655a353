import type { Knex } from "knex";

// The GitHub App door: where the App is installed, what arrived that no webhook routes, and
// the missed-delivery recovery's memory (what it asked GitHub to redeliver, how far back it looked).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("github_installations", (t) => {
    // GitHub's installation id.
    t.bigInteger("id").primary();
    t.text("account_login").notNullable();
    t.text("account_type");
    t.text("repository_selection");
    t.timestamp("suspended_at", { useTz: true });
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable("github_installation_repositories", (t) => {
    t.bigInteger("installation_id").notNullable().references("github_installations.id").onDelete("CASCADE");
    t.bigInteger("repository_id").notNullable();
    // owner/name as GitHub spells it; matched case-insensitively.
    t.text("full_name").notNullable();
    t.timestamp("added_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["installation_id", "repository_id"]);
  });
  await knex.raw("CREATE INDEX github_installation_repositories_name_idx ON github_installation_repositories (lower(full_name))");

  // App deliveries that matched no webhook: org-less, kept so nothing is dropped silently.
  await knex.schema.createTable("unrouted_deliveries", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.text("delivery_guid").notNullable().unique();
    t.bigInteger("installation_id");
    t.text("repository");
    t.text("event_type").notNullable();
    t.jsonb("payload_summary").notNullable().defaultTo("{}");
    t.text("payload").notNullable();
    t.jsonb("headers").notNullable().defaultTo("{}");
    t.timestamp("received_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["installation_id"]);
    t.index(["received_at"]);
  });

  // One row per GUID ever asked for: the recovery never asks GitHub twice for the same delivery.
  await knex.schema.createTable("github_redelivery_requests", (t) => {
    t.text("delivery_guid").primary();
    t.bigInteger("hook_delivery_id").notNullable();
    t.text("event_type");
    t.timestamp("failed_at", { useTz: true });
    t.timestamp("requested_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.integer("status_code");
    t.text("error");
  });

  // The recovery asks "do we have this GUID?" across every webhook.
  await knex.raw("CREATE INDEX deliveries_guid_idx ON deliveries (delivery_guid)");

  await knex.schema.createTable("github_recovery_state", (t) => {
    t.integer("id").primary().checkIn(["1"]);
    // Deliveries attempted before this were looked at by an earlier pass.
    t.timestamp("checked_through", { useTz: true }).notNullable();
    t.timestamp("last_run_at", { useTz: true }).notNullable();
    t.text("last_error");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("github_recovery_state");
  await knex.raw("DROP INDEX IF EXISTS deliveries_guid_idx");
  await knex.schema.dropTableIfExists("github_redelivery_requests");
  await knex.schema.dropTableIfExists("unrouted_deliveries");
  await knex.schema.dropTableIfExists("github_installation_repositories");
  await knex.schema.dropTableIfExists("github_installations");
}
