import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BusEvent, EventBus } from "../../src/bus/event-bus.js";
import { createRedisEventBus } from "../../src/bus/redis-event-bus.js";
import { REDIS_SERVER_BIN, startRedisServer, type RedisServer } from "../helpers/redis-server.js";

if (!REDIS_SERVER_BIN) console.warn("Skipping the Redis bus tests: no redis-server binary (set REDIS_SERVER_BIN).");

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const event = (id: number, orgId: string, type = "test.round"): BusEvent => ({ id, org_id: orgId, team_id: null, type, data: { id }, created_at: new Date(0).toISOString() });

/** The Redis bus on a real redis-server: what one publish call hands over, and that it says when it could not. */
describe.skipIf(!REDIS_SERVER_BIN)("Redis event bus", () => {
  let redis: RedisServer;
  let bus: EventBus;

  beforeAll(async () => {
    redis = await startRedisServer();
    bus = createRedisEventBus(redis.url, logger);
    await vi.waitFor(() => bus.check(), { timeout: 10_000, interval: 50 });
  });
  afterAll(async () => {
    await bus.close();
    await redis.stop();
  });

  it("hands a round's events to their orgs' subscribers in order", async () => {
    const received: BusEvent[] = [];
    const listener = { onEvent: (e: BusEvent) => void received.push(e), onResync: () => {} };
    const unsubscribeA = bus.subscribe("org-a", listener);
    const unsubscribeB = bus.subscribe("org-b", listener);
    // Subscribed once a probe published to each channel arrives.
    await vi.waitFor(async () => {
      await bus.publish([event(100, "org-a", "test.probe"), event(101, "org-b", "test.probe")]);
      expect(new Set(received.map((e) => e.org_id))).toEqual(new Set(["org-a", "org-b"]));
    }, { timeout: 10_000, interval: 50 });
    await bus.publish([event(1, "org-a"), event(2, "org-b"), event(3, "org-a")]);
    const round = () => received.filter((e) => e.type === "test.round");
    await vi.waitFor(() => expect(round().map((e) => e.id)).toEqual([1, 2, 3]), { timeout: 10_000 });
    expect(round().map((e) => e.org_id)).toEqual(["org-a", "org-b", "org-a"]);
    unsubscribeA();
    unsubscribeB();
  });

  it("rejects a round it could not hand over while Redis is away, so the relay retries it", async () => {
    await redis.stop();
    try {
      await expect(bus.publish([event(4, "org-a"), event(5, "org-a")])).rejects.toThrow();
    } finally {
      await redis.start();
    }
    await vi.waitFor(() => bus.publish([event(6, "org-a")]), { timeout: 10_000, interval: 50 });
  });
});
