import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROUTES, type ApiRoute } from "../../../src/features/openapi/api-routes.js";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { loggedRefusalOutput } from "../../../src/features/webhooks/webhooks.schema.js";
import { githubAppEnv, sendAppDelivery } from "../../helpers/github-app.js";
import { githubExample } from "../../helpers/github-examples.js";
import { GITHUB_API } from "../../helpers/github-nock.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, sendDelivery } from "../../helpers/webhooks.js";

/**
 * Every route that documents its answer (`response`) answers exactly that: each field present with
 * its type, timestamps as ISO text, and no field the document does not name (strict objects), so a
 * column added to a store cannot leak into the API unnoticed.
 */
const checked = new Set<ApiRoute>();

function documentedRoute(method: ApiRoute["method"], path: string): ApiRoute {
  const found = API_ROUTES.find((candidate) => candidate.method === method && candidate.path === path);
  if (!found?.response) throw new Error(`${method} ${path} documents no response`);
  return found;
}

/** Calls the route at `url` (its path with ids filled in) as `key` and checks the answer against its schema. */
async function checkAnswer(app: TestApp, key: string, method: ApiRoute["method"], path: string, url: string, body?: unknown) {
  const documented = documentedRoute(method, path);
  const res = await app.request(method.toUpperCase(), `/api/v1${url}`, { key, body });
  expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(documented.ok[0]);
  const parsed = documented.response!.safeParse(res.body);
  expect(parsed.error?.issues ?? [], `${method} ${path}`).toEqual([]);
  checked.add(documented);
  return res.body;
}

describe("answers match the documented response schemas", () => {
  let app: TestApp;
  let org: BootstrapResult;
  const call = (method: ApiRoute["method"], path: string, url: string, body?: unknown) => checkAnswer(app, org.api_key, method, path, url, body);

  beforeAll(async () => {
    // GitHub's pulls.listFiles is the one part faked: a review's files.
    app = await startTestApp({}, { pullRequestFiles: async () => [{ filename: "src/a.ts", status: "modified", additions: 1, deletions: 0, changes: 1, patch: "@@ -1 +1 @@\n+x" }] });
    org = await app.bootstrap();
  });
  afterAll(() => app.close());

  it("API keys and tokens", async () => {
    await call("post", "/api-keys", "/api-keys", { name: "spare" });
    await call("get", "/api-keys", "/api-keys");
    await call("post", "/auth/token", "/auth/token", {});
  });

  it("teams and agents", async () => {
    const team = await call("post", "/teams", "/teams", { name: "contract" });
    await call("get", "/teams", "/teams");
    const agent = await call("post", "/teams/{id}/agents", `/teams/${team.id}/agents`, { name: "rev-1", role: "reviewer" });
    await call("get", "/teams/{id}/agents", `/teams/${team.id}/agents`);
    await call("patch", "/agents/{id}", `/agents/${agent.id}`, { status: "offline" });
  });

  it("tasks, sub-tasks and comments", async () => {
    const task = await call("post", "/tasks", "/tasks", { team_id: org.team_id, title: "Contract", tags: ["api"] });
    await call("post", "/tasks/{id}/subtasks", `/tasks/${task.id}/subtasks`, { subtasks: [{ title: "one" }, { title: "two", depends_on: [0] }] });
    await call("patch", "/tasks/{id}", `/tasks/${task.id}`, { status: "in_progress" });
    await call("get", "/tasks/{id}", `/tasks/${task.id}`);
    await call("get", "/tasks", "/tasks");
    await call("post", "/tasks/{id}/comments", `/tasks/${task.id}/comments`, { body: "looks right" });
    await call("get", "/tasks/{id}/comments", `/tasks/${task.id}/comments`);
  });

  it("delivery stats", async () => {
    await call("get", "/stats/deliveries", "/stats/deliveries?window=10m&bucket=1m");
  });

  it("reviews", async () => {
    await call("post", "/teams/{id}/agents", `/teams/${org.team_id}/agents`, { name: "reviewer", role: "reviewer" });
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["pull_request.*"] });
    await deliverAndWait(app, webhook, pullRequestPayload("opened", { number: 7 }), { event: "pull_request" });
    const [review] = await call("get", "/reviews", "/reviews");
    await call("get", "/reviews/{id}", `/reviews/${review.id}`);
    await call("post", "/reviews/{id}/verdict", `/reviews/${review.id}/verdict`, { verdict: "request_changes", summary: "One thing", comments: [{ path: "src/a.ts", line: 1, body: "why?" }] });
  });

  it("webhooks and their deliveries", async () => {
    const created = await call("post", "/webhooks", "/webhooks", { provider: "github", events: ["issues.*"], config: { team_id: org.team_id } });
    await call("patch", "/webhooks/{id}", `/webhooks/${created.id}`, { name: "renamed" });
    await call("post", "/webhooks/{id}/regenerate-secret", `/webhooks/${created.id}/regenerate-secret`, { grace_period_seconds: 60 });
    const delivery = await deliverAndWait(app, { id: created.id, secret: (await app.request("POST", `/api/v1/webhooks/${created.id}/regenerate-secret`, { key: org.api_key, body: {} })).body.secret }, githubExample("issues", "opened"), { event: "issues" });
    await call("get", "/webhooks", "/webhooks");
    await call("get", "/webhooks/{id}", `/webhooks/${created.id}`);
    await call("get", "/webhooks/{id}/deliveries", `/webhooks/${created.id}/deliveries`);
    await call("get", "/webhooks/{id}/deliveries/{deliveryId}", `/webhooks/${created.id}/deliveries/${delivery.id}`);
    // Only a failed delivery can be redelivered: this one is made to look failed.
    await app.db.knex("deliveries").where({ id: delivery.id }).update({ status: "failed" });
    await call("post", "/webhooks/{id}/deliveries/{deliveryId}/redeliver", `/webhooks/${created.id}/deliveries/${delivery.id}/redeliver`);
  });

  it("the receive endpoint: each of its 2xx answers", async () => {
    const documented = documentedRoute("post", "/webhooks/{id}/receive");
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.opened"] });
    const opened = githubExample("issues", "opened");
    const stored = await sendDelivery(app.url, webhook, opened, { event: "issues" });
    await waitFor(async () => (await app.db.knex("deliveries").where({ id: stored.body.delivery_id }).first()).status === "processed", "processing");
    await app.db.knex("deliveries").where({ id: stored.body.delivery_id }).update({ status: "failed" });
    const answers = [
      stored,
      await sendDelivery(app.url, webhook, opened, { event: "issues", guid: stored.guid }), // a failed GUID again: queued again
      await sendDelivery(app.url, webhook, opened, { event: "issues", guid: stored.guid }), // and once more: a duplicate
      await sendDelivery(app.url, webhook, githubExample("issues", "edited"), { event: "issues" }), // not subscribed
      await sendDelivery(app.url, webhook, githubExample("ping"), { event: "ping" }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 200, 202, 200]);
    expect(answers.map((answer) => Object.keys(answer.body).sort().join(","))).toEqual([
      "delivery_id,status",
      "delivery_id,redelivered,status",
      "delivery_id,duplicate",
      "delivery_id,reason,status",
      "delivery_id,pong,status",
    ]);
    for (const answer of answers) expect(documented.response!.safeParse(answer.body).error?.issues ?? [], JSON.stringify(answer.body)).toEqual([]);
    // The schema is strict: a field it does not name fails it.
    expect(documented.response!.safeParse({ ...answers[0]!.body, extra: 1 }).success).toBe(false);
    checked.add(documented);
  });

  it("the receive endpoint: a refusal it logged names the failed row", async () => {
    const github = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.opened"] });
    const custom = await registerWebhook(app, org.api_key, org.team_id, { provider: "custom", events: ["task.*"] });
    const refusals = [
      await sendDelivery(app.url, github, "[]", { event: "issues" }),
      await sendDelivery(app.url, github, githubExample("issues", "opened")),
      await sendDelivery(app.url, custom, { title: "" }, { headers: { "x-entourage-event": "task.create" } }),
    ];
    expect(refusals.map((refusal) => refusal.status)).toEqual([400, 400, 422]);
    for (const refusal of refusals) {
      expect(loggedRefusalOutput.safeParse(refusal.body).error?.issues ?? [], JSON.stringify(refusal.body)).toEqual([]);
      expect((await app.db.knex("deliveries").where({ id: refusal.body.delivery_id }).first()).status).toBe("failed");
    }
  });

  it("outbound endpoints and their deliveries", async () => {
    const endpoint = await call("post", "/outbound-webhooks", "/outbound-webhooks", { url: "http://127.0.0.1:9/contract", events: ["task.*"] });
    await call("patch", "/outbound-webhooks/{id}", `/outbound-webhooks/${endpoint.id}`, { description: "contract" });
    await call("post", "/outbound-webhooks/{id}/rotate-secret", `/outbound-webhooks/${endpoint.id}/rotate-secret`);
    await call("get", "/outbound-webhooks", "/outbound-webhooks");
    await call("get", "/outbound-webhooks/{id}", `/outbound-webhooks/${endpoint.id}`);
    await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "Notify" } });
    // Nothing listens on port 9: the first attempt fails, and the delivery shows it.
    await waitFor(async () => (await app.db.knex("outbound_delivery_attempts").join("outbound_deliveries", "outbound_deliveries.id", "outbound_delivery_attempts.delivery_id").where("outbound_deliveries.endpoint_id", endpoint.id).first()) ?? undefined, "an attempt");
    const [delivery] = await call("get", "/outbound-webhooks/{id}/deliveries", `/outbound-webhooks/${endpoint.id}/deliveries`);
    await call("get", "/outbound-webhooks/{id}/deliveries/{deliveryId}", `/outbound-webhooks/${endpoint.id}/deliveries/${delivery.id}`);
    await call("post", "/outbound-webhooks/{id}/deliveries/{deliveryId}/redeliver", `/outbound-webhooks/${endpoint.id}/deliveries/${delivery.id}/redeliver`);
  });

  it("the GitHub App before it is configured, and starting its registration", async () => {
    // The first org is the instance org, the one that may register the App.
    const app_ = await call("get", "/github/app", "/github/app");
    expect(app_).toMatchObject({ configured: false, source: null, app: null });
    await call("post", "/github/app/manifest", "/github/app/manifest", {});
  });
});

/** The GitHub routes with the App configured (environment credentials; GitHub faked by nock). */
describe("answers of the GitHub routes match their schemas", () => {
  let app: TestApp;
  let instance: BootstrapResult;
  const call = (method: ApiRoute["method"], path: string, url: string, body?: unknown) => checkAnswer(app, instance.api_key, method, path, url, body);

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    app = await startTestApp(githubAppEnv(), { githubOutbox: { backoffMs: () => 60_000, pollMs: 100 } });
    instance = await app.bootstrap({ name: "instance" });
  });
  afterAll(async () => {
    await app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it("the App, installing it, and installations", async () => {
    expect(await call("get", "/github/app", "/github/app")).toMatchObject({ configured: true, source: "env" });
    nock(GITHUB_API).get("/app").reply(200, { id: 4242, slug: "entourage-test", name: "Entourage test", html_url: "https://github.com/apps/entourage-test" });
    await call("post", "/github/app/install", "/github/app/install");
    await app.db.knex("github_installations").insert({ id: 777, account_login: "contract" });
    await app.db.knex("github_installation_repositories").insert({ installation_id: 777, repository_id: 777_000, full_name: "contract/repo" });
    const linked = await call("post", "/github/installations/{id}/link", "/github/installations/777/link", { org_id: instance.org_id, team_id: instance.team_id });
    expect(linked).toMatchObject({ id: 777, org_id: instance.org_id, webhook_id: expect.any(String) });
    const [listed] = await call("get", "/github/installations", "/github/installations");
    expect(listed).toMatchObject({ id: 777, repositories: [{ full_name: "contract/repo" }] });
    await call("patch", "/github/installations/{id}", "/github/installations/777", { team_id: instance.team_id });
  });

  it("unrouted deliveries and the writes to GitHub", async () => {
    // An installation linked to no org: its delivery is kept unrouted, for the instance org to see.
    const stray = issuePayload("opened", { number: 1, repository: "stray/repo" });
    stray.installation = { id: 888, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
    expect((await sendAppDelivery(app.url, "issues", stray)).status).toBeLessThan(300);
    await waitFor(async () => (await app.db.knex("unrouted_deliveries").first()) ?? undefined, "the unrouted delivery");
    const [unrouted] = await call("get", "/github/unrouted-deliveries", "/github/unrouted-deliveries");
    expect(unrouted).toMatchObject({ installation_id: 888, repository: "stray/repo" });

    // A linked installation's issue becomes a task; finishing it queues GitHub writes (GitHub refuses: nock has no route).
    // Installation 777 was linked to the instance org by the test above.
    const opened = issuePayload("opened", { number: 2, repository: "contract/repo" });
    opened.installation = { id: 777, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
    expect((await sendAppDelivery(app.url, "issues", opened)).status).toBeLessThan(300);
    const task = await waitFor(async () => (await app.db.knex("tasks").where({ org_id: instance.org_id, source_key: "github:issue:contract/repo#2" }).first()) ?? undefined, "the task");
    for (const status of ["in_progress", "done"]) {
      expect((await app.request("PATCH", `/api/v1/tasks/${task.id}`, { key: instance.api_key, body: { status } })).status).toBe(200);
    }
    await waitFor(async () => (await app.db.knex("github_outbox").where({ task_id: task.id }).first()) ?? undefined, "a GitHub write");
    const actions = await call("get", "/github/actions", "/github/actions");
    expect(actions.length).toBeGreaterThan(0);
  });
});

describe("the response contract", () => {
  it("checked every route that documents a response", () => {
    const documented = API_ROUTES.filter((candidate) => candidate.response);
    expect(documented.filter((candidate) => !checked.has(candidate)).map((candidate) => `${candidate.method} ${candidate.path}`)).toEqual([]);
  });
});
