import { z } from "zod";
import { paginationQuery } from "../../http/pagination.js";

export const REVIEW_STATUSES = ["pending", "outdated", "submitted", "cancelled"] as const;
export const REVIEW_VERDICTS = ["approve", "request_changes", "reject"] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
export type ReviewVerdict = (typeof REVIEW_VERDICTS)[number];

/** The label put on a pull request whose review verdict is `reject`. */
export const REJECTED_LABEL = "entourage: rejected";

export const listReviewsQuery = z
  .object({
    status: z.enum(REVIEW_STATUSES).optional(),
    assignee: z.uuid().optional(),
    assignee_id: z.uuid().optional(),
    team_id: z.uuid().optional(),
    repository: z.string().min(3).max(200).optional(),
    pull_number: z.coerce.number().int().positive().max(2_147_483_647).optional(),
    ...paginationQuery,
  })
  .refine((q) => !(q.assignee && q.assignee_id && q.assignee !== q.assignee_id), { message: "assignee and assignee_id disagree: send one", path: ["assignee"] });

/**
 * A comment as sent. Only its shape is checked here (400); whether `path` is a changed file and
 * `line` a positive integer is the service's 422, which names the comment.
 */
export const reviewCommentInput = z.strictObject({
  path: z.string().min(1).max(1000),
  line: z.number(),
  side: z.enum(["LEFT", "RIGHT"]).optional(),
  start_line: z.number().optional(),
  body: z.string().trim().min(1).max(65_000),
});

export const verdictBody = z.strictObject({
  verdict: z.enum(REVIEW_VERDICTS),
  summary: z.string().trim().min(1).max(65_000),
  comments: z.array(reviewCommentInput).max(200).default([]),
});

export type ReviewCommentInput = z.infer<typeof reviewCommentInput>;
export type VerdictBody = z.infer<typeof verdictBody>;

/** A comment as stored and posted: validated, line a positive integer. */
export interface ReviewComment {
  path: string;
  line: number;
  side?: "LEFT" | "RIGHT";
  start_line?: number;
  body: string;
}
