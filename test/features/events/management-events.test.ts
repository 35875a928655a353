import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook } from "../../helpers/webhooks.js";

// Another open console of the org learns of these changes from its event stream.
describe("webhook and outbound endpoint changes are domain events of their org", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(() => app.close());

  const eventsOf = (orgId: string, prefix: string) =>
    app.db.knex("events").where({ org_id: orgId }).whereLike("type", `${prefix}%`).orderBy("id").select("type", "team_id", "data");

  it("announces a webhook created, changed, given a new secret and deleted, never with its secret", async () => {
    const webhook = await registerWebhook(app, acme.api_key, acme.team_id, { name: "web" });
    expect((await app.request("PATCH", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key, body: { active: false } })).status).toBe(200);
    const regenerated = await app.request("POST", `/api/v1/webhooks/${webhook.id}/regenerate-secret`, { key: acme.api_key, body: { grace_period_seconds: 60 } });
    expect(regenerated.status).toBe(200);
    expect((await app.request("DELETE", `/api/v1/webhooks/${webhook.id}`, { key: acme.api_key })).status).toBe(204);

    const events = await eventsOf(acme.org_id, "webhook.");
    expect(events.map((event) => event.type)).toEqual(["webhook.created", "webhook.updated", "webhook.secret_regenerated", "webhook.deleted"]);
    for (const event of events) {
      expect(event).toMatchObject({ team_id: acme.team_id, data: { webhook_id: webhook.id } });
      expect(JSON.stringify(event)).not.toContain(webhook.secret.slice(6));
      expect(JSON.stringify(event)).not.toContain(regenerated.body.secret.slice(6));
    }
    expect(await eventsOf(other.org_id, "webhook.")).toEqual([]);
  });

  it("announces an outbound endpoint created, changed, rotated and deleted, and sends none of that to endpoints", async () => {
    const created = await app.request("POST", "/api/v1/outbound-webhooks", { key: acme.api_key, body: { url: "http://127.0.0.1:9/hook", events: ["*"] } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await app.request("PATCH", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key, body: { active: false } })).status).toBe(200);
    expect((await app.request("POST", `/api/v1/outbound-webhooks/${id}/rotate-secret`, { key: acme.api_key })).status).toBe(200);
    expect((await app.request("PATCH", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key, body: { active: true } })).status).toBe(200);
    const events = await eventsOf(acme.org_id, "outbound_webhook.");
    expect(events.map((event) => event.type)).toEqual(["outbound_webhook.created", "outbound_webhook.updated", "outbound_webhook.secret_rotated", "outbound_webhook.updated"]);
    expect(events.every((event) => event.data.outbound_webhook_id === id)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(created.body.secret.slice(6));
    // Subscribed to "*", the endpoint is sent none of these (they are for consoles, not integrations).
    expect(await app.db.knex("outbound_deliveries").where({ endpoint_id: id }).count({ n: "*" }).first()).toMatchObject({ n: 0 });

    expect((await app.request("DELETE", `/api/v1/outbound-webhooks/${id}`, { key: acme.api_key })).status).toBe(204);
    expect((await eventsOf(acme.org_id, "outbound_webhook.")).at(-1)).toMatchObject({ type: "outbound_webhook.deleted", data: { outbound_webhook_id: id } });
    expect(await eventsOf(other.org_id, "outbound_webhook.")).toEqual([]);
  });
});
