import { Router } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { decodeCursor, paginationQuery, takePage } from "../../http/pagination.js";
import { parseInput } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { GITHUB_ACTION_STATUSES, listGithubActions } from "./github-outbox.store.js";
import type { GithubActionOutputView, UnroutedDeliveryView } from "./github.schema.js";
import { listUnroutedDeliveriesForOrg } from "./unrouted-deliveries.store.js";
import { findInstanceOrgId } from "../orgs/instance-org.js";

export const unroutedQuery = z.object({
  event_type: z.string().max(100).optional(),
  installation_id: z.coerce.number().int().positive().optional(),
  ...paginationQuery,
});
const unroutedCursor = z.object({ received_at: z.iso.datetime(), id: z.uuid() });

export const actionsQuery = z.object({
  task_id: z.coerce.number().int().positive().optional(),
  status: z.enum(GITHUB_ACTION_STATUSES).optional(),
  ...paginationQuery,
});
const actionsCursor = z.object({ id: z.number().int().positive() });

export function createGithubRouter(ctx: AppContext): Router {
  const router = Router();

  /** App deliveries no webhook routed: those of installations linked to the caller's org (the instance org: also unlinked ones). */
  router.get("/github/unrouted-deliveries", async (req, res) => {
    const query = parseInput(unroutedQuery, req.query);
    const { orgId } = requestAuth(req);
    const isInstanceOrg = (await findInstanceOrgId(ctx.knex, ctx.config.ENTOURAGE_INSTANCE_ORG_ID)) === orgId;
    const rows: UnroutedDeliveryView[] = await listUnroutedDeliveriesForOrg(ctx.knex, { orgId, isInstanceOrg }, {
      event_type: query.event_type,
      installation_id: query.installation_id,
      before: decodeCursor(query.cursor, unroutedCursor),
      limit: query.limit + 1,
    });
    res.json(takePage(req, res, ctx.config.PUBLIC_URL, rows, query.limit, (last) => ({ received_at: last.received_at.toISOString(), id: last.id })));
  });

  /** The org's writes to GitHub (comments, closes, reviews, labels) with status and, when not sent, why. */
  router.get("/github/actions", async (req, res) => {
    const query = parseInput(actionsQuery, req.query);
    const rows: GithubActionOutputView[] = await listGithubActions(ctx.knex, requestAuth(req).orgId, {
      task_id: query.task_id,
      status: query.status,
      before_id: decodeCursor(query.cursor, actionsCursor)?.id,
      limit: query.limit + 1,
    });
    res.json(takePage(req, res, ctx.config.PUBLIC_URL, rows, query.limit, (last) => ({ id: last.id })));
  });

  return router;
}
