import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { issuePayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { deliverAndWait, registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

describe("GET /api/v1/webhooks/{id}/deliveries?delivery_guid=", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"] });
  });
  afterAll(() => app.close());

  it("finds the delivery GitHub sent with that X-GitHub-Delivery, and only it", async () => {
    const first = await deliverAndWait(app, webhook, issuePayload("opened", { number: 1 }), { event: "issues", guid: "72d3162e-cc78-11e3-81ab-4c9367dc0958" });
    await deliverAndWait(app, webhook, issuePayload("opened", { number: 2 }), { event: "issues" });
    const found = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries?delivery_guid=72d3162e-cc78-11e3-81ab-4c9367dc0958`, { key: acme.api_key });
    expect(found.status).toBe(200);
    expect(found.body.map((delivery: { id: string }) => delivery.id)).toEqual([first.id]);
    const none = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries?delivery_guid=no-such-guid`, { key: acme.api_key });
    expect(none.body).toEqual([]);
    const all = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries`, { key: acme.api_key });
    expect(all.body).toHaveLength(2);
  });

  it("refuses an empty or overlong GUID with a 400", async () => {
    for (const guid of ["", "x".repeat(201)]) {
      const res = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries?delivery_guid=${guid}`, { key: acme.api_key });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].field).toBe("delivery_guid");
    }
  });
});
