import { randomUUID } from "node:crypto";
import os from "node:os";
import type { Knex } from "knex";
import type { Logger } from "pino";
import { listenForNotifications, WakeSignal, type NotificationListener } from "../../db/listen-for-notifications.js";
import { secondsUntilRetry, type RetryPolicy } from "./delivery-retry-policy.js";
import { appendEvents, holdEvents, type HeldEvents } from "../events/events.store.js";
import {
  claimDeliveries,
  lockClaimedDeliveries,
  lockClaimedDelivery,
  markDeliveriesDone,
  markDeliveryDone,
  releaseClaims,
  scheduleRetry,
  type ClaimedDelivery,
} from "./deliveries.store.js";
import type { DeliveryInput, DeliveryOutcome, DeliveryProcessor } from "./delivery-processor.js";
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
  /** Most deliveries claimed per round trip (default: enough for every transaction, concurrency × perTransaction). */
  batchSize?: number;
  /**
   * Most deliveries folded into one transaction, each in its own savepoint: under a backlog this
   * saves a commit and several statements per delivery; when idle each delivery still goes alone
   * (default 50).
   */
  perTransaction?: number;
  /** How long a claim is held before another worker may take the delivery over. */
  leaseSeconds?: number;
  /** Safety-net poll when no wake-up arrives (retries coming due, expired leases). */
  pollMs?: number;
  /**
   * Without a backlog the worker runs one transaction at a time, and what arrives meanwhile goes
   * together in the next; a transaction in flight this long (a lock wait) no longer holds the others back.
   */
  stalledMs?: number;
  /** Told how long each group of deliveries took, claim to commit (metrics). */
  onProcessed?: (deliveries: number, seconds: number) => void;
}

/**
 * Processes `received` deliveries exactly once each:
 * 1. claim a batch (SKIP LOCKED + lease; any number of workers share the queue); under a backlog the
 *    next group is claimed while every transaction runs, and a stop gives back what it never started;
 * 2. split the claim into groups, one transaction per group: lock the group's deliveries, let the
 *    processor's set-wise step (if it has one) take those it can as a set, in a savepoint of its own,
 *    then per remaining delivery a savepoint in which the rules run — a delivery whose rules throw is
 *    rolled back to its savepoint alone; then mark the group's deliveries processed and append their
 *    `delivery.processed` events, and commit: each delivery's effects and its status commit together;
 * 3. on error, roll back and schedule a retry with backoff; after the last attempt mark it failed.
 *    If a group's transaction itself fails, its deliveries are retried one transaction each.
 * A new delivery wakes it at once (in-process call, or NOTIFY from another instance). While the
 * queue keeps up, one transaction runs at a time and what arrives meanwhile goes together in the
 * next (see `room`); a backlog fills `concurrency` transactions.
 */
export class DeliveryWorker {
  readonly id: string;
  private running = false;
  private readonly signal = new WakeSignal();
  private loop?: Promise<void>;
  private listener?: NotificationListener;
  /** Transactions in flight, with when each started (performance.now()). */
  private readonly inFlight = new Map<Promise<void>, number>();

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
    const { concurrency = 2, perTransaction = 50, leaseSeconds = 60, pollMs = 1000 } = this.options;
    const batchSize = this.options.batchSize ?? concurrency * perTransaction;
    let backlog = false;
    while (this.running) {
      this.signal.reset();
      let claimed: ClaimedDelivery[] = [];
      const room = this.room(concurrency, backlog);
      // Under a backlog one group is claimed ahead while every transaction runs, so a transaction
      // that ends finds its successor claimed and starts it at once (no claim round trip in between).
      const ahead = backlog && room === 0 ? 1 : 0;
      const wanted = Math.min(batchSize, (room + ahead) * perTransaction);
      if (wanted > 0) {
        try {
          claimed = await claimDeliveries(this.options.knex, this.id, wanted, leaseSeconds);
        } catch (error) {
          this.options.logger.error({ err: error }, "could not claim deliveries; retrying");
        }
      }
      // A full claim is a backlog: spread it over the free transactions (throughput). Otherwise the
      // claim is what arrived while the last transaction ran, and it goes as one group (fewer
      // statements per delivery than one transaction each, which is what keeps latency low under load).
      backlog = wanted > 0 && claimed.length === wanted;
      const size = backlog ? Math.min(perTransaction, Math.ceil(claimed.length / (room + ahead))) : perTransaction;
      for (let i = 0; i < claimed.length; i += size) {
        const group = claimed.slice(i, i + size);
        while (this.inFlight.size >= concurrency) await Promise.race(this.inFlight.keys());
        if (!this.running) {
          await this.release(claimed.slice(i));
          break;
        }
        const started = performance.now();
        const job = this.processGroup(group).finally(() => {
          this.options.onProcessed?.(group.length, (performance.now() - started) / 1000);
          this.inFlight.delete(job);
          this.wake();
        });
        this.inFlight.set(job, started);
      }
      if (claimed.length === 0 && this.running) await this.signal.wait(room > 0 || this.inFlight.size >= concurrency ? pollMs : this.untilStalled());
    }
  }

  /** Claims left unstarted by a stop go back to the queue now, not when their lease runs out. */
  private async release(unstarted: ClaimedDelivery[]): Promise<void> {
    await releaseClaims(
      this.options.knex,
      unstarted.map((delivery) => delivery.id),
      this.id,
    ).catch((error) => this.options.logger.warn({ err: error, deliveries: unstarted.length }, "could not give back unstarted claims; their lease will expire"));
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

  /** Milliseconds until the oldest transaction in flight counts as stalled (0: it does). */
  private untilStalled(): number {
    const oldest = Math.min(...this.inFlight.values());
    return Math.max(0, Math.ceil(oldest + (this.options.stalledMs ?? 100) - performance.now()));
  }

  /**
   * One transaction for a group of claimed deliveries (a group of one when idle). In a group of
   * several, each delivery's rules run in a savepoint so a failing one is rolled back alone; a
   * single delivery needs none: its failure rolls back its own transaction.
   */
  private async processGroup(group: ClaimedDelivery[]): Promise<void> {
    const { knex, logger, processor } = this.options;
    const single = group.length === 1;
    let failures: { delivery: ClaimedDelivery; error: unknown }[] = [];
    try {
      await knex.transaction(async (trx) => {
        failures = [];
        const held = await lockClaimedDeliveries(
          trx,
          group.map((delivery) => delivery.id),
          this.id,
        );
        const webhooks = await findWebhooksByIds(trx, [...new Set(group.map((delivery) => delivery.webhook_id))]);
        const done: { delivery: ClaimedDelivery; webhook: WebhookRow; status: "processed" | "ignored"; actions: string[] }[] = [];
        const inputs: DeliveryInput[] = [];
        for (const delivery of group) {
          const webhook = webhooks.get(delivery.webhook_id);
          if (!held.has(delivery.id) || !webhook) continue; // lease lost to another worker, or webhook gone
          try {
            inputs.push({ delivery, webhook, payload: JSON.parse(delivery.payload ?? "{}") as Record<string, unknown> });
          } catch (error) {
            failures.push({ delivery, error });
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
          if (!outcome && single) {
            outcome = await processor(trx, input); // throws: the transaction (this delivery's alone) rolls back
          } else if (!outcome) {
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
              failures.push({ delivery, error });
              continue;
            }
          }
          done.push({ delivery, webhook, status: outcome.status ?? "processed", actions: outcome.actions });
        }
        if (done.length === 0) return;
        // Back in the transaction itself before marking. It locked the group's rows; updated from a
        // savepoint (a subtransaction) each row would get a multixact as xmax, which an index scan
        // cannot judge dead, and every claim would step over those queue entries until VACUUM.
        if (outermost) await trx.raw(`RELEASE SAVEPOINT ${outermost}`);
        await markDeliveriesDone(
          trx,
          done.map(({ delivery, status, actions }) => ({ id: delivery.id, status, actions })),
        );
        await appendEvents(trx, [
          ...events.take(),
          ...done.map(({ delivery, webhook, status, actions }) => deliveryEvent(delivery, webhook.config.team_id, `delivery.${status}`, { actions })),
        ]);
      });
    } catch (error) {
      if (single) {
        failures = [{ delivery: group[0]!, error }];
      } else {
        // The group's transaction failed as a whole (connection lost, commit refused): nothing of it
        // committed, and the leases are still ours, so each delivery gets its own transaction.
        logger.warn({ err: error, deliveries: group.length }, "a batch of deliveries could not be committed; processing them one by one");
        for (const delivery of group) await this.processGroup([delivery]);
        return;
      }
    }
    for (const { delivery, error } of failures) {
      await this.fail(delivery, error).catch((failError) =>
        logger.error({ err: failError, deliveryId: delivery.id }, "could not record a delivery failure; its lease will expire and it will be retried"),
      );
    }
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

  private async fail(delivery: ClaimedDelivery, error: unknown): Promise<void> {
    const { knex, logger } = this.options;
    const message = error instanceof Error ? error.message : String(error);
    const delay = secondsUntilRetry(delivery.attempts, error, this.options);
    if (delay !== undefined) {
      logger.warn({ deliveryId: delivery.id, attempt: delivery.attempts, retryInSeconds: delay, err: error }, "delivery processing failed; will retry");
      await scheduleRetry(knex, delivery.id, this.id, message, delay);
      return;
    }
    logger.error({ deliveryId: delivery.id, attempts: delivery.attempts, err: error }, "delivery failed after its last attempt");
    await knex.transaction(async (trx) => {
      if (!(await lockClaimedDelivery(trx, delivery.id, this.id))) return;
      const webhook = await findWebhookById(trx, delivery.webhook_id);
      await markDeliveryDone(trx, delivery.id, { status: "failed", error: message });
      await appendEvents(trx, [deliveryEvent(delivery, webhook?.config.team_id, "delivery.failed", { error: message, attempts: delivery.attempts })]);
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
