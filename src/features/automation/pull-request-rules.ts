import type { Knex } from "knex";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { changeTaskStatus, type StatusChange } from "../tasks/tasks.service.js";
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

/** A pull request event whose linked tasks have moved: what a hook sees. */
export interface PullRequestEvent {
  input: DeliveryInput;
  payload: PullRequestPayload;
  action: PullRequestAction;
  /** The tasks it links, as read before they moved. */
  linked: Task[];
}

/**
 * Extra work on pull request events, each of another pull request, run in their transaction (the
 * Reviews feature requests reviews here); returns each event's actions, in order.
 */
export type PullRequestHook = (trx: Knex.Transaction, events: PullRequestEvent[]) => Promise<string[][]>;

export interface Move {
  to: TaskStatus;
  from: TaskStatus[];
  reason: string;
}

export const MOVES: Record<string, Move | undefined> = {
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
  await lockKey(trx, pullRequestKey(payload.repository.full_name, pr.number));

  const action = pullRequestAction(input, payload);
  const move = MOVES[action];
  // The tasks a move may change are read locked.
  const linked = await findLinkedTasks(trx, input.webhook.org_id, payload, { forUpdate: Boolean(move && !pr.draft) });
  const actions: string[] = [];
  // A draft neither puts tasks in review nor takes them out of it (opened, reopened or closed).
  if (move && pr.draft) {
    actions.push(draftAction(pr));
  } else if (move) {
    let moved = false;
    for (const task of linked) {
      // After a move, re-read: what it set off (a parent completed, a freed engineer handed this task) may have changed it.
      const current = moved ? (await findTask(trx, task.org_id, task.id, { forUpdate: true }))! : task;
      const change = linkedTaskMove(move, current, pr);
      if (!change) continue;
      await changeTaskStatus(trx, change.task, change.to, change.options);
      actions.push(movedAction(change));
      moved = true;
    }
  }
  if (actions.length === 0) actions.push(unchangedAction(pr, linked));
  for (const hook of hooks) actions.push(...(await hook(trx, [{ input, payload, action, linked }]))[0]!);
  return { actions };
}

/** What happened to the pull request: `merged` for a merged close (its event type says so), else the payload's action. */
export function pullRequestAction(input: DeliveryInput, payload: PullRequestPayload): PullRequestAction {
  return input.delivery.event_type === "pull_request.merged" ? "merged" : payload.action;
}

/** The lock that serialises the deliveries of one pull request (of any org). */
export function pullRequestKey(repository: string, number: number): string {
  return `github:pull:${repository.toLowerCase()}#${number}`;
}

/** A linked task's move, when its status is one the move starts from; undefined when it stays. */
export function linkedTaskMove(move: Move, task: Task, pr: { number: number }): StatusChange | undefined {
  if (!move.from.includes(task.status)) return undefined;
  return { task, to: move.to, options: { enforceTransitions: false, reason: `${move.reason} (#${pr.number})` } };
}

export function movedAction(change: StatusChange): string {
  return `task #${change.task.id} ${change.task.status} → ${change.to}`;
}

export function draftAction(pr: { number: number }): string {
  return `draft pull request #${pr.number}: linked tasks stay as they are`;
}

/** The action when no linked task moved. */
export function unchangedAction(pr: { number: number }, linked: Pick<Task, "id">[]): string {
  return linked.length ? `linked tasks ${linked.map((t) => `#${t.id}`).join(", ")} unchanged` : `pull request #${pr.number} links no task`;
}

/**
 * The org's tasks a pull request refers to, each once, in id order. Only tasks of the pull
 * request's own repository (or tasks from no repository, made by hand): one repository's
 * deliveries never touch another's tasks. `forUpdate` locks them: as it reads them when the pull
 * request names one, else afterwards in id order (transactions locking the same tasks take them in
 * one order, and cannot deadlock on them).
 */
export async function findLinkedTasks(trx: Knex.Transaction, orgId: string, payload: PullRequestPayload, options: { forUpdate?: boolean } = {}): Promise<Task[]> {
  const repository = payload.repository.full_name;
  const refs = linkedTaskRefs(payload);
  const lockOnRead = { forUpdate: options.forUpdate && refs.sourceKeys.length + refs.taskIds.length === 1 };
  const tasks = new Map<number, Task>();
  for (const key of refs.sourceKeys) {
    const task = await findTaskBySourceKey(trx, orgId, key, lockOnRead);
    if (task) tasks.set(task.id, task);
  }
  for (const id of refs.taskIds) {
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

/**
 * What a pull request links, as lookups: the source keys of the issues of its own repository it
 * names, and the task ids it names (their tasks count only if inRepository).
 */
export function linkedTaskRefs(payload: PullRequestPayload): { sourceKeys: string[]; taskIds: number[] } {
  const pr = payload.pull_request;
  const repository = payload.repository.full_name;
  const links = parseTaskLinks({ title: pr.title, body: pr.body, branch: pr.head.ref }, repository);
  return {
    sourceKeys: links.issues.filter((issue) => sameRepository(issue.repository, repository)).map((issue) => issueSourceKey(issue.repository, issue.number)),
    taskIds: links.taskIds,
  };
}

/** Whether a task may be moved by a pull request of this repository: it came from that repository, or from none (made by hand). */
export function inRepository(task: Task, repository: string): boolean {
  const from = (task.source as { repository?: unknown } | null)?.repository;
  return typeof from !== "string" || sameRepository(from, repository);
}
