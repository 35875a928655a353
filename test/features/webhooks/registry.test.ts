import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubExample } from "../../helpers/github-examples.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery } from "../../helpers/webhooks.js";

describe("webhook registry", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(() => app.close());

  describe("POST /api/v1/webhooks", () => {
    it("answers 201 with a whsec_ secret, the receive URL and the settings", async () => {
      const res = await app.request("POST", "/api/v1/webhooks", {
        key: acme.api_key,
        body: { org_id: acme.org_id, provider: "github", events: ["issues.opened", "pull_request.*"], config: { team_id: acme.team_id, auto_assign: true }, name: "web" },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        id: expect.any(String),
        provider: "github",
        events: ["issues.opened", "pull_request.*"],
        active: true,
        name: "web",
        config: { team_id: acme.team_id, auto_assign: true },
        receive_url: `${app.url}/api/v1/webhooks/${res.body.id}/receive`,
      });
      expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(res.body.secret.slice(6), "base64")).toHaveLength(32);
    });

    it("stores the secret encrypted, never in clear, and never returns it again", async () => {
      const webhook = await registerWebhook(app, acme.api_key, acme.team_id);
      const row = await app.db.knex("webhooks").where({ id: webhook.id }).first();
      expect(JSON.stringify(row)).not.toContain(webhook.secret);
      expect(JSON.stringify(row)).not.toContain(webhook.secret.slice(6));

      const one = await app.request("GET", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key });
      const list = await app.request("GET", "/api/v1/webhooks", { key: acme.api_key });
      for (const text of [one.text, list.text]) {
        expect(text).not.toContain(webhook.secret);
        expect(text).not.toContain(webhook.secret.slice(12));
      }
      expect(one.body).not.toHaveProperty("secret");
      expect(one.body.secret_hint).toBe(`${webhook.secret.slice(0, 10)}…`);
    });

    it("refuses unknown event types with a 400 that lists the valid ones", async () => {
      const res = await app.request("POST", "/api/v1/webhooks", {
        key: acme.api_key,
        body: { provider: "github", events: ["issues.opened", "issues.exploded"], config: { team_id: acme.team_id } },
      });
      expect(res.status).toBe(400);
      const detail = res.body.error.details.find((d: { field: string }) => d.field === "events");
      expect(detail.message).toContain("issues.exploded");
      expect(detail.message).toContain("pull_request.merged");
      expect(detail.message).toContain("issues.*");
    });

    it("checks custom providers against the custom event types", async () => {
      const ok = await app.request("POST", "/api/v1/webhooks", {
        key: acme.api_key,
        body: { provider: "custom", events: ["task.*"], config: { team_id: acme.team_id } },
      });
      expect(ok.status).toBe(201);
      // Repository entitlement is GitHub's: a custom webhook names none and records none.
      expect(ok.body).toMatchObject({ entitled_repositories: [], first_repository: null });
      const bad = await app.request("POST", "/api/v1/webhooks", {
        key: acme.api_key,
        body: { provider: "custom", events: ["issues.opened"], config: { team_id: acme.team_id } },
      });
      expect(bad.status).toBe(400);
    });

    it("refuses another org's id and another org's team", async () => {
      const foreignOrg = await app.request("POST", "/api/v1/webhooks", {
        key: acme.api_key,
        body: { org_id: other.org_id, provider: "github", events: ["*"], config: { team_id: acme.team_id } },
      });
      expect(foreignOrg.status).toBe(400);
      expect(foreignOrg.body.error.details[0].field).toBe("org_id");
      const foreignTeam = await app.request("POST", "/api/v1/webhooks", {
        key: acme.api_key,
        body: { provider: "github", events: ["*"], config: { team_id: other.team_id } },
      });
      expect(foreignTeam.status).toBe(400);
      expect(foreignTeam.body.error.details[0].field).toBe("config.team_id");
      expect(await app.db.knex("webhooks").where({ org_id: other.org_id }).count({ n: "*" }).first()).toEqual({ n: 0 });
    });

    it("answers 400 naming each bad field", async () => {
      const res = await app.request("POST", "/api/v1/webhooks", { key: acme.api_key, body: { provider: "gitlab", events: [], config: {} } });
      expect(res.status).toBe(400);
      const fields = res.body.error.details.map((d: { field: string }) => d.field);
      expect(fields).toEqual(expect.arrayContaining(["provider", "events", "config.team_id"]));
    });
  });

  describe("GET, PATCH, DELETE", () => {
    it("shows delivery counts by status and the last delivery time", async () => {
      const webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.opened"] });
      await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      await sendDelivery(app.url, webhook, githubExample("issues", "edited"), { event: "issues" });
      await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues", signature: "sha256=" + "0".repeat(64) });
      const res = await app.request("GET", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key });
      expect(res.body.delivery_counts).toMatchObject({ ignored: 1, rejected: 1 });
      expect(res.body.delivery_counts.received + res.body.delivery_counts.processed).toBe(1);
      // The last delivery is the newest that was not rejected: a stranger's forged request does not count.
      const newest = await app.db.knex("deliveries").where({ webhook_id: webhook.id }).whereNot({ status: "rejected" }).max("created_at as at").first();
      expect(res.body.last_delivery_at).toBe(newest!.at.toISOString());
    });

    it("updates events, active, config and name, validating each", async () => {
      const webhook = await registerWebhook(app, acme.api_key, acme.team_id);
      const patched = await app.request("PATCH", `/api/v1/webhooks/${webhook.id}`, {
        key: acme.api_key,
        body: { events: ["issues.closed"], active: false, name: "renamed", config: { team_id: acme.team_id, auto_assign: true } },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ events: ["issues.closed"], active: false, name: "renamed", config: { auto_assign: true } });
      const badEvents = await app.request("PATCH", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key, body: { events: ["nope.nope"] } });
      expect(badEvents.status).toBe(400);
      const badTeam = await app.request("PATCH", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key, body: { config: { team_id: other.team_id } } });
      expect(badTeam.status).toBe(400);
      const empty = await app.request("PATCH", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key, body: {} });
      expect(empty.status).toBe(400);
    });

    it("hides other orgs' webhooks: 404 for get, patch, delete, deliveries and regenerate", async () => {
      const theirs = await registerWebhook(app, other.api_key, other.team_id);
      const paths = [
        ["GET", `/api/v1/webhooks/${theirs.id}`],
        ["PATCH", `/api/v1/webhooks/${theirs.id}`, { active: false }],
        ["DELETE", `/api/v1/webhooks/${theirs.id}`],
        ["GET", `/api/v1/webhooks/${theirs.id}/deliveries`],
        ["POST", `/api/v1/webhooks/${theirs.id}/regenerate-secret`, {}],
      ] as const;
      for (const [method, path, body] of paths) {
        const res = await app.request(method, path, { key: acme.api_key, body });
        expect(res.status, `${method} ${path}`).toBe(404);
      }
      const list = await app.request("GET", "/api/v1/webhooks", { key: acme.api_key });
      expect(list.body.some((w: { id: string }) => w.id === theirs.id)).toBe(false);
      const still = await app.request("GET", `/api/v1/webhooks/${theirs.id}`, { key: other.api_key });
      expect(still.body.active).toBe(true);
    });

    it("deletes a webhook; its receive URL then answers 404", async () => {
      const webhook = await registerWebhook(app, acme.api_key, acme.team_id);
      expect((await app.request("DELETE", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key })).status).toBe(204);
      expect((await app.request("GET", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key })).status).toBe(404);
      const res = await sendDelivery(app.url, webhook, githubExample("issues", "opened"), { event: "issues" });
      expect(res.status).toBe(404);
    });
  });

  describe("POST /api/v1/webhooks/{id}/regenerate-secret", () => {
    it("returns a new secret and the old one stops working at once", async () => {
      const webhook = await registerWebhook(app, acme.api_key, acme.team_id);
      const res = await app.request("POST", `/api/v1/webhooks/${webhook.id}/regenerate-secret`, { key: acme.api_key });
      expect(res.status).toBe(200);
      expect(res.body.secret).toMatch(/^whsec_/);
      expect(res.body.secret).not.toBe(webhook.secret);
      const payload = githubExample("issues", "opened");
      expect((await sendDelivery(app.url, webhook, payload, { event: "issues" })).status).toBe(401);
      expect((await sendDelivery(app.url, { id: webhook.id, secret: res.body.secret }, payload, { event: "issues" })).status).toBe(202);
      // Without a grace period the old secret is not kept at all.
      expect(res.body.previous_secret_expires_at).toBeNull();
      expect(await app.db.knex("webhooks").where({ id: webhook.id }).first()).toMatchObject({ previous_secret_sealed: null, previous_secret_expires_at: null });
    });

    it("keeps the old secret valid for the grace period, then refuses it", async () => {
      const webhook = await registerWebhook(app, acme.api_key, acme.team_id);
      const res = await app.request("POST", `/api/v1/webhooks/${webhook.id}/regenerate-secret`, { key: acme.api_key, body: { grace_period_seconds: 1 } });
      expect(res.body.previous_secret_expires_at).not.toBeNull();
      const payload = githubExample("issues", "opened");
      expect((await sendDelivery(app.url, webhook, payload, { event: "issues" })).status).toBe(202);
      expect((await sendDelivery(app.url, { id: webhook.id, secret: res.body.secret }, payload, { event: "issues" })).status).toBe(202);
      // Expire the grace period in the database rather than sleeping through it.
      await app.db.knex("webhooks").where({ id: webhook.id }).update({ previous_secret_expires_at: new Date(Date.now() - 1000) });
      app.entourage.pipeline.resolver.invalidate(webhook.id);
      expect((await sendDelivery(app.url, webhook, payload, { event: "issues" })).status).toBe(401);
      // GET no longer shows an expiry that has passed.
      expect((await app.request("GET", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key })).body.previous_secret_expires_at).toBeNull();
    });

    it("refuses a negative grace period", async () => {
      const webhook = await registerWebhook(app, acme.api_key, acme.team_id);
      const res = await app.request("POST", `/api/v1/webhooks/${webhook.id}/regenerate-secret`, { key: acme.api_key, body: { grace_period_seconds: -5 } });
      expect(res.status).toBe(400);
    });
  });
});
