import type { Queryable } from "../../db/create-db.js";
import type { TaskCommentKind } from "./tasks.schema.js";

import { taskCommentOutput, type TaskComment } from "./tasks.schema.js";

export type { TaskComment };

export interface NewTaskComment {
  org_id: string;
  task_id: number;
  author_agent_id: string | null;
  kind: TaskCommentKind;
  body: string;
  metadata: Record<string, unknown>;
}

const COLUMNS = Object.keys(taskCommentOutput.shape);

export async function insertTaskComment(db: Queryable, comment: NewTaskComment): Promise<TaskComment> {
  const [row] = await db("task_comments")
    .insert({ ...comment, metadata: JSON.stringify(comment.metadata) })
    .returning(COLUMNS);
  return row as TaskComment;
}

export interface TaskCommentFilter {
  org_id: string;
  task_id: number;
  kind?: TaskCommentKind;
  /** Keyset: only ids above this one. */
  after_id?: number;
  limit: number;
}

/** Comments of one task, oldest first (a thread reads top-down). */
export async function listTaskComments(db: Queryable, filter: TaskCommentFilter): Promise<TaskComment[]> {
  const q = db("task_comments")
    .select(COLUMNS)
    .where({ org_id: filter.org_id, task_id: filter.task_id })
    .orderBy("id", "asc")
    .limit(filter.limit);
  if (filter.kind) q.where("kind", filter.kind);
  if (filter.after_id) q.where("id", ">", filter.after_id);
  return (await q) as TaskComment[];
}
