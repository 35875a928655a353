import { Agent } from "undici";
import { createPublicOnlyAgent } from "./public-only-agent.js";
import type { Knex } from "knex";
import type { Logger } from "pino";
import { listenForNotifications } from "../../db/listen-for-notifications.js";
import type { Metrics } from "../metrics/create-metrics.js";
import { openSecret } from "../../lib/secret-box.js";
import {
  claimDueDeliveries,
  OUTBOUND_NOTIFY_CHANNEL,
  recordAttempt,
  releaseOutboundDelivery,
  type AttemptOutcome,
  type ClaimedOutboundDelivery,
} from "./outbound-deliveries.store.js";
import { disableOutboundWebhook } from "./outbound-webhooks.service.js";
import { clearOutboundWebhookFailing, findOutboundWebhooksByIds, markOutboundWebhookFailing, type OutboundWebhookRow } from "./outbound-webhooks.store.js";
import { sendOutboundRequest, type OutboundResponse } from "./send-outbound-request.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export interface OutboundSenderOptions {
  /** Delay before each retry; one attempt right away plus one per entry. */
  retrySchedule: number[];
  /** Each delay is spread by ± this fraction so failed bursts do not return in lockstep. */
  jitter: number;
  /** A 2xx must arrive within this. */
  timeoutMs: number;
  /** How long a claim lasts; a crashed sender's deliveries are retried after it. Must exceed timeoutMs. */
  leaseMs: number;
  pollIntervalMs: number;
  /** Attempts in flight in this sender, in all. */
  concurrency: number;
  /** Attempts in flight in this sender for one endpoint, so a slow one cannot take every slot. */
  perEndpointConcurrency: number;
  /** An endpoint failing without a single success for this long is disabled. */
  disableAfterMs: number;
  /** Retry-After is honoured up to this. */
  maxRetryAfterMs: number;
  allowPrivate: boolean;
  /** On stop, attempts still in flight after this are aborted and handed back to the queue. */
  drainMs: number;
}

/** 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours (Svix's schedule). */
export const DEFAULT_RETRY_SCHEDULE = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

export const DEFAULT_SENDER_OPTIONS: OutboundSenderOptions = {
  retrySchedule: DEFAULT_RETRY_SCHEDULE,
  jitter: 0.1,
  timeoutMs: 15 * SECOND,
  leaseMs: 45 * SECOND,
  pollIntervalMs: SECOND,
  concurrency: 16,
  perEndpointConcurrency: 2,
  disableAfterMs: 5 * 24 * HOUR,
  maxRetryAfterMs: 24 * HOUR,
  allowPrivate: false,
  drainMs: 5 * SECOND,
};

export interface OutboundSenderDeps {
  knex: Knex;
  logger: Logger;
  encryptionKey: Buffer;
  /** For LISTEN on OUTBOUND_NOTIFY_CHANNEL: whatever makes a delivery claimable notifies it at commit. */
  databaseUrl?: string;
  /** Counts attempts by result (GET /metrics). */
  metrics?: Pick<Metrics, "outboundAttempts">;
}

export interface OutboundSender {
  /** Settles once it listens for new deliveries (at once without `databaseUrl`). */
  ready: Promise<void>;
  /** Stops claiming, lets attempts in flight finish (up to drainMs), then aborts and releases the rest. */
  stop(): Promise<void>;
}

/**
 * The outbox sender. Every poll (and whenever a slot frees up):
 * 1. claim due deliveries for the free slots, skipping endpoints already at their limit;
 * 2. send each one signed, bounded by the timeout;
 * 3. log the attempt and settle it: delivered, retry later (schedule or Retry-After), or failed;
 * 4. 410 Gone, or failing for `disableAfterMs`, disables the endpoint with an event.
 */
export function startOutboundSender(deps: OutboundSenderDeps, overrides: Partial<OutboundSenderOptions> = {}): OutboundSender {
  const options = { ...DEFAULT_SENDER_OPTIONS, ...overrides };
  if (options.leaseMs <= options.timeoutMs) throw new Error(`outbound sender: leaseMs (${options.leaseMs}) must exceed timeoutMs (${options.timeoutMs})`);
  const logger = deps.logger.child({ component: "outbound-sender" });
  const inFlight = new Map<string, Promise<void>>();
  const perEndpoint = new Map<string, number>();
  const shutdown = new AbortController();
  // One connection pool for the sender; unless private targets are allowed, it connects only to public addresses.
  const dispatcher = options.allowPrivate ? new Agent() : createPublicOnlyAgent();
  let stopped = false;
  let ticking = false;
  let again = false;

  const tick = async () => {
    if (stopped) return;
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    try {
      do {
        again = false;
        await claimAndStart();
      } while (again && !stopped);
    } catch (error) {
      logger.error({ err: error }, "claiming outbound deliveries failed");
    } finally {
      ticking = false;
    }
  };

  const claimAndStart = async () => {
    const free = options.concurrency - inFlight.size;
    if (free <= 0) return;
    const busy = [...perEndpoint].filter(([, count]) => count >= options.perEndpointConcurrency).map(([id]) => id);
    const claims = await claimDueDeliveries(deps.knex, { limit: free, leaseMs: options.leaseMs, excludeEndpoints: busy });
    if (claims.length === 0) return;
    const endpoints = new Map((await findOutboundWebhooksByIds(deps.knex, [...new Set(claims.map((c) => c.endpoint_id))])).map((e) => [e.id, e]));
    for (const claim of claims) {
      const endpoint = endpoints.get(claim.endpoint_id);
      const count = perEndpoint.get(claim.endpoint_id) ?? 0;
      if (!endpoint || count >= options.perEndpointConcurrency) {
        await releaseOutboundDelivery(deps.knex, claim);
        again = true;
        continue;
      }
      perEndpoint.set(claim.endpoint_id, count + 1);
      const attempt = attemptDelivery(claim, endpoint)
        .catch((error) => logger.error({ err: error, delivery: claim.id }, "outbound delivery attempt crashed"))
        .finally(() => {
          inFlight.delete(claim.id);
          const left = (perEndpoint.get(claim.endpoint_id) ?? 1) - 1;
          if (left > 0) perEndpoint.set(claim.endpoint_id, left);
          else perEndpoint.delete(claim.endpoint_id);
          void tick();
        });
      inFlight.set(claim.id, attempt);
    }
  };

  const attemptDelivery = async (claim: ClaimedOutboundDelivery, endpoint: OutboundWebhookRow) => {
    const attemptedAt = new Date();
    let credentials: { secrets: string[]; apiKey: string | null };
    try {
      credentials = {
        secrets: signingSecrets(endpoint, deps.encryptionKey),
        apiKey: endpoint.api_key_sealed ? openSecret(deps.encryptionKey, endpoint.api_key_sealed) : null,
      };
    } catch {
      credentials = { secrets: [], apiKey: null };
    }
    const response: OutboundResponse = credentials.secrets.length
      ? await sendOutboundRequest({
          url: endpoint.url,
          deliveryId: claim.id,
          eventType: claim.event_type,
          body: claim.body,
          ...credentials,
          timeoutMs: options.timeoutMs,
          allowPrivate: options.allowPrivate,
          dispatcher,
          signal: shutdown.signal,
        })
      : {
          status_code: null,
          response_excerpt: null,
          error: "cannot decrypt the endpoint's secret: was ENCRYPTION_KEY changed? Rotate the secret to recover",
          duration_ms: 0,
          retry_after_ms: null,
        };
    if (shutdown.signal.aborted && response.status_code === null) {
      // Cut short by our own shutdown: not the receiver's fault, so hand it straight to another sender.
      await releaseOutboundDelivery(deps.knex, claim);
      return;
    }
    const outcome = settle(claim, response, attemptedAt, options);
    deps.metrics?.outboundAttempts.inc({ result: outcome.status === "pending" ? "retrying" : outcome.status });
    const held = await deps.knex.transaction((trx) => recordAttempt(trx, claim, outcome));
    logger[outcome.status === "delivered" ? "info" : "warn"](
      {
        delivery: claim.id,
        endpoint: endpoint.id,
        event: claim.event_type,
        status_code: response.status_code,
        duration_ms: response.duration_ms,
        error: response.error,
        next_retry_at: outcome.next_retry_at,
      },
      `outbound delivery ${outcome.status === "delivered" ? "delivered" : outcome.status === "pending" ? "failed, will retry" : "failed for good"}`,
    );
    if (!held) return;
    if (outcome.status === "delivered") {
      await clearOutboundWebhookFailing(deps.knex, endpoint.id);
    } else if (response.status_code === 410) {
      await disableOutboundWebhook(deps.knex, endpoint, "the endpoint answered 410 Gone");
    } else {
      const since = await markOutboundWebhookFailing(deps.knex, endpoint.id);
      if (Date.now() - since.getTime() >= options.disableAfterMs) {
        await disableOutboundWebhook(deps.knex, endpoint, `every delivery has failed since ${since.toISOString()}`);
      }
    }
  };

  const timer = setInterval(() => void tick(), options.pollIntervalMs);
  const listener = deps.databaseUrl ? listenForNotifications({ url: deps.databaseUrl, channel: OUTBOUND_NOTIFY_CHANNEL, logger, onNotification: () => void tick() }) : undefined;
  void tick();

  return {
    ready: listener ? listener.ready : Promise.resolve(),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await listener?.stop();
      while (ticking) await new Promise((resolve) => setTimeout(resolve, 10));
      const drained = Promise.allSettled([...inFlight.values()]);
      const deadline = setTimeout(() => shutdown.abort(), options.drainMs);
      await drained;
      clearTimeout(deadline);
      await dispatcher.destroy().catch(() => {});
    },
  };
}

/** The outcome of one attempt: delivered (2xx), retry (per schedule or Retry-After), or failed for good. */
export function settle(claim: Pick<ClaimedOutboundDelivery, "retry_index">, response: OutboundResponse, attemptedAt: Date, options: OutboundSenderOptions): AttemptOutcome {
  const base = {
    attempted_at: attemptedAt,
    duration_ms: response.duration_ms,
    status_code: response.status_code,
    response_excerpt: response.response_excerpt,
    error: response.error,
  };
  const ok = response.status_code !== null && response.status_code >= 200 && response.status_code < 300;
  if (ok) return { ...base, status: "delivered", next_retry_at: null, retry_index: claim.retry_index };
  const exhausted = claim.retry_index >= options.retrySchedule.length;
  if (response.status_code === 410 || exhausted) return { ...base, status: "failed", next_retry_at: null, retry_index: claim.retry_index };
  const scheduled = options.retrySchedule[claim.retry_index]!;
  const delay =
    response.retry_after_ms !== null
      ? Math.min(Math.max(response.retry_after_ms, SECOND), options.maxRetryAfterMs)
      : Math.round(scheduled * (1 + (Math.random() * 2 - 1) * options.jitter));
  return { ...base, status: "pending", next_retry_at: new Date(attemptedAt.getTime() + response.duration_ms + delay), retry_index: claim.retry_index + 1 };
}

function signingSecrets(endpoint: OutboundWebhookRow, key: Buffer): string[] {
  const secrets = [openSecret(key, endpoint.secret_sealed)];
  if (endpoint.previous_secret_sealed && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > new Date()) {
    // An unreadable old secret (key changed) must not block the new one.
    try {
      secrets.push(openSecret(key, endpoint.previous_secret_sealed));
    } catch {
      /* sign with the current secret only */
    }
  }
  return secrets;
}
