import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { toBusEvent, type BusEvent, type EventBus } from "../../src/bus/event-bus.js";
import { startEventRelay, type EventRelay } from "../../src/bus/event-relay.js";
import { createMemoryEventBus } from "../../src/bus/memory-event-bus.js";
import { appendEvents, listEvents, type DomainEvent } from "../../src/features/events/events.store.js";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { DeliveryWriter } from "../../src/features/webhooks/delivery-writer.js";
import { sleep } from "../../src/lib/sleep.js";
import { waitForLockWait } from "../helpers/lock-wait.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

/** A bus that records what it is given; `shared` makes relays elect a leader. */
function recordingBus(shared = false): EventBus & { published: BusEvent[] } {
  const inner = createMemoryEventBus();
  const published: BusEvent[] = [];
  return {
    ...inner,
    kind: shared ? "redis" : "memory",
    shared,
    published,
    async publish(events) {
      published.push(...events);
      await inner.publish(events);
    },
  };
}

const until = (check: () => boolean, what: string, timeout = 10_000) =>
  vi.waitFor(() => {
    if (!check()) throw new Error(`still waiting for ${what}`);
  }, { timeout, interval: 20 });

describe("event relay", () => {
  let db: TestDatabase;
  let orgId: string;
  const relays: EventRelay[] = [];

  const start = async (bus: EventBus, options: { gapGraceMs?: number } = {}) => {
    const relay = await startEventRelay({ knex: db.knex, databaseUrl: db.url, bus, logger, pollMs: 100, gapGraceMs: options.gapGraceMs ?? 60_000 });
    relays.push(relay);
    return relay;
  };
  const append = async (type: string) => (await appendEvents(db.knex, [{ org_id: orgId, type, data: {} }]))[0]!;

  let webhookId: string;
  let guid = 0;
  /**
   * The web process's delivery writer wired to `relay`: each event it hands over is marked, so a
   * published event with the mark was not read back from the table.
   */
  const writerFor = (relay: EventRelay) =>
    new DeliveryWriter(db.knex, {
      relay: {
        ownNotifyPayload: relay.ownNotifyPayload,
        committed: (events) => relay.committed(events.map((event) => ({ ...event, data: { ...event.data, handed_over: true } }))),
      },
    });
  const writeDelivery = async (writer: DeliveryWriter) => {
    const { id } = await writer.write({
      webhook_id: webhookId,
      org_id: orgId,
      delivery_guid: `relay-${++guid}`,
      event_type: "issues.opened",
      status: "received",
      payload: "{}",
      headers: {},
      payload_summary: { action: "opened" },
    });
    const [event] = await db.knex("events").where("type", "delivery.received").whereRaw("data->>'delivery_id' = ?", [id]).pluck("id");
    return event as number;
  };
  /** The events table's rows as the bus carries them. */
  const stored = async (ids: number[]) =>
    (await listEvents(db.knex, { org_id: orgId, after_id: Math.min(...ids) - 1, up_to_id: Math.max(...ids) }))
      .filter((event: DomainEvent) => ids.includes(event.id))
      .map(toBusEvent);
  const withoutMark = (event: BusEvent) => {
    const { handed_over: _mark, ...data } = event.data;
    return { ...event, data };
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    orgId = (await bootstrapOrg(db.knex, { orgName: "relay", teamName: "core", engineers: 1 })).org_id;
    const [webhook] = (await db.knex("webhooks")
      .insert({ org_id: orgId, provider: "github", events: ["*"], secret_sealed: "unused", secret_hint: "unused" })
      .returning("id")) as { id: string }[];
    webhookId = webhook!.id;
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  });
  afterAll(() => db.drop());

  it("publishes new events, not the history that was there before it started", async () => {
    const old = await append("test.old");
    const bus = recordingBus();
    await start(bus);
    const fresh = await append("test.fresh");
    await until(() => bus.published.length > 0, "a publish");
    expect(bus.published.map((event) => event.id)).toEqual([fresh]);
    expect(bus.published[0]!.id).toBeGreaterThan(old);
  });

  /**
   * An event is appended in a transaction held open, then `later` commits one after it: the relay
   * must hold the later id (it says so in its debug log) until the earlier commits, then publish both.
   */
  const expectHeldBehindOpenInsert = async (pollMs: number, later: (relay: EventRelay) => Promise<number>) => {
    const bus = recordingBus();
    const logLines: string[] = [];
    const relay = await startEventRelay({
      knex: db.knex,
      databaseUrl: db.url,
      bus,
      logger: pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) }),
      pollMs,
      gapGraceMs: 60_000,
    });
    relays.push(relay);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let slowId = 0;
    const slow = db.knex.transaction(async (trx) => {
      slowId = (await appendEvents(trx, [{ org_id: orgId, type: "test.slow", data: {} }]))[0]!;
      await released;
    });
    await until(() => slowId > 0, "the slow insert");
    const laterId = await later(relay);
    expect(laterId).toBeGreaterThan(slowId);
    // The marker: the relay has read the later id and says it holds it behind the missing one.
    await vi.waitFor(() => expect(logLines.map((line) => JSON.parse(line)).some((entry) => entry.held === laterId)).toBe(true), { timeout: 10_000 });
    expect(bus.published.map((event) => event.id)).not.toContain(laterId);
    expect(await relay.settledId()).toBeLessThan(slowId);
    release();
    await slow;
    await until(() => bus.published.some((event) => event.id === laterId), "the later event");
    expect(bus.published.map((event) => event.id)).toEqual([slowId, laterId]);
  };

  it("holds a later event until an earlier id commits, then publishes both in id order", () => expectHeldBehindOpenInsert(100, () => append("test.fast")));

  it("moves past an id whose transaction rolled back, without waiting for the grace period", async () => {
    const bus = recordingBus();
    await start(bus, { gapGraceMs: 60_000 });
    await db.knex
      .transaction(async (trx) => {
        await appendEvents(trx, [{ org_id: orgId, type: "test.rolled_back", data: {} }]);
        throw new Error("roll back");
      })
      .catch(() => undefined);
    const after = await append("test.after_rollback");
    await until(() => bus.published.some((event) => event.id === after), "the event after the gap");
    expect(bus.published.map((event) => event.type)).toEqual(["test.after_rollback"]);
  });

  it("publishes many concurrent transactions each once, in id order", async () => {
    const bus = recordingBus();
    await start(bus);
    const ids = (
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          db.knex.transaction(async (trx) => {
            const [id] = await appendEvents(trx, [{ org_id: orgId, type: "test.concurrent", data: { i } }]);
            await sleep(Math.floor(Math.random() * 40));
            return id!;
          }),
        ),
      )
    ).sort((a, b) => a - b);
    await until(() => bus.published.length >= ids.length, "all events");
    expect(bus.published.map((event) => event.id)).toEqual(ids);
  });

  it("publishes the events its own process committed as handed over, without reading them back, and reads what others commit", async () => {
    const bus = recordingBus();
    // No poll during the test: only the notifications and the handing over move the relay.
    const relay = await startEventRelay({ knex: db.knex, databaseUrl: db.url, bus, logger, pollMs: 600_000, gapGraceMs: 60_000 });
    relays.push(relay);
    const writer = writerFor(relay);
    // Each publish is awaited before the next write, so no read of the table can pick up the next one.
    const published = (id: number) => until(() => bus.published.some((event) => event.id === id), `event ${id}`);
    const start = await append("test.relay_idle");
    await published(start);
    const first = await writeDelivery(writer);
    await published(first);
    const other = await append("test.another_process");
    await published(other);
    const second = await writeDelivery(writer);
    await published(second);
    expect(bus.published.map((event) => event.id)).toEqual([start, first, other, second]);
    expect(bus.published.map((event) => event.data.handed_over === true)).toEqual([false, true, false, true]);
    // Handed over or read, the bus carries what the table holds.
    expect(bus.published.map(withoutMark)).toEqual(await stored([start, first, other, second]));
  });

  it("holds an event it was handed behind an earlier id that has not committed, then publishes both in id order", () =>
    // No poll: only the handing over moves the relay.
    expectHeldBehindOpenInsert(600_000, (relay) => writeDelivery(writerFor(relay))));

  it("publishes a burst larger than one read, in id order, without waiting for a poll", async () => {
    const bus = recordingBus();
    const relay = await startEventRelay({ knex: db.knex, databaseUrl: db.url, bus, logger, pollMs: 600_000, gapGraceMs: 60_000 });
    relays.push(relay);
    const ids = await appendEvents(
      db.knex,
      Array.from({ length: 1_200 }, (_, i) => ({ org_id: orgId, type: "test.burst", data: { i } })),
    );
    await until(() => bus.published.length >= ids.length, "the whole burst");
    expect(bus.published.map((event) => event.id)).toEqual(ids);
  });

  it("forgets a hand-over too large to keep and reads the table instead", async () => {
    const bus = recordingBus();
    const relay = await startEventRelay({ knex: db.knex, databaseUrl: db.url, bus, logger, pollMs: 600_000, gapGraceMs: 60_000 });
    relays.push(relay);
    const idle = await append("test.relay_idle");
    await until(() => bus.published.some((event) => event.id === idle), "the relay to be idle");
    // One real event, announced with the relay's own payload, handed over with 10,000 made-up ones after it.
    const [row] = (
      await db.knex.raw("INSERT INTO events (org_id, type) SELECT ?, 'test.real' FROM (SELECT pg_notify('entourage_events', ?)) AS notified RETURNING *", [
        orgId,
        relay.ownNotifyPayload,
      ])
    ).rows as DomainEvent[];
    const madeUp = Array.from({ length: 10_000 }, (_, i): DomainEvent => ({ ...row!, id: row!.id + 1 + i, type: "test.made_up" }));
    relay.committed([row!, ...madeUp]);
    await until(() => bus.published.some((event) => event.id === row!.id), "the real event");
    // The marker: an event appended after it is published too, so nothing was still to come from the hand-over.
    const after = await append("test.after");
    await until(() => bus.published.some((event) => event.id === after), "the later event");
    expect(bus.published.map((event) => event.type)).toEqual(["test.relay_idle", "test.real", "test.after"]);
  });

  it("publishes an event its own notification announced but nobody handed over, at the next poll", async () => {
    // The writer's answer can be lost after its commit (the connection drops): the poll reads the table.
    const bus = recordingBus();
    const relay = await start(bus);
    const [row] = (
      await db.knex.raw("INSERT INTO events (org_id, type) SELECT ?, 'test.announced_only' FROM (SELECT pg_notify('entourage_events', ?)) AS notified RETURNING id", [
        orgId,
        relay.ownNotifyPayload,
      ])
    ).rows as { id: number }[];
    await until(() => bus.published.some((event) => event.id === row!.id), "the announced event");
    expect(bus.published.map((event) => event.type)).toEqual(["test.announced_only"]);
  });

  it("on a shared bus, one relay publishes; a standby takes over where the leader stopped", async () => {
    const busA = recordingBus(true);
    const busB = recordingBus(true);
    const a = await start(busA);
    const b = await start(busB);
    await until(() => a.isLeader() || b.isLeader(), "a leader");
    expect(a.isLeader() && b.isLeader()).toBe(false);
    const [leader, leaderBus, standby, standbyBus] = a.isLeader() ? [a, busA, b, busB] : [b, busB, a, busA];

    const first = await append("test.first_leader");
    await until(() => leaderBus.published.some((event) => event.id === first), "the leader's publish");
    await leader.stop();
    const second = await append("test.while_switching");
    await until(() => standby.isLeader(), "the standby to lead");
    const third = await append("test.second_leader");
    await until(() => standbyBus.published.some((event) => event.id === third), "the new leader's publish");

    const all = [...leaderBus.published, ...standbyBus.published].map((event) => event.id);
    expect(new Set(all)).toEqual(new Set([first, second, third]));
    expect(standbyBus.published.map((event) => event.id)).toEqual([second, third]);
  });

  it("on a shared bus, never hands the bus an event above the settled id that new streams start from", async () => {
    // A stream without Last-Event-ID starts after settledId(); an event published before that id
    // covers it would reach the new stream through its bridge, though it happened before it connected.
    const bus = recordingBus(true);
    const relay = await start(bus);
    await until(() => relay.isLeader(), "the relay to lead");
    const holder = await db.knex.transaction();
    try {
      // Hold the cursor row so the relay's write of it waits, wherever in its round that write is.
      await holder.raw("SELECT 1 FROM event_relay_cursors WHERE name = 'redis' FOR UPDATE");
      const id = await append("test.behind_a_locked_cursor");
      await waitForLockWait(db.knex, "%event_relay_cursors%");
      const settled = await relay.settledId();
      for (const event of bus.published) expect(event.id).toBeLessThanOrEqual(settled);
      await holder.commit();
      await until(() => bus.published.some((event) => event.id === id), "the publish once the cursor is free");
      expect(await relay.settledId()).toBeGreaterThanOrEqual(id);
    } finally {
      if (!holder.isCompleted()) await holder.rollback();
    }
  });

  it("on a shared bus that refuses publishes, settles the event but reports it unpublished until the bus takes it", async () => {
    const bus = recordingBus(true);
    let refusing = true;
    const accept = bus.publish;
    bus.publish = async (events) => {
      if (refusing) throw new Error("Redis is away");
      await accept(events);
    };
    const relay = await start(bus);
    await until(() => relay.isLeader(), "the relay to lead");
    const id = await append("test.while_the_bus_is_away");
    await vi.waitFor(async () => expect(await relay.settledId()).toBeGreaterThanOrEqual(id), { timeout: 10_000, interval: 20 });
    // What the lag metric reads: the event is not on the bus yet.
    expect(await relay.publishedId()).toBeLessThan(id);
    refusing = false;
    await vi.waitFor(async () => expect(await relay.publishedId()).toBeGreaterThanOrEqual(id), { timeout: 10_000, interval: 20 });
    expect(bus.published.map((event) => event.id)).toEqual([id]);
  });

  it("on a shared bus, a new leader publishes what its predecessor settled but never published", async () => {
    const stuckBus = recordingBus(true);
    stuckBus.publish = async () => {
      throw new Error("Redis is away");
    };
    const stuck = await start(stuckBus);
    await until(() => stuck.isLeader(), "the first relay to lead");
    const id = await append("test.settled_not_published");
    await vi.waitFor(async () => expect(await stuck.settledId()).toBeGreaterThanOrEqual(id), { timeout: 10_000, interval: 20 });
    await stuck.stop();

    const bus = recordingBus(true);
    const successor = await start(bus);
    await until(() => successor.isLeader(), "the successor to lead");
    await until(() => bus.published.some((event) => event.id === id), "the successor's publish");
    expect(bus.published.map((event) => event.id)).toEqual([id]);
  });
});
