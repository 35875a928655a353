import pg from "pg";
import type { Logger } from "pino";

const RETRY_MS = 1_000;

export interface NotificationListenerOptions {
  url: string;
  /** A fixed channel name of ours (not user input): it is written into the LISTEN statement. */
  channel: string;
  logger: Logger;
  /** Called on each NOTIFY, and once after every (re)connection for what was notified while away. */
  onNotification: () => void;
  retryMs?: number;
}

export interface NotificationListener {
  /** Settles with the first connection: rejects when it fails (the listener keeps retrying until stopped). */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps one dedicated connection LISTENing on a channel for as long as it runs. When the connection
 * drops or cannot be made (the database restarted), it tries again every `retryMs`, for ever; the
 * caller's poll covers the gap. `pg` reports a failed connect() only through its promise, so every
 * attempt is retried from there, not from the `error` event alone.
 */
export function listenForNotifications(options: NotificationListenerOptions): NotificationListener {
  const { url, channel, logger, onNotification, retryMs = RETRY_MS } = options;
  let stopped = false;
  let current: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let warned = false;

  const connect = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: url, keepAlive: true });
    current = client;
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      client.end().catch(() => undefined);
      if (current === client) current = undefined;
      if (stopped) return;
      if (!warned) logger.warn({ err: error, channel }, "listener lost its database connection; polling until it is back");
      warned = true;
      retry = setTimeout(() => void connect().catch(() => undefined), retryMs);
      retry.unref();
    };
    client.on("error", drop);
    client.on("end", () => drop());
    client.on("notification", () => onNotification());
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch (error) {
      drop(error as Error);
      throw error;
    }
    if (dropped || stopped) return;
    if (warned) logger.info({ channel }, "listener is back");
    warned = false;
    onNotification();
  };

  const ready = connect();
  ready.catch(() => undefined);
  return {
    ready,
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await current?.end().catch(() => undefined);
    },
  };
}

/** Wakes a claim loop: `wait` returns at the next `wake()` (or one since the last `reset()`), or after `ms`. */
export class WakeSignal {
  private requested = false;
  private resolveWait?: () => void;

  wake(): void {
    this.requested = true;
    this.resolveWait?.();
  }

  /** Forgets earlier wake-ups; call before looking for work. */
  reset(): void {
    this.requested = false;
  }

  async wait(ms: number): Promise<void> {
    if (this.requested) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.resolveWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.resolveWait = undefined;
  }
}
