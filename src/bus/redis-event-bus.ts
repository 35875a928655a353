import { Redis } from "ioredis";
import type { Logger } from "pino";
import { busEventSchema, eventChannel, type BusEvent, type BusListener, type EventBus } from "./event-bus.js";

const MAX_RECONNECT_DELAY_MS = 2_000;
// A subscription made just as Redis comes back may land after the first catch-up: do a second one.
const SECOND_RESYNC_DELAY_MS = 1_000;

/**
 * Redis pub/sub, one channel per org. Two connections: a subscriber (which cannot publish) and a
 * publisher that fails fast while Redis is away, so the relay backs off and retries from the table.
 * Both reconnect forever; an outage is logged once, not per attempt.
 */
export function createRedisEventBus(url: string, logger: Logger): EventBus {
  const retryStrategy = (attempt: number) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);
  const publisher = new Redis(url, { retryStrategy, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: "entourage-pub" });
  const subscriber = new Redis(url, { retryStrategy, maxRetriesPerRequest: null, connectionName: "entourage-sub" });
  const listeners = new Map<string, Set<BusListener>>();
  let closing = false;
  const timers = new Set<NodeJS.Timeout>();

  for (const [name, client] of [["publisher", publisher], ["subscriber", subscriber]] as const) {
    let down = false;
    client.on("error", (error: Error) => {
      if (down || closing) return;
      down = true;
      logger.warn({ err: error, connection: name }, "Redis unreachable; live events wait, ingestion carries on (reconnecting)");
    });
    client.on("ready", () => {
      if (down) logger.info({ connection: name }, "Redis reconnected");
      down = false;
    });
  }

  let wasReady = false;
  subscriber.on("ready", () => {
    if (wasReady) {
      resyncAll();
      const timer = setTimeout(() => {
        timers.delete(timer);
        resyncAll();
      }, SECOND_RESYNC_DELAY_MS);
      timers.add(timer);
    }
    wasReady = true;
  });

  subscriber.on("message", (channel: string, message: string) => {
    const event = parseBusEvent(message);
    if (!event) {
      logger.warn({ channel }, "ignoring a malformed message on an events channel");
      return;
    }
    if (channel !== eventChannel(event.org_id)) return;
    for (const listener of listeners.get(event.org_id) ?? []) listener.onEvent(event);
  });

  function resyncAll() {
    if (closing) return;
    for (const set of listeners.values()) for (const listener of set) listener.onResync();
  }

  return {
    kind: "redis",
    shared: true,
    async publish(events: readonly BusEvent[]) {
      // One pipeline: a round's events cost one write and one read, not a round trip each.
      const pipeline = publisher.pipeline();
      for (const event of events) pipeline.publish(eventChannel(event.org_id), JSON.stringify(event));
      const results = await pipeline.exec();
      const failure = results ? results.find(([error]) => error)?.[0] : new Error("Redis did not run the publishes");
      if (failure) throw failure;
    },
    subscribe(orgId: string, listener: BusListener) {
      let set = listeners.get(orgId);
      if (!set) {
        set = new Set();
        listeners.set(orgId, set);
        // Queued while Redis is away; ioredis re-subscribes its channels on every reconnect.
        subscriber.subscribe(eventChannel(orgId)).catch((error: Error) => logger.warn({ err: error, orgId }, "Redis subscribe failed"));
      }
      set.add(listener);
      return () => {
        const current = listeners.get(orgId);
        if (!current?.delete(listener) || current.size > 0) return;
        listeners.delete(orgId);
        if (!closing) subscriber.unsubscribe(eventChannel(orgId)).catch(() => {});
      };
    },
    async check() {
      await publisher.ping();
    },
    async close() {
      closing = true;
      for (const timer of timers) clearTimeout(timer);
      listeners.clear();
      await Promise.all([publisher, subscriber].map((client) => client.quit().catch(() => client.disconnect())));
    },
  };
}

/** A message from an events channel as a BusEvent, or undefined when it is not one (anyone with Redis access can publish). */
export function parseBusEvent(message: string): BusEvent | undefined {
  try {
    const parsed = busEventSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
