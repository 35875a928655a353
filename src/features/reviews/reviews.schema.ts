import { z } from "zod";
import { timestamp } from "../../http/api-output.js";
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
export const reviewCommentOutput = z.strictObject({
  path: z.string(),
  line: z.number().int().positive(),
  side: z.enum(["LEFT", "RIGHT"]).optional(),
  start_line: z.number().int().positive().optional(),
  body: z.string(),
});
export type ReviewComment = z.output<typeof reviewCommentOutput>;

/** A review as the API answers it. */
export const reviewOutput = z.strictObject({
  id: z.number().int(),
  org_id: z.uuid(),
  team_id: z.uuid(),
  status: z.enum(REVIEW_STATUSES),
  repository: z.string(),
  pull_number: z.number().int(),
  pr_title: z.string(),
  head_sha: z.string(),
  html_url: z.string(),
  installation_id: z.number().int().nullable(),
  /** The review task on the board. */
  task_id: z.number().int().nullable(),
  /** The tasks the pull request is linked to. */
  linked_task_ids: z.array(z.number().int()),
  assignee_id: z.uuid().nullable(),
  verdict: z.enum(REVIEW_VERDICTS).nullable(),
  summary: z.string().nullable(),
  comments: z.array(reviewCommentOutput),
  /** The review that replaced this one when new commits were pushed. */
  superseded_by: z.number().int().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  submitted_at: timestamp.nullable(),
});
export type Review = z.output<typeof reviewOutput>;

/** GET /reviews/{id}: the review with the pull request's changed files at its head (GitHub's fields, passed through). */
export const reviewDetailOutput = reviewOutput.extend({
  files: z.array(
    z.looseObject({
      filename: z.string(),
      status: z.string(),
      additions: z.number().int(),
      deletions: z.number().int(),
      changes: z.number().int().optional(),
      patch: z.string().optional(),
      previous_filename: z.string().optional(),
    }),
  ),
  /** Present when `files` could not be listed (no GitHub credentials, GitHub failing). */
  files_error: z.string().optional(),
});
export type ReviewDetail = z.output<typeof reviewDetailOutput>;

/** POST /reviews/{id}/verdict: the submitted review and what was queued for GitHub. */
export const verdictOutput = reviewOutput.extend({
  github: z.strictObject({
    /** The GitHub outbox rows (GET /github/actions) that will post the review (and the label for reject). */
    outbox_ids: z.array(z.number().int()),
    /** Comments left out because the pull request already has them. */
    duplicate_comments: z.number().int(),
  }),
});
export type VerdictResult = z.output<typeof verdictOutput>;
