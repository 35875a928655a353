import type { Queryable } from "../../db/create-db.js";
import { InputError } from "../../errors.js";
import { appendEvents } from "../events/events.store.js";
import { findAgent } from "../teams/teams.store.js";
import type { TaskCommentKind } from "./tasks.schema.js";
import { taskEvent } from "./task-event.js";
import type { Task } from "./tasks.store.js";
import { insertTaskComment, type TaskComment } from "./task-comments.store.js";

export interface AddTaskCommentInput {
  body: string;
  author_agent_id?: string | null;
  /** "comment" (default) for notes; "review" for review comments the task's engineer must address. */
  kind?: TaskCommentKind;
  /** Free-form context, e.g. `{ review_id, path, line }` for a review comment. */
  metadata?: Record<string, unknown>;
}

/** Adds a comment to a task with a `task.commented` event; call it inside the change's transaction. */
export async function addTaskComment(trx: Queryable, task: Task, input: AddTaskCommentInput): Promise<TaskComment> {
  const authorId = input.author_agent_id ?? null;
  if (authorId && !(await findAgent(trx, task.org_id, authorId))) {
    throw new InputError("Invalid request", [{ field: "author_agent_id", message: "no such agent in this org" }], "validation_failed");
  }
  const comment = await insertTaskComment(trx, {
    org_id: task.org_id,
    task_id: task.id,
    author_agent_id: authorId,
    kind: input.kind ?? "comment",
    body: input.body,
    metadata: input.metadata ?? {},
  });
  await appendEvents(trx, [taskEvent(task, "task.commented", { comment })]);
  return comment;
}
