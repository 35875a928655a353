import type { Knex } from "knex";
import { appendEvents } from "../events/events.store.js";
import { changeTaskStatus, createTask } from "../tasks/tasks.service.js";
import { findTask, type Task } from "../tasks/tasks.store.js";
import type { TaskPriority } from "../tasks/tasks.schema.js";
import { findAgent } from "../teams/teams.store.js";
import { assignReview, takeReviewAgent } from "./review-assignment.js";
import { reviewEvent } from "./review-event.js";
import { insertReview, updateReview, type NewReview, type Review } from "./reviews.store.js";

const PRIORITY_ORDER: TaskPriority[] = ["critical", "high", "medium", "low"];

export interface ReviewRequest extends Omit<NewReview, "linked_task_ids"> {
  linked: Task[];
  /** Give it to this agent (the reviewer of the review it replaces) instead of taking a free one. */
  keepReviewer?: string | null;
}

/**
 * Requests a review of a pull request's head:
 * 1. the review row (pending) and its review task on the board (task_type review);
 * 2. an agent: the previous reviewer when the review replaces an outdated one, else a free
 *    reviewer, else a free engineer who did not write the linked work; else it waits;
 * 3. `review.requested`.
 * The review task is not a sub-task of the linked task: the parent cascade would complete the
 * reviewed task when the review task is done, and an approval must not finish unmerged work.
 */
export async function requestReview(trx: Knex.Transaction, request: ReviewRequest): Promise<{ review: Review; assignee?: string }> {
  const { linked, keepReviewer, ...fields } = request;
  let review = await insertReview(trx, { ...fields, linked_task_ids: linked.map((task) => task.id) });
  const task = await createTask(trx, review.org_id, {
    team_id: review.team_id,
    title: `Review ${review.repository}#${review.pull_number}: ${review.pr_title}`.slice(0, 500),
    description: reviewTaskDescription(review, linked),
    priority: PRIORITY_ORDER.find((priority) => linked.some((t) => t.priority === priority)) ?? "medium",
    task_type: "review",
    tags: ["github", "review", `pr:${review.pull_number}`, `repo:${review.repository}`, ...linked.map((t) => `task:${t.id}`)],
    source: {
      kind: "github_pull_request_review",
      review_id: review.id,
      repository: review.repository,
      pull_number: review.pull_number,
      head_sha: review.head_sha,
      html_url: review.html_url,
      installation_id: review.installation_id,
      linked_task_ids: review.linked_task_ids,
    },
  });
  review = await updateReview(trx, review.id, { task_id: task.id });
  await appendEvents(trx, [reviewEvent(review, "review.requested", {})]);

  const kept = keepReviewer ? await findAgent(trx, review.org_id, keepReviewer) : undefined;
  // The previous reviewer is still busy with the outdated review: it carries straight on.
  const agent = kept?.status === "busy" ? kept : await takeReviewAgent(trx, review, linked);
  if (!agent) return { review };
  review = await assignReview(trx, review, agent);
  return { review, assignee: agent.name };
}

/**
 * Ends a pending review that will get no verdict: `outdated` (new commits) or `cancelled`
 * (the PR closed or went back to draft). Its review task is cancelled, which frees its agent
 * unless that agent holds other open work (such as the fresh review).
 */
export async function endPendingReview(
  trx: Knex.Transaction,
  review: Review,
  status: "outdated" | "cancelled",
  reason: string,
  supersededBy?: Review,
): Promise<Review> {
  const ended = await updateReview(trx, review.id, { status, ...(supersededBy ? { superseded_by: supersededBy.id } : {}) });
  await appendEvents(trx, [reviewEvent(ended, `review.${status}`, { reason, ...(supersededBy ? { superseded_by: supersededBy.id } : {}) })]);
  const task = ended.task_id ? await findTask(trx, ended.org_id, ended.task_id, { forUpdate: true }) : undefined;
  if (task && task.status !== "done" && task.status !== "cancelled") {
    await changeTaskStatus(trx, task, "cancelled", { enforceTransitions: false, reason });
  }
  return ended;
}

function reviewTaskDescription(review: Review, linked: Task[]): string {
  const lines = [
    `Review pull request ${review.repository}#${review.pull_number} at ${review.head_sha}.`,
    "",
    review.html_url,
    "",
    `Submit the verdict with POST /api/v1/reviews/${review.id}/verdict (or the submit_review MCP tool).`,
  ];
  if (linked.length) lines.push("", `Linked tasks: ${linked.map((t) => `#${t.id} ${t.title}`).join("; ")}`);
  return lines.join("\n");
}
