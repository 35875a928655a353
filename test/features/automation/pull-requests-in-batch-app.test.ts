import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { batchWorkers } from "../../helpers/batch-workers.js";
import { githubAppEnv, linkInstallation, sendAppDelivery } from "../../helpers/github-app.js";
import { pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

const INSTALLATION = 4401;

// An installation id is a credential only on deliveries the App's own secret signed. Set-wise as
// one by one: a review keeps the installation of an App delivery and never one a repository
// webhook's payload names.
describe("automation: App and repository-webhook pull requests in one batch", () => {
  let app: TestApp;
  let org: BootstrapResult;
  let webhook: RegisteredWebhook;
  let workers: ReturnType<typeof batchWorkers>;

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    app = await startTestApp(githubAppEnv({ ENTOURAGE_WORKER: "off" }));
    org = await app.bootstrap({ name: "acme" });
    await linkInstallation(app, org.api_key, INSTALLATION, org.org_id);
    webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["pull_request.*"], config: { repositories: ["acme/api"] } });
    workers = batchWorkers(app);
  });
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it("gives a review the installation of an App delivery, and none from a repository webhook's payload", async () => {
    const payload = (number: number) => {
      const p = pullRequestPayload("opened", { number, repository: "acme/api", body: "No issue" });
      p.installation = { id: INSTALLATION, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
      return p;
    };
    const viaApp = await sendAppDelivery(app.url, "pull_request", payload(11));
    expect(viaApp.status).toBe(200);
    // The same payload, installation included, signed with the webhook's own secret.
    const viaWebhook = await sendDelivery(app.url, webhook, payload(12), { event: "pull_request" });
    expect(viaWebhook.status).toBe(202);
    const viaApp2 = await sendAppDelivery(app.url, "pull_request", payload(13));
    expect(viaApp2.status).toBe(200);
    const ids = (await app.db.knex("deliveries").where({ webhook_id: webhook.id }).orderBy("created_at").pluck("id")) as string[];
    expect(ids).toHaveLength(3);

    await workers.start("batcher");
    const rows = await workers.settled(ids);
    expect([...rows.values()].map((row) => row.status)).toEqual(["processed", "processed", "processed"]);
    const reviews = await app.db.knex("reviews").where({ org_id: org.org_id }).orderBy("pull_number");
    expect(reviews.map((review) => [review.pull_number, review.installation_id === null ? null : Number(review.installation_id)])).toEqual([
      [11, INSTALLATION],
      [12, null],
      [13, INSTALLATION],
    ]);
    // Set-wise: one INSERT of reviews for the three.
    expect(workers.statements.filter((sql) => sql.startsWith('insert into "reviews"'))).toHaveLength(1);
  });
});
