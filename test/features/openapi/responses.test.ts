import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROUTES, type ApiRoute } from "../../../src/features/openapi/api-routes.js";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubExample } from "../../helpers/github-examples.js";
import { pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook } from "../../helpers/webhooks.js";

/**
 * Every route that documents its answer (`response`) answers exactly that: each field present with
 * its type, timestamps as ISO text, and no field the document does not name (strict objects), so a
 * column added to a store cannot leak into the API unnoticed.
 */
describe("answers match the documented response schemas", () => {
  let app: TestApp;
  let org: BootstrapResult;
  const checked = new Set<ApiRoute>();

  const route = (method: ApiRoute["method"], path: string) => {
    const found = API_ROUTES.find((candidate) => candidate.method === method && candidate.path === path);
    if (!found?.response) throw new Error(`${method} ${path} documents no response`);
    return found;
  };
  /** Calls the route at `url` (its path with ids filled in) and checks the answer against its schema. */
  const call = async (method: ApiRoute["method"], path: string, url: string, body?: unknown) => {
    const documented = route(method, path);
    const res = await app.request(method.toUpperCase(), `/api/v1${url}`, { key: org.api_key, body });
    expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(documented.ok[0]);
    const parsed = documented.response!.safeParse(res.body);
    expect(parsed.error?.issues ?? [], `${method} ${path}`).toEqual([]);
    checked.add(documented);
    return res.body;
  };

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

  it("checked every route that documents a response", () => {
    const documented = API_ROUTES.filter((candidate) => candidate.response);
    expect(documented.filter((candidate) => !checked.has(candidate)).map((candidate) => `${candidate.method} ${candidate.path}`)).toEqual([]);
  });
});
