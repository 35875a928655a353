import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { listenForNotifications, type NotificationListener } from "../../src/db/listen-for-notifications.js";
import { cutOffListener, listenerPids } from "../helpers/database-outage.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

const logger = pino({ level: "silent" });

/** A listener on `channel` that counts its calls. */
function counting(db: TestDatabase, channel: string) {
  const counter = { calls: 0, listener: undefined as unknown as NotificationListener };
  counter.listener = listenForNotifications({ url: db.url, channel, logger, retryMs: 200, onNotification: () => counter.calls++ });
  return counter;
}

describe("listenForNotifications", () => {
  let db: TestDatabase;
  const notify = (channel: string) => db.knex.raw(`NOTIFY ${channel}`);

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("carries every channel of the process on one session, each NOTIFY reaching only its channel's listeners", async () => {
    const a = counting(db, "test_channel_a");
    const b = counting(db, "test_channel_b");
    const a2 = counting(db, "test_channel_a");
    await Promise.all([a.listener.ready, b.listener.ready, a2.listener.ready]);
    expect(await listenerPids(db)).toHaveLength(1);
    // Each is called once when its LISTEN is in place (for what was notified before).
    expect([a.calls, b.calls, a2.calls]).toEqual([1, 1, 1]);

    await notify("test_channel_a");
    await notify("test_channel_b"); // the marker: one session delivers in commit order
    await vi.waitFor(() => expect(b.calls).toBe(2));
    expect([a.calls, a2.calls]).toEqual([2, 2]);

    // A listener that joins once the session is up gets its channel LISTENed on that same session.
    const late = counting(db, "test_channel_c");
    await late.listener.ready;
    expect(await listenerPids(db)).toHaveLength(1);
    await notify("test_channel_c");
    await vi.waitFor(() => expect(late.calls).toBe(2));
    await late.listener.stop();

    // One of two listeners on a channel stops: the other still hears it.
    await a2.listener.stop();
    await notify("test_channel_a");
    await notify("test_channel_b");
    await vi.waitFor(() => expect(b.calls).toBe(3));
    expect([a.calls, a2.calls]).toEqual([3, 2]);

    // The channel's last listener stops: it is not called again.
    await a.listener.stop();
    const beforeUnlisten = b.calls;
    await notify("test_channel_a");
    await notify("test_channel_b");
    await vi.waitFor(() => expect(b.calls).toBe(beforeUnlisten + 1));
    expect(a.calls).toBe(3);

    // The last listener of the process stops: the session ends.
    await b.listener.stop();
    await vi.waitFor(async () => expect(await listenerPids(db)).toEqual([]));
  });

  it("listens on every channel again after the database was away longer than one retry, and calls each listener once for the gap", async () => {
    const a = counting(db, "test_channel_a");
    const b = counting(db, "test_channel_b");
    await Promise.all([a.listener.ready, b.listener.ready]);
    const [pid] = await listenerPids(db);
    await cutOffListener(db, pid!, 1_000);
    await vi.waitFor(() => expect([a.calls, b.calls]).toEqual([2, 2]), { timeout: 10_000, interval: 50 });
    const [next] = await listenerPids(db);
    expect(next).not.toBe(pid);

    await notify("test_channel_a");
    await notify("test_channel_b");
    await vi.waitFor(() => expect([a.calls, b.calls]).toEqual([3, 3]));
    await Promise.all([a.listener.stop(), b.listener.stop()]);
  });

  it("rejects ready when the database cannot be reached, and stops retrying once stopped", async () => {
    const url = new URL(db.url);
    url.port = "1"; // nothing listens there
    const listener = listenForNotifications({ url: url.toString(), channel: "test_channel_a", logger, retryMs: 50, onNotification: () => {} });
    await expect(listener.ready).rejects.toThrow();
    await listener.stop();
    // A new listener on the same URL starts a new session rather than joining the stopped one.
    const again = listenForNotifications({ url: url.toString(), channel: "test_channel_a", logger, retryMs: 50, onNotification: () => {} });
    await expect(again.ready).rejects.toThrow();
    await again.stop();
  });
});
