import pg from "pg";
import type { Logger } from "pino";

const RETRY_MS = 1_000;
/** How the shared listening session shows in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = "entourage listener";

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

/** One listening session per database URL, shared by every listener of this process. */
const sessions = new Map<string, ListeningSession>();

/**
 * Listens on `channel` for as long as the listener runs. Every listener of the process on the same
 * database shares one dedicated connection: before version 19 PostgreSQL signals every listening
 * session of a database on each NOTIFY, whatever its channel, so each extra listening connection is
 * one more backend woken by every commit that notifies. When the connection drops or cannot be made
 * (the database restarted), it is tried again every `retryMs`, for ever; callers' polls cover the gap.
 */
export function listenForNotifications(options: NotificationListenerOptions): NotificationListener {
  let session = sessions.get(options.url);
  if (!session) {
    const created = new ListeningSession(options.url, () => sessions.delete(options.url));
    sessions.set(options.url, created);
    session = created;
  }
  return session.subscribe(options);
}

type Subscriber = Pick<NotificationListenerOptions, "channel" | "logger" | "onNotification" | "retryMs">;

class ListeningSession {
  private readonly subscribers = new Set<Subscriber>();
  /** The connection being made, or made; undefined while waiting to retry. */
  private connection?: Promise<pg.Client>;
  private retry?: NodeJS.Timeout;
  private warned = false;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly onClosed: () => void,
  ) {}

  subscribe(subscriber: Subscriber): NotificationListener {
    this.subscribers.add(subscriber);
    const ready = this.listenFor(subscriber);
    ready.catch(() => undefined);
    return { ready, stop: () => this.unsubscribe(subscriber) };
  }

  /** LISTEN is idempotent: a channel the connection already listens on costs one round trip, once per listener. */
  private async listenFor(subscriber: Subscriber): Promise<void> {
    const client = await (this.connection ??= this.connect());
    await client.query(`LISTEN ${subscriber.channel}`);
    subscriber.onNotification();
  }

  /** The session stays LISTENing on a channel nobody wants any more (notifications are dispatched by subscriber); the last one out ends it. */
  private async unsubscribe(subscriber: Subscriber): Promise<void> {
    if (this.subscribers.delete(subscriber) && this.subscribers.size === 0) await this.close();
  }

  private async close(): Promise<void> {
    this.closed = true;
    this.onClosed();
    clearTimeout(this.retry);
    const client = await this.connection?.catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, application_name: LISTENER_APPLICATION_NAME });
    const channels = [...new Set([...this.subscribers].map((subscriber) => subscriber.channel))];
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      client.end().catch(() => undefined);
      this.connection = undefined;
      if (this.closed) return;
      if (!this.warned) this.logger().warn({ err: error, channels }, "listener lost its database connection; polling until it is back");
      this.warned = true;
      this.retry = setTimeout(() => void (this.connection ??= this.connect()).catch(() => undefined), this.retryMs());
      this.retry.unref();
    };
    client.on("error", drop);
    client.on("end", () => drop());
    client.on("notification", (message) => {
      for (const subscriber of this.subscribers) if (subscriber.channel === message.channel) subscriber.onNotification();
    });
    try {
      await client.connect();
      if (channels.length) await client.query(channels.map((channel) => `LISTEN ${channel}`).join("; "));
    } catch (error) {
      drop(error as Error);
      throw error;
    }
    if (this.warned) {
      this.logger().info({ channels }, "listener is back");
      this.warned = false;
      // What was notified while away.
      for (const subscriber of this.subscribers) subscriber.onNotification();
    }
    return client;
  }

  private logger(): Logger {
    return [...this.subscribers][0]!.logger;
  }

  private retryMs(): number {
    return Math.min(...[...this.subscribers].map((subscriber) => subscriber.retryMs ?? RETRY_MS));
  }
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

  /** Resolves after `ms`, or sooner when woken; true when woken. */
  async wait(ms: number): Promise<boolean> {
    if (this.requested) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.resolveWait = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.resolveWait = undefined;
    return this.requested;
  }
}
