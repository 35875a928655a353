import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("webhooks", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("name").notNullable().defaultTo("");
    t.text("provider").notNullable().checkIn(["github", "custom"]);
    t.specificType("events", "text[]").notNullable();
    t.jsonb("config").notNullable().defaultTo("{}");
    t.boolean("active").notNullable().defaultTo(true);
    t.text("secret_sealed").notNullable();
    t.text("secret_hint").notNullable();
    t.text("previous_secret_sealed");
    t.timestamp("previous_secret_expires_at", { useTz: true });
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["org_id"]);
  });

  await knex.schema.createTable("deliveries", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("webhook_id").notNullable().references("webhooks.id").onDelete("CASCADE");
    t.uuid("org_id").notNullable();
    t.text("delivery_guid").notNullable();
    t.text("event_type").notNullable();
    t.text("status").notNullable().checkIn(["received", "processed", "failed", "ignored", "rejected"]);
    // The document as received (JSON text; form bodies are stored decoded). Parsed by the worker, not on the ack path.
    t.text("payload");
    t.jsonb("headers").notNullable().defaultTo("{}");
    t.jsonb("payload_summary").notNullable().defaultTo("{}");
    t.jsonb("actions").notNullable().defaultTo("[]");
    t.text("error");
    t.integer("attempts").notNullable().defaultTo(0);
    t.timestamp("next_attempt_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("locked_until", { useTz: true });
    t.text("locked_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("processed_at", { useTz: true });
    t.index(["webhook_id", "created_at"]);
  });
  // Replay protection: one delivery per GUID per webhook (rejected requests carry a synthetic GUID).
  await knex.raw("CREATE UNIQUE INDEX deliveries_webhook_guid_idx ON deliveries (webhook_id, delivery_guid)");
  // The queue: only pending deliveries are indexed, so claiming stays cheap however long the log grows.
  await knex.raw("CREATE INDEX deliveries_pending_idx ON deliveries (next_attempt_at) WHERE status = 'received'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("deliveries");
  await knex.schema.dropTableIfExists("webhooks");
}
