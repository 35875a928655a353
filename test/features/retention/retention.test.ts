import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { pruneHistory, RETENTION_LOCK, type RetentionSettings } from "../../../src/features/retention/prune-history.js";
import { githubExample } from "../../helpers/github-examples.js";
import { openSse } from "../../helpers/sse-client.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, sendDelivery, storedDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

const DAY = 86_400_000;
const DEFAULTS: RetentionSettings = { DELIVERY_PAYLOAD_RETENTION_DAYS: 30, DELIVERY_RETENTION_DAYS: 90, EVENT_RETENTION_DAYS: 30 };

describe("retention", () => {
  let app: TestApp;
  let org: BootstrapResult;
  let webhook: RegisteredWebhook;
  const ids: Record<"processed" | "ignored" | "rejected" | "failed" | "queued", string> = {} as never;
  let outbox: { sent: number; pending: number };
  let outbound: { delivered: string; pending: string[] };
  /** Runs one pass as if it were `days` days from now, in batches of two (so every walk takes several). */
  const pruneAt = (days: number, settings = DEFAULTS) =>
    pruneHistory({ knex: app.db.knex, logger: app.ctx.logger, metrics: app.ctx.metrics, now: () => new Date(Date.now() + days * DAY) }, settings, { batchSize: 2 });
  const delivery = (id: string) => storedDelivery(app.db.knex, id);

  beforeAll(async () => {
    app = await startTestApp({ OUTBOUND_RETRY_SCHEDULE: "3600" });
    org = await app.bootstrap();
    webhook = await registerWebhook(app, org.api_key, org.team_id);
    const endpoint = await app.request("POST", "/api/v1/outbound-webhooks", { key: org.api_key, body: { url: "http://127.0.0.1:9/closed", events: ["task.created"] } });
    expect(endpoint.status).toBe(201);

    ids.processed = (await deliverAndWait(app, webhook, githubExample("issues", "opened"), { event: "issues" })).id;
    ids.ignored = (await sendDelivery(app.url, webhook, githubExample("star", "created"), { event: "star" })).body.delivery_id;
    await sendDelivery(app.url, webhook, { zen: "forged" }, { event: "issues", signature: "sha256=" + "0".repeat(64) });
    ids.rejected = (await app.db.knex("deliveries").where({ status: "rejected" }).first()).id;
    ids.failed = (await sendDelivery(app.url, webhook, "{not json", { event: "issues" })).body.delivery_id;
    // Queued and not yet due: retention must never touch the worker's queue.
    const [queued] = await app.db
      .knex("deliveries")
      .insert({ webhook_id: webhook.id, org_id: org.org_id, delivery_guid: "queued-1", event_type: "issues.opened", status: "received", payload: "{}", next_attempt_at: new Date(Date.now() + 365 * DAY) })
      .returning("id");
    ids.queued = queued.id;

    const [sent, pending] = await app.db
      .knex("github_outbox")
      .insert(["sent", "pending"].map((status) => ({ org_id: org.org_id, kind: "issue_comment", repository: "o/r", dedupe_key: `retention-${status}`, request: "{}", status })))
      .returning("id");
    outbox = { sent: Number(sent.id), pending: Number(pending.id) };

    // Outbound deliveries of three task.created events (the task and two more): one delivered, two still retrying.
    for (const title of ["One", "Two"]) expect((await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title } })).status).toBe(201);
    const rows = await waitFor(async () => {
      const found = await app.db.knex("outbound_deliveries").orderBy("event_id");
      return found.length === 3 ? found : undefined;
    }, "three outbound deliveries");
    await app.db.knex("outbound_deliveries").where({ id: rows[0].id }).update({ status: "delivered" });
    outbound = { delivered: rows[0].id, pending: [rows[1].id, rows[2].id].sort() };
    expect((await delivery(ids.processed)).status).toBe("processed");
    expect((await delivery(ids.failed)).status).toBe("failed");
  });
  afterAll(() => app.close());

  it("keeps everything younger than the settings", async () => {
    expect(await pruneAt(29)).toEqual({ deliveries: 0, delivery_payloads: 0, events: 0, outbound_deliveries: 0, github_outbox: 0 });
    expect((await delivery(ids.processed)).payload).not.toBeNull();
  });

  it("keeps everything for ever when every setting is 0", async () => {
    const counts = await pruneAt(10_000, { DELIVERY_PAYLOAD_RETENTION_DAYS: 0, DELIVERY_RETENTION_DAYS: 0, EVENT_RETENTION_DAYS: 0 });
    expect(Object.values(counts!)).toEqual([0, 0, 0, 0, 0]);
  });

  it("skips the pass while another instance holds the retention lock", async () => {
    const other = new pg.Client({ connectionString: app.db.url });
    await other.connect();
    try {
      await other.query("SELECT pg_advisory_lock($1, $2)", RETENTION_LOCK);
      expect(await pruneAt(31)).toBeUndefined();
      expect((await delivery(ids.processed)).payload).not.toBeNull();
    } finally {
      await other.end();
    }
  });

  it("after 30 days drops payloads and headers of processed, ignored and rejected deliveries, keeps failed ones whole, and deletes old events", async () => {
    const eventsBefore = await app.db.knex("events").where({ org_id: org.org_id }).count({ n: "*" }).first();
    const counts = await pruneAt(31);
    expect(counts).toMatchObject({ deliveries: 0, delivery_payloads: 3, outbound_deliveries: 0, github_outbox: 0 });

    for (const key of ["processed", "ignored", "rejected"] as const) {
      const row = await delivery(ids[key]);
      expect(row, key).toMatchObject({ status: key, payload: null, headers: {} });
    }
    const processed = await delivery(ids.processed);
    expect(processed.payload_summary).toMatchObject({ action: "opened" });
    expect(processed.actions.length).toBeGreaterThan(0);
    const failed = await delivery(ids.failed);
    expect(failed.payload).toBe("{not json");
    expect(failed.error).toMatch(/invalid JSON/);
    expect(failed.headers["x-github-event"]).toBe("issues");
    expect((await delivery(ids.queued)).payload).toBe("{}");

    // Events go, except the three that outbound deliveries still point at.
    const left = await app.db.knex("events").select("id");
    const outboundEvents = (await app.db.knex("outbound_deliveries").select("event_id")).map((row) => Number(row.event_id));
    expect(left.map((row) => Number(row.id)).sort()).toEqual(outboundEvents.sort());
    expect(counts!.events).toBe(Number(eventsBefore!.n) - 3);
    const metrics = (await app.request("GET", "/metrics")).text;
    expect(metrics).toContain('entourage_pruned_rows_total{table="delivery_payloads"} 3');
  });

  it("after 90 days deletes finished deliveries, outbound deliveries and GitHub outbox rows; queued and pending ones stay", async () => {
    const counts = await pruneAt(91);
    expect(counts).toMatchObject({ deliveries: 4, outbound_deliveries: 1, github_outbox: 1, events: 1 });
    expect((await app.db.knex("deliveries").select("id")).map((row) => row.id)).toEqual([ids.queued]);
    expect((await app.db.knex("github_outbox").select("id")).map((row) => Number(row.id))).toEqual([outbox.pending]);
    expect((await app.db.knex("outbound_deliveries").select("id")).map((row) => row.id).sort()).toEqual(outbound.pending);
    // The pending deliveries' events stay with them.
    expect(await app.db.knex("events").count({ n: "*" }).first()).toEqual({ n: 2 });
  });

  describe("an SSE client resuming", () => {
    it("from an event that is gone gets a reset event instead of a silent gap", async () => {
      const token = (await app.request("POST", "/api/v1/auth/token", { key: org.api_key })).body.token;
      const stream = await openSse(`${app.url}/api/v1/events?access_token=${token}`, { "last-event-id": "1" });
      try {
        const reset = await stream.waitFor((message) => message.event === "reset");
        expect(reset.json).toMatchObject({ reason: "events_pruned", last_event_id: 1 });
        expect(stream.messages[0]).toBe(reset);
        // And it goes on live from there.
        const task = await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "After reset" } });
        await stream.waitFor((message) => message.json?.type === "task.created" && message.json.data.task_id === task.body.id);
      } finally {
        stream.close();
      }
    });

    it("from an event after the pruned ones replays as usual, without a reset", async () => {
      const { max } = (await app.db.knex("events").max({ max: "id" }).first()) as { max: string };
      const [{ value }] = await app.db.knex("retention_state").where({ name: "events" }).select("value");
      expect(Number(max)).toBeGreaterThan(Number(value));
      const token = (await app.request("POST", "/api/v1/auth/token", { key: org.api_key })).body.token;
      const stream = await openSse(`${app.url}/api/v1/events?access_token=${token}`, { "last-event-id": String(value) });
      try {
        const first = await stream.waitFor(() => true);
        expect(first.event).toBeUndefined();
        expect(Number(first.id)).toBeGreaterThan(Number(value));
      } finally {
        stream.close();
      }
    });
  });
});

describe("retention in the worker role", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ DELIVERY_RETENTION_DAYS: "1" }, { retention: { firstDelayMs: 0, intervalMs: 60_000 } });
  });
  afterAll(() => app.close());

  it("prunes on its own schedule, soon after start", async () => {
    const org = await app.bootstrap();
    const webhook = await registerWebhook(app, org.api_key, org.team_id);
    const row = await deliverAndWait(app, webhook, githubExample("issues", "opened"), { event: "issues" });
    await app.db.knex("deliveries").where({ id: row.id }).update({ created_at: app.db.knex.raw("now() - interval '2 days'") });
    await app.entourage.close(); // stop the first schedule, start a fresh instance on the same database
    const again = await startTestApp({ DELIVERY_RETENTION_DAYS: "1" }, { database: app.db, retention: { firstDelayMs: 0, intervalMs: 60_000 } });
    try {
      await waitFor(async () => !(await app.db.knex("deliveries").where({ id: row.id }).first()), "the old delivery to be pruned");
    } finally {
      await again.close();
    }
  });
});
