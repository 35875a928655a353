import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { decodeCursor, takePage } from "../../http/pagination.js";
import { intParam, parseInput } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { listReviewsQuery, verdictBody } from "./reviews.schema.js";
import { getReviewDetail } from "./reviews.service.js";
import { listReviews } from "./reviews.store.js";
import { submitVerdict } from "./submit-verdict.js";

const cursorSchema = z.object({ id: z.number().int().positive() });

/** GET /reviews, GET /reviews/{id} (with the PR's changed files), POST /reviews/{id}/verdict. */
export function createReviewsRouter(ctx: AppContext): Router {
  const router = Router();

  router.get("/reviews", async (req, res) => {
    const query = parseInput(listReviewsQuery, req.query);
    const after = decodeCursor(query.cursor, cursorSchema);
    const reviews = await listReviews(ctx.knex, {
      org_id: requestAuth(req).orgId,
      status: query.status,
      assignee_id: query.assignee_id ?? query.assignee,
      team_id: query.team_id,
      repository: query.repository,
      pull_number: query.pull_number,
      before_id: after?.id,
      limit: query.limit + 1,
    });
    res.json(takePage(req, res, ctx.config.PUBLIC_URL, reviews, query.limit, (last) => ({ id: last.id })));
  });

  router.get("/reviews/:id", async (req, res) => {
    res.json(await getReviewDetail(ctx.knex, ctx.pullRequestFiles, requestAuth(req).orgId, intParam(req.params.id, "Review")));
  });

  router.post("/reviews/:id/verdict", async (req, res) => {
    const id = intParam(req.params.id, "Review");
    const body = parseInput(verdictBody, req.body);
    res.json(await submitVerdict(ctx.knex, ctx.pullRequestFiles, requestAuth(req).orgId, id, body));
  });

  return router;
}
