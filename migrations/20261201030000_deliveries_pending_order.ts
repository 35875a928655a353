import type { Knex } from "knex";

// The claim takes the oldest due deliveries (ORDER BY next_attempt_at, created_at LIMIT n). Indexed on
// next_attempt_at alone, PostgreSQL read and sorted the whole backlog for every claim; with both
// columns it reads the first n entries in order.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("CREATE INDEX deliveries_pending_order_idx ON deliveries (next_attempt_at, created_at) WHERE status = 'received'");
  await knex.raw("DROP INDEX deliveries_pending_idx");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("CREATE INDEX deliveries_pending_idx ON deliveries (next_attempt_at) WHERE status = 'received'");
  await knex.raw("DROP INDEX deliveries_pending_order_idx");
}
