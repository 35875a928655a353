import type { AppContext } from "../../app-context.js";
import entourageApp from "../../index.js";
import { createBoundedFetch, type BoundedFetch } from "../../lib/create-bounded-fetch.js";
import type { WebhookPipeline } from "../webhooks/webhook-pipeline.js";
import { GITHUB_APP_HOW_TO, githubApiBaseUrl, githubAppCredentials, type GithubAppCredentials } from "./github-app-credentials.js";
import { appCredentialsVersion, loadAppCredentials } from "./github-app-credentials.store.js";
import { createDisabledGithubAppDoor, createGithubAppDoor, GITHUB_APP_WEBHOOKS_PATH, type GithubAppDoor } from "./github-app-door.js";
import { GithubClient } from "./github-client.js";
import type { GithubAppInfo, GithubAppRuntime, GithubAppSource } from "./github-app-runtime.js";
import { createGithubProbot } from "./create-github-probot.js";

export interface GithubApp {
  /** Absent while the App path is off. */
  client?: GithubClient;
  /** What answers /api/github/webhooks (a 503 explaining how to turn it on, while off). */
  door: GithubAppDoor;
}

/**
 * Builds the runtime: Probot, the shared GitHub client and — for a server — Probot (the app
 * function loaded) behind the App door. Every call to GitHub is bounded (GITHUB_TIMEOUT_SECONDS). Without credentials it says the App path is off and how to
 * turn it on; everything else runs.
 */
export async function startGithubAppRuntime(ctx: AppContext, pipeline: WebhookPipeline, options: { serve: boolean; refreshMs?: number }): Promise<GithubAppRuntime> {
  const logger = ctx.logger.child({ component: "github-app" });
  const lookup = githubAppCredentials(ctx.config);
  const listeners: ((client: GithubClient) => void)[] = [];
  let current: GithubApp = { door: createDisabledGithubAppDoor(lookup.missing ?? []) };
  let source: GithubAppSource | null = null;
  let info: GithubAppInfo | null = null;
  let version: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  // A hung GitHub must hold neither a request nor shutdown: every call gives up after GITHUB_TIMEOUT_SECONDS.
  const calls = createBoundedFetch(ctx.config.GITHUB_TIMEOUT_SECONDS * 1000);

  const use = async (credentials: GithubAppCredentials, from: GithubAppSource) => {
    current = await createGithubApp(ctx, pipeline, credentials, { ...options, fetch: calls.fetch });
    source = from;
    for (const listener of listeners) listener(current.client!);
    logger.info({ appId: credentials.appId, api: credentials.baseUrl, source: from, path: GITHUB_APP_WEBHOOKS_PATH }, "GitHub App path is on");
  };
  const refresh = async () => {
    if (source === "env") return;
    const seen = await appCredentialsVersion(ctx.knex);
    if (!seen || seen === version) return;
    const stored = await loadAppCredentials(ctx.knex, ctx.secrets.encryptionKey);
    if (!stored) return;
    version = seen;
    info = { id: stored.id, slug: stored.slug, name: stored.name, html_url: stored.html_url };
    await use({ appId: stored.id, privateKey: stored.pem, webhookSecret: stored.webhook_secret, baseUrl: githubApiBaseUrl(ctx.config) }, "database");
  };

  if (lookup.credentials) {
    info = { id: lookup.credentials.appId, slug: null, name: null, html_url: null };
    await use(lookup.credentials, "env");
  } else {
    await refresh();
    if (!source) {
      logger.info({ missing: lookup.missing }, `GitHub App path is off: ${GITHUB_APP_HOW_TO}, or register it from the dashboard. Webhooks registered by hand and everything else still work`);
    }
    timer = setInterval(() => void refresh().catch((error: unknown) => logger.warn({ err: error }, "could not read the stored GitHub App credentials")), options.refreshMs ?? 5_000);
    timer.unref();
  }

  return {
    client: () => current.client,
    door: {
      handles: (req) => current.door.handles(req),
      handle: (req, res) => current.door.handle(req, res),
      takeRaw: (guid) => current.door.takeRaw(guid),
    },
    source: () => source,
    info: () => info,
    refresh,
    onClient(listener) {
      listeners.push(listener);
      if (current.client) listener(current.client);
    },
    stop() {
      clearInterval(timer);
    },
    abortCalls: calls.abortAll,
  };
}

/** Probot, the shared GitHub client and (serving) the App door, for one set of credentials. */
async function createGithubApp(
  ctx: AppContext,
  pipeline: WebhookPipeline,
  credentials: GithubAppCredentials,
  options: { serve: boolean; fetch: BoundedFetch["fetch"] },
): Promise<GithubApp> {
  const logger = ctx.logger.child({ component: "github-app" });
  const probot = createGithubProbot(credentials, ctx.logger, { fetch: options.fetch, octokit: ctx.githubOctokitOptions });
  const client = new GithubClient(probot, ctx.knex);
  if (!options.serve) return { client, door: createDisabledGithubAppDoor([]) };
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
  return { client, door };
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
