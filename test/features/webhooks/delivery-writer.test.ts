import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { insertDeliveries, packDelivery } from "../../../src/features/webhooks/deliveries.store.js";
import { DeliveryWriter, type NewDelivery } from "../../../src/features/webhooks/delivery-writer.js";
import type { DomainEvent } from "../../../src/features/events/domain-event.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

/** The group-commit writer on the real table: what it answers, and when it wakes the worker. */
describe("DeliveryWriter", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;
  let wakes = 0;
  let writer: DeliveryWriter;
  let guid = 0;

  const row = (status: NewDelivery["status"], deliveryGuid = `writer-${++guid}`): NewDelivery => ({
    webhook_id: webhook.id,
    org_id: acme.org_id,
    delivery_guid: deliveryGuid,
    event_type: "issues.opened",
    status,
    payload: "{}",
    headers: {},
    payload_summary: {},
  });

  beforeAll(async () => {
    app = await startTestApp({}, { worker: { pollMs: 600_000 } });
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
    writer = new DeliveryWriter(app.db.knex, { onReceived: () => wakes++ });
  });
  afterAll(() => app.close());

  it("wakes the worker for a delivery stored as received, and for nothing it has no work in", async () => {
    wakes = 0;
    const ignored = await writer.write(row("ignored"));
    const failed = await writer.write(row("failed"));
    expect([ignored.outcome, failed.outcome]).toEqual(["inserted", "inserted"]);
    const received = await writer.write(row("received"));
    expect(received.outcome).toBe("inserted");
    // The wake-up follows the answer; a wake-up for either write before it would have come first.
    await vi.waitFor(() => expect(wakes).toBeGreaterThan(0));
    expect(wakes).toBe(1);
  });

  it("answers a repeated GUID as a duplicate without a wake-up, and a failed one queued again with one", async () => {
    const first = await writer.write(row("failed", "writer-repeat"));
    wakes = 0;
    await app.db.knex("deliveries").where({ id: first.id }).update({ status: "processed" });
    expect(await writer.write(row("received", "writer-repeat"))).toEqual({ outcome: "duplicate", id: first.id });
    await writer.write(row("received")); // the marker: its wake-up comes after any the duplicate made
    await vi.waitFor(() => expect(wakes).toBeGreaterThan(0));
    expect(wakes).toBe(1);

    wakes = 0;
    await app.db.knex("deliveries").where({ id: first.id }).update({ status: "failed" });
    expect(await writer.write(row("received", "writer-repeat"))).toEqual({ outcome: "requeued", id: first.id });
    await vi.waitFor(() => expect(wakes).toBe(1));
  });

  it("folds concurrent writes into one batch and answers each its own row, a GUID twice in it as a repeat", async () => {
    const rows = [row("received"), row("ignored"), row("received", "writer-twice"), row("received", "writer-twice")];
    const results = await Promise.all(rows.map((r) => writer.write(r)));
    expect(results.map((result) => result.outcome)).toEqual(["inserted", "inserted", "inserted", "duplicate"]);
    expect(results[3]!.id).toBe(results[2]!.id);
    const stored = await app.db.knex("deliveries").whereIn("id", results.map((result) => result.id));
    expect(new Map(stored.map((s) => [s.id, s.delivery_guid]))).toEqual(
      new Map([
        [results[0]!.id, rows[0]!.delivery_guid],
        [results[1]!.id, rows[1]!.delivery_guid],
        [results[2]!.id, "writer-twice"],
      ]),
    );
  });

  it("hands the relay each delivery's event as the events table stored it, a hostile summary and a GUID twice in one batch included", async () => {
    const handed: DomainEvent[] = [];
    const relayed = new DeliveryWriter(app.db.knex, { relay: { ownNotifyPayload: "", committed: (events) => handed.push(...events) } });
    const hostile = {
      ...row("received"),
      event_type: "issues.opened\u0000",
      payload_summary: { title: "lone \ud800 and NUL \u0000", "key\u0000": [1.5, -0, 1e21, null, true, { nested: "ok" }], repo: "acme/app" },
    };
    const first = { ...row("ignored", "writer-handed-twice"), payload_summary: { title: "the first" } };
    const second = { ...row("received", "writer-handed-twice"), payload_summary: { title: "the second, a repeat" } };
    const results = await Promise.all([hostile, row("failed"), first, second].map((r) => relayed.write(r)));
    expect(results.map((result) => result.outcome)).toEqual(["inserted", "inserted", "inserted", "duplicate"]);

    expect(handed).toHaveLength(3);
    const stored = await app.db.knex("events").whereIn("id", handed.map((event) => event.id)).orderBy("id");
    // Compared as JSON: what SSE streams and the bus carry, and what a replay from the table sends.
    const asJson = (event: DomainEvent) => JSON.parse(JSON.stringify(event));
    expect([...handed].sort((a, b) => a.id - b.id).map(asJson)).toEqual(stored.map(asJson));
    const byDelivery = new Map(handed.map((event) => [event.data.delivery_id, event]));
    expect(byDelivery.get(results[0]!.id)!.data).toMatchObject({ event_type: "issues.opened\ufffd", payload_summary: { repo: "acme/app" } });
    expect(byDelivery.get(results[2]!.id)!).toMatchObject({ type: "delivery.ignored", team_id: acme.team_id, data: { payload_summary: { title: "the first" } } });
  });

  it("keeps one statement in flight: the writes that arrive meanwhile go together in the next one, and tells each statement's size and time", async () => {
    const told: { deliveries: number; seconds: number }[] = [];
    const fresh = new DeliveryWriter(app.db.knex, { onStatement: (deliveries, seconds) => told.push({ deliveries, seconds }) });
    const blocker = await app.db.knex.transaction();
    const statements: string[] = [];
    const onQuery = (query: { sql: string }) => {
      if (query.sql.includes("INSERT INTO deliveries")) statements.push(query.sql);
    };
    try {
      // An uncommitted row with the same GUID holds the first write's INSERT until it is rolled back.
      await insertDeliveries(blocker, [packDelivery(row("received", "writer-held"))]);
      app.db.knex.on("query", onQuery);
      const first = fresh.write(row("received", "writer-held"));
      await vi.waitFor(() => expect(statements).toHaveLength(1));
      const sentAt = performance.now();
      const later: Promise<unknown>[] = [];
      for (let i = 0; i < 6; i++) {
        later.push(fresh.write(row("received")));
        // A turn of the event loop after each: time enough to start a statement of its own.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const heldMs = performance.now() - sentAt;
      await blocker.rollback();
      const results = (await Promise.all([first, ...later])) as { outcome: string }[];
      expect(results.map((result) => result.outcome)).toEqual(Array(7).fill("inserted"));
      expect(statements).toHaveLength(2);
      expect(told.map((statement) => statement.deliveries)).toEqual([1, 6]);
      // The first statement's time covers the wait on the uncommitted row.
      expect(told[0]!.seconds * 1000).toBeGreaterThanOrEqual(heldMs);
    } finally {
      app.db.knex.off("query", onQuery);
      if (!blocker.isCompleted()) await blocker.rollback();
    }
  });
});
