import type { Queryable } from "../../db/create-db.js";
import { groupBy } from "../../lib/group-by.js";
import { enqueueGithubActions, type NewGithubAction } from "../github/github-outbox.store.js";
import { completionsAndSubtasks } from "../tasks/tasks.store.js";
import { formatTaskRanges } from "./format-task-ranges.js";
import type { TaskDone } from "../tasks/task-done-hook.js";
import { githubIssueSource } from "./github-issue-source.js";

/** The comment posted on an issue whose task is done: its sub-tasks as ranges, or the task itself. */
export function resolutionComment(taskId: number, subtaskIds: number[]): string {
  const ids = subtaskIds.length ? subtaskIds : [taskId];
  return `Resolved in ${ids.length > 1 ? "tasks" : "task"} ${formatTaskRanges(ids)}`;
}

/**
 * When tasks that came from GitHub issues reach done, queue (same transaction) one comment on each
 * issue — and closing it when the webhook says `close_issue`. The dedupe key carries the task's
 * count of completions (kept on the task: events are pruned sooner than the outbox), so a retried
 * transaction or sender never posts twice, while a task reopened and finished again is announced
 * again. Nothing is posted when GitHub itself closed the issue. One read per org and one INSERT.
 */
export async function announceResolutions(trx: Queryable, done: TaskDone[]): Promise<void> {
  const announced = done.flatMap(({ task, mirrorsGithubIssue }) => {
    const parsed = githubIssueSource.safeParse(task.source);
    return parsed.success && !mirrorsGithubIssue ? [{ task, source: parsed.data }] : [];
  });
  const actions: NewGithubAction[] = [];
  for (const [orgId, ofOrg] of groupBy(announced, ({ task }) => task.org_id)) {
    const facts = await completionsAndSubtasks(
      trx,
      orgId,
      ofOrg.map(({ task }) => task.id),
    );
    for (const { task, source } of ofOrg) {
      const { completions, subtask_ids } = facts.get(task.id)!;
      const round = Math.max(1, completions);
      const common = { org_id: task.org_id, repository: source.repository, installation_id: source.installation_id ?? null, task_id: task.id };
      actions.push({
        ...common,
        kind: "issue_comment",
        dedupe_key: `resolution:${task.id}:${round}`,
        request: { issue_number: source.issue_number, body: resolutionComment(task.id, subtask_ids) },
      });
      if (source.close_issue) {
        actions.push({
          ...common,
          kind: "close_issue",
          dedupe_key: `close:${task.id}:${round}`,
          request: { issue_number: source.issue_number, state_reason: "completed" },
        });
      }
    }
  }
  await enqueueGithubActions(trx, actions);
}
