import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("the instance org", () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
  });
  const link = (app: TestApp, key: string, orgId: string) =>
    app.request("POST", "/api/v1/github/installations/7/link", { key, body: { org_id: orgId } });

  it("is the org created first: it links installations, a later org may not", async () => {
    const app = await startTestApp();
    apps.push(app);
    const first = await app.bootstrap({ name: "first" });
    const second = await app.bootstrap({ name: "second" });
    expect((await link(app, second.api_key, second.org_id)).status).toBe(403);
    const res = await link(app, first.api_key, second.org_id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 7, org_id: second.org_id, team_id: null, webhook_id: null });
  });

  it("is the org ENTOURAGE_INSTANCE_ORG_ID names, when set", async () => {
    const probe = await startTestApp();
    apps.push(probe);
    const first = await probe.bootstrap({ name: "first" });
    const named = await probe.bootstrap({ name: "named" });
    const app = await startTestApp({ ENTOURAGE_INSTANCE_ORG_ID: named.org_id }, { database: probe.db });
    apps.push(app);
    expect((await link(app, first.api_key, first.org_id)).status).toBe(403);
    expect((await link(app, named.api_key, first.org_id)).status).toBe(200);
  });

  it("ENTOURAGE_INSTANCE_ORG_ID must be an org id", () => {
    expect(() => loadConfig({ ENTOURAGE_INSTANCE_ORG_ID: "acme" })).toThrow(ConfigError);
    expect(loadConfig({ ENTOURAGE_INSTANCE_ORG_ID: "" }).ENTOURAGE_INSTANCE_ORG_ID).toBeUndefined();
  });
});
