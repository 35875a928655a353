import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { WebhookResolver } from "../../../src/features/webhooks/webhook-resolver.js";
import { startTestApp, TEST_ENCRYPTION_KEY, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

/** The receive path's cache of webhooks, against the real table; only the clock is moved by hand. */
describe("WebhookResolver", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  const key = Buffer.from(TEST_ENCRYPTION_KEY, "hex");
  const deactivateElsewhere = (id: string) => app.db.knex("webhooks").where({ id }).update({ active: false });

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
  });
  afterAll(() => app.close());
  afterEach(() => vi.useRealTimers());

  const register = (): Promise<RegisteredWebhook> => registerWebhook(app, acme.api_key, acme.team_id);
  const at = (ms: number) => vi.setSystemTime(ms);

  it("serves a webhook from memory for ttlMs, and reads it again from then on", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const webhook = await register();
    const resolver = new WebhookResolver(app.db.knex, key, 1_000);
    at(1_000_000);
    expect(await resolver.resolve(webhook.id)).toMatchObject({ webhook: { id: webhook.id, active: true }, secrets: [webhook.secret] });
    await deactivateElsewhere(webhook.id); // as another instance would
    at(1_000_999);
    expect((await resolver.resolve(webhook.id))?.webhook.active).toBe(true);
    at(1_001_000);
    expect((await resolver.resolve(webhook.id))?.webhook.active).toBe(false);
  });

  it("answers undefined for an id with no webhook", async () => {
    const resolver = new WebhookResolver(app.db.knex, key);
    expect(await resolver.resolve("00000000-0000-4000-8000-000000000000")).toBeUndefined();
  });

  it("holds at most maxEntries ids: the next one starts the cache over", async () => {
    const [a, b, c] = [await register(), await register(), await register()];
    const resolver = new WebhookResolver(app.db.knex, key, 60_000, 2);
    await resolver.resolve(a.id);
    await resolver.resolve(b.id);
    await deactivateElsewhere(a.id);
    expect((await resolver.resolve(a.id))?.webhook.active).toBe(true); // two held: still from memory
    await resolver.resolve(c.id); // a third: the cache starts over
    expect((await resolver.resolve(a.id))?.webhook.active).toBe(false);
  });

  it("offers the previous secret until the instant its grace period ends, not at it", async () => {
    const webhook = await register();
    const rotated = await app.request("POST", `/api/v1/webhooks/${webhook.id}/regenerate-secret`, { key: acme.api_key, body: { grace_period_seconds: 60 } });
    expect(rotated.status).toBe(200);
    const expiresAt = new Date(rotated.body.previous_secret_expires_at).getTime();
    vi.useFakeTimers({ toFake: ["Date"] });
    const resolver = new WebhookResolver(app.db.knex, key, 0);
    at(expiresAt - 1);
    expect((await resolver.resolve(webhook.id))?.secrets).toEqual([rotated.body.secret, webhook.secret]);
    at(expiresAt);
    expect((await resolver.resolve(webhook.id))?.secrets).toEqual([rotated.body.secret]);
  });
});
