import type { Knex } from "knex";
import type { Queryable } from "../../db/create-db.js";
import { OPEN_TASK_STATUSES, taskOutput, type TaskPriority, type TaskStatus, type TaskType } from "./tasks.schema.js";

import type { Task } from "./tasks.schema.js";

export type { Task };

type TaskRow = Omit<Task, "depends_on">;

/** The columns of a task row: its output schema's fields, but depends_on (a table of its own). */
const COLUMNS = Object.keys(taskOutput.shape).filter((field) => field !== "depends_on");

/**
 * A task's dependencies (ids ascending) as a column of its row, so that one SELECT or UPDATE …
 * RETURNING gives whole tasks rather than a second round trip after each.
 */
const DEPENDS_ON =
  "coalesce((SELECT array_agg(d.depends_on_id ORDER BY d.depends_on_id) FROM task_dependencies d WHERE d.task_id = tasks.id), '{}') AS depends_on";

/** A whole task's columns, for knex: its row's, any `extra`, and its dependencies. */
function taskColumns(db: Queryable, ...extra: string[]): (string | Knex.Raw)[] {
  return [...COLUMNS, ...extra, db.raw(DEPENDS_ON)];
}

/** The same, for the RETURNING of an `UPDATE tasks … FROM` written by hand (columns qualified). */
const RETURNING_TASK = [...COLUMNS.map((column) => `tasks.${column}`), DEPENDS_ON].join(", ");

export interface NewTask {
  org_id: string;
  team_id: string;
  parent_id?: number | null;
  title: string;
  description: string;
  priority: TaskPriority;
  task_type: TaskType;
  status?: TaskStatus;
  assignee_id?: string | null;
  tags: string[];
  source?: Record<string, unknown>;
  source_key?: string | null;
  source_updated_at?: Date | null;
}

export async function insertTask(db: Queryable, task: NewTask, dependsOn: number[] = []): Promise<Task> {
  const [row] = (await db("tasks")
    .insert({ ...task, source: JSON.stringify(task.source ?? {}) })
    .returning(COLUMNS)) as TaskRow[];
  if (dependsOn.length) {
    await db("task_dependencies").insert(dependsOn.map((id) => ({ task_id: row!.id, depends_on_id: id })));
  }
  return { ...row!, depends_on: [...dependsOn].sort((a, b) => a - b) };
}

/** Inserts tasks without dependencies in one statement; returned in the order given. */
export async function insertTasks(db: Queryable, tasks: NewTask[]): Promise<Task[]> {
  if (tasks.length === 0) return [];
  const rows = (await db("tasks")
    .insert(tasks.map((task) => ({ ...task, source: JSON.stringify(task.source ?? {}) })))
    .returning(COLUMNS)) as TaskRow[];
  // Identity ids are drawn in the order of the VALUES list.
  return rows.sort((a, b) => a.id - b.id).map((row) => ({ ...row, depends_on: [] }));
}

/** The tasks of an org with these source keys, by key, locked for the rest of the transaction. */
export async function lockTasksBySourceKeys(
  db: Queryable,
  orgId: string,
  sourceKeys: string[],
): Promise<Map<string, Task & { source_key: string; source_updated_at: Date | null }>> {
  if (sourceKeys.length === 0) return new Map();
  const rows = (await db("tasks")
    .select(taskColumns(db, "source_key", "source_updated_at"))
    .where({ org_id: orgId })
    .whereIn("source_key", sourceKeys)
    .forUpdate()) as (Task & { source_key: string; source_updated_at: Date | null })[];
  return new Map(rows.map((row) => [row.source_key, row]));
}

/** The tasks of an org with any of these source keys or ids, in id order, locked in that order. */
export async function lockTasksByKeysOrIds(db: Queryable, orgId: string, sourceKeys: string[], ids: number[]): Promise<(Task & { source_key: string | null })[]> {
  if (sourceKeys.length + ids.length === 0) return [];
  return (await db("tasks")
    .select(taskColumns(db, "source_key"))
    .where({ org_id: orgId })
    .where((q) => q.whereIn("source_key", sourceKeys).orWhereIn("id", ids))
    .orderBy("id")
    .forUpdate()) as (Task & { source_key: string | null })[];
}

/** One task of an org; `forUpdate` locks its row for the rest of the transaction. */
export async function findTask(
  db: Queryable,
  orgId: string,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<Task | undefined> {
  const q = db("tasks").select(taskColumns(db)).where({ org_id: orgId, id }).first();
  if (options.forUpdate) q.forUpdate();
  return (await q) as Task | undefined;
}

export interface TaskFilter {
  org_id: string;
  team_id?: string;
  status?: TaskStatus;
  assignee_id?: string;
  tag?: string;
  parent_id?: number;
  /** Keyset: only ids below this one. */
  before_id?: number;
  limit: number;
}

/** Tasks newest first (by id), filtered. */
export async function listTasks(db: Queryable, filter: TaskFilter): Promise<Task[]> {
  const q = db("tasks").select(taskColumns(db)).where({ org_id: filter.org_id }).orderBy("id", "desc").limit(filter.limit);
  if (filter.team_id) q.where("team_id", filter.team_id);
  if (filter.status) q.where("status", filter.status);
  if (filter.assignee_id) q.where("assignee_id", filter.assignee_id);
  if (filter.parent_id) q.where("parent_id", filter.parent_id);
  if (filter.tag) q.whereRaw("tags @> ARRAY[?]::text[]", [filter.tag]);
  if (filter.before_id) q.where("id", "<", filter.before_id);
  return (await q) as Task[];
}

/** Tasks of an org by id, in id order; `forUpdate` locks them in that order. */
export async function findTasksByIds(db: Queryable, orgId: string, ids: number[], options: { forUpdate?: boolean } = {}): Promise<Task[]> {
  if (ids.length === 0) return [];
  const q = db("tasks").select(taskColumns(db)).where("org_id", orgId).whereIn("id", ids).orderBy("id");
  if (options.forUpdate) q.forUpdate();
  return (await q) as Task[];
}

export async function listSubtasks(db: Queryable, orgId: string, parentId: number): Promise<Task[]> {
  return (await db("tasks").select(taskColumns(db)).where({ org_id: orgId, parent_id: parentId }).orderBy("id")) as Task[];
}

export async function updateTask(
  db: Queryable,
  orgId: string,
  id: number,
  changes: Partial<Pick<Task, "status" | "assignee_id" | "priority" | "title" | "description" | "task_type" | "tags" | "completed_at" | "source">> & {
    source_updated_at?: Date | null;
  },
): Promise<Task> {
  const values: Record<string, unknown> = { ...changes, updated_at: db.fn.now() };
  if (changes.source) values.source = JSON.stringify(changes.source);
  const [task] = (await db("tasks")
    .where({ org_id: orgId, id })
    .update(values)
    .returning(taskColumns(db))) as Task[];
  return task!;
}

/**
 * For each of these tasks of an org: how many times it was completed (kept on the task, counted by
 * the status UPDATE), and its sub-tasks' ids, in id order. One statement.
 */
export async function completionsAndSubtasks(db: Queryable, orgId: string, ids: number[]): Promise<Map<number, { completions: number; subtask_ids: number[] }>> {
  if (ids.length === 0) return new Map();
  const { rows } = (await db.raw(
    `SELECT t.id, t.completions,
            coalesce((SELECT array_agg(s.id ORDER BY s.id) FROM tasks s WHERE s.parent_id = t.id AND s.org_id = t.org_id), '{}') AS subtask_ids
       FROM tasks t
      WHERE t.org_id = ? AND t.id = ANY(?::int[])`,
    [orgId, ids],
  )) as { rows: { id: number; completions: number; subtask_ids: number[] }[] };
  return new Map(rows.map(({ id, completions, subtask_ids }) => [id, { completions, subtask_ids }]));
}

/**
 * Sets the status and completed_at of many tasks in one statement, counting each move to done,
 * and source_updated_at where one is given (null keeps it); returns them, in no particular order.
 */
export async function updateTaskStatuses(
  db: Queryable,
  changes: { org_id: string; id: number; status: TaskStatus; completed_at: Date | null; source_updated_at: Date | null }[],
): Promise<Task[]> {
  if (changes.length === 0) return [];
  const { rows } = await db.raw(
    `UPDATE tasks
        SET status = v.status, completed_at = v.completed_at, source_updated_at = coalesce(v.source_updated_at, tasks.source_updated_at),
            completions = tasks.completions + (v.status = 'done' AND tasks.status <> 'done')::int,
            updated_at = CURRENT_TIMESTAMP
       FROM unnest(?::uuid[], ?::int[], ?::text[], ?::timestamptz[], ?::timestamptz[]) AS v(org_id, id, status, completed_at, source_updated_at)
      WHERE tasks.org_id = v.org_id AND tasks.id = v.id
      RETURNING ${RETURNING_TASK}`,
    // A null in an array of dates is PostgreSQL's NULL; knex's binding type has no word for it.
    [
      changes.map((c) => c.org_id),
      changes.map((c) => c.id),
      changes.map((c) => c.status),
      changes.map((c) => c.completed_at) as Date[],
      changes.map((c) => c.source_updated_at) as Date[],
    ],
  );
  return rows as Task[];
}

/** Fields a rule may set on a task; one left out keeps its value. */
export interface TaskFieldChanges {
  title?: string;
  description?: string;
  priority?: TaskPriority;
  task_type?: TaskType;
  tags?: string[];
}

/**
 * Sets fields of many tasks in one statement, each task its own, and records the source's
 * updated_at last applied to each where one is given (null keeps it); returns them, in no
 * particular order.
 */
export async function updateTaskFields(
  db: Queryable,
  changes: { org_id: string; id: number; fields: TaskFieldChanges; source_updated_at: Date | null }[],
): Promise<Task[]> {
  if (changes.length === 0) return [];
  const column = (pick: (fields: TaskFieldChanges) => string | undefined) => changes.map((c) => pick(c.fields) ?? null) as string[];
  const { rows } = await db.raw(
    `UPDATE tasks
        SET title = coalesce(v.title, tasks.title), description = coalesce(v.description, tasks.description),
            priority = coalesce(v.priority, tasks.priority), task_type = coalesce(v.task_type, tasks.task_type),
            tags = CASE WHEN v.tags IS NULL THEN tasks.tags
                        ELSE ARRAY(SELECT tag FROM jsonb_array_elements_text(v.tags::jsonb) WITH ORDINALITY AS t(tag, n) ORDER BY n) END,
            source_updated_at = coalesce(v.source_updated_at, tasks.source_updated_at), updated_at = CURRENT_TIMESTAMP
       FROM unnest(?::uuid[], ?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[])
            AS v(org_id, id, title, description, priority, task_type, tags, source_updated_at)
      WHERE tasks.org_id = v.org_id AND tasks.id = v.id
      RETURNING ${RETURNING_TASK}`,
    [
      changes.map((c) => c.org_id),
      changes.map((c) => c.id),
      column((f) => f.title),
      column((f) => f.description),
      column((f) => f.priority),
      column((f) => f.task_type),
      column((f) => (f.tags ? JSON.stringify(f.tags) : undefined)),
      changes.map((c) => c.source_updated_at) as Date[],
    ],
  );
  return rows as Task[];
}

/** Status of each dependency of a task. */
export async function dependencyStatuses(db: Queryable, taskId: number): Promise<{ id: number; status: TaskStatus }[]> {
  return db("task_dependencies as d")
    .join("tasks as t", "t.id", "d.depends_on_id")
    .select("t.id", "t.status")
    .where("d.task_id", taskId)
    .orderBy("t.id");
}

/** Adds dependency edges (task_id waits for depends_on_id). */
export async function insertDependencies(db: Queryable, edges: { task_id: number; depends_on_id: number }[]): Promise<void> {
  if (edges.length) await db("task_dependencies").insert(edges);
}

/** The task mirroring a source (an issue, a custom sender's item), locked for update when asked. */
export async function findTaskBySourceKey(
  db: Queryable,
  orgId: string,
  sourceKey: string,
  options: { forUpdate?: boolean } = {},
): Promise<(Task & { source_updated_at: Date | null }) | undefined> {
  const q = db("tasks").select(taskColumns(db, "source_updated_at")).where({ org_id: orgId, source_key: sourceKey }).first();
  if (options.forUpdate) q.forUpdate();
  return (await q) as (Task & { source_updated_at: Date | null }) | undefined;
}

/** Whether the agent is the assignee of any open task. */
export async function holdsOpenTask(db: Queryable, agentId: string): Promise<boolean> {
  return Boolean(await db("tasks").where({ assignee_id: agentId }).whereIn("status", OPEN_TASK_STATUSES).first("id"));
}

/** The team's next unassigned auto-assign task to hand out (highest priority, then oldest), locked; SKIP LOCKED. */
export async function lockNextWaitingTask(db: Queryable, teamId: string): Promise<{ id: number; org_id: string } | undefined> {
  return (await db("tasks")
    .select("id", "org_id")
    .where({ team_id: teamId, status: "todo" })
    .whereNull("assignee_id")
    .whereRaw("source->>'auto_assign' = 'true'")
    // tasks_hand_out_idx holds the waiting tasks in this order: change both together.
    .orderByRaw("array_position(ARRAY['critical','high','medium','low']::text[], priority), created_at, id")
    .first()
    .forUpdate()
    .skipLocked()) as { id: number; org_id: string } | undefined;
}
