import type { Knex } from "knex";
import type { Queryable } from "../../db/create-db.js";
import { ConflictError, InputError, NotFoundError } from "../../errors.js";
import { appendEvents, type DomainEventInput } from "../events/events.store.js";
import { listGithubActions } from "../github/github-outbox.store.js";
import { findAgent, findTeam, findTeamsByIds } from "../teams/teams.store.js";
import { occupyAgent, releaseAgent } from "../teams/agent-pool.js";
import { runTaskDoneHook } from "./task-done-hook.js";
import { taskEvent } from "./task-event.js";
import { isOpenStatus, TASK_TRANSITIONS, type TaskPriority, type TaskDetail, type TaskStatus, type UpdateTaskBody } from "./tasks.schema.js";
import {
  dependencyStatuses,
  findTask,
  findTasksByIds,
  insertTask,
  insertTasks,
  listSubtasks,
  updateTask,
  updateTaskStatuses,
  type NewTask,
  type Task,
} from "./tasks.store.js";

export interface CreateTaskInput extends Omit<NewTask, "org_id"> {
  depends_on?: number[];
}

/** Creates a task (and its dependency links) with `task.created` (and `task.assigned`) events. */
export async function createTask(trx: Queryable, orgId: string, input: CreateTaskInput): Promise<Task> {
  const { depends_on: dependsOn = [], ...fields } = input;
  if (!(await findTeam(trx, orgId, fields.team_id))) {
    throw new InputError("Invalid request", [{ field: "team_id", message: "no such team in this org" }], "validation_failed");
  }
  if (fields.parent_id && !(await findTask(trx, orgId, fields.parent_id))) {
    throw new InputError("Invalid request", [{ field: "parent_id", message: `task #${fields.parent_id} not found` }], "validation_failed");
  }
  const uniqueDeps = [...new Set(dependsOn)];
  const found = await findTasksByIds(trx, orgId, uniqueDeps);
  const missing = uniqueDeps.filter((id) => !found.some((task) => task.id === id));
  if (missing.length) {
    throw new InputError("Invalid request", [{ field: "depends_on", message: `tasks not found: ${missing.map((id) => `#${id}`).join(", ")}` }], "validation_failed");
  }
  if (fields.assignee_id) await requireAgent(trx, orgId, fields.assignee_id);

  const task = await insertTask(trx, { ...fields, org_id: orgId }, uniqueDeps);
  const events: DomainEventInput[] = [taskEvent(task, "task.created", {})];
  if (task.assignee_id) events.push(taskEvent(task, "task.assigned", { assignee_id: task.assignee_id }));
  await appendEvents(trx, events);
  if (task.assignee_id && isOpenStatus(task.status)) await occupyAgent(trx, task.assignee_id);
  return task;
}

/**
 * createTask for many tasks at once, each in its org, with neither parent, dependencies nor
 * assignee: one team lookup, one INSERT and one events append for all of them.
 */
export async function createTasks(trx: Queryable, tasks: (Omit<NewTask, "parent_id" | "assignee_id">)[]): Promise<Task[]> {
  const teams = await findTeamsByIds(trx, [...new Set(tasks.map((task) => task.team_id))]);
  if (tasks.some((task) => !teams.some((team) => team.id === task.team_id && team.org_id === task.org_id))) {
    throw new InputError("Invalid request", [{ field: "team_id", message: "no such team in this org" }], "validation_failed");
  }
  const created = await insertTasks(trx, tasks);
  await appendEvents(
    trx,
    created.map((task) => taskEvent(task, "task.created", {})),
  );
  return created;
}

export async function getTask(db: Queryable, orgId: string, id: number): Promise<Task> {
  const task = await findTask(db, orgId, id);
  if (!task) throw new NotFoundError(`Task #${id} not found`);
  return task;
}


export async function getTaskDetail(db: Queryable, orgId: string, id: number): Promise<TaskDetail> {
  const task = await getTask(db, orgId, id);
  const subtasks = await listSubtasks(db, orgId, id);
  const updates = await listGithubActions(db, orgId, { task_id: id, limit: 20 });
  return {
    ...task,
    subtasks: subtasks.map(({ id, title, status, assignee_id }) => ({ id, title, status, assignee_id })),
    github_updates: updates.map(({ id, kind, status, last_error, attempts, created_at, sent_at }) => ({ id, kind, status, last_error, attempts, created_at, sent_at })),
  };
}

export interface StatusChangeOptions {
  /** Enforce TASK_TRANSITIONS (API callers). Rules mirroring GitHub state pass false. */
  enforceTransitions?: boolean;
  reason?: string;
  /** The change follows what GitHub already did to the task's issue (closed it): nothing is announced there. */
  mirrorsGithubIssue?: boolean;
  /** The source's updated_at this change follows, recorded in the same statement. */
  sourceUpdatedAt?: Date;
}

/** One task's move to a new status (each task at most once in a call). */
export interface StatusChange {
  task: Task;
  to: TaskStatus;
  options?: StatusChangeOptions;
}

/**
 * Moves a task to a new status inside `trx`:
 * 1. check the transition and, when starting, that every dependency is done;
 * 2. update status and completed_at, append task.status_changed (and task.completed);
 * 3. when it became done or cancelled, complete its parent if every sibling is finished and one at
 *    least is done (a parent whose sub-tasks were all cancelled stays open), and so on upward.
 */
export async function changeTaskStatus(trx: Knex.Transaction, task: Task, to: TaskStatus, options: StatusChangeOptions = {}): Promise<Task> {
  const [updated] = await changeTaskStatuses(trx, [{ task, to, options }]);
  return updated!;
}

/**
 * changeTaskStatus for many tasks at once: the checks of each, then one UPDATE and one events
 * append for all of them, and one call of the done hook for those that became done; what else a
 * finished task sets off (its assignee freed, its parent completed) follows task by task, in the
 * order given. Returns the tasks in that order.
 */
export async function changeTaskStatuses(trx: Knex.Transaction, changes: StatusChange[]): Promise<Task[]> {
  const moving = changes.filter(({ task, to }) => task.status !== to);
  for (const { task, to, options = {} } of moving) {
    const from = task.status;
    if (options.enforceTransitions !== false && !TASK_TRANSITIONS[from].includes(to)) {
      throw new ConflictError(
        `Task #${task.id} cannot go from ${from} to ${to}; from ${from} it can go to: ${TASK_TRANSITIONS[from].join(", ")}`,
        { from, to, allowed: TASK_TRANSITIONS[from] },
      );
    }
    if (to === "in_progress") {
      const blocking = (await dependencyStatuses(trx, task.id)).filter((dep) => dep.status !== "done");
      if (blocking.length) {
        throw new ConflictError(
          `Task #${task.id} cannot start: it depends on ${blocking.map((dep) => `#${dep.id} (${dep.status})`).join(", ")}`,
          { blocked_by: blocking },
        );
      }
    }
  }
  const now = new Date();
  const updated = new Map(
    (
      await updateTaskStatuses(
        trx,
        moving.map(({ task, to, options = {} }) => ({
          org_id: task.org_id,
          id: task.id,
          status: to,
          completed_at: to === "done" ? now : null,
          source_updated_at: options.sourceUpdatedAt ?? null,
        })),
      )
    ).map((task) => [task.id, task]),
  );
  const events: DomainEventInput[] = [];
  for (const { task, to, options = {} } of moving) {
    const after = updated.get(task.id)!;
    events.push(taskEvent(after, "task.status_changed", { from: task.status, to, reason: options.reason ?? null }));
    if (to === "done") events.push(taskEvent(after, "task.completed", {}));
  }
  await appendEvents(trx, events);
  await runTaskDoneHook(
    trx,
    moving.filter(({ to }) => to === "done").map(({ task, options = {} }) => ({ task: updated.get(task.id)!, mirrorsGithubIssue: options.mirrorsGithubIssue === true })),
  );
  for (const { task, to } of moving) {
    const after = updated.get(task.id)!;
    if ((to === "done" || to === "cancelled") && after.assignee_id) await releaseAgent(trx, after.assignee_id);
    if ((to === "done" || to === "cancelled") && after.parent_id) await completeParentIfFinished(trx, after.org_id, after.parent_id);
  }
  return changes.map(({ task }) => updated.get(task.id) ?? task);
}

async function completeParentIfFinished(trx: Knex.Transaction, orgId: string, parentId: number): Promise<void> {
  // Lock the parent first so two sub-tasks finishing at once cannot both miss the other's completion.
  const parent = await findTask(trx, orgId, parentId, { forUpdate: true });
  if (!parent || parent.status === "done" || parent.status === "cancelled") return;
  const children = await listSubtasks(trx, orgId, parentId);
  const finished = children.every((child) => child.status === "done" || child.status === "cancelled");
  if (!finished || !children.some((child) => child.status === "done")) return;
  await changeTaskStatus(trx, parent, "done", { enforceTransitions: false, reason: "all sub-tasks done" });
}

/** Sets or clears the assignee, with a `task.assigned` / `task.unassigned` event. */
export async function assignTask(trx: Queryable, task: Task, assigneeId: string | null): Promise<Task> {
  if (task.assignee_id === assigneeId) return task;
  if (assigneeId) await requireAgent(trx, task.org_id, assigneeId);
  const updated = await updateTask(trx, task.org_id, task.id, { assignee_id: assigneeId });
  await appendEvents(trx, [
    taskEvent(updated, assigneeId ? "task.assigned" : "task.unassigned", { assignee_id: assigneeId, previous_assignee_id: task.assignee_id }),
  ]);
  // The pool follows hand assignments: the new assignee is busy, the previous one may be free again.
  if (assigneeId && isOpenStatus(updated.status)) await occupyAgent(trx, assigneeId);
  if (task.assignee_id) await releaseAgent(trx, task.assignee_id);
  return updated;
}

/** Applies an API PATCH: fields, assignee, then status (enforced), in one transaction. */
export async function patchTask(knex: Knex, orgId: string, id: number, body: UpdateTaskBody): Promise<Task> {
  return knex.transaction(async (trx) => {
    let task = await findTask(trx, orgId, id, { forUpdate: true });
    if (!task) throw new NotFoundError(`Task #${id} not found`);
    const fields: { priority?: TaskPriority; title?: string; description?: string } = {};
    if (body.priority !== undefined) fields.priority = body.priority;
    if (body.title !== undefined) fields.title = body.title;
    if (body.description !== undefined) fields.description = body.description;
    if (Object.keys(fields).length) {
      const before = task;
      task = await updateTask(trx, orgId, id, fields);
      await appendEvents(trx, [taskEvent(task, "task.updated", { changes: Object.keys(fields), previous: pick(before, Object.keys(fields)) })]);
    }
    if (body.assignee_id !== undefined) task = await assignTask(trx, task, body.assignee_id);
    if (body.status !== undefined) task = await changeTaskStatus(trx, task, body.status);
    return task;
  });
}


async function requireAgent(db: Queryable, orgId: string, agentId: string): Promise<void> {
  if (!(await findAgent(db, orgId, agentId))) {
    throw new InputError("Invalid request", [{ field: "assignee_id", message: "no such agent in this org" }], "validation_failed");
  }
}

function pick(task: Task, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, task[key as keyof Task]]));
}
