import { createHmac } from "node:crypto";
import pg from "pg";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { OUTBOUND_NOTIFY_CHANNEL, releaseOutboundDelivery, type ClaimedOutboundDelivery } from "../../../src/features/notifications/outbound-deliveries.store.js";
import { startOutboundSender, type OutboundSender, type OutboundSenderOptions } from "../../../src/features/notifications/outbound-sender.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../helpers/start-webhook-receiver.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitForLockWait } from "../../helpers/lock-wait.js";
import { waitFor } from "../../helpers/wait-for.js";

const hexSignature = (secret: string, body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

describe("outbound delivery > with the sender Entourage starts itself", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    receiver = await startWebhookReceiver(() => ({ status: 200, body: "thanks" }));
  });
  afterAll(async () => {
    await app.close();
    await receiver.close();
  });

  it("POSTs task events signed both ways, verifiable with the secret shown at registration", async () => {
    const endpoint = await app.request("POST", "/api/v1/outbound-webhooks", {
      key: acme.api_key,
      body: { url: receiver.url, events: ["task.completed"], api_key: "receiver-key" },
    });
    const task = await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "Deploy" } });
    await app.request("PATCH", `/api/v1/tasks/${task.body.id}`, { key: acme.api_key, body: { status: "in_progress" } });
    await app.request("PATCH", `/api/v1/tasks/${task.body.id}`, { key: acme.api_key, body: { status: "done" } });

    const [request] = await receiver.waitForRequests(1);
    const { headers, body } = request!;
    expect(request!.method).toBe("POST");
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["x-entourage-event"]).toBe("task.completed");
    expect(headers["x-api-key"]).toBe("receiver-key");
    expect(headers["x-entourage-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(headers["webhook-id"]).toBe(headers["x-entourage-delivery"]);
    // The seed's recipe: HMAC-SHA256 keyed with the secret string as shown, over the raw body.
    expect(headers["x-entourage-signature"]).toBe(hexSignature(endpoint.body.secret, body));
    // Standard Webhooks, checked by the reference library (timestamp tolerance included).
    const verified = new Webhook(endpoint.body.secret).verify(body, headers as Record<string, string>);
    expect(verified).toMatchObject({ event: "task.completed", task_id: task.body.id });
    expect(() => new Webhook(endpoint.body.secret).verify(body.replace("Deploy", "Deplo!"), headers as Record<string, string>)).toThrow();

    const payload = JSON.parse(body);
    expect(payload).toEqual({
      event: "task.completed",
      task_id: task.body.id,
      team_id: acme.team_id,
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: expect.objectContaining({ id: task.body.id, title: "Deploy", status: "done" }),
      details: {},
    });

    const deliveries = await waitFor(async () => {
      const res = await app.request("GET", `/api/v1/outbound-webhooks/${endpoint.body.id}/deliveries`, { key: acme.api_key });
      return res.body[0]?.status === "delivered" ? res.body : undefined;
    }, "the outbound deliveries to get there");
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ id: headers["x-entourage-delivery"], event: "task.completed", attempt_count: 1, last_status_code: 200, next_attempt_at: null });
    expect(deliveries[0].attempts).toEqual([
      { attempted_at: expect.any(String), duration_ms: expect.any(Number), status_code: 200, response_excerpt: "thanks", error: null, next_retry_at: null },
    ]);
    const one = await app.request("GET", `/api/v1/outbound-webhooks/${endpoint.body.id}/deliveries/${deliveries[0].id}`, { key: acme.api_key });
    expect(one.body.payload).toEqual(payload);
  });
});

describe("outbound delivery > retries, failures and safety", () => {
  let app: TestApp;
  let sender: OutboundSender | undefined;
  const receivers: WebhookReceiver[] = [];
  const fast: Partial<OutboundSenderOptions> = {
    allowPrivate: true,
    pollIntervalMs: 50,
    retrySchedule: [200, 200, 200],
    jitter: 0,
    timeoutMs: 2000,
    leaseMs: 5000,
    drainMs: 100,
  };

  const startSender = (options: Partial<OutboundSenderOptions> = {}, listen = false) => {
    const deps = { knex: app.ctx.knex, logger: app.ctx.logger, encryptionKey: app.ctx.secrets.encryptionKey };
    sender = startOutboundSender(listen ? { ...deps, databaseUrl: app.ctx.databaseUrl } : deps, { ...fast, ...options });
    return sender;
  };
  const receiver = async (...args: Parameters<typeof startWebhookReceiver>) => {
    const started = await startWebhookReceiver(...args);
    receivers.push(started);
    return started;
  };
  const register = async (org: BootstrapResult, url: string, events = ["task.created"]) => {
    const res = await app.request("POST", "/api/v1/outbound-webhooks", { key: org.api_key, body: { url, events } });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string };
  };
  const createTask = (org: BootstrapResult, title = "a task") =>
    app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title } }).then((res) => res.body as { id: number });
  const deliveries = (org: BootstrapResult, endpointId: string) =>
    app.request("GET", `/api/v1/outbound-webhooks/${endpointId}/deliveries`, { key: org.api_key }).then((res) => res.body as any[]);
  const endpoint = (org: BootstrapResult, endpointId: string) =>
    app.request("GET", `/api/v1/outbound-webhooks/${endpointId}`, { key: org.api_key }).then((res) => res.body);

  beforeAll(async () => {
    app = await startTestApp({ ENTOURAGE_WORKER: "off" });
  });
  afterEach(async () => {
    await sender?.stop();
    sender = undefined;
    await app.db.knex("outbound_webhooks").delete();
    for (const started of receivers.splice(0)) await started.close();
  });
  afterAll(() => app.close());

  it("retries a failing endpoint and delivers once it recovers, logging every attempt", async () => {
    const org = await app.bootstrap({ name: "retry" });
    const flaky = await receiver((_req, index) => (index < 2 ? { status: 500, body: `boom ${index + 1}` } : { status: 204 }));
    const hook = await register(org, flaky.url);
    startSender();
    await createTask(org);

    const [delivery] = await waitFor(async () => {
      const list = await deliveries(org, hook.id);
      return list[0]?.status === "delivered" ? list : undefined;
    }, "the outbound deliveries to get there");
    expect(flaky.requests).toHaveLength(3);
    expect(new Set(flaky.requests.map((r) => r.headers["x-entourage-delivery"]))).toEqual(new Set([delivery.id]));
    expect(new Set(flaky.requests.map((r) => r.body)).size).toBe(1);
    expect(delivery).toMatchObject({ attempt_count: 3, last_status_code: 204, last_error: null });
    expect(delivery.attempts.map((a: any) => [a.status_code, a.response_excerpt])).toEqual([
      [500, "boom 1"],
      [500, "boom 2"],
      [204, null],
    ]);
    expect(delivery.attempts[0].next_retry_at).not.toBeNull();
    expect(new Date(delivery.attempts[0].next_retry_at).getTime()).toBeGreaterThan(new Date(delivery.attempts[0].attempted_at).getTime());
    expect(delivery.attempts[2].next_retry_at).toBeNull();
    expect((await endpoint(org, hook.id)).failing_since).toBeNull();
  });

  it("gives up after the schedule, and redeliver sends the same delivery again", async () => {
    const org = await app.bootstrap({ name: "redeliver" });
    let up = false;
    const down = await receiver(() => (up ? { status: 200 } : { status: 503, body: "maintenance" }));
    const hook = await register(org, down.url);
    startSender({ retrySchedule: [100] });
    await createTask(org);

    const [failed] = await waitFor(async () => {
      const list = await deliveries(org, hook.id);
      return list[0]?.status === "failed" ? list : undefined;
    }, "the outbound deliveries to get there");
    expect(failed).toMatchObject({ attempt_count: 2, next_attempt_at: null, last_status_code: 503 });
    expect(failed.attempts.at(-1).next_retry_at).toBeNull();

    up = true;
    const res = await app.request("POST", `/api/v1/outbound-webhooks/${hook.id}/deliveries/${failed.id}/redeliver`, { key: org.api_key });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: failed.id, status: "pending" });
    await waitFor(async () => (await deliveries(org, hook.id))[0]?.status === "delivered", "the outbound deliveries to get there");
    expect(down.requests).toHaveLength(3);
    expect(down.requests[2]!.headers["x-entourage-delivery"]).toBe(failed.id);
  });

  it("disables an endpoint that answers 410 Gone, with an outbound_webhook.disabled event", async () => {
    const org = await app.bootstrap({ name: "gone" });
    const gone = await receiver(() => ({ status: 410, body: "no longer here" }));
    const hook = await register(org, gone.url);
    const opsReceiver = await receiver();
    await register(org, opsReceiver.url, ["outbound_webhook.disabled"]);
    startSender();
    await createTask(org);

    const disabled = await waitFor(async () => {
      const body = await endpoint(org, hook.id);
      return body.active === false ? body : undefined;
    }, "the outbound deliveries to get there");
    expect(disabled.disabled_reason).toMatch(/410 Gone/);
    const [delivery] = await deliveries(org, hook.id);
    expect(delivery).toMatchObject({ status: "failed", attempt_count: 1, last_status_code: 410 });
    const events = await app.db.knex("events").where({ org_id: org.org_id, type: "outbound_webhook.disabled" });
    expect(events).toHaveLength(1);
    expect(events[0].data).toMatchObject({ outbound_webhook_id: hook.id, reason: "the endpoint answered 410 Gone" });
    // Other endpoints can subscribe to it (an ops channel, say).
    const [alert] = await opsReceiver.waitForRequests(1);
    expect(alert!.headers["x-entourage-event"]).toBe("outbound_webhook.disabled");
    expect(JSON.parse(alert!.body)).toMatchObject({
      event: "outbound_webhook.disabled",
      task_id: null,
      data: { outbound_webhook_id: hook.id, url: gone.url, reason: "the endpoint answered 410 Gone" },
    });

    await createTask(org, "after it was disabled");
    expect(gone.requests).toHaveLength(1);
    expect(await deliveries(org, hook.id)).toHaveLength(1);
    const redeliver = await app.request("POST", `/api/v1/outbound-webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`, { key: org.api_key });
    expect(redeliver.status).toBe(409);
  });

  it("answers 404, not 500, to a redeliver whose endpoint is deleted while it runs", async () => {
    const org = await app.bootstrap({ name: "redeliver-race" });
    const hook = await register(org, "https://example.com/hook");
    await createTask(org);
    const [delivery] = await waitFor(async () => {
      const list = await deliveries(org, hook.id);
      return list.length ? list : undefined;
    }, "the outbound delivery");
    // The endpoint's deletion (cascading to the delivery) holds the row until it commits; the
    // redeliver has already read both and waits on that row.
    const deletion = await app.db.knex.transaction();
    try {
      await deletion("outbound_webhooks").where({ id: hook.id }).delete();
      const answer = app.request("POST", `/api/v1/outbound-webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`, { key: org.api_key });
      await waitForLockWait(app.db.knex, "%outbound_deliveries%");
      await deletion.commit();
      const res = await answer;
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("not_found");
    } finally {
      if (!deletion.isCompleted()) await deletion.rollback();
    }
  });

  it("disables an endpoint that keeps failing for the configured stretch", async () => {
    const org = await app.bootstrap({ name: "broken" });
    const broken = await receiver(() => ({ status: 500 }));
    const hook = await register(org, broken.url);
    startSender({ retrySchedule: [100, 100, 100, 100, 100, 100, 100, 100], disableAfterMs: 400 });
    await createTask(org);

    const disabled = await waitFor(async () => {
      const body = await endpoint(org, hook.id);
      return body.active === false ? body : undefined;
    }, "the outbound deliveries to get there");
    expect(disabled.disabled_reason).toMatch(/^every delivery has failed since /);
    expect(disabled.failing_since).not.toBeNull();
    const events = await app.db.knex("events").where({ org_id: org.org_id, type: "outbound_webhook.disabled" });
    expect(events).toHaveLength(1);
    // Held, not lost: the delivery stays pending until someone re-activates the endpoint.
    expect((await deliveries(org, hook.id))[0].status).toBe("pending");
  });

  it("honours Retry-After over the schedule", async () => {
    const org = await app.bootstrap({ name: "busy" });
    const busy = await receiver(() => ({ status: 429, headers: { "Retry-After": "120" }, body: "slow down" }));
    const hook = await register(org, busy.url);
    startSender();
    await createTask(org);

    const [delivery] = await waitFor(async () => {
      const list = await deliveries(org, hook.id);
      return list[0]?.attempts.length ? list : undefined;
    }, "the outbound deliveries to get there");
    const attempt = delivery.attempts[0];
    const wait = new Date(attempt.next_retry_at).getTime() - new Date(attempt.attempted_at).getTime();
    expect(wait).toBeGreaterThanOrEqual(120_000);
    expect(wait).toBeLessThan(125_000);
    expect(delivery).toMatchObject({ status: "pending", last_status_code: 429, next_attempt_at: attempt.next_retry_at });
  });

  it("does not let a hanging endpoint delay the others, and times it out", async () => {
    const org = await app.bootstrap({ name: "hang" });
    const hanging = await receiver(() => "hang");
    const healthy = await receiver();
    const slow = await register(org, hanging.url);
    const fine = await register(org, healthy.url);
    startSender({ timeoutMs: 3000, leaseMs: 6000, perEndpointConcurrency: 2, concurrency: 4 });
    for (let i = 0; i < 6; i++) await createTask(org, `task ${i}`);

    await healthy.waitForRequests(6);
    await waitFor(async () => (await deliveries(org, fine.id)).every((d) => d.status === "delivered"), "the outbound deliveries to get there");
    // The hanging endpoint holds two requests open (its limit), none answered yet.
    expect(hanging.requests).toHaveLength(2);
    expect((await deliveries(org, slow.id)).every((d) => d.attempts.length === 0)).toBe(true);

    const timedOut = await waitFor(async () => (await deliveries(org, slow.id)).find((d) => d.attempts.length > 0), "the outbound deliveries to get there");
    expect(timedOut.attempts[0]).toMatchObject({ status_code: null, error: "no response within 3000 ms" });
    expect(timedOut.status).toBe("pending");
  });

  it("signs with both the new and the old secret for a day after rotation", async () => {
    const org = await app.bootstrap({ name: "rotate" });
    const target = await receiver();
    const hook = await register(org, target.url);
    const rotated = (await app.request("POST", `/api/v1/outbound-webhooks/${hook.id}/rotate-secret`, { key: org.api_key })).body;
    startSender();
    await createTask(org);

    const [request] = await target.waitForRequests(1);
    const { headers, body } = request!;
    expect(headers["x-entourage-signature"]).toBe(`${hexSignature(rotated.secret, body)},${hexSignature(hook.secret, body)}`);
    expect(String(headers["webhook-signature"]).split(" ")).toHaveLength(2);
    for (const secret of [rotated.secret, hook.secret]) {
      expect(new Webhook(secret).verify(body, headers as Record<string, string>)).toMatchObject({ event: "task.created" });
    }

    // Once the overlap is over only the new secret signs.
    await app.db.knex("outbound_webhooks").where("id", hook.id).update({ previous_secret_expires_at: new Date(Date.now() - 1000) });
    await createTask(org, "later");
    const [, later] = await target.waitForRequests(2);
    expect(later!.headers["x-entourage-signature"]).toBe(hexSignature(rotated.secret, later!.body));
    expect(() => new Webhook(hook.secret).verify(later!.body, later!.headers as Record<string, string>)).toThrow();
    expect(new Webhook(rotated.secret).verify(later!.body, later!.headers as Record<string, string>)).toBeTruthy();
  });

  it("does not follow redirects", async () => {
    const org = await app.bootstrap({ name: "redirect" });
    const elsewhere = await receiver();
    const redirecting = await receiver(() => ({ status: 302, headers: { Location: elsewhere.url } }));
    const hook = await register(org, redirecting.url);
    startSender({ retrySchedule: [] });
    await createTask(org);

    const [delivery] = await waitFor(async () => {
      const list = await deliveries(org, hook.id);
      return list[0]?.status === "failed" ? list : undefined;
    }, "the outbound deliveries to get there");
    expect(delivery.attempts[0]).toMatchObject({ status_code: 302, error: `redirects are not followed (Location: ${elsewhere.url})` });
    expect(elsewhere.requests).toHaveLength(0);
  });

  it("a listening sender sends a new delivery at once, without waiting for its poll", async () => {
    const org = await app.bootstrap({ name: "woken" });
    const target = await receiver();
    await register(org, target.url);
    // Its poll would come after the test's timeout: only the NOTIFY of the new delivery can start it.
    await startSender({ pollIntervalMs: 600_000 }, true).ready;
    await createTask(org);
    const [request] = await target.waitForRequests(1);
    expect(request!.headers["x-entourage-event"]).toBe("task.created");
  });

  it("tells the senders whenever a delivery becomes claimable: queued, redelivered, released, endpoint back on", async () => {
    const org = await app.bootstrap({ name: "notified" });
    const listener = new pg.Client({ connectionString: app.ctx.databaseUrl });
    await listener.connect();
    let notified = 0;
    listener.on("notification", (message) => {
      if (message.channel === OUTBOUND_NOTIFY_CHANNEL) notified++;
    });
    await listener.query(`LISTEN ${OUTBOUND_NOTIFY_CHANNEL}`);
    const expectNotified = async (what: string, action: () => Promise<unknown>) => {
      const before = notified;
      await action();
      await waitFor(() => notified > before, `a notification when ${what}`);
    };
    try {
      const target = await receiver();
      const hook = await register(org, target.url);
      await expectNotified("a delivery is queued", () => createTask(org));
      startSender();
      const [sent] = await waitFor(async () => {
        const list = await deliveries(org, hook.id);
        return list[0]?.status === "delivered" ? list : undefined;
      }, "the delivery to be sent");
      await sender!.stop();
      sender = undefined;
      await expectNotified("it is redelivered", async () => {
        const res = await app.request("POST", `/api/v1/outbound-webhooks/${hook.id}/deliveries/${sent.id}/redeliver`, { key: org.api_key });
        expect(res.status).toBe(202);
      });
      await expectNotified("a sender gives a claim back", () =>
        releaseOutboundDelivery(app.ctx.knex, { id: sent.id, claim_token: "00000000-0000-4000-8000-000000000000" } as ClaimedOutboundDelivery),
      );
      await expectNotified("its endpoint is turned back on", async () => {
        expect((await app.request("PATCH", `/api/v1/outbound-webhooks/${hook.id}`, { key: org.api_key, body: { active: false } })).status).toBe(200);
        expect((await app.request("PATCH", `/api/v1/outbound-webhooks/${hook.id}`, { key: org.api_key, body: { active: true } })).status).toBe(200);
      });
      // Events that queue nothing (an org without endpoints) wake no sender.
      const quiet = await app.bootstrap({ name: "no-endpoints" });
      const before = notified;
      await createTask(quiet);
      await expectNotified("a marker delivery is queued after the quiet org's event", () => createTask(org));
      expect(notified).toBe(before + 1);
    } finally {
      await listener.end();
    }
  });
});
