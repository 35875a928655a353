import type { Knex } from "knex";
import { groupBy } from "../../lib/group-by.js";
import { appendEvents } from "../events/events.store.js";
import { changeTaskStatuses, createTasks, type StatusChange } from "../tasks/tasks.service.js";
import { findTasksByIds, type NewTask, type Task } from "../tasks/tasks.store.js";
import type { TaskPriority } from "../tasks/tasks.schema.js";
import { findAgent } from "../teams/teams.store.js";
import { assignReview, takeReviewAgent } from "./review-assignment.js";
import { reviewEvent } from "./review-event.js";
import { endReviews, insertReviews, setReviewTasks, type NewReview, type Review } from "./reviews.store.js";

const PRIORITY_ORDER: TaskPriority[] = ["critical", "high", "medium", "low"];

export interface ReviewRequest extends Omit<NewReview, "linked_task_ids"> {
  linked: Task[];
  /** Give it to this agent (the reviewer of the review it replaces) instead of taking a free one. */
  keepReviewer?: string | null;
}

/**
 * Requests reviews of pull requests' heads, several at once (each of another pull request):
 * 1. the review rows (pending) and their review tasks on the board (task_type review), one INSERT
 *    each, and `review.requested`;
 * 2. an agent for each, in the order given: the previous reviewer when the review replaces an
 *    outdated one, else a free reviewer, else a free engineer who did not write the linked work;
 *    else it waits.
 * The review task is not a sub-task of the linked task: the parent cascade would complete the
 * reviewed task when the review task is done, and an approval must not finish unmerged work.
 */
export async function requestReviews(trx: Knex.Transaction, requests: ReviewRequest[]): Promise<{ review: Review; assignee?: string }[]> {
  if (requests.length === 0) return [];
  const inserted = await insertReviews(
    trx,
    requests.map(({ linked, keepReviewer: _kept, ...fields }) => ({ ...fields, linked_task_ids: linked.map((task) => task.id) })),
  );
  const tasks = await createTasks(
    trx,
    inserted.map((review, i) => reviewTask(review, requests[i]!.linked)),
  );
  const reviews = await setReviewTasks(
    trx,
    inserted.map((review, i) => ({ id: review.id, task_id: tasks[i]!.id })),
  );
  await appendEvents(
    trx,
    reviews.map((review) => reviewEvent(review, "review.requested", {})),
  );

  const results: { review: Review; assignee?: string }[] = [];
  // Teams seen with no agent free: nothing in this step frees one, so their later reviews wait too.
  const noneFree = new Set<string>();
  for (const [i, review] of reviews.entries()) {
    const { linked, keepReviewer } = requests[i]!;
    const kept = keepReviewer ? await findAgent(trx, review.org_id, keepReviewer) : undefined;
    // The previous reviewer is still busy with the outdated review: it carries straight on.
    let agent = kept?.status === "busy" ? kept : undefined;
    if (!agent && !noneFree.has(review.team_id)) {
      agent = await takeReviewAgent(trx, review, linked);
      // No agent, and none was passed over as an author: the team has none free.
      if (!agent && linked.every((task) => !task.assignee_id)) noneFree.add(review.team_id);
    }
    results.push(agent ? { review: await assignReview(trx, review, agent), assignee: agent.name } : { review });
  }
  return results;
}

/** A pending review to end, why, and (outdated) the review that replaces it. */
export interface PendingReviewEnd {
  review: Review;
  status: "outdated" | "cancelled";
  reason: string;
  supersededBy?: Review;
}

/**
 * Ends pending reviews that will get no verdict: `outdated` (new commits; `supersededBy`, the review
 * that replaces it) or `cancelled` (the PR closed or went back to draft), with their events. Their
 * review tasks are cancelled, which frees each agent unless it holds other open work (such as the
 * fresh review).
 */
export async function endPendingReviews(trx: Knex.Transaction, ends: PendingReviewEnd[]): Promise<Review[]> {
  if (ends.length === 0) return [];
  const ended = await endReviews(
    trx,
    ends.map(({ review, status, supersededBy }) => ({ id: review.id, status, superseded_by: supersededBy?.id })),
  );
  await appendEvents(
    trx,
    ends.map(({ status, reason, supersededBy }, i) => reviewEvent(ended[i]!, `review.${status}`, { reason, ...(supersededBy ? { superseded_by: supersededBy.id } : {}) })),
  );
  // Each review task is cancelled with its review's reason.
  const reasons = new Map<number, string>();
  for (const [i, review] of ended.entries()) if (review.task_id !== null) reasons.set(review.task_id, ends[i]!.reason);
  const moves: StatusChange[] = [];
  for (const [orgId, ofOrg] of groupBy(ended, (review) => review.org_id)) {
    const taskIds = ofOrg.flatMap((review) => (review.task_id === null ? [] : [review.task_id]));
    for (const task of await findTasksByIds(trx, orgId, taskIds, { forUpdate: true })) {
      if (task.status === "done" || task.status === "cancelled") continue;
      moves.push({ task, to: "cancelled", options: { enforceTransitions: false, reason: reasons.get(task.id)! } });
    }
  }
  await changeTaskStatuses(trx, moves);
  return ended;
}

/** The review task of a review: on the board of the review's team, as urgent as its most urgent linked task. */
function reviewTask(review: Review, linked: Task[]): Omit<NewTask, "parent_id" | "assignee_id"> {
  return {
    org_id: review.org_id,
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
  };
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
