import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("tasks", (t) => {
    // What the task mirrors ("github:issue:owner/repo#42", "custom:<webhook>:<external id>"): one task per source.
    t.text("source_key");
    // The source's own updated_at as last applied, so an older event never overwrites a newer state.
    t.timestamp("source_updated_at", { useTz: true });
  });
  await knex.raw("CREATE UNIQUE INDEX tasks_source_key_idx ON tasks (org_id, source_key) WHERE source_key IS NOT NULL");
  // Hand-out queue: unassigned tasks waiting for an engineer.
  await knex.raw("CREATE INDEX tasks_waiting_idx ON tasks (team_id, created_at) WHERE assignee_id IS NULL AND status = 'todo'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS tasks_waiting_idx");
  await knex.raw("DROP INDEX IF EXISTS tasks_source_key_idx");
  await knex.schema.alterTable("tasks", (t) => {
    t.dropColumn("source_updated_at");
    t.dropColumn("source_key");
  });
}
