import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubSignature } from "../../helpers/github-signature.js";
import { githubExample } from "../../helpers/github-examples.js";
import { request, startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { registerWebhook, sendDelivery, storedDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";
import { unpackPayload } from "../../../src/features/webhooks/stored-payload.js";

describe("POST /api/v1/webhooks/{id}/receive", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;

  const deliveryRow = (id: string) => storedDelivery(app.db.knex, id);
  const rowsFor = (webhookId: string) => app.db.knex("deliveries").where({ webhook_id: webhookId }).orderBy("created_at");

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.opened", "issues.closed", "pull_request.closed"] });
  });
  afterAll(() => app.close());

  describe("accepted", () => {
    it("stores a signed real issues.opened delivery, answers 202, and the worker processes it", async () => {
      const payload = githubExample("issues", "opened");
      const res = await sendDelivery(app.url, webhook, payload, { event: "issues" });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ delivery_id: expect.any(String), status: "received" });
      const row = await waitFor(async () => {
        const r = await deliveryRow(res.body.delivery_id);
        return r?.status === "processed" && r;
      }, "processing");
      expect(row).toMatchObject({ event_type: "issues.opened", delivery_guid: res.guid, attempts: 1, actions: [expect.stringMatching(/^created task #\d+$/)] });
      expect(JSON.parse(row.payload)).toEqual(payload);
      expect(row.payload_summary).toEqual({
        action: "opened",
        issue: { title: payload.issue.title, number: payload.issue.number, url: payload.issue.html_url },
        repository: payload.repository.full_name,
      });
      expect(row.headers).toMatchObject({ "x-github-event": "issues", "x-github-delivery": res.guid });
    });

    it("accepts GitHub's form content type, verifying the signature over the raw form body", async () => {
      const payload = githubExample("issues", "opened", 1);
      const res = await sendDelivery(app.url, webhook, payload, { event: "issues", form: true });
      expect(res.status).toBe(202);
      const row = await deliveryRow(res.body.delivery_id);
      expect(JSON.parse(row.payload)).toEqual(payload);
    });

    it("names a merged close pull_request.merged, and a pull_request.closed subscription matches it", async () => {
      const payload = githubExample("pull_request", "closed");
      payload.pull_request.merged = true;
      const res = await sendDelivery(app.url, webhook, payload, { event: "pull_request" });
      expect(res.status).toBe(202);
      expect((await deliveryRow(res.body.delivery_id)).event_type).toBe("pull_request.merged");
    });

    it("answers ping with 200 and logs it", async () => {
      const res = await sendDelivery(app.url, webhook, githubExample("ping"), { event: "ping" });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ delivery_id: expect.any(String), status: "processed", pong: true });
      expect(await deliveryRow(res.body.delivery_id)).toMatchObject({ event_type: "ping", status: "processed", actions: ["pong"] });
    });

    it("logs an unsubscribed event as ignored with the reason, and never processes it", async () => {
      const res = await sendDelivery(app.url, webhook, githubExample("issues", "edited"), { event: "issues" });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe("ignored");
      const row = await deliveryRow(res.body.delivery_id);
      expect(row).toMatchObject({ status: "ignored", event_type: "issues.edited", attempts: 0 });
      expect(row.actions[0]).toMatch(/not subscribed to issues\.edited/);
    });
  });

  describe("replays", () => {
    it("answers 200 duplicate for a GUID already received, and processes it once", async () => {
      const payload = githubExample("issues", "opened", 2);
      const first = await sendDelivery(app.url, webhook, payload, { event: "issues" });
      const second = await sendDelivery(app.url, webhook, payload, { event: "issues", guid: first.guid });
      expect(second.status).toBe(200);
      expect(second.body).toEqual({ delivery_id: first.body.delivery_id, duplicate: true });
      await waitFor(async () => (await deliveryRow(first.body.delivery_id)).status === "processed", "processing");
      const third = await sendDelivery(app.url, webhook, payload, { event: "issues", guid: first.guid });
      expect(third.body.duplicate).toBe(true);
      const rows = await app.db.knex("deliveries").where({ delivery_guid: first.guid });
      expect(rows).toHaveLength(1);
      expect(rows[0].attempts).toBe(1);
    });

    it("queues a failed delivery again when its GUID is redelivered", async () => {
      const payload = githubExample("issues", "opened", 3);
      const first = await sendDelivery(app.url, webhook, payload, { event: "issues" });
      await waitFor(async () => (await deliveryRow(first.body.delivery_id)).status === "processed", "processing");
      await app.db.knex("deliveries").where({ id: first.body.delivery_id }).update({ status: "failed", error: "boom" });
      const again = await sendDelivery(app.url, webhook, payload, { event: "issues", guid: first.guid });
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ delivery_id: first.body.delivery_id, status: "received", redelivered: true });
      const row = await waitFor(async () => {
        const r = await deliveryRow(first.body.delivery_id);
        return r.status === "processed" && r;
      }, "reprocessing");
      expect(row.error).toBeNull();
    });
  });

  describe("refused", () => {
    it("answers 401 JSON without a signature or with a wrong one, and never processes", async () => {
      const payload = githubExample("issues", "opened");
      const missing = await sendDelivery(app.url, webhook, payload, { event: "issues", signature: null });
      const wrong = await sendDelivery(app.url, webhook, payload, { event: "issues", signature: await githubSignature("whsec_not-the-secret", JSON.stringify(payload)) });
      const garbage = await sendDelivery(app.url, webhook, payload, { event: "issues", signature: "sha1=abc" });
      for (const res of [missing, wrong, garbage]) {
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe("invalid_signature");
      }
      for (const guid of [missing.guid, wrong.guid, garbage.guid]) {
        expect(await app.db.knex("deliveries").where({ delivery_guid: guid })).toEqual([]);
      }
    });

    it("verifies the exact bytes: the same JSON re-serialised differently fails", async () => {
      const payload = githubExample("issues", "opened");
      const signedCompact = await githubSignature(webhook.secret, JSON.stringify(payload));
      const res = await sendDelivery(app.url, webhook, JSON.stringify(payload, null, 2), { event: "issues", signature: signedCompact });
      expect(res.status).toBe(401);
    });

    it("records rejected requests with metadata only, capped per minute", async () => {
      const own = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
      const payload = githubExample("issues", "opened");
      for (let i = 0; i < 15; i++) {
        expect((await sendDelivery(app.url, own, payload, { event: "issues", signature: "sha256=" + "f".repeat(64) })).status).toBe(401);
      }
      const rejected = await app.db.knex("deliveries").where({ webhook_id: own.id, status: "rejected" });
      expect(rejected).toHaveLength(10);
      for (const row of rejected) {
        expect(unpackPayload(row)).toBeNull();
        expect(row.error).toBe("signature does not match");
        expect(row.event_type).toBe("issues");
        expect(row.headers["x-github-event"]).toBe("issues");
        // A forged request never takes the GUID it claims: a genuine delivery with that GUID must still be accepted.
        expect(row.delivery_guid).toMatch(/^rejected:[0-9a-f-]{36}$/);
      }
    });

    it("records a rejected custom delivery under its X-Entourage-Event cut to 100 characters, or as unknown", async () => {
      const custom = await registerWebhook(app, acme.api_key, acme.team_id, { provider: "custom", events: ["task.*"] });
      const long = `task.${"x".repeat(150)}`;
      const named = await sendDelivery(app.url, custom, { external_id: "X-1" }, { signature: null, headers: { "x-entourage-event": long } });
      const unnamed = await sendDelivery(app.url, custom, { external_id: "X-2" }, { signature: null });
      for (const res of [named, unnamed]) {
        expect(res.status).toBe(401);
        expect(res.body.error).toMatchObject({ code: "invalid_signature", message: expect.stringMatching(/^Missing X-Hub-Signature-256/) });
      }
      const rows = await rowsFor(custom.id);
      expect(rows.map((row) => [row.status, row.event_type, row.error])).toEqual([
        ["rejected", long.slice(0, 100), "missing X-Hub-Signature-256"],
        ["rejected", "unknown", "missing X-Hub-Signature-256"],
      ]);
    });

    it("takes the GUID of a GitHub webhook's delivery from X-GitHub-Delivery only", async () => {
      const res = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues", headers: { "x-entourage-delivery": "not-githubs" } });
      expect(res.status).toBe(202);
      expect((await deliveryRow(res.body.delivery_id)).delivery_guid).toBe(res.guid);
    });

    it("answers 404 for an unknown or malformed webhook id", async () => {
      const body = JSON.stringify(githubExample("issues", "opened"));
      for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "..%2F..%2Fapi-keys"]) {
        const res = await request(app.url, "POST", `/api/v1/webhooks/${id}/receive`, { body, headers: { "x-github-event": "issues", "x-hub-signature-256": await githubSignature(webhook.secret, body) } });
        expect(res.status, id).toBe(404);
        expect(res.body.error.code).toBe("not_found");
      }
    });

    it("answers 410 for an inactive webhook", async () => {
      const inactive = await registerWebhook(app, acme.api_key, acme.team_id);
      await app.request("PATCH", `/api/v1/webhooks/${inactive.id}`, { key: acme.api_key, body: { active: false } });
      const res = await sendDelivery(app.url, inactive, githubExample("issues", "opened"), { event: "issues" });
      expect(res.status).toBe(410);
      expect(await rowsFor(inactive.id)).toEqual([]);
    });

    it("answers 413 for a body over 25 MB", async () => {
      const huge = JSON.stringify({ action: "opened", filler: "x".repeat(25 * 1024 * 1024) });
      const res = await sendDelivery(app.url, webhook, huge, { event: "issues" });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe("payload_too_large");
    });

    it("answers 400 for a valid signature over invalid JSON, logged as failed", async () => {
      const res = await sendDelivery(app.url, webhook, '{"action": "opened", ', { event: "issues" });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_json");
      const row = await storedDelivery(app.db.knex, res.body.delivery_id);
      expect(row).toMatchObject({ status: "failed", payload: '{"action": "opened", ' });
      expect(row.error).toMatch(/^invalid JSON/);
      // The log shows what arrived: text that is not JSON, as a string.
      const shown = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries/${row.id}`, { key: acme.api_key });
      expect(shown.status).toBe(200);
      expect(shown.body).toMatchObject({ id: row.id, status: "failed", payload: '{"action": "opened", ' });
    });

    it("answers 400 when X-GitHub-Event is missing, logged as failed", async () => {
      const res = await sendDelivery(app.url, webhook, githubExample("issues", "opened"));
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: "bad_request", message: "Missing X-GitHub-Event header" });
      expect(await app.db.knex("deliveries").where({ delivery_guid: res.guid }).first()).toMatchObject({
        status: "failed",
        event_type: "unknown",
        error: "missing X-GitHub-Event header",
      });
    });

    it("answers 400 for JSON that is not an object (an array, null, a number), logged as failed", async () => {
      for (const body of ["[1, 2]", "null", "42"]) {
        const res = await sendDelivery(app.url, webhook, body, { event: "issues" });
        expect(res.status, body).toBe(400);
        expect(res.body.error).toEqual({ code: "invalid_json", message: "The body is not a JSON object: the document must be a JSON object" });
        expect(await storedDelivery(app.db.knex, res.body.delivery_id), body).toMatchObject({
          status: "failed",
          event_type: "issues",
          payload: body,
          error: "invalid JSON: the document must be a JSON object",
        });
      }
    });

    it("answers 503, never 2xx, when the database cannot store the delivery", async () => {
      await app.db.knex.raw("ALTER TABLE deliveries RENAME TO deliveries_away");
      try {
        const res = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
        expect(res.status).toBe(503);
        expect(res.body.error.code).toBe("service_unavailable");
        expect(res.headers.get("retry-after")).toBe("5");
      } finally {
        await app.db.knex.raw("ALTER TABLE deliveries_away RENAME TO deliveries");
      }
      const after = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      expect(after.status).toBe(202);
    });
  });

  describe("custom senders", () => {
    let custom: RegisteredWebhook;
    beforeAll(async () => {
      custom = await registerWebhook(app, acme.api_key, acme.team_id, { provider: "custom", events: ["task.*"] });
    });

    it("accepts a valid task.create document named by X-Entourage-Event", async () => {
      const res = await sendDelivery(app.url, custom, { external_id: "JIRA-1", title: "Rotate keys", priority: "high" }, { headers: { "x-entourage-event": "task.create", "x-entourage-delivery": "ext-1" } });
      expect(res.status).toBe(202);
      expect(await deliveryRow(res.body.delivery_id)).toMatchObject({ event_type: "task.create", delivery_guid: "ext-1" });
    });

    it("accepts the event named in the body", async () => {
      const res = await sendDelivery(app.url, custom, { event: "task.close", external_id: "JIRA-1" });
      expect(res.status).toBe(202);
      expect((await deliveryRow(res.body.delivery_id)).event_type).toBe("task.close");
    });

    it("answers 422 listing the issues for an invalid document, logged as failed", async () => {
      const res = await sendDelivery(app.url, custom, { title: "", priority: "urgent" }, { headers: { "x-entourage-event": "task.create" } });
      expect(res.status).toBe(422);
      const fields = res.body.error.details.map((d: { field: string }) => d.field).sort();
      expect(fields).toEqual(["external_id", "priority", "title"]);
      const row = await app.db.knex("deliveries").where({ delivery_guid: res.guid }).first();
      expect(row.status).toBe("failed");
      expect(row.error).toContain("external_id");
    });

    it("answers 422 for an unknown custom event, or none, logged as failed under the name it was given", async () => {
      const unknown = await sendDelivery(app.url, custom, { external_id: "x" }, { headers: { "x-entourage-event": "task.explode" } });
      const unnamed = await sendDelivery(app.url, custom, { external_id: "x" });
      for (const res of [unknown, unnamed]) {
        expect(res.status).toBe(422);
        expect(res.body.error).toEqual({
          code: "unprocessable_entity",
          message: "The document does not match the custom event schema",
          details: [{ field: "event", message: 'must be one of task.create, task.update, task.close (X-Entourage-Event header or body "event")' }],
        });
      }
      expect(await deliveryRow(unknown.body.delivery_id)).toMatchObject({ status: "failed", event_type: "task.explode" });
      expect(await deliveryRow(unnamed.body.delivery_id)).toMatchObject({ status: "failed", event_type: "unknown" });
    });

  });
});
