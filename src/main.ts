import http, { type Server } from "node:http";
import type { Logger } from "pino";
import type { AppContext } from "./app-context.js";
import type { Config } from "./config.js";
import { createEventBus } from "./bus/create-event-bus.js";
import { startEventRelay, type EventRelay } from "./bus/event-relay.js";
import { createDb, type Database } from "./db/create-db.js";
import { migrateLatest } from "./db/migrate.js";
import { createEventStreams } from "./features/events/event-streams.js";
import { startGithubAppRuntime, startWebhookProxy } from "./features/github/create-github-app.js";
import type { GithubOctokitOptions } from "./features/github/create-github-probot.js";
import { startGithubOutboxSender, type GithubOutboxSenderOptions } from "./features/github/github-outbox-sender.js";
import { startMissedDeliveriesRecovery, type RecoveryDeps, type RecoveryJob } from "./features/github/recover-missed-deliveries.js";
import { startOutboundSender, type OutboundSenderOptions } from "./features/notifications/outbound-sender.js";
import { startRetention } from "./features/retention/start-retention.js";
import { createMetrics } from "./features/metrics/create-metrics.js";
import { announceResolutions } from "./features/automation/announce-resolution.js";
import { handOutReviewsThenTasks } from "./features/assignment/hand-out-waiting-work.js";
import { createAutomationProcessor } from "./features/automation/automation-processor.js";
import { bootstrapOrg, type BootstrapResult } from "./features/orgs/bootstrap-org.js";
import type { PullRequestFilesSource } from "./features/reviews/pull-request-files-source.js";
import { reviewPullRequestHook } from "./features/reviews/review-pull-request-hook.js";
import { setTaskDoneHook } from "./features/tasks/task-done-hook.js";
import { setWaitingWorkHook } from "./features/teams/agent-pool.js";
import { countOrgs } from "./features/teams/teams.store.js";
import type { DeliveryProcessor } from "./features/webhooks/delivery-processor.js";
import type { DeliveryWorkerOptions } from "./features/webhooks/delivery-worker.js";
import { createWebhookPipeline, type WebhookPipeline } from "./features/webhooks/webhook-pipeline.js";
import { answerClientError } from "./http/answer-client-error.js";
import { createHttpApp, createRequestListener } from "./http/create-http-app.js";
import { resolveSecrets } from "./secrets.js";

export interface Entourage {
  ctx: AppContext;
  /** Base URL the server listens on (empty for a worker-only process). */
  url: string;
  server?: Server;
  pipeline: WebhookPipeline;
  /** The missed-delivery recovery, when the App is configured and this process runs workers. */
  /** The missed-delivery recovery job, once the App is configured (and recovery is on). */
  githubRecovery(): RecoveryJob | undefined;
  /** Printed once: the org created on an empty database. */
  firstRun?: BootstrapResult;
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  logger: Logger;
  /** `serve` runs HTTP (and the worker unless ENTOURAGE_WORKER=off); `worker` runs only the worker. */
  role?: "serve" | "worker";
  /** Use this database URL instead of DATABASE_URL / embedded (tests). */
  databaseUrl?: string;
  /** Create a default org on an empty database (on for `serve`). */
  bootstrapEmpty?: boolean;
  /** Replaces the automation rules (tests use failing or recording processors). */
  processor?: DeliveryProcessor;
  /** Worker tuning (tests shorten the hold, polls and backoff). */
  worker?: Partial<DeliveryWorkerOptions>;
  /** Outbound notification sender settings (tests shorten the retry schedule and timeouts). */
  outbound?: Partial<OutboundSenderOptions>;
  /** GitHub outbox sender settings (tests shorten backoff and polling). */
  githubOutbox?: Partial<GithubOutboxSenderOptions>;
  /** Retention pass timing (tests run passes by hand). */
  retention?: Parameters<typeof startRetention>[2];
  /** Octokit options for every GitHub call (tests turn throttling off so writes are not spaced a second apart). */
  githubOctokitOptions?: GithubOctokitOptions;
  /** Where reviews read a pull request's changed files (tests pass a fixed list; see README: Reviews). */
  pullRequestFiles?: PullRequestFilesSource;
}

const GITHUB_DRAIN_MS = 5_000;

/**
 * Wiring and lifecycle, in order: secrets → database → migrations → event bus and relay →
 * metrics → first-run org → webhook pipeline (and the delivery worker) → GitHub App → HTTP server
 * (+ webhook proxy) → outbound sender → retention → GitHub outbox sender → missed-delivery
 * recovery. close() undoes it in reverse and drains in-flight requests.
 */
export async function startEntourage(options: StartOptions): Promise<Entourage> {
  const { config, logger } = options;
  const role = options.role ?? "serve";
  wireFeatureHooks();
  const secrets = await resolveSecrets(config, logger);
  const db: Database = await createDb(config, { logger, url: options.databaseUrl, poolMax: 20 });
  const closers: (() => Promise<void>)[] = [() => db.close()];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) {
      await closer().catch((error) => logger.error({ err: error }, "error during shutdown"));
    }
  };

  try {
    const applied = await migrateLatest(db.knex);
    if (applied.length) logger.info({ migrations: applied }, "database migrated");

    // Live events: bus (Redis or in-process), then the relay that feeds it from the events table.
    const bus = createEventBus(config, logger);
    closers.push(() => bus.close());
    let relay: EventRelay | undefined;
    if (role === "serve" || bus.shared) {
      const started = await startEventRelay({ knex: db.knex, databaseUrl: db.url, bus, logger });
      relay = started;
      closers.push(() => started.stop());
    }
    const streams = createEventStreams();
    const realtime = role === "serve" && relay ? { bus, settledId: relay.settledId, streams, heartbeatMs: config.SSE_HEARTBEAT_SECONDS * 1000 } : undefined;
    let pipeline: WebhookPipeline | undefined;
    const metrics = createMetrics({
      knex: db.knex,
      sseClients: () => streams.size,
      relayPublishedId: relay && (() => relay!.publishedId()),
      unverifiedBodyBytes: () => pipeline?.bodyBudget.usedBytes ?? 0,
      abandonedUploads: () => pipeline?.clientAborts.count ?? 0,
    });
    const ctx: AppContext = { config, knex: db.knex, databaseUrl: db.url, logger, secrets, realtime, pullRequestFiles: options.pullRequestFiles, metrics, githubOctokitOptions: options.githubOctokitOptions };
    let firstRun: BootstrapResult | undefined;
    if ((options.bootstrapEmpty ?? role === "serve") && (await countOrgs(db.knex)) === 0) {
      firstRun = await bootstrapOrg(db.knex, { orgName: "default", teamName: "default", engineers: 2 });
    }

    const runWorker = role === "worker" || config.ENTOURAGE_WORKER === "on";
    const processor = options.processor ?? createAutomationProcessor({ pullRequestHooks: [reviewPullRequestHook] });
    pipeline = createWebhookPipeline(ctx, { runWorker, processor, worker: options.worker, relay });
    if (pipeline.worker) {
      const worker = pipeline.worker;
      await worker.start();
      closers.push(() => worker.stop());
      logger.info({ workerId: worker.id }, "delivery worker started");
    }

    const github = await startGithubAppRuntime(ctx, pipeline, { serve: role === "serve" });
    closers.push(async () => github.stop());
    // The App may turn on while running (the setup flow stores credentials): read it when used.
    Object.defineProperty(ctx, "github", { get: () => github.client(), enumerable: true, configurable: true });
    if (!options.pullRequestFiles) {
      Object.defineProperty(ctx, "pullRequestFiles", {
        get: (): PullRequestFilesSource | undefined => {
          const client = github.client();
          return client && ((ref) => client.listPullRequestFiles(ref.org_id, ref.repository, ref.pull_number));
        },
        enumerable: true,
        configurable: true,
      });
    }
    ctx.githubApp = github;

    let url = "";
    let server: Server | undefined;
    if (role === "serve") {
      const app = createHttpApp(ctx, { pipeline, readinessChecks: bus.kind === "redis" ? { redis: () => bus.check() } : {} });
      server = await listen(createRequestListener(app, pipeline, github.door, metrics), config.PORT, config.HOST);
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : config.PORT;
      url = `http://${config.HOST.includes(":") ? `[${config.HOST}]` : config.HOST}:${port}`;
      const httpServer = server;
      closers.push(() => closeServer(httpServer));
      // Runs before closeServer (closers run in reverse): open SSE streams would hold it open.
      closers.push(async () => streams.closeAll());
      logger.info({ url, publicUrl: config.PUBLIC_URL, database: db.embedded ? "embedded" : "DATABASE_URL" }, "Entourage is serving");
      if (config.WEBHOOK_PROXY_URL && github.client()) {
        closers.push(startWebhookProxy(config.WEBHOOK_PROXY_URL, `${url}/api/github/webhooks`, logger));
      }
    }
    let githubRecovery: RecoveryJob | undefined;
    if (runWorker) {
      const sender = startOutboundSender(
        { knex: db.knex, logger, encryptionKey: secrets.encryptionKey, metrics, databaseUrl: db.url },
        {
          allowPrivate: config.ALLOW_PRIVATE_OUTBOUND,
          ...(config.OUTBOUND_RETRY_SCHEDULE ? { retrySchedule: config.OUTBOUND_RETRY_SCHEDULE } : {}),
          ...options.outbound,
        },
      );
      closers.push(() => sender.stop());
      const retention = startRetention({ knex: db.knex, logger, metrics }, config, options.retention);
      closers.push(() => retention.stop());
      const githubSender = await startGithubOutboxSender({ knex: db.knex, logger, github: () => github.client(), databaseUrl: db.url }, options.githubOutbox);
      closers.push(() => githubSender.stop());
      if (config.GITHUB_RECOVERY_INTERVAL_SECONDS > 0) {
        // Starts with the first App client (at once with environment credentials, later after the
        // setup flow); an App replaced later is what the next passes ask GitHub as.
        let recoveryDeps: RecoveryDeps | undefined;
        github.onClient((client) => {
          if (recoveryDeps) {
            recoveryDeps.github = client;
            return;
          }
          recoveryDeps = { knex: db.knex, github: client, logger };
          const recovery = startMissedDeliveriesRecovery(
            recoveryDeps,
            { intervalMs: config.GITHUB_RECOVERY_INTERVAL_SECONDS * 1000, lookbackMs: config.GITHUB_RECOVERY_LOOKBACK_HOURS * 3600_000, overlapMs: 10 * 60_000 },
          );
          githubRecovery = recovery;
          closers.push(() => recovery.stop());
        });
      }
    }
    // Runs first on shutdown: GitHub calls still in flight after the drain time are cut, so a hung
    // GitHub cannot hold the server or the outbox sender open.
    closers.push(async () => void setTimeout(() => github.abortCalls("cut short: Entourage is shutting down"), GITHUB_DRAIN_MS).unref());
    return { ctx, url, server, pipeline, githubRecovery: () => githubRecovery, firstRun, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Lower layers call upward through hooks, never imports: a finished task is announced on its
 * GitHub issue (automation), and a freed agent takes waiting reviews, then tasks (assignment).
 */
function wireFeatureHooks(): void {
  setTaskDoneHook(announceResolutions);
  setWaitingWorkHook(handOutReviewsThenTasks);
}

function listen(listener: http.RequestListener, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(listener);
    server.once("error", reject);
    server.on("clientError", answerClientError);
    server.listen(port, host, () => resolve(server));
    // Slow clients must not pin connections forever.
    server.headersTimeout = 20_000;
    server.requestTimeout = 60_000;
    server.keepAliveTimeout = 5_000;
  });
}

/** Stops accepting, lets in-flight requests finish (10 s at most), then drops idle keep-alives. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), 10_000);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
