import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubAppEnv, linkInstallation, sendAppDelivery, TEST_WEBHOOK_SECRET } from "../../helpers/github-app.js";
import { githubExample } from "../../helpers/github-examples.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

/** A real issues.opened payload as the App receives it: with an installation, for `repository`. */
function appIssueOpened(repository: string, installationId: number, nth = 0) {
  const payload = githubExample("issues", "opened", nth);
  payload.repository.full_name = repository;
  payload.repository.name = repository.split("/")[1];
  payload.installation = { id: installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  return payload;
}

describe("POST /api/github/webhooks (the GitHub App door)", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let globex: BootstrapResult;
  let api: RegisteredWebhook;
  let web: RegisteredWebhook;

  const deliveriesOf = (webhookId: string) => app.db.knex("deliveries").where({ webhook_id: webhookId }).orderBy("created_at");
  const unroutedList = async (key: string) => {
    const res = await app.request("GET", "/api/v1/github/unrouted-deliveries", { key });
    expect(res.status).toBe(200);
    return res.body as any[];
  };

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    app = await startTestApp(githubAppEnv());
    acme = await app.bootstrap({ name: "acme" });
    globex = await app.bootstrap({ name: "globex" });
    // acme, created first, is the instance org: it links each installation to the org that owns it.
    await linkInstallation(app, acme.api_key, 101, acme.org_id);
    await linkInstallation(app, acme.api_key, 555, globex.org_id);
    api = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"], config: { repositories: ["acme/api"] }, name: "api" });
    web = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"], config: { repositories: ["acme/web"] }, name: "web" });
  });
  afterAll(async () => {
    await app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  describe("a routed delivery", () => {
    it("appears in the deliveries of the webhook that names its repository, and is processed", async () => {
      const payload = appIssueOpened("acme/api", 101);
      const res = await sendAppDelivery(app.url, "issues", payload);
      expect(res.status).toBe(200);

      const listed = await waitFor(async () => {
        const r = await app.request("GET", `/api/v1/webhooks/${api.id}/deliveries`, { key: acme.api_key });
        return r.body.find((d: any) => d.delivery_guid === res.guid && d.status === "processed");
      }, "the delivery to be processed");
      expect(listed).toMatchObject({ event_type: "issues.opened", actions: [expect.stringMatching(/^created task #\d+$/)], payload_summary: { action: "opened", repository: "acme/api" } });
      // The same rules as the receive endpoint: the task remembers the installation it came through.
      const task = await app.db.knex("tasks").where({ source_key: `github:issue:acme/api#${payload.issue.number}` }).first();
      expect(task.source.installation_id).toBe(payload.installation.id);

      const detail = await app.request("GET", `/api/v1/webhooks/${api.id}/deliveries/${listed.id}`, { key: acme.api_key });
      expect(detail.body.payload).toEqual(payload);
      expect(detail.body.headers).toMatchObject({ "x-github-event": "issues", "x-github-delivery": res.guid, "x-github-hook-installation-target-type": "integration" });
      expect(await deliveriesOf(web.id)).toEqual([]);
      expect(await app.db.knex("unrouted_deliveries").where({ delivery_guid: res.guid })).toEqual([]);
    });

    it("matches the repository whatever its letter case", async () => {
      const res = await sendAppDelivery(app.url, "issues", appIssueOpened("ACME/Web", 101));
      expect(res.status).toBe(200);
      expect((await deliveriesOf(web.id)).map((d) => d.delivery_guid)).toContain(res.guid);
    });

    it("is stored once when GitHub delivers the same GUID again", async () => {
      const payload = appIssueOpened("acme/api", 101, 1);
      const first = await sendAppDelivery(app.url, "issues", payload);
      const again = await sendAppDelivery(app.url, "issues", payload, { guid: first.guid });
      expect([first.status, again.status]).toEqual([200, 200]);
      expect((await deliveriesOf(api.id)).filter((d) => d.delivery_guid === first.guid)).toHaveLength(1);
    });

    it("goes to every webhook whose config.installation_id matches, with the webhook's own filtering", async () => {
      const byInstallation = await registerWebhook(app, globex.api_key, globex.team_id, { events: ["pull_request.*"], config: { installation_id: 555 } });
      const res = await sendAppDelivery(app.url, "issues", appIssueOpened("globex/site", 555));
      expect(res.status).toBe(200);
      const [row] = await deliveriesOf(byInstallation.id);
      expect(row).toMatchObject({ delivery_guid: res.guid, status: "ignored", actions: ["ignored: this webhook is not subscribed to issues.opened"] });
    });
  });

  describe("an unrouted delivery", () => {
    it("is kept and listed to the org its installation is linked to", async () => {
      const installation = githubExample("installation", "created");
      installation.installation.id = 777;
      installation.repositories = [
        { id: 9001, node_id: "R1", name: "api", full_name: "acme/api", private: false },
        { id: 9002, node_id: "R2", name: "docs", full_name: "acme/docs", private: false },
      ];
      expect((await sendAppDelivery(app.url, "installation", installation)).status).toBe(200);
      await linkInstallation(app, acme.api_key, 777, acme.org_id);
      expect(await app.db.knex("github_installation_repositories").where({ installation_id: 777 }).orderBy("repository_id").pluck("full_name")).toEqual(["acme/api", "acme/docs"]);

      const res = await sendAppDelivery(app.url, "issues", appIssueOpened("acme/docs", 777));
      expect(res.status).toBe(200);
      const listed = await unroutedList(acme.api_key);
      expect(listed.find((u) => u.delivery_guid === res.guid)).toMatchObject({
        installation_id: 777,
        repository: "acme/docs",
        event_type: "issues.opened",
        payload_summary: { action: "opened", repository: "acme/docs" },
        received_at: expect.any(String),
      });
      // The installation event itself matched no webhook either: kept too, never dropped.
      expect(listed.map((u) => u.event_type)).toContain("installation.created");
      expect(await unroutedList(globex.api_key)).toEqual([]);
    });

    it("from an installation no org is linked to, is kept and listed to the instance org only", async () => {
      const res = await sendAppDelivery(app.url, "issues", appIssueOpened("stranger/repo", 31337));
      expect(res.status).toBe(200);
      expect(await app.db.knex("unrouted_deliveries").where({ delivery_guid: res.guid }).first()).toMatchObject({ repository: "stranger/repo", installation_id: 31337 });
      expect((await unroutedList(acme.api_key)).map((u) => u.delivery_guid)).toContain(res.guid);
      expect((await unroutedList(globex.api_key)).map((u) => u.delivery_guid)).not.toContain(res.guid);
    });

    it("paginates with a Link header and refuses a forged cursor", async () => {
      const first = await app.request("GET", "/api/v1/github/unrouted-deliveries?limit=1", { key: acme.api_key });
      expect(first.body).toHaveLength(1);
      const next = /<([^>]+)>; rel="next"/.exec(first.headers.get("link") ?? "")?.[1];
      expect(next).toBeDefined();
      const second = await app.request("GET", new URL(next!).pathname + new URL(next!).search, { key: acme.api_key });
      expect(second.body).toHaveLength(1);
      expect(second.body[0].id).not.toBe(first.body[0].id);
      const bad = await app.request("GET", "/api/v1/github/unrouted-deliveries?cursor=nope", { key: acme.api_key });
      expect(bad.status).toBe(400);
      expect((await app.request("GET", "/api/v1/github/unrouted-deliveries")).status).toBe(401);
    });
  });

  describe("a delivery that cannot be stored", () => {
    it("is not acknowledged: 503 without internals, so GitHub shows it failed and the recovery asks again", async () => {
      await app.db.knex.raw("ALTER TABLE unrouted_deliveries RENAME TO unrouted_deliveries_away");
      try {
        const res = await sendAppDelivery(app.url, "issues", appIssueOpened("nobody/routes-this", 4040));
        expect(res.status).toBe(503);
        expect(res.text).not.toMatch(/unrouted|insert|relation/i);
      } finally {
        await app.db.knex.raw("ALTER TABLE unrouted_deliveries_away RENAME TO unrouted_deliveries");
      }
    });
  });

  describe("a refused delivery", () => {
    it("with a wrong signature is a 401 and nothing is stored or processed", async () => {
      const payload = appIssueOpened("acme/api", 101, 2);
      const before = await app.db.knex("deliveries").count<{ count: number }[]>("* as count");
      const wrong = await sendAppDelivery(app.url, "issues", payload, { secret: `${TEST_WEBHOOK_SECRET}-not` });
      const missing = await sendAppDelivery(app.url, "issues", payload, { signature: null });
      expect([wrong.status, missing.status]).toEqual([401, 401]);
      expect(wrong.body.error.code).toBe("invalid_signature");
      expect(await app.db.knex("deliveries").whereIn("delivery_guid", [wrong.guid, missing.guid])).toEqual([]);
      expect(await app.db.knex("unrouted_deliveries").whereIn("delivery_guid", [wrong.guid, missing.guid])).toEqual([]);
      expect(await app.db.knex("deliveries").count<{ count: number }[]>("* as count")).toEqual(before);
    });

    it("re-serialised JSON no longer matches the signature over the raw bytes", async () => {
      const payload = appIssueOpened("acme/api", 101, 3);
      const { sign } = await import("@octokit/webhooks-methods");
      const signature = await sign(TEST_WEBHOOK_SECRET, JSON.stringify(payload, null, 2));
      const res = await sendAppDelivery(app.url, "issues", payload, { signature });
      expect(res.status).toBe(401);
    });
  });
});
