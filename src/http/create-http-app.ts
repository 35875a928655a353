import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type Express } from "express";
import type { AppContext } from "../app-context.js";
import type { WebhookPipeline } from "../features/webhooks/webhook-pipeline.js";
import { RECEIVE_PATH } from "../features/webhooks/receive-webhook.js";
import { createWebhooksRouter } from "../features/webhooks/webhooks.routes.js";
import { createAuthRouter } from "../features/auth/auth.routes.js";
import type { GithubAppDoor } from "../features/github/github-app-door.js";
import { createGithubRouter } from "../features/github/github.routes.js";
import { createGithubAppRouter } from "../features/github/github-app.routes.js";
import { createGithubInstallationsRouter } from "../features/github/github-installations.routes.js";
import { createGithubSetupRouter } from "../features/github/github-setup.routes.js";
import { githubWebUrl } from "../features/github/app-manifest.js";
import { createMcpRouter } from "../features/mcp/mcp.routes.js";
import { createOutboundWebhooksRouter } from "../features/notifications/outbound-webhooks.routes.js";
import { createDashboardRouter } from "../features/dashboard/dashboard.routes.js";
import { createEventsRouter } from "../features/events/events.routes.js";
import { createReviewsRouter } from "../features/reviews/reviews.routes.js";
import { createStatsRouter } from "../features/stats/stats.routes.js";
import { createTasksRouter } from "../features/tasks/tasks.routes.js";
import { createTeamsRouter } from "../features/teams/teams.routes.js";
import type { Metrics } from "../features/metrics/create-metrics.js";
import { createMetricsRouter } from "../features/metrics/metrics.routes.js";
import { timeAcknowledgement } from "../features/metrics/time-acknowledgement.js";
import { createDocsRouter, createOpenApiRouter } from "../features/openapi/openapi.routes.js";
import { createAuthMiddleware } from "./auth-middleware.js";
import { refuseDeepJson } from "./json-depth.js";
import { createErrorMiddleware, notFoundHandler } from "./error-middleware.js";
import { requestId } from "./request-id.js";

/** Probes /readyz runs besides the database (Redis when configured). */
export type ReadinessCheck = () => Promise<void>;

export interface HttpAppOptions {
  pipeline: WebhookPipeline;
  readinessChecks?: Record<string, ReadinessCheck>;
}

/**
 * The HTTP edge. Order matters:
 * 1. request ids, health probes;
 * 2. raw-body routes (webhook receivers) before any JSON parser;
 * 3. /mcp (its own JSON parsing and auth) and /api/v1 behind JSON parsing and auth;
 * 4. JSON 404 and the error middleware last.
 */
export function createHttpApp(ctx: AppContext, options: HttpAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use(requestId);

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    const checks: Record<string, string> = {};
    let ready = true;
    const all: Record<string, ReadinessCheck> = {
      database: async () => void (await ctx.knex.raw("SELECT 1")),
      ...options.readinessChecks,
    };
    for (const [name, check] of Object.entries(all)) {
      try {
        await withTimeout(check(), 2000);
        checks[name] = "ok";
      } catch (error) {
        ready = false;
        checks[name] = (error as Error).message || "unreachable";
      }
    }
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "unavailable", checks });
  });

  if (ctx.metrics) app.use(createMetricsRouter(ctx.metrics, ctx.config.METRICS_TOKEN));
  app.use(createMcpRouter(ctx));
  app.use(createGithubSetupRouter(ctx));

  const api = express.Router();
  api.use(express.json({ limit: "1mb" }), refuseDeepJson);
  api.use(createOpenApiRouter(ctx)); // public
  api.use(createEventsRouter(ctx)); // its own auth: it also takes ?access_token=<JWT>
  api.use(createAuthMiddleware({ knex: ctx.knex, jwtSecret: ctx.secrets.jwtSecret }));
  api.use(createAuthRouter(ctx));
  api.use(createTeamsRouter(ctx));
  api.use(createTasksRouter(ctx));
  api.use(createReviewsRouter(ctx));
  api.use(createWebhooksRouter(ctx, options.pipeline));
  api.use(createOutboundWebhooksRouter(ctx));
  api.use(createGithubRouter(ctx));
  api.use(createGithubAppRouter(ctx));
  api.use(createGithubInstallationsRouter(ctx));
  api.use(createStatsRouter(ctx));
  app.use("/api/v1", api);
  app.use(createDocsRouter());
  app.use(createDashboardRouter({ formAction: githubWebUrl(ctx.config) }));

  app.use(notFoundHandler);
  app.use(createErrorMiddleware(ctx.logger));
  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);
}

/**
 * The server's request listener: the webhook receive path runs on bare node:http (it is the
 * hot path and needs the raw bytes); everything else goes through Express.
 */
export function createRequestListener(app: Express, pipeline: WebhookPipeline, githubDoor?: GithubAppDoor, metrics?: Metrics): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    // The GitHub App door (Probot's middleware) needs the raw bytes too: before Express, mounted bare.
    if (githubDoor?.handles(req)) {
      if (metrics) timeAcknowledgement(metrics, res);
      void githubDoor.handle(req, res);
      return;
    }
    if (req.method === "POST" && req.url) {
      const match = RECEIVE_PATH.exec(req.url);
      if (match) {
        if (metrics) timeAcknowledgement(metrics, res);
        void pipeline.receive(req, res, match[1]!);
        return;
      }
    }
    app(req, res);
  };
}
