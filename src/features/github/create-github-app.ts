import { createBoundedFetch } from "../../lib/create-bounded-fetch.js";
import type { AppContext } from "../../app-context.js";
import entourageApp from "../../index.js";
import type { WebhookPipeline } from "../webhooks/webhook-pipeline.js";
import { GITHUB_APP_HOW_TO, githubAppCredentials } from "./github-app-credentials.js";
import { createDisabledGithubAppDoor, createGithubAppDoor, GITHUB_APP_WEBHOOKS_PATH, type GithubAppDoor } from "./github-app-door.js";
import { GithubClient } from "./github-client.js";
import { createGithubProbot } from "./create-github-probot.js";

export interface GithubApp {
  /** Absent while the App path is off. */
  client?: GithubClient;
  /** What answers /api/github/webhooks (a 503 explaining how to turn it on, while off). */
  door: GithubAppDoor;
  /** Cuts every GitHub call still in flight (shutdown, once the drain time is over). */
  abortCalls(reason: string): void;
}

/**
 * Builds the GitHub App side from config: Probot, the shared GitHub client and — for a server —
 * Probot (the app function loaded) behind the App door, plus the smee client when WEBHOOK_PROXY_URL is
 * set. Without APP_ID / PRIVATE_KEY / WEBHOOK_SECRET it says the App path is off and how to turn
 * it on; everything else runs.
 */
export async function createGithubApp(ctx: AppContext, pipeline: WebhookPipeline, options: { serve: boolean }): Promise<GithubApp> {
  const logger = ctx.logger.child({ component: "github-app" });
  const lookup = githubAppCredentials(ctx.config);
  if (!lookup.credentials) {
    logger.info({ missing: lookup.missing }, `GitHub App path is off: ${GITHUB_APP_HOW_TO}. Webhooks registered by hand and everything else still work`);
    return { door: createDisabledGithubAppDoor(lookup.missing), abortCalls: () => {} };
  }
  const { credentials } = lookup;
  // Every call to GitHub is bounded (GITHUB_TIMEOUT_SECONDS): a hung GitHub must not hold a request or shutdown.
  const calls = createBoundedFetch(ctx.config.GITHUB_TIMEOUT_SECONDS * 1000);
  const probot = createGithubProbot(credentials, ctx.logger, { fetch: calls.fetch });
  const client = new GithubClient(probot, ctx.knex);
  if (!options.serve) return { client, door: createDisabledGithubAppDoor([]), abortCalls: calls.abortAll };

  let door: GithubAppDoor | undefined;
  // Loaded into Probot, not behind its middleware: the door has checked the signature already.
  await probot.load((app) => entourageApp(app, { knex: ctx.knex, writer: pipeline.writer, logger, takeRaw: (guid) => door?.takeRaw(guid) }));
  door = createGithubAppDoor({
    receive: (event) => probot.receive(event as Parameters<typeof probot.receive>[0]),
    webhookSecret: credentials.webhookSecret,
    logger,
    bodyBudget: pipeline.bodyBudget,
    clientAborts: pipeline.clientAborts,
  });
  logger.info({ appId: credentials.appId, api: credentials.baseUrl, path: GITHUB_APP_WEBHOOKS_PATH }, "GitHub App path is on");
  return { client, door, abortCalls: calls.abortAll };
}

/**
 * Local development: forwards a smee.io channel to this server (started only when
 * WEBHOOK_PROXY_URL is set). Connecting happens in the background: an unreachable channel is
 * logged, never a reason not to start.
 */
export function startWebhookProxy(source: string, target: string, logger: AppContext["logger"]): () => Promise<void> {
  const log = logger.child({ component: "webhook-proxy" });
  const text = (args: unknown[]) => args.map(String).join(" ");
  let smee: { stop(): Promise<void> } | undefined;
  const started = import("smee-client")
    .then(async ({ SmeeClient }) => {
      const client = new SmeeClient({
        source,
        target,
        maxConnectionTimeout: 15_000,
        logger: { info: (...args: unknown[]) => log.debug(text(args)), error: (...args: unknown[]) => log.warn(text(args)) },
      });
      smee = client;
      await client.start();
      log.info({ source, target }, "forwarding WEBHOOK_PROXY_URL (smee) to the App door");
    })
    .catch((error: unknown) => log.warn({ err: error, source }, "could not connect to WEBHOOK_PROXY_URL; App deliveries will not be forwarded"));
  return async () => {
    await started;
    await smee?.stop().catch(() => undefined);
  };
}
