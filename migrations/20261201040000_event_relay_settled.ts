import type { Knex } from "knex";

// The shared relay records two ids: how far it has published (last_id, where a new leader resumes)
// and, before it publishes, how far the table is final (settled_id, where a new SSE stream starts).
// With only the first, a stream opened between a publish and the write after it started too early
// and was sent an event that happened before it connected.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE event_relay_cursors ADD COLUMN settled_id bigint");
  await knex.raw("UPDATE event_relay_cursors SET settled_id = last_id");
  await knex.raw("ALTER TABLE event_relay_cursors ALTER COLUMN settled_id SET NOT NULL");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE event_relay_cursors DROP COLUMN settled_id");
}
