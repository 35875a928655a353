import type { DomainEventInput } from "../events/events.store.js";
import type { Review } from "./reviews.store.js";

/**
 * A domain event about a review, with its snapshot. `task_id` is the PR's (first) linked task
 * when there is one, so outbound subscribers see which piece of work the review is about.
 */
export function reviewEvent(review: Review, type: string, data: Record<string, unknown> = {}): DomainEventInput {
  const linked = review.linked_task_ids[0];
  return {
    org_id: review.org_id,
    team_id: review.team_id,
    type,
    data: {
      ...(linked === undefined ? {} : { task_id: linked }),
      review_id: review.id,
      review_task_id: review.task_id,
      linked_task_ids: review.linked_task_ids,
      ...data,
      review,
    },
  };
}
