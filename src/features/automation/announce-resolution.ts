import type { Queryable } from "../../db/create-db.js";
import { enqueueGithubAction } from "../github/github-outbox.store.js";
import { listSubtasks, taskCompletions, type Task } from "../tasks/tasks.store.js";
import { formatTaskRanges } from "./format-task-ranges.js";
import type { TaskDone } from "../tasks/task-done-hook.js";
import { githubIssueSource } from "./github-issue-source.js";

/** The comment posted on an issue whose task is done: its sub-tasks as ranges, or the task itself. */
export function resolutionComment(taskId: number, subtaskIds: number[]): string {
  const ids = subtaskIds.length ? subtaskIds : [taskId];
  return `Resolved in ${ids.length > 1 ? "tasks" : "task"} ${formatTaskRanges(ids)}`;
}

/**
 * When a task that came from a GitHub issue reaches done, queue (same transaction) one comment
 * on the issue — and closing it when the webhook says `close_issue`. The dedupe key carries the
 * task's count of completions (kept on the task: events are pruned sooner than the outbox), so a
 * retried transaction or sender never posts twice, while a task reopened and finished again is
 * announced again. Nothing is posted when GitHub itself closed the issue.
 */
export async function announceResolution(trx: Queryable, task: Task, done: TaskDone): Promise<void> {
  const parsed = githubIssueSource.safeParse(task.source);
  if (!parsed.success || done.mirrorsGithubIssue) return;
  const source = parsed.data;
  const subtasks = await listSubtasks(trx, task.org_id, task.id);
  const round = Math.max(1, await taskCompletions(trx, task.org_id, task.id));
  const common = { org_id: task.org_id, repository: source.repository, installation_id: source.installation_id ?? null, task_id: task.id };
  await enqueueGithubAction(trx, {
    ...common,
    kind: "issue_comment",
    dedupe_key: `resolution:${task.id}:${round}`,
    request: { issue_number: source.issue_number, body: resolutionComment(task.id, subtasks.map((subtask) => subtask.id)) },
  });
  if (source.close_issue) {
    await enqueueGithubAction(trx, {
      ...common,
      kind: "close_issue",
      dedupe_key: `close:${task.id}:${round}`,
      request: { issue_number: source.issue_number, state_reason: "completed" },
    });
  }
}
