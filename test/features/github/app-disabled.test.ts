import { afterAll, describe, expect, it } from "vitest";
import { githubExample } from "../../helpers/github-examples.js";
import { sendAppDelivery, TEST_APP_ID } from "../../helpers/github-app.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("without GitHub App credentials", () => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.close())));

  it("the server starts and serves the API; /api/github/webhooks says the App path is off and how to turn it on", async () => {
    const app = await startTestApp();
    apps.push(app);
    const acme = await app.bootstrap();
    expect((await app.request("GET", "/api/v1/teams", { key: acme.api_key })).status).toBe(200);
    expect(app.ctx.github).toBeUndefined();

    const res = await sendAppDelivery(app.url, "issues", githubExample("issues", "opened"));
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ code: "github_app_disabled", details: { missing: ["APP_ID", "PRIVATE_KEY or PRIVATE_KEY_PATH", "WEBHOOK_SECRET"] } });
    expect(res.body.error.message).toMatch(/set APP_ID, PRIVATE_KEY \(or PRIVATE_KEY_PATH\) and WEBHOOK_SECRET/);
    expect(await app.db.knex("unrouted_deliveries")).toEqual([]);
    expect((await app.request("GET", "/api/v1/github/unrouted-deliveries", { key: acme.api_key })).body).toEqual([]);
  });

  it("names only what is missing when the App is half configured", async () => {
    const app = await startTestApp({ APP_ID: TEST_APP_ID });
    apps.push(app);
    const res = await sendAppDelivery(app.url, "ping", { zen: "Keep it logically awesome." });
    expect(res.status).toBe(503);
    expect(res.body.error.details.missing).toEqual(["PRIVATE_KEY or PRIVATE_KEY_PATH", "WEBHOOK_SECRET"]);
  });
});
