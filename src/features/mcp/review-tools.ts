import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { REVIEW_VERDICTS } from "../reviews/reviews.schema.js";
import type { ToolDeps } from "./task-tools.js";
import { runTool } from "./tool-result.js";

const reviewId = z
  .union([z.string().min(1).max(100), z.number().int().positive()])
  .transform(String)
  .describe("The review's id, as list_pending_reviews shows it");

/** list_pending_reviews, get_review, submit_review — over the Reviews API (/api/v1/reviews). */
export function registerReviewTools(server: McpServer, { api, agentId }: ToolDeps): void {
  server.registerTool(
    "list_pending_reviews",
    {
      title: "List my pending reviews",
      description: "List the pull-request reviews assigned to you that still wait for a verdict (repository, PR number, head SHA, linked task).",
      inputSchema: {},
      annotations: { readOnlyHint: true },
    },
    () => runTool(async () => ({ agent_id: agentId, reviews: await api.listReviews({ status: "pending", assignee: agentId }) })),
  );

  server.registerTool(
    "get_review",
    {
      title: "Get a review",
      description:
        "A review with the pull request's changed files and their diff hunks (`patch`). Anchor comments on a file's `filename` " +
        "and a line number of the new version (side RIGHT) or, for removed lines, the old one (side LEFT).",
      inputSchema: { review_id: reviewId },
      annotations: { readOnlyHint: true },
    },
    ({ review_id }) => runTool(() => api.getReview(review_id)),
  );

  server.registerTool(
    "submit_review",
    {
      title: "Submit a review verdict",
      description:
        "Give the verdict on a pending review, once: `approve`, `request_changes` (the task goes back to its engineer with your comments) " +
        "or `reject`. Each comment is anchored to a changed file (`path`) and a positive `line`; Entourage posts the review on the pull request.",
      inputSchema: {
        review_id: reviewId,
        verdict: z.enum(REVIEW_VERDICTS),
        summary: z.string().min(1).max(65_000).describe("The review's overall message"),
        comments: z
          .array(
            z.object({
              path: z.string().min(1).describe("A file changed by the pull request"),
              line: z.number().int().positive().describe("Line in the diff's new version (or old one with side LEFT)"),
              side: z.enum(["LEFT", "RIGHT"]).optional(),
              start_line: z.number().int().positive().optional().describe("First line of a multi-line comment"),
              body: z.string().min(1).max(65_000),
            }),
          )
          .max(200)
          .default([]),
      },
    },
    ({ review_id, ...verdict }) => runTool(() => api.submitReviewVerdict(review_id, verdict)),
  );
}
