import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { isOpenStatus, TASK_PRIORITIES, TASK_STATUSES, TASK_TRANSITIONS, TASK_TYPES } from "../tasks/tasks.schema.js";
import type { ApiTask, EntourageApi } from "./entourage-api-client.js";
import { runTool } from "./tool-result.js";

export interface ToolDeps {
  api: EntourageApi;
  /** The agent this MCP session acts as. */
  agentId: string;
}

const taskId = z.number().int().positive().describe("Task number, e.g. 601 for #601");
const transitions = Object.entries(TASK_TRANSITIONS)
  .map(([from, to]) => `${from} → ${to.join(" | ")}`)
  .join("; ");

/** list_my_tasks, get_task, update_task_status, create_subtasks, add_task_comment. */
export function registerTaskTools(server: McpServer, { api, agentId }: ToolDeps): void {
  server.registerTool(
    "list_my_tasks",
    {
      title: "List my tasks",
      description:
        "List the tasks assigned to you, newest first. By default only open ones (todo, in_progress, in_review); " +
        "pass `status` for one status, or `include_finished: true` to also see done and cancelled tasks.",
      inputSchema: {
        status: z.enum(TASK_STATUSES).optional().describe("Only tasks with this status"),
        include_finished: z.boolean().default(false).describe("Also list done and cancelled tasks"),
      },
      annotations: { readOnlyHint: true },
    },
    ({ status, include_finished }) =>
      runTool(async () => {
        const tasks = await api.listTasks({ assignee_id: agentId, status, limit: 200 });
        const shown = status || include_finished ? tasks : tasks.filter((task) => isOpenStatus(task.status));
        return { agent_id: agentId, tasks: shown.map(summary) };
      }),
  );

  server.registerTool(
    "get_task",
    {
      title: "Get a task",
      description:
        "Everything needed to work on a task: its description, parent, sub-tasks, dependencies (with their status: " +
        "a task cannot start before they are done), GitHub links (issue / pull request it came from), the comment thread, " +
        "and `review_comments_to_address` — file-anchored review comments (path, line) left by reviewers.",
      inputSchema: { task_id: taskId },
      annotations: { readOnlyHint: true },
    },
    ({ task_id }) =>
      runTool(async () => {
        const task = await api.getTask(task_id);
        const [parent, dependencies, comments] = await Promise.all([
          task.parent_id ? api.getTask(task.parent_id).then(summary, () => ({ id: task.parent_id })) : undefined,
          Promise.all(task.depends_on.map((id) => api.getTask(id).then(summary, () => ({ id, status: "unknown" })))),
          api.listTaskComments(task_id),
        ]);
        const { subtasks, depends_on: _ids, source, ...fields } = task;
        return {
          task: fields,
          github: githubLinks(source),
          parent: parent ?? null,
          subtasks,
          dependencies,
          comments: comments.filter((comment) => comment.kind !== "review"),
          review_comments_to_address: comments.filter((comment) => comment.kind === "review"),
        };
      }),
  );

  server.registerTool(
    "update_task_status",
    {
      title: "Update a task's status",
      description:
        "Move a task through its workflow. Allowed moves: " +
        transitions +
        ". Starting (in_progress) needs every dependency done; taking an unassigned task (moving it to in_progress) " +
        "assigns it to you. When the last sub-task of a parent is done, the parent becomes done too.",
      inputSchema: {
        task_id: taskId,
        status: z.enum(TASK_STATUSES).describe("The new status"),
      },
    },
    ({ task_id, status }) =>
      runTool(async () => {
        const current = await api.getTask(task_id);
        const take = status === "in_progress" && current.assignee_id === null;
        const task = await api.updateTask(task_id, take ? { status, assignee_id: agentId } : { status });
        const parent = task.parent_id ? summary(await api.getTask(task.parent_id)) : null;
        return { task: summary(task), parent };
      }),
  );

  server.registerTool(
    "create_subtasks",
    {
      title: "Split a task into sub-tasks",
      description:
        "For manager agents: split a task into sub-tasks in the parent's team, all created at once or none. " +
        "`depends_on` lists 0-based indexes into this same list (e.g. the third sub-task depends on the first two: [0, 1]); " +
        "a sub-task cannot start before its dependencies are done, and when every sub-task is done the parent is done. " +
        "Priority and type default to the parent's.",
      inputSchema: {
        task_id: taskId.describe("The parent task"),
        subtasks: z
          .array(
            z.object({
              title: z.string().min(1).max(500),
              description: z.string().max(100_000).optional(),
              priority: z.enum(TASK_PRIORITIES).optional(),
              task_type: z.enum(TASK_TYPES).optional(),
              depends_on: z.array(z.number().int().min(0)).optional().describe("Indexes (0-based) of sub-tasks in this list that must be done first"),
            }),
          )
          .min(1)
          .max(50),
      },
    },
    ({ task_id, subtasks }) => runTool(async () => ({ parent_id: task_id, subtasks: (await api.createSubtasks(task_id, subtasks)).map(summary) })),
  );

  server.registerTool(
    "add_task_comment",
    {
      title: "Comment on a task",
      description: "Add a comment to a task's thread, signed as you: progress notes, questions, or how a review comment was addressed.",
      inputSchema: {
        task_id: taskId,
        body: z.string().min(1).max(20_000).describe("The comment (Markdown)"),
      },
    },
    ({ task_id, body }) => runTool(() => api.addTaskComment(task_id, { body, author_agent_id: agentId })),
  );
}

function summary(task: ApiTask) {
  const { id, title, status, priority, task_type, assignee_id, parent_id, depends_on } = task;
  return { id, title, status, priority, task_type, assignee_id, parent_id, depends_on };
}

/** The task's GitHub origin as the automation recorded it, plus every URL in it. */
function githubLinks(source: Record<string, unknown>) {
  if (Object.keys(source).length === 0) return null;
  const urls = Object.values(source).filter((value): value is string => typeof value === "string" && /^https?:\/\//.test(value));
  return { ...source, urls: [...new Set(urls)] };
}
