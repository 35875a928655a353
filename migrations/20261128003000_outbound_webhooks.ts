import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("outbound_webhooks", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.uuid("team_id").references("teams.id").onDelete("CASCADE");
    t.text("url").notNullable();
    t.specificType("events", "text[]").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.boolean("active").notNullable().defaultTo(true);
    // Sealed with the ENCRYPTION_KEY (secret-box); never stored in clear.
    t.text("secret_sealed").notNullable();
    t.text("secret_hint").notNullable();
    t.text("previous_secret_sealed");
    t.timestamp("previous_secret_expires_at", { useTz: true });
    t.text("api_key_sealed");
    t.timestamp("failing_since", { useTz: true });
    t.timestamp("disabled_at", { useTz: true });
    t.text("disabled_reason");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["org_id", "created_at", "id"]);
  });

  // The outbox: one row per (event, endpoint), written in the transaction of the change.
  await knex.schema.createTable("outbound_deliveries", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.uuid("endpoint_id").notNullable().references("outbound_webhooks.id").onDelete("CASCADE");
    t.bigInteger("event_id").notNullable().references("events.id").onDelete("CASCADE");
    t.text("event_type").notNullable();
    // The exact bytes every attempt sends and signs.
    t.text("body").notNullable();
    t.text("status").notNullable().defaultTo("pending").checkIn(["pending", "delivered", "failed"]);
    t.integer("attempt_count").notNullable().defaultTo(0);
    // Position in the retry schedule; redeliver resets it.
    t.integer("retry_index").notNullable().defaultTo(0);
    t.timestamp("next_attempt_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Lease of the sender that claimed it: a crashed sender's rows come back once it expires.
    t.timestamp("locked_until", { useTz: true });
    t.uuid("claim_token");
    t.integer("last_status_code");
    t.text("last_error");
    t.timestamp("delivered_at", { useTz: true });
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(["endpoint_id", "event_id", "id"]);
    t.index(["event_id"]);
  });
  await knex.raw("CREATE INDEX outbound_deliveries_due_idx ON outbound_deliveries (next_attempt_at) WHERE status = 'pending'");

  await knex.schema.createTable("outbound_delivery_attempts", (t) => {
    t.bigIncrements("id").primary();
    t.uuid("delivery_id").notNullable().references("outbound_deliveries.id").onDelete("CASCADE");
    t.timestamp("attempted_at", { useTz: true }).notNullable();
    t.integer("duration_ms").notNullable();
    t.integer("status_code");
    t.text("response_excerpt");
    t.text("error");
    t.timestamp("next_retry_at", { useTz: true });
    t.index(["delivery_id", "id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ["outbound_delivery_attempts", "outbound_deliveries", "outbound_webhooks"]) {
    await knex.schema.dropTableIfExists(table);
  }
}
