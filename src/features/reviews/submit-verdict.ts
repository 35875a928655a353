import type { Knex } from "knex";
import { ConflictError, NotFoundError, UnprocessableError } from "../../errors.js";
import { appendEvents } from "../events/events.store.js";
import { enqueueGithubAction } from "../github/github-outbox.store.js";
import { addTaskComment } from "../tasks/task-comments.service.js";
import { changeTaskStatus } from "../tasks/tasks.service.js";
import { findTask, type Task } from "../tasks/tasks.store.js";
import type { TaskStatus } from "../tasks/tasks.schema.js";
import { createReviewRequest } from "./create-review-request.js";
import { loadReviewFiles } from "./load-review-files.js";
import type { PullRequestFilesSource } from "./pull-request-files-source.js";
import { reviewEvent } from "./review-event.js";
import { REJECTED_LABEL, type ReviewComment, type VerdictBody, type VerdictResult } from "./reviews.schema.js";
import { findReview, listPullRequestReviews, updateReview, type Review } from "./reviews.store.js";
import { validateReviewComments } from "./validate-review-comments.js";

export type { VerdictResult };

/** How a verdict moves each linked task, by its current status. */
const MOVES: Record<VerdictBody["verdict"], { from: TaskStatus[]; to: TaskStatus }> = {
  // Stays (or returns to) in_review until the PR merges.
  approve: { from: ["todo", "in_progress"], to: "in_review" },
  request_changes: { from: ["todo", "in_review"], to: "in_progress" },
  reject: { from: ["todo", "in_review"], to: "in_progress" },
};

/**
 * Records the one verdict of a review:
 * 1. the review must be pending (409 otherwise); comments are checked against the PR's changed
 *    files (422 naming the first bad one), listed before the transaction so GitHub is not called under a lock;
 * 2. in one transaction: the review is submitted; `create_review` (and for `reject` the
 *    `entourage: rejected` label) go to the GitHub outbox, keyed by the review so they post once;
 *    linked tasks move (approve → in_review; request_changes, reject → in_progress with the summary and
 *    comments attached for their engineer); the review task is done, which frees the reviewer;
 *    `review.submitted`.
 */
export async function submitVerdict(
  knex: Knex,
  filesSource: PullRequestFilesSource | undefined,
  orgId: string,
  id: number,
  body: VerdictBody,
): Promise<VerdictResult> {
  const review = await findReview(knex, orgId, id);
  if (!review) throw new NotFoundError(`Review ${id} not found`);
  assertPending(review);
  let comments: ReviewComment[] = [];
  if (body.comments.length) {
    const { files, error } = await loadReviewFiles(knex, filesSource, review);
    if (error) {
      const message = `Cannot check the comments against the pull request's changed files: ${error}. Send the verdict without comments, or configure GitHub access`;
      throw new UnprocessableError(message, [{ field: "comments", message: error }]);
    }
    comments = validateReviewComments(body.comments, files, review.pull_number);
  }

  return knex.transaction(async (trx) => {
    const locked = await findReview(trx, orgId, id, { forUpdate: true });
    assertPending(locked!);
    const submitted = await updateReview(trx, id, { status: "submitted", verdict: body.verdict, summary: body.summary, comments, submitted_at: new Date() });
    const earlier = await listPullRequestReviews(trx, submitted);
    const { request, duplicates } = createReviewRequest(submitted, { verdict: body.verdict, summary: body.summary, comments }, earlier);
    const github = { org_id: orgId, repository: submitted.repository, installation_id: submitted.installation_id, task_id: submitted.task_id };
    const outboxIds = [(await enqueueGithubAction(trx, { ...github, kind: "create_review", dedupe_key: `review:${id}`, request: { ...request } })).id];
    if (body.verdict === "reject") {
      const labels = { issue_number: submitted.pull_number, labels: [REJECTED_LABEL] };
      outboxIds.push((await enqueueGithubAction(trx, { ...github, kind: "add_labels", dedupe_key: `review:${id}:rejected-label`, request: labels })).id);
    }

    const moved: { task_id: number; from: TaskStatus; to: TaskStatus }[] = [];
    for (const taskId of submitted.linked_task_ids) {
      const task = await findTask(trx, orgId, taskId, { forUpdate: true });
      if (!task || task.status === "done" || task.status === "cancelled") continue;
      const to = await moveLinkedTask(trx, task, submitted);
      if (to) moved.push({ task_id: task.id, from: task.status, to });
      if (body.verdict !== "approve") await attachReview(trx, task, submitted);
    }
    const reviewTask = submitted.task_id ? await findTask(trx, orgId, submitted.task_id, { forUpdate: true }) : undefined;
    if (reviewTask && reviewTask.status !== "done") {
      await changeTaskStatus(trx, reviewTask, "done", { enforceTransitions: false, reason: `review verdict: ${body.verdict}` });
    }
    await appendEvents(trx, [
      reviewEvent(submitted, "review.submitted", { verdict: body.verdict, comments: comments.length, duplicate_comments: duplicates, tasks_moved: moved, github_outbox_ids: outboxIds }),
    ]);
    return { ...submitted, github: { outbox_ids: outboxIds, duplicate_comments: duplicates } };
  });
}

function assertPending(review: Review): void {
  if (review.status === "pending") return;
  const details = { status: review.status, verdict: review.verdict, superseded_by: review.superseded_by };
  if (review.status === "submitted") {
    throw new ConflictError(`Review #${review.id} already has its verdict (${review.verdict}): a review takes one verdict`, details);
  }
  if (review.status === "outdated") {
    const newer = review.superseded_by ? `; review #${review.superseded_by} covers the new head` : "";
    throw new ConflictError(`Review #${review.id} is outdated: the pull request has new commits${newer}`, details);
  }
  throw new ConflictError(`Review #${review.id} was cancelled: the pull request was closed or turned back into a draft`, details);
}

/** Moves a linked task as the verdict says; a task whose dependencies are unfinished stays where it is. */
async function moveLinkedTask(trx: Knex.Transaction, task: Task, review: Review): Promise<TaskStatus | undefined> {
  const move = MOVES[review.verdict!];
  if (!move.from.includes(task.status)) return undefined;
  try {
    await changeTaskStatus(trx, task, move.to, { enforceTransitions: false, reason: `review #${review.id}: ${review.verdict}` });
    return move.to;
  } catch (error) {
    if (error instanceof ConflictError) return undefined; // blocked by dependencies: nothing was written
    throw error;
  }
}

/** The summary and each file comment, on the task's thread as review comments for its engineer. */
async function attachReview(trx: Knex.Transaction, task: Task, review: Review): Promise<void> {
  const base = { kind: "review" as const, author_agent_id: review.assignee_id };
  const verdict = review.verdict === "reject" ? "rejected" : "requested changes";
  await addTaskComment(trx, task, {
    ...base,
    body: `Review #${review.id} of ${review.repository}#${review.pull_number} ${verdict}: ${review.summary}`,
    metadata: { review_id: review.id, verdict: review.verdict, html_url: review.html_url },
  });
  for (const comment of review.comments) {
    const { body, ...anchor } = comment;
    await addTaskComment(trx, task, { ...base, body, metadata: { review_id: review.id, ...anchor } });
  }
}
