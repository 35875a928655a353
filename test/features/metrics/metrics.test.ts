import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { createHttpApp } from "../../../src/http/create-http-app.js";
import { githubExample } from "../../helpers/github-examples.js";
import { openSse } from "../../helpers/sse-client.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

/** `name{labels} value` lines of one metric, as a map from the label text to the value. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match && match[1] === name) found.set(match[2] ?? "", Number(match[3]));
  }
  return found;
}

const BOUNDED_LABELS: Record<string, string[]> = {
  provider: ["github", "custom", "unknown"],
  status: ["received", "processed", "ignored", "failed", "rejected", "duplicate"],
  result: ["delivered", "retrying", "failed"],
  table: ["deliveries", "delivery_payloads", "events", "outbound_deliveries", "github_outbox"],
  le: [],
};

describe("GET /metrics", () => {
  let app: TestApp;
  let org: BootstrapResult;
  let webhook: RegisteredWebhook;
  const scrape = async (headers: Record<string, string> = {}) => (await app.request("GET", "/metrics", { headers })).text;

  beforeAll(async () => {
    app = await startTestApp({ OUTBOUND_RETRY_SCHEDULE: "3600" });
    org = await app.bootstrap();
    webhook = await registerWebhook(app, org.api_key, org.team_id);
  });
  afterAll(() => app.close());

  it("counts acknowledged deliveries by provider and outcome, times acks, the writer's statements and processing, and has the process metrics", async () => {
    await deliverAndWait(app, webhook, githubExample("issues", "opened"), { event: "issues", guid: "metrics-1" });
    expect((await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues", guid: "metrics-1" })).status).toBe(200);
    expect((await sendDelivery(app.url, webhook, { zen: "x" }, { event: "issues", signature: "sha256=" + "0".repeat(64) })).status).toBe(401);
    expect((await sendDelivery(app.url, webhook, githubExample("star", "created"), { event: "star" })).status).toBe(202); // not subscribed

    const text = await scrape();
    expect(Object.fromEntries(samples(text, "entourage_deliveries_total"))).toEqual({
      '{provider="github",status="received"}': 1,
      '{provider="github",status="duplicate"}': 1,
      '{provider="github",status="rejected"}': 1,
      '{provider="github",status="ignored"}': 1,
    });
    expect(samples(text, "entourage_ack_duration_seconds_count").get("")).toBe(4);
    // One after another, so each went to the database in a statement of its own.
    expect(samples(text, "entourage_delivery_write_batch_size_count").get("")).toBe(4);
    expect(samples(text, "entourage_delivery_write_batch_size_sum").get("")).toBe(4);
    expect(samples(text, "entourage_delivery_write_duration_seconds_count").get("")).toBe(4);
    expect(samples(text, "entourage_delivery_write_duration_seconds_sum").get("")).toBeGreaterThan(0);
    expect(samples(text, "entourage_delivery_processing_duration_seconds_count").get("")).toBe(1);
    expect(samples(text, "process_cpu_user_seconds_total").get("")).toBeGreaterThan(0);
    expect(samples(text, "nodejs_heap_size_used_bytes").get("")).toBeGreaterThan(0);
  });

  it("counts outbound attempts by result and open SSE streams", async () => {
    const endpoint = await app.request("POST", "/api/v1/outbound-webhooks", { key: org.api_key, body: { url: "http://127.0.0.1:9/closed", events: ["task.created"] } });
    expect(endpoint.status).toBe(201);
    const token = (await app.request("POST", "/api/v1/auth/token", { key: org.api_key })).body.token;
    const stream = await openSse(`${app.url}/api/v1/events?access_token=${token}`);
    try {
      expect((await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "Notify" } })).status).toBe(201);
      const text = await waitFor(async () => {
        const scraped = await scrape();
        return samples(scraped, "entourage_outbound_attempts_total").get('{result="retrying"}') === 1 ? scraped : undefined;
      }, "the failed outbound attempt to be counted");
      expect(samples(text, "entourage_sse_clients").get("")).toBe(1);
      expect(samples(text, "entourage_event_relay_lag_seconds").get("")).toBeGreaterThanOrEqual(0);
    } finally {
      stream.close();
    }
  });

  it("counts an upload the client abandoned before its body arrived, and gives its bytes back to the budget", async () => {
    const port = Number(new URL(app.url).port);
    const socket = net.connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      `POST /api/v1/webhooks/${webhook.id}/receive HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
        `x-github-event: issues\r\nx-github-delivery: abandoned-1\r\ncontent-length: 100000\r\n\r\n{"zen":`,
    );
    // The server holds the declared length once it starts reading the body.
    await waitFor(async () => samples(await scrape(), "entourage_unverified_body_bytes").get("") === 100_000 || undefined, "the upload to hold its budget");
    socket.destroy();
    const text = await waitFor(async () => {
      const scraped = await scrape();
      return samples(scraped, "entourage_webhook_uploads_abandoned_total").get("") === 1 ? scraped : undefined;
    }, "the abandoned upload to be counted");
    expect(samples(text, "entourage_unverified_body_bytes").get("")).toBe(0);
  });

  it("carries no unbounded label value: no ids, no repository names", async () => {
    const text = await scrape();
    const lines = text.split("\n").filter((line) => line.startsWith("entourage_"));
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      for (const [, label, value] of line.matchAll(/(\w+)="([^"]*)"/g)) {
        expect(Object.keys(BOUNDED_LABELS), line).toContain(label);
        if (label !== "le") expect(BOUNDED_LABELS[label!], line).toContain(value);
      }
    }
    expect(text).not.toContain(webhook.id);
    expect(text).not.toContain(org.org_id);
    expect(text).not.toContain("Codertocat/Hello-World");
  });

  it("answers 403 to a client that is not on loopback when no METRICS_TOKEN is set, whatever X-Forwarded-For says", async () => {
    // The same app, behind a server that relabels the (loopback) peer as a remote one.
    const express = createHttpApp(app.ctx, { pipeline: app.entourage.pipeline });
    const remote = http.createServer((req, res) => {
      Object.defineProperty(req.socket, "remoteAddress", { value: "203.0.113.7", configurable: true });
      express(req, res);
    });
    await new Promise<void>((resolve) => remote.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(remote.address() as AddressInfo).port}/metrics`;
      const res = await fetch(url, { headers: { "x-forwarded-for": "127.0.0.1" } });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: { code: "forbidden", message: expect.stringContaining("METRICS_TOKEN") } });
    } finally {
      remote.closeAllConnections();
      await new Promise((resolve) => remote.close(resolve));
    }
  });
});

describe("GET /metrics with METRICS_TOKEN", () => {
  const TOKEN = "metrics-token-0123456789abcdef";
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ METRICS_TOKEN: TOKEN });
  });
  afterAll(() => app.close());

  it("needs Authorization: Bearer <METRICS_TOKEN>, even from loopback", async () => {
    const refused: Record<string, string>[] = [{}, { authorization: "Bearer wrong-token-0123456789abcd" }, { authorization: TOKEN }, { "x-api-key": TOKEN }];
    for (const headers of refused) {
      const res = await app.request("GET", "/metrics", { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    }
    const res = await app.request("GET", "/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain("# TYPE entourage_deliveries_total counter");
  });
});

describe("queue gauges", () => {
  let first: TestApp;
  let second: TestApp;
  let org: BootstrapResult;

  beforeAll(async () => {
    // No worker: what arrives stays queued. Two instances on one database.
    first = await startTestApp({ ENTOURAGE_WORKER: "off" });
    second = await startTestApp({ ENTOURAGE_WORKER: "off" }, { database: first.db });
    org = await first.bootstrap();
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it("read the received backlog and pending GitHub writes from PostgreSQL, so every instance reports the same", async () => {
    const webhook = await registerWebhook(first, org.api_key, org.team_id);
    for (let i = 0; i < 3; i++) expect((await sendDelivery(first.url, webhook, githubExample("issues", "opened"), { event: "issues" })).status).toBe(202);
    await first.db.knex("deliveries").where({ webhook_id: webhook.id }).orderBy("created_at").limit(1).update({ created_at: first.db.knex.raw("now() - interval '5 minutes'") });
    const endpoint = await first.request("POST", "/api/v1/outbound-webhooks", { key: org.api_key, body: { url: "http://127.0.0.1:9/gone", events: ["task.*"] } });
    await first.db.knex("outbound_webhooks").where({ id: endpoint.body.id }).update({ active: false, disabled_at: first.db.knex.fn.now(), disabled_reason: "410 Gone" });
    const paused = await first.request("POST", "/api/v1/outbound-webhooks", { key: org.api_key, body: { url: "http://127.0.0.1:9/paused", events: ["task.*"] } });
    expect((await first.request("PATCH", `/api/v1/outbound-webhooks/${paused.body.id}`, { key: org.api_key, body: { active: false } })).status).toBe(200); // paused by hand: not counted
    await first.db.knex("github_outbox").insert({ org_id: org.org_id, kind: "issue_comment", repository: "o/r", dedupe_key: "metrics-test", request: JSON.stringify({ body: "x" }) });

    for (const app of [first, second]) {
      const text = (await app.request("GET", "/metrics")).text;
      expect(samples(text, "entourage_delivery_queue_depth").get("")).toBe(3);
      const age = samples(text, "entourage_delivery_queue_oldest_age_seconds").get("")!;
      expect(age).toBeGreaterThanOrEqual(300);
      expect(age).toBeLessThan(400);
      expect(samples(text, "entourage_github_outbox_pending").get("")).toBe(1);
      expect(samples(text, "entourage_outbound_endpoints_disabled").get("")).toBe(1);
    }
  });
});
