import { Router, type RequestHandler } from "express";
import { z } from "zod";
import type { AppContext } from "../../app-context.js";
import { AuthenticationError, InputError, NotFoundError, UnavailableError } from "../../errors.js";
import { createAuthMiddleware } from "../../http/auth-middleware.js";
import { parseInput } from "../../http/parse-input.js";
import { requestAuth } from "../../http/request-auth.js";
import { API_KEY_PREFIX } from "../auth/api-keys.service.js";
import { findTeam } from "../teams/teams.store.js";
import { streamEvents } from "./event-stream.js";

const TYPE_PATTERN = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/;

export const eventsQuery = z.object({
  types: z
    .string()
    .max(2_000)
    .optional()
    .transform((value) => (value ?? "").split(",").map((type) => type.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(TYPE_PATTERN, "must be an event type such as task.created, a prefix such as task.*, or *"))),
  team_id: z.uuid().optional(),
  last_event_id: z.coerce.number().int().min(0).optional(),
  access_token: z.string().optional(),
});

/**
 * `GET /api/v1/events`: the caller's org's domain events as Server-Sent Events. Mounted before the
 * API's own auth: this route alone also takes `?access_token=<JWT>`, because EventSource cannot send
 * headers. An API key in a URL ends up in logs and browser history, so it is refused outright.
 */
export function createEventsRouter(ctx: AppContext): Router {
  const router = Router();
  const auth = createAuthMiddleware({ knex: ctx.knex, jwtSecret: ctx.secrets.jwtSecret, allowQueryToken: true });
  const refuseKeyInUrl: RequestHandler = (req, _res, next) => {
    const token = req.query.access_token;
    if (typeof token === "string" && token.startsWith(API_KEY_PREFIX)) {
      throw new AuthenticationError(
        "API keys are not accepted in URLs: send X-API-Key, or pass a token from POST /api/v1/auth/token as ?access_token=",
      );
    }
    next();
  };

  router.get("/events", refuseKeyInUrl, auth, async (req, res) => {
    const realtime = ctx.realtime;
    if (!realtime) throw new UnavailableError("Live events are not served by this process");
    const { orgId, expiresAt } = requestAuth(req);
    const query = parseInput(eventsQuery, req.query);
    if (query.team_id && !(await findTeam(ctx.knex, orgId, query.team_id))) throw new NotFoundError(`Team ${query.team_id} not found`);
    streamEvents(res, {
      knex: ctx.knex,
      bus: realtime.bus,
      streams: realtime.streams,
      logger: ctx.logger,
      settledId: realtime.settledId,
      orgId,
      filter: { types: query.types.includes("*") ? [] : query.types, team_id: query.team_id },
      lastEventId: lastEventIdHeader(req.get("last-event-id")) ?? query.last_event_id,
      heartbeatMs: realtime.heartbeatMs,
      expiresAt,
    });
  });

  return router;
}

/** The browser's Last-Event-ID on reconnect wins over the `last_event_id` the URL was first opened with. */
function lastEventIdHeader(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (!/^\d{1,15}$/.test(value.trim())) {
    throw new InputError("Invalid request", [{ field: "Last-Event-ID", message: "must be an event id" }], "validation_failed");
  }
  return Number(value.trim());
}
