import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubAppEnv, linkInstallation, sendAppDelivery } from "../../helpers/github-app.js";
import { githubExample } from "../../helpers/github-examples.js";
import { GITHUB_API, nockInstallationToken } from "../../helpers/github-nock.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

const VICTIM_INSTALLATION = 999;
const NOT_LINKED = /no GitHub App installation linked to this org covers victimco\/other-repo/;

/** A real issues.opened as the App sends it: for `repository`, through `installationId`. */
function appIssueOpened(repository: string, installationId: number, number: number) {
  const payload = issuePayload("opened", { number, repository });
  payload.installation = { id: installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==" };
  return payload;
}

/** Two orgs on one Entourage: victimco owns installation 999; eve tries to reach it. */
describe("installations belong to the org that proved it owns them (issue 13, part 1)", () => {
  let app: TestApp;
  let instance: BootstrapResult;
  let victim: BootstrapResult;
  let eve: BootstrapResult;
  let victimWebhookId: string;

  const outboxOfTask = (taskId: number): Promise<any[]> =>
    waitFor(async () => {
      const rows = await app.db.knex("github_outbox").where({ task_id: taskId }).orderBy("id");
      return rows.length > 0 && rows.every((row) => row.status !== "pending") ? rows : undefined;
    }, `the GitHub writes of task #${taskId} to settle`);
  const taskByKey = (orgId: string, key: string) => app.db.knex("tasks").where({ org_id: orgId, source_key: key }).first();
  const finish = async (org: BootstrapResult, taskId: number) => {
    for (const status of ["in_progress", "done"]) {
      const res = await app.request("PATCH", `/api/v1/tasks/${taskId}`, { key: org.api_key, body: { status } });
      expect(res.status).toBe(200);
    }
  };

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    app = await startTestApp(githubAppEnv(), { githubOutbox: { backoffMs: () => 50, pollMs: 100 } });
    instance = await app.bootstrap({ name: "instance" });
    victim = await app.bootstrap({ name: "victimco" });
    eve = await app.bootstrap({ name: "eve" });
    const linked = await linkInstallation(app, instance.api_key, VICTIM_INSTALLATION, victim.org_id, {
      repositories: ["victimco/secret-repo", "victimco/other-repo"],
      team_id: victim.team_id,
    });
    victimWebhookId = linked.webhook_id;
  });
  afterAll(async () => {
    await app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  describe("POST /api/v1/github/installations/{id}/link", () => {
    it("is the instance org's alone: another org gets 403 and the link stays as it was", async () => {
      const res = await app.request("POST", `/api/v1/github/installations/${VICTIM_INSTALLATION}/link`, { key: eve.api_key, body: { org_id: eve.org_id, replace: true } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("forbidden");
      expect(await app.db.knex("github_installations").where({ id: VICTIM_INSTALLATION }).first()).toMatchObject({ org_id: victim.org_id });
    });

    it("answers 409 for an installation linked elsewhere, and moves it only with replace: true", async () => {
      await linkInstallation(app, instance.api_key, 1234, victim.org_id);
      const refused = await app.request("POST", "/api/v1/github/installations/1234/link", { key: instance.api_key, body: { org_id: eve.org_id } });
      expect(refused.status).toBe(409);
      expect(await app.db.knex("github_installations").where({ id: 1234 }).first()).toMatchObject({ org_id: victim.org_id });
      const moved = await app.request("POST", "/api/v1/github/installations/1234/link", { key: instance.api_key, body: { org_id: eve.org_id, replace: true } });
      expect(moved.status).toBe(200);
      expect(moved.body).toMatchObject({ id: 1234, org_id: eve.org_id, replaced_org_id: victim.org_id, webhook_id: null });
      // Linking again to the same org is not a conflict.
      expect((await app.request("POST", "/api/v1/github/installations/1234/link", { key: instance.api_key, body: { org_id: eve.org_id } })).status).toBe(200);
    });

    it("with a team, gives the org a github webhook that routes the installation to that team", async () => {
      const res = await app.request("GET", `/api/v1/webhooks/${victimWebhookId}`, { key: victim.api_key });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ provider: "github", active: true, config: { team_id: victim.team_id, installation_id: VICTIM_INSTALLATION, auto_assign: true }, routing_warnings: [] });
    });

    it("refuses bad input with a 400 naming the field, and an installation GitHub does not know with a 404", async () => {
      const cases = [
        { path: "/api/v1/github/installations/abc/link", body: { org_id: eve.org_id }, field: "id" },
        { path: "/api/v1/github/installations/77/link", body: { org_id: "not-a-uuid" }, field: "org_id" },
        { path: "/api/v1/github/installations/77/link", body: { org_id: "00000000-0000-4000-8000-000000000000" }, field: "org_id" },
        { path: "/api/v1/github/installations/77/link", body: { org_id: eve.org_id, team_id: victim.team_id }, field: "team_id" },
      ];
      for (const { path, body, field } of cases) {
        const res = await app.request("POST", path, { key: instance.api_key, body });
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
        expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      }
      const scope = nock(GITHUB_API).get("/app/installations/77").reply(404, { message: "Not Found" });
      const unknown = await app.request("POST", "/api/v1/github/installations/77/link", { key: instance.api_key, body: { org_id: eve.org_id } });
      expect(unknown.status).toBe(404);
      expect(scope.isDone()).toBe(true);
      expect(await app.db.knex("github_installations").where({ id: 77 })).toEqual([]);
    });
  });

  describe("App deliveries", () => {
    it("reach a webhook naming the repository only through an installation linked to its org", async () => {
      const eveHook = await registerWebhook(app, eve.api_key, eve.team_id, { events: ["issues.*"], config: { repositories: ["victimco/secret-repo"] } });
      // Naming a repository is allowed (it scopes what the secret may send), and GET says why the App does not route it.
      expect(eveHook.routing_warnings).toEqual([
        "config.repositories victimco/secret-repo: no installation linked to this org is known to cover it, so the App's deliveries for it are not routed here (deliveries signed with this webhook's secret still are)",
      ]);

      const sent = await sendAppDelivery(app.url, "issues", appIssueOpened("victimco/secret-repo", VICTIM_INSTALLATION, 11));
      expect(sent.status).toBe(200);
      const task = await waitFor(() => taskByKey(victim.org_id, "github:issue:victimco/secret-repo#11"), "victimco's task");
      expect(task.team_id).toBe(victim.team_id);
      expect(await app.db.knex("deliveries").where({ webhook_id: eveHook.id })).toEqual([]);
      expect((await app.request("GET", `/api/v1/webhooks/${eveHook.id}/deliveries`, { key: eve.api_key })).body).toEqual([]);
      expect(await app.db.knex("tasks").where({ org_id: eve.org_id })).toEqual([]);
    });

    it("a webhook cannot be registered naming another org's installation: 422 on config.installation_id", async () => {
      const res = await app.request("POST", "/api/v1/webhooks", {
        key: eve.api_key,
        body: { provider: "github", events: ["issues.*"], config: { team_id: eve.team_id, installation_id: VICTIM_INSTALLATION } },
      });
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([expect.objectContaining({ field: "config.installation_id" })]);
      const own = await registerWebhook(app, eve.api_key, eve.team_id, { events: ["issues.*"] });
      const patched = await app.request("PATCH", `/api/v1/webhooks/${own.id}`, { key: eve.api_key, body: { config: { team_id: eve.team_id, installation_id: VICTIM_INSTALLATION } } });
      expect(patched.status).toBe(422);
      expect((await app.db.knex("webhooks").where({ id: own.id }).first()).config.installation_id).toBeUndefined();
    });

    it("an existing row naming an installation later linked to another org no longer routes, and says why on GET", async () => {
      const before = await registerWebhook(app, eve.api_key, eve.team_id, { events: ["issues.*"], config: { installation_id: 4242 } });
      expect(before.routing_warnings).toEqual([expect.stringMatching(/installation_id 4242 is not linked to this org/)]);
      await linkInstallation(app, instance.api_key, 4242, victim.org_id, { team_id: victim.team_id });

      const sent = await sendAppDelivery(app.url, "issues", appIssueOpened("victimco/third", 4242, 12));
      await waitFor(() => taskByKey(victim.org_id, "github:issue:victimco/third#12"), "victimco's task");
      expect(await app.db.knex("deliveries").where({ webhook_id: before.id, delivery_guid: sent.guid })).toEqual([]);
      const shown = await app.request("GET", `/api/v1/webhooks/${before.id}`, { key: eve.api_key });
      expect(shown.body.routing_warnings).toEqual([expect.stringMatching(/installation_id 4242 is linked to another org/)]);
      const listed = await app.request("GET", "/api/v1/webhooks", { key: eve.api_key });
      expect(listed.body.find((w: { id: string }) => w.id === before.id).routing_warnings).toEqual(shown.body.routing_warnings);
    });

    it("from an unlinked installation stay unrouted, listed to the instance org only, whatever a guessed installation_id says", async () => {
      await registerWebhook(app, eve.api_key, eve.team_id, { events: ["issues.*"], config: { installation_id: 31337 } });
      await app.db.knex("webhooks").where({ org_id: eve.org_id }).whereRaw("(config->>'installation_id')::bigint = 31337").update({ active: false });
      const sent = await sendAppDelivery(app.url, "issues", appIssueOpened("stranger/repo", 31337, 13));
      expect(sent.status).toBe(200);
      const unrouted = async (key: string) => ((await app.request("GET", "/api/v1/github/unrouted-deliveries", { key })).body as { delivery_guid: string }[]).map((u) => u.delivery_guid);
      expect(await unrouted(instance.api_key)).toContain(sent.guid);
      expect(await unrouted(eve.api_key)).not.toContain(sent.guid);
      expect(await unrouted(victim.api_key)).not.toContain(sent.guid);
    });

    it("a linked installation's writes go through its token", async () => {
      await sendAppDelivery(app.url, "issues", appIssueOpened("victimco/secret-repo", VICTIM_INSTALLATION, 14));
      const task = await waitFor(() => taskByKey(victim.org_id, "github:issue:victimco/secret-repo#14"), "victimco's task");
      const token = nockInstallationToken(VICTIM_INSTALLATION);
      const comment = nock(GITHUB_API).post("/repos/victimco/secret-repo/issues/14/comments").matchHeader("authorization", `token ghs_test_${VICTIM_INSTALLATION}`).reply(201, { id: 5, html_url: "x" });
      await finish(victim, task.id);
      expect((await outboxOfTask(task.id)).map((row: { status: string }) => row.status)).toEqual(["sent"]);
      expect(token.isDone() && comment.isDone()).toBe(true);
    });
  });

  describe("a hand-registered webhook", () => {
    let forger: RegisteredWebhook;

    beforeAll(async () => {
      forger = await registerWebhook(app, eve.api_key, eve.team_id, { events: ["issues.*", "pull_request.*"], config: { close_issue: true } });
      // eve has an installation of its own (1234), so GitHub is asked which one covers the repository: victimco's.
      nock(GITHUB_API).get("/repos/victimco/other-repo/installation").reply(200, { id: VICTIM_INSTALLATION, account: { login: "victimco" } }).persist();
    });

    it("never lends the payload's installation: closing and commenting on another org's issue are skipped, saying why", async () => {
      const forged = issuePayload("opened", { number: 21, repository: "victimco/other-repo" });
      forged.installation = { id: VICTIM_INSTALLATION };
      const processed = await deliverAndWait(app, forger, forged, { event: "issues" });
      expect(processed.status).toBe("processed");
      const task = await taskByKey(eve.org_id, "github:issue:victimco/other-repo#21");
      expect(task.source.installation_id).toBeNull();
      await finish(eve, task.id);
      // No token interceptor exists: a call as installation 999 would be a network error and a retry, not a skip.
      const rows = await outboxOfTask(task.id);
      expect(rows.map((row: { kind: string; status: string }) => [row.kind, row.status])).toEqual([
        ["issue_comment", "skipped"],
        ["close_issue", "skipped"],
      ]);
      for (const row of rows) expect(row.last_error).toMatch(NOT_LINKED);
    });

    it("never reads or reviews another org's pull request through the payload's installation", async () => {
      const forged = pullRequestPayload("opened", { number: 22, repository: "victimco/other-repo" });
      forged.installation = { id: VICTIM_INSTALLATION };
      await deliverAndWait(app, forger, forged, { event: "pull_request" });
      const review = await waitFor(() => app.db.knex("reviews").where({ org_id: eve.org_id, pull_number: 22 }).first(), "the review");
      const detail = await app.request("GET", `/api/v1/reviews/${review.id}`, { key: eve.api_key });
      expect(detail.status).toBe(200);
      expect(detail.body.files).toEqual([]);
      expect(detail.body.files_error).toMatch(NOT_LINKED);

      const verdict = await app.request("POST", `/api/v1/reviews/${review.id}/verdict`, { key: eve.api_key, body: { verdict: "reject", summary: "no" } });
      expect(verdict.status).toBe(200);
      const rows: any[] = await waitFor(async () => {
        const found = await app.db.knex("github_outbox").whereIn("id", verdict.body.github.outbox_ids).orderBy("id");
        return found.every((row) => row.status !== "pending") ? found : undefined;
      }, "the review's GitHub writes to settle");
      expect(rows.map((row) => [row.kind, row.status])).toEqual([
        ["create_review", "skipped"],
        ["add_labels", "skipped"],
      ]);
      for (const row of rows) expect(row.last_error).toMatch(NOT_LINKED);
    });

    it("acts only on the first repository it received from (shown on GET); others are ignored with the reason", async () => {
      const shown = await app.request("GET", `/api/v1/webhooks/${forger.id}`, { key: eve.api_key });
      expect(shown.body).toMatchObject({ first_repository: "victimco/other-repo", entitled_repositories: ["victimco/other-repo"] });
      const other = await deliverAndWait(app, forger, issuePayload("opened", { number: 23, repository: "eve/app" }), { event: "issues" });
      expect(other.status).toBe("ignored");
      expect(other.actions).toEqual([expect.stringMatching(/acts only on victimco\/other-repo, the first repository it received from.*not on eve\/app/)]);
      expect(await taskByKey(eve.org_id, "github:issue:eve/app#23")).toBeUndefined();
    });
  });

  describe("within one org", () => {
    let appHook: RegisteredWebhook;
    let libHook: RegisteredWebhook;

    beforeAll(async () => {
      appHook = await registerWebhook(app, eve.api_key, eve.team_id, { events: ["issues.*", "pull_request.*"], config: { repositories: ["eve/app"] } });
      libHook = await registerWebhook(app, eve.api_key, eve.team_id, { events: ["issues.*", "pull_request.*"] });
      expect(libHook).toMatchObject({ first_repository: null, entitled_repositories: [] });
      await deliverAndWait(app, appHook, issuePayload("opened", { number: 31, repository: "eve/app" }), { event: "issues" });
      await deliverAndWait(app, libHook, issuePayload("opened", { number: 5, repository: "eve/lib" }), { event: "issues" });
    });

    it("one repository's webhook secret cannot close another repository's task", async () => {
      const forged = await deliverAndWait(app, libHook, issuePayload("closed", { number: 31, repository: "eve/app" }), { event: "issues" });
      expect(forged.status).toBe("ignored");
      expect(forged.actions[0]).toMatch(/acts only on eve\/lib/);
      expect((await taskByKey(eve.org_id, "github:issue:eve/app#31")).status).toBe("todo");

      const named = await deliverAndWait(app, appHook, issuePayload("closed", { number: 5, repository: "eve/lib" }), { event: "issues" });
      expect(named.status).toBe("ignored");
      expect(named.actions[0]).toMatch(/acts only on eve\/app \(config\.repositories\), not on eve\/lib/);
      expect((await taskByKey(eve.org_id, "github:issue:eve/lib#5")).status).toBe("todo");

      // The entitled repository still works.
      const own = await deliverAndWait(app, appHook, issuePayload("closed", { number: 31, repository: "eve/app" }), { event: "issues" });
      expect(own.status).toBe("processed");
      expect((await taskByKey(eve.org_id, "github:issue:eve/app#31")).status).toBe("done");
    });

    it("a webhook naming several repositories acts on each of them and on no other", async () => {
      const both = await registerWebhook(app, eve.api_key, eve.team_id, { events: ["issues.*"], config: { repositories: ["eve/docs", "Eve/Site"] } });
      expect(both.routing_warnings).toEqual([
        "config.repositories eve/docs, Eve/Site: no installation linked to this org is known to cover them, so the App's deliveries for them are not routed here (deliveries signed with this webhook's secret still are)",
      ]);
      // The second named repository, in GitHub's case-insensitive spelling, acts as much as the first.
      for (const [number, repository] of [[41, "eve/site"], [42, "eve/docs"]] as const) {
        const row = await deliverAndWait(app, both, issuePayload("opened", { number, repository }), { event: "issues" });
        expect(row.status, repository).toBe("processed");
        expect(await taskByKey(eve.org_id, `github:issue:${repository}#${number}`), repository).toBeDefined();
      }
      const other = await deliverAndWait(app, both, issuePayload("opened", { number: 43, repository: "eve/app" }), { event: "issues" });
      expect(other.status).toBe("ignored");
      expect(other.actions).toEqual(["ignored: this webhook acts only on eve/docs, Eve/Site (config.repositories), not on eve/app"]);
      expect(await taskByKey(eve.org_id, "github:issue:eve/app#43")).toBeUndefined();
    });

    it("a pull request moves only its own repository's tasks", async () => {
      const lib = await taskByKey(eve.org_id, "github:issue:eve/lib#5");
      const pr = await deliverAndWait(app, appHook, pullRequestPayload("opened", { number: 40, repository: "eve/app", body: `Fixes eve/lib#5\nEntourage-Task: #${lib.id}` }), { event: "pull_request" });
      expect(pr.actions[0]).toBe("pull request #40 links no task");
      expect((await taskByKey(eve.org_id, "github:issue:eve/lib#5")).status).toBe("todo");
    });
  });

  describe("App deliveries from a linked installation, by repository", () => {
    it("route to the org's webhook naming the repository, and a delivery's own installation is kept on the task", async () => {
      const webhook = await registerWebhook(app, victim.api_key, victim.team_id, { events: ["issues.*"], config: { repositories: ["victimco/secret-repo"] } });
      expect(webhook.routing_warnings).toEqual([]);
      const payload = githubExample("issues", "opened");
      payload.repository.full_name = "victimco/secret-repo";
      payload.issue.number = 15;
      payload.installation = { id: VICTIM_INSTALLATION };
      const sent = await sendAppDelivery(app.url, "issues", payload);
      const row = await waitFor(() => app.db.knex("deliveries").where({ webhook_id: webhook.id, delivery_guid: sent.guid }).first(), "the routed delivery");
      expect(row.via).toBe("app");
      const task = await waitFor(() => taskByKey(victim.org_id, "github:issue:victimco/secret-repo#15"), "the task");
      expect(task.source.installation_id).toBe(VICTIM_INSTALLATION);
    });
  });
});
