import type { Knex } from "knex";

// Each engineer that finishes a task asks for its team's next waiting auto-assign task (highest
// priority, then oldest), and each release first asks whether the engineer still holds an open task.
// Indexed on (team_id, created_at) and on assignee_id alone, both read every waiting task of the team,
// or every task the engineer ever had: a completion cost more the longer the queue and the history.
// These indexes hold the waiting tasks in hand-out order and the open tasks by assignee, so each
// reads what it returns. The hand-out's ORDER BY (tasks.store.ts) must stay this index's expression.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `CREATE INDEX tasks_hand_out_idx ON tasks (team_id, array_position(ARRAY['critical','high','medium','low']::text[], priority), created_at, id)
       WHERE assignee_id IS NULL AND status = 'todo' AND source->>'auto_assign' = 'true'`,
  );
  await knex.raw("DROP INDEX tasks_waiting_idx");
  // Only assigned open tasks: a few per agent, however long the history. An index of all open tasks
  // (unassigned ones too) was not enough: the planner, which cannot tell how an engineer's tasks split
  // between open and done, still read the table from the start in search of one.
  await knex.raw(
    "CREATE INDEX tasks_open_assignee_idx ON tasks (assignee_id) WHERE assignee_id IS NOT NULL AND status IN ('todo', 'in_progress', 'in_review')",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX tasks_open_assignee_idx");
  await knex.raw("CREATE INDEX tasks_waiting_idx ON tasks (team_id, created_at) WHERE assignee_id IS NULL AND status = 'todo'");
  await knex.raw("DROP INDEX tasks_hand_out_idx");
}
