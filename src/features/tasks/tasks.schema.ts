import { z } from "zod";
import { timestamp } from "../../http/api-output.js";
import { GITHUB_ACTION_KINDS, GITHUB_ACTION_STATUSES } from "../github/github-outbox.store.js";
import { paginationQuery } from "../../http/pagination.js";

export const TASK_PRIORITIES = ["low", "medium", "high", "critical"] as const;
export const TASK_TYPES = ["bugfix", "feature", "review", "docs", "chore"] as const;
export const TASK_STATUSES = ["todo", "in_progress", "in_review", "done", "cancelled"] as const;

export type TaskPriority = (typeof TASK_PRIORITIES)[number];
export type TaskType = (typeof TASK_TYPES)[number];
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses in which a task is still to be finished, and occupies its assignee. */
export const OPEN_TASK_STATUSES = ["todo", "in_progress", "in_review"] as const satisfies readonly TaskStatus[];

export function isOpenStatus(status: TaskStatus): boolean {
  return (OPEN_TASK_STATUSES as readonly TaskStatus[]).includes(status);
}

/** Allowed status moves; anything else is a 409 naming these. */
export const TASK_TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  todo: ["in_progress", "cancelled"],
  in_progress: ["in_review", "done", "todo", "cancelled"],
  in_review: ["done", "in_progress", "cancelled"],
  done: ["todo"],
  cancelled: ["todo"],
};

const taskId = z.coerce.number().int().positive().max(2_147_483_647);
const tag = z.string().trim().min(1).max(200);

export const createTaskBody = z.strictObject({
  team_id: z.uuid(),
  title: z.string().trim().min(1).max(500),
  description: z.string().max(100_000).default(""),
  priority: z.enum(TASK_PRIORITIES).default("medium"),
  task_type: z.enum(TASK_TYPES).default("feature"),
  tags: z.array(tag).max(100).default([]),
  parent_id: taskId.optional(),
  depends_on: z.array(taskId).max(100).default([]),
  assignee_id: z.uuid().optional(),
});

export const updateTaskBody = z
  .strictObject({
    status: z.enum(TASK_STATUSES).optional(),
    assignee_id: z.uuid().nullable().optional(),
    priority: z.enum(TASK_PRIORITIES).optional(),
    title: z.string().trim().min(1).max(500).optional(),
    description: z.string().max(100_000).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "nothing to update: send status, assignee_id, priority, title or description");

export const listTasksQuery = z.object({
  team_id: z.uuid().optional(),
  status: z.enum(TASK_STATUSES).optional(),
  assignee_id: z.uuid().optional(),
  tag: tag.optional(),
  parent_id: taskId.optional(),
  ...paginationQuery,
});

export type UpdateTaskBody = z.infer<typeof updateTaskBody>;

export const MAX_SUBTASKS = 50;

export const subtaskInput = z.strictObject({
  title: z.string().trim().min(1).max(500),
  description: z.string().max(100_000).default(""),
  priority: z.enum(TASK_PRIORITIES).optional(),
  task_type: z.enum(TASK_TYPES).optional(),
  /** Indexes into the same `subtasks` list; checked (range, self, cycles) by the service. */
  depends_on: z.array(z.number().int().min(0)).max(MAX_SUBTASKS).default([]),
});

export const createSubtasksBody = z.strictObject({
  subtasks: z.array(subtaskInput).min(1).max(MAX_SUBTASKS),
});

export const TASK_COMMENT_KINDS = ["comment", "review"] as const;
export type TaskCommentKind = (typeof TASK_COMMENT_KINDS)[number];

export const createTaskCommentBody = z.strictObject({
  body: z.string().trim().min(1).max(20_000),
  author_agent_id: z.uuid().optional(),
});

export const listTaskCommentsQuery = z.object({
  kind: z.enum(TASK_COMMENT_KINDS).optional(),
  ...paginationQuery,
});

export type SubtaskInput = z.infer<typeof subtaskInput>;

/** A task as the API answers it (and as services pass it around: z.output has Dates). */
export const taskOutput = z.strictObject({
  id: z.number().int(),
  org_id: z.uuid(),
  team_id: z.uuid(),
  parent_id: z.number().int().nullable(),
  title: z.string(),
  description: z.string(),
  priority: z.enum(TASK_PRIORITIES),
  task_type: z.enum(TASK_TYPES),
  status: z.enum(TASK_STATUSES),
  assignee_id: z.uuid().nullable(),
  tags: z.array(z.string()),
  /** Where the task came from (a GitHub issue, a custom sender); absent keys for hand-made tasks. */
  source: z.record(z.string(), z.unknown()),
  depends_on: z.array(z.number().int()),
  created_at: timestamp,
  updated_at: timestamp,
  completed_at: timestamp.nullable(),
});
export type Task = z.output<typeof taskOutput>;

/** GET /tasks/{id}: the task, its sub-tasks, and what Entourage wrote (or could not write) to GitHub for it. */
export const taskDetailOutput = taskOutput.extend({
  subtasks: z.array(taskOutput.pick({ id: true, title: true, status: true, assignee_id: true })),
  github_updates: z.array(
    z.strictObject({
      id: z.number().int(),
      kind: z.enum(GITHUB_ACTION_KINDS),
      status: z.enum(GITHUB_ACTION_STATUSES),
      last_error: z.string().nullable(),
      attempts: z.number().int(),
      created_at: timestamp,
      sent_at: timestamp.nullable(),
    }),
  ),
});
export type TaskDetail = z.output<typeof taskDetailOutput>;

export const taskCommentOutput = z.strictObject({
  id: z.number().int(),
  task_id: z.number().int(),
  author_agent_id: z.uuid().nullable(),
  kind: z.enum(TASK_COMMENT_KINDS),
  body: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  created_at: timestamp,
});
export type TaskComment = z.output<typeof taskCommentOutput>;
