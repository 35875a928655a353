import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { issuePayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

const STATS = "/api/v1/stats/deliveries";

describe("GET /api/v1/stats/deliveries", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;
  let webhook: RegisteredWebhook;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.opened"] });
    await deliverAndWait(app, webhook, issuePayload("opened", { number: 1 }), { event: "issues" }); // processed
    await deliverAndWait(app, webhook, issuePayload("opened", { number: 2 }), { event: "issues" }); // processed
    await sendDelivery(app.url, webhook, issuePayload("closed", { number: 1 }), { event: "issues" }); // ignored: not subscribed
    await sendDelivery(app.url, webhook, issuePayload("opened", { number: 3 }), { event: "issues", signature: "sha256=" + "0".repeat(64) }); // rejected
    // Another org's traffic, which acme must never see counted.
    const theirs = await registerWebhook(app, other.api_key, other.team_id, { events: ["issues.opened"] });
    for (const number of [10, 11, 12]) await deliverAndWait(app, theirs, issuePayload("opened", { number }), { event: "issues" });
    await sendDelivery(app.url, theirs, issuePayload("opened", { number: 13 }), { event: "issues", signature: null });
    // A backlog of theirs: one delivery put back in the queue, not due for a day.
    const [one] = await app.db.knex("deliveries").where({ webhook_id: theirs.id, status: "processed" }).limit(1);
    await app.db.knex("deliveries").where({ id: one.id }).update({ status: "received", next_attempt_at: app.db.knex.raw("now() + interval '1 day'") });
    // Rejections are recorded after the 401 is sent.
    await waitFor(() => app.db.knex("deliveries").where({ status: "rejected" }).then((rows) => rows.length === 2), "both rejections recorded");
  });
  afterAll(() => app.close());

  it("counts the caller's deliveries of the last hour per minute, by status, in the current bucket", async () => {
    const res = await app.request("GET", `${STATS}?window=1h&bucket=1m`, { key: acme.api_key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ window_seconds: 3600, bucket_seconds: 60, statuses: ["processed", "ignored", "failed", "rejected", "received"] });
    expect(res.body.buckets).toHaveLength(60);
    const starts = res.body.buckets.map((bucket: { start: string }) => Date.parse(bucket.start));
    expect(starts.every((start: number, i: number) => i === 0 || start - starts[i - 1] === 60_000)).toBe(true);
    expect(starts[0] % 60_000).toBe(0);
    expect(Date.parse(res.body.to)).toBeGreaterThanOrEqual(starts.at(-1));
    const current = res.body.buckets.at(-1);
    // Sent a moment ago: everything falls in the current minute (or, at a minute's turn, the one before).
    const recent = { processed: 0, ignored: 0, rejected: 0, failed: 0, received: 0 };
    for (const bucket of [res.body.buckets.at(-2), current]) for (const status of Object.keys(recent) as (keyof typeof recent)[]) recent[status] += bucket[status];
    expect(recent).toEqual({ processed: 2, ignored: 1, rejected: 1, failed: 0, received: 0 });
    expect(res.body.totals).toEqual({ processed: 2, ignored: 1, rejected: 1, failed: 0, received: 0, total: 4 });
    expect(res.body.backlog).toEqual({ received: 0, oldest_received_at: null, oldest_age_seconds: null });
  });

  it("reports the received backlog and the age of its oldest delivery, for the caller's org only", async () => {
    const theirs = await app.request("GET", STATS, { key: other.api_key });
    expect(theirs.status).toBe(200);
    expect(theirs.body.totals).toMatchObject({ processed: 2, received: 1, rejected: 1, total: 4 });
    expect(theirs.body.backlog.received).toBe(1);
    expect(theirs.body.backlog.oldest_age_seconds).toBeGreaterThanOrEqual(0);
    expect(Date.parse(theirs.body.backlog.oldest_received_at)).toBeLessThanOrEqual(Date.now() + 1000);

    // A pending delivery of acme, made an hour and a half old: it is in the backlog but outside the window.
    const pending = await deliverAndWait(app, webhook, issuePayload("opened", { number: 4 }), { event: "issues" });
    await app.db.knex("deliveries").where({ id: pending.id }).update({ status: "received", created_at: app.db.knex.raw("now() - interval '90 minutes'"), next_attempt_at: app.db.knex.raw("now() + interval '1 day'") });
    const mine = await app.request("GET", STATS, { key: acme.api_key });
    expect(mine.body.backlog.received).toBe(1);
    expect(mine.body.backlog.oldest_age_seconds).toBeGreaterThanOrEqual(90 * 60 - 5);
    expect(mine.body.totals.received).toBe(0);
    const wider = await app.request("GET", `${STATS}?window=2h&bucket=10m`, { key: acme.api_key });
    expect(wider.body.buckets).toHaveLength(12);
    expect(wider.body.totals).toMatchObject({ processed: 2, received: 1, total: 5 });
    await app.db.knex("deliveries").where({ id: pending.id }).delete();
  });

  it("counts rejections beyond the recording cap that were folded into a recorded one", async () => {
    const [row] = await app.db.knex("deliveries").where({ webhook_id: webhook.id, status: "rejected" });
    await app.db.knex("deliveries").where({ id: row.id }).update({ headers: { ...row.headers, suppressed_before: "7" } });
    const res = await app.request("GET", STATS, { key: acme.api_key });
    expect(res.body.totals.rejected).toBe(8);
    await app.db.knex("deliveries").where({ id: row.id }).update({ headers: row.headers });
  });

  it("needs a credential", async () => {
    expect((await app.request("GET", STATS)).status).toBe(401);
  });

  it.each([
    ["window=banana", 400, "window"],
    ["bucket=1y", 400, "bucket"],
    ["window=0m", 422, "window"],
    ["window=8d", 422, "window"],
    ["bucket=5s", 422, "bucket"],
    ["window=1h&bucket=2h", 422, "bucket"],
    ["window=7d&bucket=1m", 422, "bucket"],
    ["window=1h&window=2h", 400, "window"],
  ])("refuses ?%s with a %i that names the field", async (query, status, field) => {
    const res = await app.request("GET", `${STATS}?${query}`, { key: acme.api_key });
    expect(res.status).toBe(status);
    expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(res.body.error.message).toMatch(/window|bucket|Invalid/);
  });
});
