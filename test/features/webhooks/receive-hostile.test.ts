import { createHmac, randomUUID } from "node:crypto";
import { uncompressSync } from "lz4-napi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery, storedDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

// Found by the hostile-input properties (test/fuzz): each of these answered 503 for ever.
describe("receive with hostile documents", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let github: RegisteredWebhook;
  let custom: RegisteredWebhook;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    github = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
    custom = await registerWebhook(app, acme.api_key, acme.team_id, { provider: "custom", events: ["*"] });
  });
  afterAll(() => app.close());

  it("logs a signed document with NUL escapes and lone surrogates, and acknowledges it", async () => {
    const body = '{"action":"opened","issue":{"title":"a\\u0000b \\ud800","number":1}}';
    const res = await sendDelivery(app.url, github, body, { event: "issues" });
    expect(res.status, res.text).toBe(202);
    const row = await storedDelivery(app.db.knex, res.body.delivery_id);
    expect(row.payload).toBe(body);
    expect(row.payload_summary.issue.title).toBe("a\uFFFDb \uFFFD");
  });

  it("answers 400 for a raw NUL (invalid JSON) and logs it as failed", async () => {
    const res = await sendDelivery(app.url, github, '{"action":"opened\u0000"}', { event: "issues" });
    expect(res.status, res.text).toBe(400);
    expect(res.body.error.code).toBe("invalid_json");
    const row = await storedDelivery(app.db.knex, res.body.delivery_id);
    expect(row).toMatchObject({ status: "failed", payload: '{"action":"opened\uFFFD"}' });
  });

  it("logs a signed body that is not valid UTF-8 as its text (U+FFFD for the bad bytes), as it shows it", async () => {
    const body = Buffer.concat([Buffer.from('{"action":"opened","issue":{"number":2,"title":"a'), Buffer.from([0xff, 0xc3]), Buffer.from('b"}}')]);
    const res = await fetch(`${app.url}/api/v1/webhooks/${github.id}/receive`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${createHmac("sha256", github.secret).update(body).digest("hex")}`,
      },
      body,
    });
    const answer = (await res.json()) as { delivery_id: string };
    expect(res.status, JSON.stringify(answer)).toBe(202);
    const row = await storedDelivery(app.db.knex, answer.delivery_id);
    expect(row.payload).toBe('{"action":"opened","issue":{"number":2,"title":"a\uFFFD\uFFFDb"}}');
    expect(row.payload).toBe(body.toString("utf8"));
    // What is stored is that text's UTF-8 (readable as UTF-8 by anything that unpacks it), not the bad bytes.
    expect(uncompressSync(row.payload_lz4).equals(Buffer.from(row.payload, "utf8"))).toBe(true);
  });

  it("answers 422 for a custom event named after an Object member", async () => {
    for (const event of ["constructor", "__proto__", "toString"]) {
      const res = await sendDelivery(app.url, custom, { external_id: "x", title: "t" }, { headers: { "x-entourage-event": event } });
      expect(res.status, `${event}: ${res.text}`).toBe(422);
      expect(res.body.error.details).toEqual([expect.objectContaining({ field: "event" })]);
    }
  });
});
