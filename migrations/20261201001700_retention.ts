import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  // Retention walks deliveries oldest first in small batches; (created_at, id) is its keyset.
  await knex.raw("CREATE INDEX deliveries_created_at_idx ON deliveries (created_at, id)");
  // What retention has removed for good: `events` is the highest event id pruned, so an SSE client
  // resuming from below it is told to reload instead of silently missing events.
  await knex.schema.createTable("retention_state", (t) => {
    t.text("name").primary();
    t.bigInteger("value").notNullable().defaultTo(0);
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists("retention_state");
  await knex.raw("DROP INDEX IF EXISTS deliveries_created_at_idx");
}
