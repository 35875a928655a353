import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../../src/http/json-depth.js";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { sign } from "@octokit/webhooks-methods";
import { githubAppEnv, TEST_WEBHOOK_SECRET } from "../../helpers/github-app.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";
import { waitFor } from "../../helpers/wait-for.js";

/** `{"a":{"a":…{"a":1}…}}` nested `depth` objects deep, as text (building it as a value and stringifying would overflow). */
function nestedText(depth: number, inner = "1"): string {
  return '{"a":'.repeat(depth) + inner + "}".repeat(depth);
}

describe("deeply nested JSON", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;

  beforeAll(async () => {
    app = await startTestApp(githubAppEnv());
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
  });
  afterAll(() => app.close());

  describe("management bodies", () => {
    const post = (path: string, body: string) =>
      fetch(`${app.url}${path}`, { method: "POST", headers: { "x-api-key": acme.api_key, "content-type": "application/json" }, body });

    it.each([64 + 1, 5_000, 100_000])("refuses a body %i levels deep with 400 naming the limit", async (depth) => {
      const config = nestedText(depth - 1);
      const res = await post("/api/v1/webhooks", `{"provider":"github","events":["*"],"config":${config}}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("too_deep");
      expect(body.error.message).toContain(String(MAX_JSON_DEPTH));
    });

    it(`accepts a body exactly ${MAX_JSON_DEPTH} levels deep (then the schema decides)`, async () => {
      const res = await post("/api/v1/tasks", `{"team_id":"${acme.team_id}","title":"t","tags":${"[".repeat(MAX_JSON_DEPTH - 1)}${"]".repeat(MAX_JSON_DEPTH - 1)}}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    });
  });

  describe("signed deliveries of any depth are stored, logged and read back", () => {
    it.each([5_000, 100_000])("on a registered webhook, %i levels", async (depth) => {
      const text = `{"action":"opened","deep":${nestedText(depth)}}`;
      const res = await sendDelivery(app.url, webhook, text, { event: "issues" });
      expect(res.status, res.text).toBe(202);
      const row = await waitFor(async () => {
        const r = await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first();
        return r && r.status !== "received" && r;
      }, "the worker to finish the delivery");
      expect(row.payload).toBe(text);

      const one = await fetch(`${app.url}/api/v1/webhooks/${webhook.id}/deliveries/${res.body.delivery_id}`, { headers: { "x-api-key": acme.api_key } });
      expect(one.status).toBe(200);
      const shown = await one.text();
      expect(shown).toContain(text);
      const list = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries`, { key: acme.api_key });
      expect(list.status).toBe(200);
      expect(list.body.map((delivery: { id: string }) => delivery.id)).toContain(res.body.delivery_id);
    });

    it("with a deep value where the delivery list's summary looks (issue.title): 202, and the list still reads", async () => {
      const text = `{"action":"opened","issue":{"number":7,"title":${nestedText(20_000)}}}`;
      const res = await sendDelivery(app.url, webhook, text, { event: "issues" });
      expect(res.status, res.text).toBe(202);
      const list = await app.request("GET", `/api/v1/webhooks/${webhook.id}/deliveries`, { key: acme.api_key });
      const shown = list.body.find((delivery: { id: string }) => delivery.id === res.body.delivery_id);
      expect(shown.payload_summary).toEqual({ action: "opened", issue: { number: 7 } });
    });

    it.each([5_000, 100_000])("on the App door, %i levels: acknowledged, not a 5xx", async (depth) => {
      const body = `{"action":"opened","deep":${nestedText(depth)}}`;
      const res = await fetch(`${app.url}/api/github/webhooks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "issues",
          "x-github-delivery": crypto.randomUUID(),
          "x-hub-signature-256": await sign(TEST_WEBHOOK_SECRET, body),
        },
        body,
      });
      expect(res.status, await res.text()).toBeLessThan(300);
    });
  });
});
