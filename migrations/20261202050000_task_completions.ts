import type { Knex } from "knex";

// The round in the dedupe key of a finished task's comment on its issue ("resolution:<task>:<round>")
// was its task.completed events counted. Retention prunes events after EVENT_RETENTION_DAYS but keeps
// the GitHub outbox's rows for DELIVERY_RETENTION_DAYS: a task finished again in between counted
// fewer rounds, took a key already used, and its comment was never posted. The task now counts its
// own completions. Existing tasks start from the most of: their task.completed events, the highest
// round already queued for them, and 1 when done.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE tasks ADD COLUMN completions integer NOT NULL DEFAULT 0");
  await knex.raw(`
    UPDATE tasks t SET completions = c.n
      FROM (SELECT x.org_id, x.id, greatest(
              (SELECT count(*) FROM events e WHERE e.org_id = x.org_id AND e.type = 'task.completed' AND e.data->>'task_id' = x.id::text),
              (SELECT max(split_part(o.dedupe_key, ':', 3)::int) FROM github_outbox o
                WHERE o.org_id = x.org_id AND o.task_id = x.id AND o.dedupe_key ~ '^resolution:[0-9]+:[0-9]{1,9}$'),
              CASE WHEN x.status = 'done' THEN 1 ELSE 0 END) AS n
              FROM tasks x) AS c
     WHERE t.org_id = c.org_id AND t.id = c.id AND c.n > 0`);
  // Only that count used this index.
  await knex.raw("DROP INDEX events_task_completions_idx");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("CREATE INDEX events_task_completions_idx ON events (org_id, (data->>'task_id')) WHERE type = 'task.completed'");
  await knex.raw("ALTER TABLE tasks DROP COLUMN completions");
}
