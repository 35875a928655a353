import type { Knex } from "knex";

/** A task's events of one type, oldest first, each as its details: without `task_id` and the task snapshot it carries. */
export async function taskEventDetails(knex: Knex, taskId: number, type: string): Promise<Record<string, unknown>[]> {
  const rows = await knex("events").where({ type }).whereRaw("(data->>'task_id')::int = ?", [taskId]).orderBy("id");
  return rows.map(({ data: { task: _snapshot, task_id: _id, ...details } }) => details);
}
