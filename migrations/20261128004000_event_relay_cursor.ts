import type { Knex } from "knex";

// Where the shared (Redis) relay has published up to, so a new leader resumes instead of
// skipping or replaying history, and SSE streams know which ids are settled.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("event_relay_cursors", (t) => {
    t.text("name").primary();
    t.bigInteger("last_id").notNullable();
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("event_relay_cursors");
}
