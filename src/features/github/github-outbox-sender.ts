import { randomUUID } from "node:crypto";
import os from "node:os";
import type { Knex } from "knex";
import type { Logger } from "pino";
import { listenForNotifications, WakeSignal } from "../../db/listen-for-notifications.js";
import type { GithubClient } from "./github-client.js";
import { claimGithubActions, settleGithubAction, type ClaimedGithubAction } from "./github-outbox.store.js";
import { performGithubAction } from "./perform-github-action.js";

export interface GithubOutboxSenderOptions {
  /** Attempts before a row that keeps failing transiently is marked failed. */
  maxAttempts: number;
  /** Delay before attempt n+1, in ms (GitHub's Retry-After wins when it says more). */
  backoffMs: (attempt: number) => number;
  /** A claimed row comes back to the queue after this if its sender died. */
  leaseMs: number;
  /** Safety-net poll: retries coming due, expired leases, a lost LISTEN. */
  pollMs: number;
  batchSize: number;
}

/** 10 s, 20 s, 40 s … capped at 30 minutes, ±20 % jitter; eight attempts span about two hours. */
export function defaultGithubBackoff(attempt: number): number {
  return Math.min(10_000 * 2 ** Math.max(attempt - 1, 0), 30 * 60_000) * (0.8 + Math.random() * 0.4);
}

export const DEFAULT_GITHUB_OUTBOX_OPTIONS: GithubOutboxSenderOptions = {
  maxAttempts: 8,
  backoffMs: defaultGithubBackoff,
  leaseMs: 2 * 60_000,
  pollMs: 15_000,
  batchSize: 10,
};

export interface GithubOutboxSenderDeps {
  knex: Knex;
  logger: Logger;
  /** The App's client now (it may turn on while running); absent without credentials: rows are then skipped with the reason. */
  github?: GithubClient | (() => GithubClient | undefined);
  /** For LISTEN entourage_github_outbox (enqueueGithubAction notifies it). */
  databaseUrl?: string;
}

export interface GithubOutboxSender {
  id: string;
  /** Look for due rows now. */
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Sends the GitHub outbox: wakes on NOTIFY (and a slow poll), claims due rows with SKIP LOCKED
 * and a lease, performs each through the GitHub client, and settles it: sent (with GitHub's
 * ids), retried with backoff, failed (permanent 4xx, or out of attempts), or skipped (no
 * credentials, App not installed). A row is sent once: see performGithubAction for retries.
 */
export async function startGithubOutboxSender(deps: GithubOutboxSenderDeps, overrides: Partial<GithubOutboxSenderOptions> = {}): Promise<GithubOutboxSender> {
  const options = { ...DEFAULT_GITHUB_OUTBOX_OPTIONS, ...overrides };
  const id = `${os.hostname()}:${process.pid}:github:${randomUUID().slice(0, 8)}`;
  const logger = deps.logger.child({ component: "github-outbox" });
  let running = true;
  const signal = new WakeSignal();
  const wake = () => signal.wake();

  const send = async (row: ClaimedGithubAction): Promise<void> => {
    const outcome = await performGithubAction(typeof deps.github === "function" ? deps.github() : deps.github, row);
    const log = { outbox_id: row.id, kind: row.kind, repository: row.repository, task_id: row.task_id, attempt: row.attempts };
    let held: boolean;
    if (outcome.status === "retry") {
      if (row.attempts >= options.maxAttempts) {
        held = await settleGithubAction(deps.knex, row.id, id, { status: "failed", error: `${outcome.error} (gave up after ${row.attempts} attempts)` });
        logger.error({ ...log, error: outcome.error }, "GitHub write failed after its last attempt");
      } else {
        const retryInMs = Math.max(outcome.retryAfterMs ?? 0, options.backoffMs(row.attempts));
        held = await settleGithubAction(deps.knex, row.id, id, { status: "pending", error: outcome.error, retryInMs });
        logger.warn({ ...log, error: outcome.error, retry_in_ms: Math.round(retryInMs) }, "GitHub write failed; will retry");
      }
    } else {
      held = await settleGithubAction(deps.knex, row.id, id, outcome);
      if (outcome.status === "sent") logger.info({ ...log, result: outcome.result }, "GitHub write sent");
      else logger.warn({ ...log, error: outcome.error }, `GitHub write ${outcome.status}`);
    }
    if (!held) logger.warn(log, "GitHub write settled after its lease expired; another sender owns the row now");
  };

  const loop = async () => {
    while (running) {
      signal.reset();
      let claimed: ClaimedGithubAction[] = [];
      try {
        claimed = await claimGithubActions(deps.knex, id, options.batchSize, options.leaseMs);
        await Promise.all(claimed.map((row) => send(row).catch((error) => logger.error({ err: error, outbox_id: row.id }, "GitHub write crashed; its lease will expire and it will be retried"))));
      } catch (error) {
        logger.error({ err: error }, "could not claim GitHub outbox rows; retrying");
      }
      if (claimed.length === 0 && running) await signal.wait(options.pollMs);
    }
  };

  const listener = deps.databaseUrl ? listenForNotifications({ url: deps.databaseUrl, channel: "entourage_github_outbox", logger, onNotification: wake }) : undefined;
  if (listener) {
    try {
      await listener.ready;
    } catch (error) {
      await listener.stop();
      throw error;
    }
  }
  const running$ = loop();
  logger.info({ senderId: id, github: (typeof deps.github === "function" ? deps.github() : deps.github) ? "configured" : "off (rows are skipped)" }, "GitHub outbox sender started");

  return {
    id,
    wake,
    async stop() {
      if (!running) return;
      running = false;
      wake();
      await running$;
      await listener?.stop();
    },
  };
}
