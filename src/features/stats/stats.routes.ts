import { Router } from "express";
import type { AppContext } from "../../app-context.js";
import { parseInput } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { deliveryStats } from "./delivery-stats.js";
import { checkStatsRange, deliveryStatsQuery } from "./stats.schema.js";

/** /stats: figures about the caller's org, for the console's charts and for scripts. */
export function createStatsRouter(ctx: AppContext): Router {
  const router = Router();

  router.get("/stats/deliveries", async (req, res) => {
    const query = parseInput(deliveryStatsQuery, req.query);
    checkStatsRange(query);
    res.json(await deliveryStats(ctx.knex, requestAuth(req).orgId, query));
  });

  return router;
}
