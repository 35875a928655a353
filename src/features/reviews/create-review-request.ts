import type { ReviewComment, ReviewVerdict } from "./reviews.schema.js";
import type { Review } from "./reviews.store.js";

/** The body of GitHub's `pulls.createReview`, as the outbox sender passes it on. */
export interface CreateReviewRequest {
  pull_number: number;
  commit_id: string;
  event: "APPROVE" | "REQUEST_CHANGES";
  body: string;
  comments: ReviewComment[];
}

/**
 * The createReview request for a verdict: anchored at the reviewed head SHA; `approve` → APPROVE,
 * `request_changes` and `reject` → REQUEST_CHANGES. A comment already sent with an earlier
 * review of the same pull request (same path, line and text), or twice in this one, is left out.
 */
export function createReviewRequest(
  review: Pick<Review, "id" | "pull_number" | "head_sha">,
  verdict: { verdict: ReviewVerdict; summary: string; comments: ReviewComment[] },
  earlier: Pick<Review, "id" | "status" | "comments">[],
): { request: CreateReviewRequest; duplicates: number } {
  const seen = new Set(earlier.filter((r) => r.id !== review.id && r.status === "submitted").flatMap((r) => r.comments.map(commentKey)));
  const comments: ReviewComment[] = [];
  for (const comment of verdict.comments) {
    const key = commentKey(comment);
    if (seen.has(key)) continue;
    seen.add(key);
    comments.push(comment);
  }
  return {
    request: {
      pull_number: review.pull_number,
      commit_id: review.head_sha,
      event: verdict.verdict === "approve" ? "APPROVE" : "REQUEST_CHANGES",
      body: verdict.summary,
      comments,
    },
    duplicates: verdict.comments.length - comments.length,
  };
}

function commentKey(comment: Pick<ReviewComment, "path" | "line" | "body">): string {
  return JSON.stringify([comment.path, comment.line, comment.body.trim()]);
}
