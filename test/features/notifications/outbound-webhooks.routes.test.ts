import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startOutboundSender } from "../../../src/features/notifications/outbound-sender.js";
import { startWebhookReceiver } from "../../helpers/start-webhook-receiver.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";

// The sender is off here: these tests are about the API, and no request may leave loopback.
describe("outbound webhooks API", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;
  const register = (body: Record<string, unknown>, key = acme.api_key) => app.request("POST", "/api/v1/outbound-webhooks", { key, body });

  beforeAll(async () => {
    app = await startTestApp({ ENTOURAGE_WORKER: "off" });
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(() => app.close());

  it("refuses an api_key with CR, LF or NUL (400 naming api_key), on create and on update, and never echoes it", async () => {
    for (const value of ["k\r\nX-Injected: 1", "k\nsecret-part", "k\u0000nul"]) {
      const created = await register({ url: "https://hooks.example.com/x", events: ["*"], api_key: value });
      expect(created.status).toBe(400);
      expect(created.body.error.details).toEqual([expect.objectContaining({ field: "api_key" })]);
      expect(JSON.stringify(created.body)).not.toContain(value.slice(1));
    }
    const ok = await register({ url: "https://hooks.example.com/x", events: ["*"], api_key: "fine" });
    expect(ok.status).toBe(201);
    const patched = await app.request("PATCH", `/api/v1/outbound-webhooks/${ok.body.id}`, { key: acme.api_key, body: { api_key: "a\rb" } });
    expect(patched.status).toBe(400);
    expect(patched.body.error.details).toEqual([expect.objectContaining({ field: "api_key" })]);
  });

  it("registers an endpoint and shows its secret once, stored encrypted", async () => {
    const res = await register({ url: "https://hooks.example.com/entourage", events: ["task.completed", "task.created"], api_key: "k-123", description: "deploys" });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toMatch(new RegExp(`/api/v1/outbound-webhooks/${res.body.id}$`));
    expect(res.body).toMatchObject({
      url: "https://hooks.example.com/entourage",
      events: ["task.completed", "task.created"],
      team_id: null,
      description: "deploys",
      active: true,
      has_api_key: true,
    });
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(res.body.secret_hint).toBe(`${res.body.secret.slice(0, 10)}…`);

    const shown = await app.request("GET", `/api/v1/outbound-webhooks/${res.body.id}`, { key: acme.api_key });
    expect(shown.status).toBe(200);
    expect(shown.body.secret).toBeUndefined();
    expect(shown.body.api_key).toBeUndefined();
    const row = await app.db.knex("outbound_webhooks").where("id", res.body.id).first();
    expect(row.secret_sealed).not.toContain(res.body.secret.slice(6));
    expect(row.api_key_sealed).not.toContain("k-123");
  });

  it("answers 400 naming each bad field", async () => {
    const res = await register({ url: "ftp://x.example.com/", events: ["task.exploded"], team_id: "nope" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    const fields = res.body.error.details.map((detail: { field: string }) => detail.field).sort();
    expect(fields).toEqual(["events.0", "team_id", "url"]);
    expect((await register({ url: "https://user:pw@x.example.com/", events: ["*"] })).status).toBe(400);
    expect((await register({ url: "https://x.example.com/", events: [] })).status).toBe(400);
  });

  it("answers 400, not 500, for a url that is not a URL at all (found by fuzzing)", async () => {
    for (const url of ["", "not a url", "0c407949-1d0d-4ed1-9b64-6c1713c44045"]) {
      const res = await register({ url, events: ["*"] });
      expect(res.status, url).toBe(400);
      expect(res.body.error.details).toEqual([expect.objectContaining({ field: "url" })]);
    }
  });

  it("refuses a team of another org", async () => {
    const res = await register({ url: "https://x.example.com/", events: ["*"], team_id: other.team_id });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: "team_id", message: "no such team in this org" }]);
  });

  it("lists an org's endpoints, oldest first, with a Link to the next page", async () => {
    const org = await app.bootstrap({ name: "lister" });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await register({ url: `https://x.example.com/${i}`, events: ["task.*"] }, org.api_key)).body.id);
    const first = await app.request("GET", "/api/v1/outbound-webhooks?limit=2", { key: org.api_key });
    expect(first.status).toBe(200);
    expect(first.body.map((w: { id: string }) => w.id)).toEqual(ids.slice(0, 2));
    expect(first.body[0].secret).toBeUndefined();
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get("link") ?? "")![1]!;
    const second = await app.request("GET", new URL(next).pathname + new URL(next).search, { key: org.api_key });
    expect(second.body.map((w: { id: string }) => w.id)).toEqual(ids.slice(2));
    expect(second.headers.get("link")).toBeNull();
  });

  it("updates url, events and active; a disabled endpoint gets no notifications", async () => {
    const created = await register({ url: "https://x.example.com/a", events: ["task.created"] });
    const id = created.body.id;
    const patched = await app.request("PATCH", `/api/v1/outbound-webhooks/${id}`, {
      key: acme.api_key,
      body: { url: "https://x.example.com/b", events: ["task.completed"], active: false },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ url: "https://x.example.com/b", events: ["task.completed"], active: false, disabled_reason: "disabled by a user" });
    expect((await app.request("PATCH", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key, body: {} })).status).toBe(400);
    expect((await app.request("PATCH", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key, body: { secret: "mine" } })).status).toBe(400);

    await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "ignored while disabled" } });
    expect(await app.db.knex("outbound_deliveries").where("endpoint_id", id)).toHaveLength(0);

    const reactivated = await app.request("PATCH", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key, body: { active: true } });
    expect(reactivated.body).toMatchObject({ active: true, disabled_at: null, disabled_reason: null });
  });

  it("queues one delivery per subscribed event, in the transaction of the change", async () => {
    const org = await app.bootstrap({ name: "queue" });
    const all = (await register({ url: "https://x.example.com/all", events: ["*"] }, org.api_key)).body.id;
    const done = (await register({ url: "https://x.example.com/done", events: ["task.completed"] }, org.api_key)).body.id;
    const task = await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "ship it" } });
    // A PATCH that fails halfway (todo → done is not allowed) rolls back its task.updated event and its notification.
    const refused = await app.request("PATCH", `/api/v1/tasks/${task.body.id}`, { key: org.api_key, body: { title: "renamed", status: "done" } });
    expect(refused.status).toBe(409);

    const rows = await app.db.knex("outbound_deliveries").whereIn("endpoint_id", [all, done]).select("endpoint_id", "event_type", "body");
    expect(rows.map((r) => `${r.endpoint_id === all ? "all" : "done"}:${r.event_type}`)).toEqual(["all:task.created"]);
    const body = JSON.parse(rows[0]!.body);
    expect(body).toMatchObject({ event: "task.created", task_id: task.body.id, team_id: org.team_id, data: { id: task.body.id, title: "ship it", status: "todo" } });
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
  });

  it("routes by team: an endpoint for one team hears nothing of another", async () => {
    const org = await app.bootstrap({ name: "teams" });
    const otherTeam = (await app.request("POST", "/api/v1/teams", { key: org.api_key, body: { name: "ops" } })).body;
    expect(otherTeam.id).toBeDefined();
    const id = (await register({ url: "https://x.example.com/core", events: ["task.created"], team_id: org.team_id }, org.api_key)).body.id;
    await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: otherTeam.id, title: "ops work" } });
    await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "core work" } });
    const rows = await app.db.knex("outbound_deliveries").where("endpoint_id", id).select("body");
    expect(rows.map((r) => JSON.parse(r.body).data.title)).toEqual(["core work"]);
  });

  it("hides other orgs' endpoints and deliveries: 404 everywhere", async () => {
    const id = (await register({ url: "https://x.example.com/", events: ["*"] })).body.id;
    const paths: [string, string][] = [
      ["GET", `/api/v1/outbound-webhooks/${id}`],
      ["PATCH", `/api/v1/outbound-webhooks/${id}`],
      ["DELETE", `/api/v1/outbound-webhooks/${id}`],
      ["POST", `/api/v1/outbound-webhooks/${id}/rotate-secret`],
      ["GET", `/api/v1/outbound-webhooks/${id}/deliveries`],
      ["POST", `/api/v1/outbound-webhooks/${id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`],
      ["GET", "/api/v1/outbound-webhooks/not-a-uuid"],
    ];
    for (const [method, path] of paths) {
      const res = await app.request(method, path, { key: other.api_key, body: method === "PATCH" ? { active: false } : undefined });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    }
    expect((await app.request("GET", "/api/v1/outbound-webhooks")).status).toBe(401);
    expect((await app.request("GET", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key })).status).toBe(200);
  });

  it("deletes an endpoint with its deliveries", async () => {
    const id = (await register({ url: "https://x.example.com/", events: ["task.created"] })).body.id;
    await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "x" } });
    expect(await app.db.knex("outbound_deliveries").where("endpoint_id", id)).toHaveLength(1);
    expect((await app.request("DELETE", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key })).status).toBe(204);
    expect((await app.request("GET", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key })).status).toBe(404);
    expect(await app.db.knex("outbound_deliveries").where("endpoint_id", id)).toHaveLength(0);
  });

  it("rotates the secret: a new one shown once, the old one valid 24 more hours", async () => {
    const created = (await register({ url: "https://x.example.com/", events: ["*"] })).body;
    const rotated = await app.request("POST", `/api/v1/outbound-webhooks/${created.id}/rotate-secret`, { key: acme.api_key });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.secret);
    const hours = (new Date(rotated.body.previous_secret_expires_at).getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
  });

  it("answers 404 for a delivery that does not exist", async () => {
    const id = (await register({ url: "https://x.example.com/", events: ["*"] })).body.id;
    const res = await app.request("POST", `/api/v1/outbound-webhooks/${id}/deliveries/00000000-0000-4000-8000-000000000000/redeliver`, { key: acme.api_key });
    expect(res.status).toBe(404);
    expect((await app.request("GET", `/api/v1/outbound-webhooks/${id}/deliveries?status=lost`, { key: acme.api_key })).status).toBe(400);
  });
});

describe("outbound webhooks without ALLOW_PRIVATE_OUTBOUND", () => {
  let app: TestApp;
  let acme: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp({ ALLOW_PRIVATE_OUTBOUND: "false", ENTOURAGE_WORKER: "off" });
    acme = await app.bootstrap();
  });
  afterAll(() => app.close());

  it.each([
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.0.0.7/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://[::ffff:0:7f00:1]/hook",
    "http://[64:ff9b:1::a00:1]/hook",
    "http://[2002:7f00:1::1]/hook",
  ])("refuses %s at registration, without saying where a name leads", async (url) => {
    const res = await app.request("POST", "/api/v1/outbound-webhooks", { key: acme.api_key, body: { url, events: ["*"] } });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0]).toMatchObject({ field: "url" });
    expect(res.body.error.details[0].message).toMatch(/non-public address/);
    expect(res.body.error.details[0].message).not.toMatch(/127\.0\.0\.1|::1\b/);
  });

  it("refuses a private URL on PATCH too, and accepts a public one", async () => {
    const created = await app.request("POST", "/api/v1/outbound-webhooks", { key: acme.api_key, body: { url: "https://93.184.215.14/hook", events: ["*"] } });
    expect(created.status).toBe(201);
    const res = await app.request("PATCH", `/api/v1/outbound-webhooks/${created.body.id}`, { key: acme.api_key, body: { url: "http://192.168.0.10/" } });
    expect(res.status).toBe(400);
    await app.request("DELETE", `/api/v1/outbound-webhooks/${created.body.id}`, { key: acme.api_key });
  });

  it("checks again at send time: an endpoint now pointing at loopback is never called", async () => {
    const receiver = await startWebhookReceiver();
    // As if DNS changed after registration: the stored URL now leads to loopback.
    const created = await app.request("POST", "/api/v1/outbound-webhooks", { key: acme.api_key, body: { url: "https://93.184.215.14/hook", events: ["task.created"] } });
    await app.db.knex("outbound_webhooks").where("id", created.body.id).update({ url: receiver.url });
    const sender = startOutboundSender(
      { knex: app.ctx.knex, logger: app.ctx.logger, encryptionKey: app.ctx.secrets.encryptionKey },
      { allowPrivate: false, pollIntervalMs: 50, retrySchedule: [60_000] },
    );
    try {
      await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "secret plans" } });
      const deliveries = await waitFor(async () => {
        const res = await app.request("GET", `/api/v1/outbound-webhooks/${created.body.id}/deliveries`, { key: acme.api_key });
        return res.body[0]?.attempts.length ? res.body : undefined;
      }, "the outbound deliveries to get there");
      expect(deliveries[0]).toMatchObject({ status: "pending", attempt_count: 1, last_status_code: null });
      expect(deliveries[0].attempts[0].error).toBe("the URL's host is a non-public address");
      expect(receiver.requests).toHaveLength(0);
    } finally {
      await sender.stop();
      await receiver.close();
    }
  });
});
