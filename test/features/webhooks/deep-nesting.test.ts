import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { MAX_JSON_DEPTH } from "../../../src/http/json-depth.js";
import { githubExample } from "../../helpers/github-examples.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery, storedDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

/** `{"a":{"a":…{"a":1}…}}` nested `depth` levels deep, as text (JSON.stringify itself would overflow). */
function nested(depth: number, leaf = "1"): string {
  return `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}`;
}

describe("JSON nested thousands of levels deep", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let github: RegisteredWebhook;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    github = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
  });
  afterAll(() => app.close());

  it("answers 400 for a management body deeper than the limit, and accepts one at the limit", async () => {
    const deep = `{"provider":"github","events":["*"],"config":{"team_id":"${acme.team_id}","x":${nested(5_000)}}}`;
    const res = await app.request("POST", "/api/v1/webhooks", { key: acme.api_key, body: deep, headers: { "content-type": "application/json" } });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe("too_deep");
    expect(res.body.error.message).toContain(String(MAX_JSON_DEPTH));
    // Exactly at the limit still parses (the body is 1 level, config 2, x starts at 3).
    const atLimit = `{"provider":"github","events":["*"],"config":{"team_id":"${acme.team_id}","x":${nested(MAX_JSON_DEPTH - 2)}}}`;
    const ok = await app.request("POST", "/api/v1/webhooks", { key: acme.api_key, body: atLimit, headers: { "content-type": "application/json" } });
    expect(ok.status, ok.text).not.toBe(500);
    expect(ok.body.error?.code).not.toBe("too_deep");
  });

  it("stores and logs a signed delivery of any depth, and reads it back", async () => {
    for (const depth of [5_000, 100_000]) {
      // A real document with a deep extra field (processed), and one deep where rules and the delivery
      // summary read (the title, with a NUL to sanitise at the bottom: failed with its reason).
      const real = JSON.stringify(githubExample("issues", "opened"));
      const bodies = [
        { body: `${real.slice(0, -1)},"extra":${nested(depth)}}`, status: "processed" },
        { body: `{"action":"opened","issue":{"number":1,"title":${nested(depth, '"\\u0000"')}}}`, status: "failed" },
      ];
      for (const { body, status: expected } of bodies) {
      const res = await sendDelivery(app.url, github, body, { event: "issues" });
      expect(res.status, `${depth}: ${res.text}`).toBeLessThan(500);
      expect(res.body.delivery_id).toBeTruthy();
      const row = await storedDelivery(app.db.knex, res.body.delivery_id);
      expect(row.payload).toBe(body);
      await vi.waitFor(async () => {
        const status = (await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first()).status;
        expect(status).not.toBe("received");
      }, { timeout: 10_000 });
      const back = await app.request("GET", `/api/v1/webhooks/${github.id}/deliveries/${res.body.delivery_id}`, { key: acme.api_key });
      expect(back.status, back.text.slice(0, 300)).toBe(200);
      expect(back.body.status, back.body.error).toBe(expected);
      expect(back.body.payload.issue.number).toBeDefined();
      }
    }
  });
});
