import type { Queryable } from "../../db/create-db.js";
import { appendEvents } from "../events/events.store.js";
import { assignTask } from "../tasks/tasks.service.js";
import { findTask, findTasksByIds, type Task } from "../tasks/tasks.store.js";
import { takeAvailableAgent } from "../teams/agent-pool.js";
import { hasAvailableAgent, type Agent } from "../teams/teams.store.js";
import { reviewEvent } from "./review-event.js";
import { lockNextWaitingReview, updateReview, type Review } from "./reviews.store.js";

/** How many waiting reviews one hand-out looks at; the rest wait for the next agent to free up. */
const HAND_OUT_BATCH = 50;

/**
 * Takes an agent for a review and marks it busy: the team's first available reviewer, else the
 * first available engineer who is not the assignee of a task the pull request is linked to
 * (nobody reviews their own work). Undefined when nobody fits: the review waits. `linked`: those
 * tasks, when the caller has just read them.
 */
export async function takeReviewAgent(db: Queryable, review: Review, linked?: Task[]): Promise<Agent | undefined> {
  const tasks = linked ?? (await findTasksByIds(db, review.org_id, review.linked_task_ids));
  const authors = tasks.flatMap((task) => (task.assignee_id ? [task.assignee_id] : []));
  return takeAvailableAgent(db, review.team_id, [{ role: "reviewer" }, { role: "engineer", excludeIds: authors }]);
}

/** Gives a review (and its review task) to an agent already marked busy, with `review.assigned`. */
export async function assignReview(db: Queryable, review: Review, agent: Pick<Agent, "id" | "name">): Promise<Review> {
  const updated = await updateReview(db, review.id, { assignee_id: agent.id });
  const task = review.task_id ? await findTask(db, review.org_id, review.task_id) : undefined;
  if (task) await assignTask(db, task, agent.id);
  await appendEvents(db, [reviewEvent(updated, "review.assigned", { assignee_id: agent.id, assignee_name: agent.name })]);
  return updated;
}

/**
 * Assigns the team's waiting reviews, oldest first, while agents who may review them are free.
 * A review is locked only when an agent is free to take it, so a busy team locks none, and the
 * hand-out stops at the last free agent instead of reading the whole queue.
 */
export async function handOutWaitingReviews(db: Queryable, teamId: string): Promise<Review[]> {
  const assigned: Review[] = [];
  let after = 0;
  for (let looked = 0; looked < HAND_OUT_BATCH && (await hasAvailableAgent(db, teamId, ["reviewer", "engineer"])); looked++) {
    const review = await lockNextWaitingReview(db, teamId, after);
    if (!review) break;
    after = review.id;
    // Another waiting review may still fit an agent this one could not take (its own author).
    const agent = await takeReviewAgent(db, review);
    if (agent) assigned.push(await assignReview(db, review, agent));
  }
  return assigned;
}
