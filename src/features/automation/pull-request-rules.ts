import type { Knex } from "knex";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { changeTaskStatus } from "../tasks/tasks.service.js";
import { findTask, findTaskBySourceKey, findTasksByIds, type Task } from "../tasks/tasks.store.js";
import { OPEN_TASK_STATUSES, type TaskStatus } from "../tasks/tasks.schema.js";
import { issueSourceKey } from "./github-issue-source.js";
import { parsePayload, pullRequestPayload, type PullRequestPayload } from "./github-payloads.js";
import { lockKey } from "../../db/lock-key.js";
import { parseTaskLinks } from "./parse-task-links.js";
import { sameRepository } from "../webhooks/repository-entitlement.js";

/**
 * What happened to the pull request: the payload's action, except that a merged close is `merged`
 * (the delivery's event type already says so; see githubEventType).
 */
export type PullRequestAction = string;

/** Extra work on a pull request event, run in the same transaction (the Reviews feature requests reviews here). */
export type PullRequestHook = (trx: Knex.Transaction, input: DeliveryInput, event: { payload: PullRequestPayload; action: PullRequestAction; linked: Task[] }) => Promise<string[]>;

interface Move {
  to: TaskStatus;
  from: TaskStatus[];
  reason: string;
}

const MOVES: Record<string, Move | undefined> = {
  opened: { to: "in_review", from: ["todo", "in_progress"], reason: "pull request opened" },
  ready_for_review: { to: "in_review", from: ["todo", "in_progress"], reason: "pull request ready for review" },
  reopened: { to: "in_review", from: ["todo", "in_progress"], reason: "pull request reopened" },
  merged: { to: "done", from: [...OPEN_TASK_STATUSES], reason: "pull request merged" },
  closed: { to: "in_progress", from: ["in_review"], reason: "pull request closed without merging" },
};

/**
 * `pull_request.*` → the tasks the PR is linked to (closing keywords, `Entourage-Task:` trailers,
 * `task-601` / `issue-42-…` branches): opened or ready for review → in_review, merged → done,
 * closed without merge → back to in_progress. Drafts move nothing, closed ones included (GitHub
 * cannot merge a draft).
 */
export async function applyPullRequestEvent(trx: Knex.Transaction, input: DeliveryInput, hooks: PullRequestHook[] = []): Promise<DeliveryOutcome> {
  const payload = parsePayload(pullRequestPayload, input.payload, "pull_request");
  const pr = payload.pull_request;
  const repository = payload.repository.full_name;
  await lockKey(trx, `github:pull:${repository.toLowerCase()}#${pr.number}`);

  const action: PullRequestAction = input.delivery.event_type === "pull_request.merged" ? "merged" : payload.action;
  const move = MOVES[action];
  // The tasks a move may change are read locked.
  const linked = await findLinkedTasks(trx, input.webhook.org_id, payload, { forUpdate: Boolean(move && !pr.draft) });
  const actions: string[] = [];
  // A draft neither puts tasks in review nor takes them out of it (opened, reopened or closed).
  if (move && pr.draft) {
    actions.push(`draft pull request #${pr.number}: linked tasks stay as they are`);
  } else if (move) {
    let moved = false;
    for (const task of linked) {
      // After a move, re-read: what it set off (a parent completed, a freed engineer handed this task) may have changed it.
      const current = moved ? (await findTask(trx, task.org_id, task.id, { forUpdate: true }))! : task;
      if (!move.from.includes(current.status)) continue;
      await changeTaskStatus(trx, current, move.to, { enforceTransitions: false, reason: `${move.reason} (#${pr.number})` });
      actions.push(`task #${current.id} ${current.status} → ${move.to}`);
      moved = true;
    }
  }
  if (actions.length === 0) {
    actions.push(linked.length ? `linked tasks ${linked.map((t) => `#${t.id}`).join(", ")} unchanged` : `pull request #${pr.number} links no task`);
  }
  for (const hook of hooks) actions.push(...(await hook(trx, input, { payload, action, linked })));
  return { actions };
}

/**
 * The org's tasks a pull request refers to, each once, in id order. Only tasks of the pull
 * request's own repository (or tasks from no repository, made by hand): one repository's
 * deliveries never touch another's tasks. `forUpdate` locks them: as it reads them when the pull
 * request names one, else afterwards in id order (transactions locking the same tasks take them in
 * one order, and cannot deadlock on them).
 */
export async function findLinkedTasks(trx: Knex.Transaction, orgId: string, payload: PullRequestPayload, options: { forUpdate?: boolean } = {}): Promise<Task[]> {
  const pr = payload.pull_request;
  const repository = payload.repository.full_name;
  const links = parseTaskLinks({ title: pr.title, body: pr.body, branch: pr.head.ref }, repository);
  const lockOnRead = { forUpdate: options.forUpdate && links.issues.length + links.taskIds.length === 1 };
  const tasks = new Map<number, Task>();
  for (const issue of links.issues) {
    if (!sameRepository(issue.repository, repository)) continue;
    const task = await findTaskBySourceKey(trx, orgId, issueSourceKey(issue.repository, issue.number), lockOnRead);
    if (task) tasks.set(task.id, task);
  }
  for (const id of links.taskIds) {
    const task = await findTask(trx, orgId, id, lockOnRead);
    if (task && inRepository(task, repository)) tasks.set(task.id, task);
  }
  const found = [...tasks.values()].sort((a, b) => a.id - b.id);
  if (!options.forUpdate || lockOnRead.forUpdate) return found;
  return findTasksByIds(
    trx,
    orgId,
    found.map((task) => task.id),
    { forUpdate: true },
  );
}

function inRepository(task: Task, repository: string): boolean {
  const from = (task.source as { repository?: unknown } | null)?.repository;
  return typeof from !== "string" || sameRepository(from, repository);
}
