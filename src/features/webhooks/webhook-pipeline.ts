import type { AppContext } from "../../app-context.js";
import type { EventHandover } from "../../bus/event-relay.js";
import { BodyBudget } from "../../http/body-budget.js";
import { ClientAborts } from "../../http/client-aborts.js";
import { countDelivery, observeProcessing, observeWrite } from "../metrics/pipeline-metrics.js";
import { DeliveryWriter } from "./delivery-writer.js";
import type { DeliveryProcessor } from "./delivery-processor.js";
import { DeliveryWorker, type DeliveryWorkerOptions } from "./delivery-worker.js";
import { createReceiveHandler } from "./receive-webhook.js";
import { RejectionLimiter } from "./rejection-limiter.js";
import { WebhookResolver } from "./webhook-resolver.js";

export interface WebhookPipeline {
  writer: DeliveryWriter;
  resolver: WebhookResolver;
  receive: ReturnType<typeof createReceiveHandler>;
  /** Bytes of unverified bodies in memory, shared by both doors (UNVERIFIED_BODY_BUDGET_MB). */
  bodyBudget: BodyBudget;
  /** Uploads abandoned by their client, on both doors. */
  clientAborts: ClientAborts;
  /** Present when this process runs the worker. */
  worker?: DeliveryWorker;
  /** Wakes the local worker, if any. */
  wake(): void;
}

export interface PipelineOptions {
  processor: DeliveryProcessor;
  runWorker: boolean;
  worker?: Partial<DeliveryWorkerOptions>;
  /** This process's event relay, if it runs one: the writer hands it the events it commits. */
  relay?: EventHandover;
}

/** The pieces of the one pipeline both doors feed: writer (ack path), resolver, receive handler, worker. */
export function createWebhookPipeline(ctx: AppContext, options: PipelineOptions): WebhookPipeline {
  let worker: DeliveryWorker | undefined;
  const wake = () => worker?.wake();
  const metrics = ctx.metrics;
  const writer = new DeliveryWriter(ctx.knex, {
    onReceived: wake,
    relay: options.relay,
    onWritten: metrics && ((row, result) => countDelivery(metrics, row, result)),
    onStatement: metrics && ((deliveries, seconds) => observeWrite(metrics, deliveries, seconds)),
  });
  const resolver = new WebhookResolver(ctx.knex, ctx.secrets.encryptionKey);
  if (options.runWorker) {
    worker = new DeliveryWorker({
      knex: ctx.knex,
      logger: ctx.logger.child({ component: "delivery-worker" }),
      processor: options.processor,
      databaseUrl: ctx.databaseUrl,
      holdSeconds: ctx.config.DELIVERY_LEASE_SECONDS,
      concurrency: ctx.config.DELIVERY_WORKER_CONCURRENCY,
      perTransaction: ctx.config.DELIVERY_WORKER_GROUP_SIZE,
      gatherMs: ctx.config.DELIVERY_WORKER_GATHER_MS,
      onProcessed: metrics && ((count, seconds) => observeProcessing(metrics, count, seconds)),
      ...options.worker,
    });
  }
  const bodyBudget = new BodyBudget(ctx.config.UNVERIFIED_BODY_BUDGET_MB * 1024 * 1024);
  const clientAborts = new ClientAborts(ctx.logger);
  const receive = createReceiveHandler({ writer, resolver, rejections: new RejectionLimiter(), logger: ctx.logger, bodyBudget, clientAborts });
  return { writer, resolver, receive, bodyBudget, clientAborts, worker, wake };
}
