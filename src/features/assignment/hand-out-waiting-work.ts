import type { Queryable } from "../../db/create-db.js";
import { handOutWaitingReviews } from "../reviews/review-assignment.js";
import { assignWaitingTasks } from "../tasks/task-assignment.js";

/**
 * Serves what waits for a free agent of a team: reviews first (finished work waiting to merge),
 * then auto-assign tasks while engineers are available. The agent pool calls it (through the
 * hook main.ts sets) whenever an agent of the team becomes available.
 */
export async function handOutReviewsThenTasks(db: Queryable, teamId: string): Promise<void> {
  await handOutWaitingReviews(db, teamId);
  await assignWaitingTasks(db, teamId);
}
