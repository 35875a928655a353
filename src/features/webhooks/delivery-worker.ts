import { randomUUID } from "node:crypto";
import os from "node:os";
import type { Knex } from "knex";
import type { Logger } from "pino";
import { listenForNotifications, WakeSignal, type NotificationListener } from "../../db/listen-for-notifications.js";
import { secondsUntilRetry, type RetryPolicy } from "./delivery-retry-policy.js";
import { appendEvents, holdEvents, type HeldEvents } from "../events/events.store.js";
import {
  claimDeliveries,
  markDeliveriesDone,
  markDeliveryFailed,
  scheduleRetry,
  type ClaimedDelivery,
} from "./deliveries.store.js";
import type { DeliveryInput, DeliveryOutcome, DeliveryProcessor } from "./delivery-processor.js";
import { unpackPayload } from "./stored-payload.js";
import { findWebhookById, findWebhooksByIds, type WebhookRow } from "./webhooks.store.js";

/** What the worker needs; `maxAttempts` and `backoffSeconds` (RetryPolicy) say when a failed delivery is tried again. */
export interface DeliveryWorkerOptions extends RetryPolicy {
  knex: Knex;
  logger: Logger;
  processor: DeliveryProcessor;
  /** Listen for NOTIFY from other instances' receive paths (omit in-process only). */
  databaseUrl?: string;
  workerId?: string;
  /** Processing transactions open at once (default 2). */
  concurrency?: number;
  /**
   * Most deliveries one transaction claims, each in its own savepoint: under a backlog this saves a
   * commit and several statements per delivery; when idle each delivery still goes alone (default 50).
   */
  perTransaction?: number;
  /** How long a worker that stops answering mid-transaction keeps its deliveries (default 60 s). */
  holdSeconds?: number;
  /** Safety-net poll when no wake-up arrives (retries coming due). */
  pollMs?: number;
  /**
   * Without a backlog the worker runs one transaction at a time, and what arrives meanwhile goes
   * together in the next; a transaction in flight this long (a lock wait) no longer holds the others back.
   */
  stalledMs?: number;
  /**
   * Without a backlog, once a transaction found two or more deliveries, the next starts no sooner than
   * this after it (default 20 ms): under a steady stream what arrives meanwhile goes together, so each
   * delivery pays a share of one transaction's round trips instead of all of them. After a group of
   * one, a quiet spell, or a full claim, the next starts at once.
   */
  gatherMs?: number;
  /** Told how long each group of deliveries took, claim to commit (metrics). */
  onProcessed?: (deliveries: number, seconds: number) => void;
}

/**
 * Processes `received` deliveries exactly once each, one transaction per group:
 * 1. the transaction claims the group: up to `perTransaction` due deliveries, oldest first, locked
 *    with SKIP LOCKED (any number of workers share the queue) and held until it ends;
 * 2. the processor's set-wise step (if it has one) takes those it can as a set, in a savepoint of its
 *    own, then per remaining delivery a savepoint in which the rules run — a delivery whose rules throw
 *    is rolled back to its savepoint alone;
 * 3. each delivery's outcome is recorded and its `delivery.*` event appended, and it commits: each
 *    delivery's effects, its status and its attempt count commit together. A failed attempt is tried
 *    again with backoff; after the last one the delivery is failed. If the transaction itself fails,
 *    nothing of it is kept and its deliveries are tried one transaction each.
 * A worker that dies takes its transactions with it: their deliveries are claimable again at once.
 * A new delivery wakes it (in-process call, or NOTIFY from another instance). While the queue keeps
 * up, one transaction runs at a time and what arrives meanwhile goes together in the next (see
 * `room`), which after a group of two or more starts no sooner than `gatherMs` after it; a
 * transaction that claims a full group starts the next at once, up to `concurrency`.
 */
/** Whole milliseconds from now until `deadline` (performance.now() time), 0 once it has passed. */
function msUntil(deadline: number): number {
  return Math.max(0, Math.ceil(deadline - performance.now()));
}

export class DeliveryWorker {
  readonly id: string;
  private running = false;
  private readonly signal = new WakeSignal();
  private loop?: Promise<void>;
  private listener?: NotificationListener;
  /** Transactions in flight, with when each started (performance.now()). */
  private readonly inFlight = new Map<Promise<void>, number>();
  /** The last claim was full: more is waiting than one transaction takes. */
  private backlog = false;
  /** Woken since the last transaction started (a new delivery, a poll, a claim that found work). */
  private maybeWork = true;
  /** When the last transaction that found two or more deliveries started (performance.now()); -Infinity after a group of one. */
  private lastStart = -Infinity;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.id = options.workerId ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.options.databaseUrl) {
      const listener = listenForNotifications({ url: this.options.databaseUrl, channel: "entourage_deliveries", logger: this.options.logger, onNotification: () => this.wake() });
      try {
        await listener.ready;
      } catch (error) {
        await listener.stop();
        this.running = false;
        throw error;
      }
      this.listener = listener;
    }
    this.loop = this.run();
  }

  /** Asks the loop to look for work now. */
  wake(): void {
    this.maybeWork = true;
    this.signal.wake();
  }

  /** Stops claiming, lets in-flight deliveries finish, and closes the listener. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.allSettled([...this.inFlight.keys()]);
    await this.listener?.stop();
  }

  private async run(): Promise<void> {
    const { concurrency = 2, perTransaction = 50, pollMs = 1000 } = this.options;
    while (this.running) {
      this.signal.reset();
      const room = this.room(concurrency, this.backlog);
      // A backlog fills every free transaction; otherwise one claims what has arrived, as one group
      // (after a group of two or more, no sooner than gatherMs after it).
      const gathering = !this.backlog && this.maybeWork && room > 0 ? this.untilGathered() : 0;
      const starts = this.backlog ? room : this.maybeWork && gathering === 0 ? Math.min(room, 1) : 0;
      if (starts > 0) this.maybeWork = false;
      for (let i = 0; i < starts; i++) this.startGroup(perTransaction);
      const polling = room > 0 || this.inFlight.size >= concurrency;
      const woken = await this.signal.wait(gathering > 0 ? gathering : polling ? pollMs : this.untilStalled());
      if (!woken && polling) this.maybeWork = true; // retries come due without a wake-up
    }
  }

  private startGroup(limit: number): void {
    const started = performance.now();
    const job = this.processGroup({ limit })
      .then((claimed) => {
        if (claimed === 0) return;
        // A group of two or more says deliveries arrive faster than one transaction takes: the next
        // waits for the window. A group of one says they do not, and the next starts at once.
        this.lastStart = claimed > 1 ? Math.max(this.lastStart, started) : -Infinity;
        this.options.onProcessed?.(claimed, (performance.now() - started) / 1000);
      })
      .finally(() => {
        this.inFlight.delete(job);
        this.signal.wake();
      });
    this.inFlight.set(job, started);
  }

  /** A transaction's claim came back: a full one means a backlog, and the free transactions start now. */
  private claimed(count: number, limit: number): void {
    this.backlog = count === limit;
    if (this.backlog) this.signal.wake();
  }

  /**
   * How many more transactions may start now. With nothing in flight, or a backlog, every free one.
   * Otherwise none until the running transaction ends (new deliveries gather and go together), unless
   * it has run for `stalledMs`: a slow group (a lock wait) must not hold the queue back.
   */
  private room(concurrency: number, backlog: boolean): number {
    const free = concurrency - this.inFlight.size;
    if (free <= 0 || this.inFlight.size === 0 || backlog) return Math.max(free, 0);
    return this.untilStalled() === 0 ? free : 0;
  }

  private get holdSeconds(): number {
    return this.options.holdSeconds ?? 60;
  }

  /** Milliseconds until gatherMs have passed since `lastStart` (0: they have). */
  private untilGathered(): number {
    return msUntil(this.lastStart + (this.options.gatherMs ?? 20));
  }

  /** Milliseconds until the oldest transaction in flight counts as stalled (0: it does). */
  private untilStalled(): number {
    const oldest = Math.min(...this.inFlight.values());
    return msUntil(oldest + (this.options.stalledMs ?? 100));
  }

  /**
   * One transaction: it claims a group (up to `limit` due deliveries, or the given ones), runs their
   * rules, records their outcomes and commits. Each delivery not taken by the set-wise step runs in a
   * savepoint, so a failing one is rolled back alone. Returns how many it claimed.
   */
  private async processGroup(claim: { limit: number; ids?: string[] }): Promise<number> {
    const { knex, logger, processor } = this.options;
    let group: ClaimedDelivery[] = [];
    try {
      await knex.transaction(async (trx) => {
        group = await claimDeliveries(trx, claim.limit, { holdSeconds: this.holdSeconds, ids: claim.ids });
        if (!claim.ids) this.claimed(group.length, claim.limit);
        if (group.length === 0) return;
        const webhooks = await findWebhooksByIds(trx, [...new Set(group.map((delivery) => delivery.webhook_id))]);
        const done: { delivery: ClaimedDelivery; webhook: WebhookRow; status: "processed" | "ignored"; actions: string[] }[] = [];
        const failures: { delivery: ClaimedDelivery; webhook: WebhookRow; error: unknown }[] = [];
        const inputs: DeliveryInput[] = [];
        for (const delivery of group) {
          const webhook = webhooks.get(delivery.webhook_id);
          if (!webhook) continue; // deleted meanwhile: its deliveries go with it
          try {
            inputs.push({ delivery, webhook, payload: JSON.parse(unpackPayload(delivery) ?? "{}") as Record<string, unknown> });
          } catch (error) {
            failures.push({ delivery, webhook, error });
          }
        }
        // Every event of the group goes in one INSERT at its end, with the deliveries' own.
        const events = holdEvents(trx);
        const { outcomes: batched, savepoint } = await this.processBatch(trx, inputs, events);
        let outermost = savepoint; // the first savepoint this transaction opened, if any
        let opened = 0;
        for (const input of inputs) {
          const { delivery, webhook } = input;
          let outcome = batched.get(input);
          if (!outcome) {
            // Savepoints are not released one by one (a round trip each): each nests in the last,
            // ROLLBACK TO undoes this delivery's work alone, and one RELEASE below ends them all.
            const mine = `delivery_${opened++}`;
            const mark = events.count;
            outermost ??= mine;
            await trx.raw(`SAVEPOINT ${mine}`);
            try {
              outcome = await processor(trx, input);
            } catch (error) {
              await trx.raw(`ROLLBACK TO SAVEPOINT ${mine}`);
              events.dropAfter(mark); // its events go with the rest of its work
              failures.push({ delivery, webhook, error });
              continue;
            }
          }
          done.push({ delivery, webhook, status: outcome.status ?? "processed", actions: outcome.actions });
        }
        // Back in the transaction itself before recording. It locked the group's rows; updated from a
        // savepoint (a subtransaction) each row would get a multixact as xmax, which an index scan
        // cannot judge dead, and every claim would step over those queue entries until VACUUM.
        if (outermost) await trx.raw(`RELEASE SAVEPOINT ${outermost}`);
        await markDeliveriesDone(
          trx,
          done.map(({ delivery, status, actions }) => ({ id: delivery.id, status, actions, attempts: delivery.attempts })),
        );
        const endings = done.map(({ delivery, webhook, status, actions }) => deliveryEvent(delivery, webhook.config.team_id, `delivery.${status}`, { actions }));
        for (const { delivery, webhook, error } of failures) {
          const failed = await this.recordFailure(trx, delivery, error);
          if (failed) endings.push(deliveryEvent(delivery, webhook.config.team_id, "delivery.failed", { error: failed, attempts: delivery.attempts }));
        }
        await appendEvents(trx, [...events.take(), ...endings]);
      });
    } catch (error) {
      if (group.length > 1) {
        // The transaction failed as a whole (connection lost, commit refused, a statement outside the
        // savepoints refused): nothing of it committed, so each delivery gets a transaction of its own.
        logger.warn({ err: error, deliveries: group.length }, "a batch of deliveries could not be committed; processing them one by one");
        for (const delivery of group) await this.processGroup({ limit: 1, ids: [delivery.id] });
      } else if (group.length === 1) {
        await this.failAlone(group[0]!, error).catch((failError) =>
          logger.error({ err: failError, deliveryId: group[0]!.id }, "could not record a delivery failure; it will be tried again"),
        );
      } else {
        // Nothing claimed (the database away): no backlog is known, so the next try waits for a wake-up or the poll.
        if (!claim.ids) this.claimed(0, claim.limit);
        logger.error({ err: error }, "could not claim deliveries; retrying");
      }
    }
    return group.length;
  }

  /**
   * The processor's set-wise step, if it has one, in a savepoint it names; when it throws, every
   * delivery goes the per-delivery way. Its events are held for the group's one events INSERT.
   */
  private async processBatch(trx: Knex.Transaction, inputs: DeliveryInput[], held: HeldEvents): Promise<{ outcomes: Map<DeliveryInput, DeliveryOutcome>; savepoint?: string }> {
    const batch = this.options.processor.batch;
    if (!batch || inputs.length < 2) return { outcomes: new Map() };
    const mark = held.count;
    await trx.raw("SAVEPOINT batch");
    try {
      return { outcomes: await batch(trx, inputs), savepoint: "batch" };
    } catch (error) {
      await trx.raw("ROLLBACK TO SAVEPOINT batch");
      held.dropAfter(mark);
      this.options.logger.warn({ err: error, deliveries: inputs.length }, "the set-wise rules failed for a batch; applying them one delivery at a time");
      return { outcomes: new Map(), savepoint: "batch" };
    }
  }

  /**
   * Records a failed attempt in the claiming transaction: another try after the backoff, or, after the
   * last attempt, the delivery failed. Returns the error message when the delivery is now failed.
   */
  private async recordFailure(trx: Knex.Transaction, delivery: ClaimedDelivery, error: unknown): Promise<string | undefined> {
    const { logger } = this.options;
    const message = error instanceof Error ? error.message : String(error);
    const delay = secondsUntilRetry(delivery.attempts, error, this.options);
    if (delay !== undefined) {
      logger.warn({ deliveryId: delivery.id, attempt: delivery.attempts, retryInSeconds: delay, err: error }, "delivery processing failed; will retry");
      await scheduleRetry(trx, delivery.id, delivery.attempts, message, delay);
      return undefined;
    }
    logger.error({ deliveryId: delivery.id, attempts: delivery.attempts, err: error }, "delivery failed after its last attempt");
    await markDeliveryFailed(trx, delivery.id, delivery.attempts, message);
    return message;
  }

  /** A delivery whose own transaction failed as a whole: its failed attempt is recorded in a new one, if no one has claimed it since. */
  private async failAlone(delivery: ClaimedDelivery, error: unknown): Promise<void> {
    await this.options.knex.transaction(async (trx) => {
      const [again] = await claimDeliveries(trx, 1, { holdSeconds: this.holdSeconds, ids: [delivery.id] });
      if (!again) return;
      const webhook = await findWebhookById(trx, delivery.webhook_id);
      const failed = await this.recordFailure(trx, again, error);
      if (failed) await appendEvents(trx, [deliveryEvent(again, webhook?.config.team_id, "delivery.failed", { error: failed, attempts: again.attempts })]);
    });
  }
}

function deliveryEvent(delivery: ClaimedDelivery, teamId: string | undefined, type: string, data: Record<string, unknown>) {
  return {
    org_id: delivery.org_id,
    team_id: teamId ?? null,
    type,
    data: {
      delivery_id: delivery.id,
      webhook_id: delivery.webhook_id,
      event_type: delivery.event_type,
      delivery_guid: delivery.delivery_guid,
      status: type.slice("delivery.".length),
      ...data,
    },
  };
}
