import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubAppEnv, linkInstallation } from "../../helpers/github-app.js";
import { GITHUB_API, nockInstallationToken, nockRepositoryInstallation } from "../../helpers/github-nock.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { waitFor } from "../../helpers/wait-for.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { deliverAndWait, registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

describe("the seed story: an issue becomes work, is split, merged piece by piece, and announced once", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;

  const deliver = (event: string, payload: unknown) => deliverAndWait(app, webhook, payload, { event });

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    // The GitHub App is configured; GitHub itself is faked by nock.
    app = await startTestApp(githubAppEnv(), { githubOutbox: { pollMs: 100, backoffMs: () => 50 } });
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*", "pull_request.*"], config: { auto_assign: true } });
    // The instance org (acme, created first) links the App's installation 77 to acme.
    await linkInstallation(app, acme.api_key, 77, acme.org_id);
  });
  afterAll(async () => {
    await app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it("issue → task → three sub-tasks → three merged PRs → parent done → exactly one resolution comment on GitHub", async () => {
    // The repository webhook's payloads name no installation: GitHub is asked which one covers the
    // repository, and 77 may act because it is linked to acme.
    const lookup = nockRepositoryInstallation("Codertocat/Hello-World", 77);
    const token = nockInstallationToken(77);
    const posted: unknown[] = [];
    const comment = nock(GITHUB_API)
      .post("/repos/Codertocat/Hello-World/issues/42/comments", (body) => (posted.push(body), true))
      .matchHeader("authorization", "token ghs_test_77")
      .reply(201, { id: 9001, html_url: "https://github.com/Codertocat/Hello-World/issues/42#issuecomment-9001" });

    const issue = issuePayload("opened", { number: 42, title: "Add dark mode support", labels: ["enhancement"] });
    const opened = await deliver("issues", issue);
    const parentId = Number(/#(\d+)/.exec(opened.actions[0])![1]);
    expect(opened.actions).toEqual([`created task #${parentId}`, "assigned to eng-1"]);

    const split = await app.request("POST", `/api/v1/tasks/${parentId}/subtasks`, {
      key: acme.api_key,
      body: { subtasks: [{ title: "Design tokens" }, { title: "Theme toggle" }, { title: "Wire it up", depends_on: [0, 1] }] },
    });
    expect(split.status).toBe(201);
    const [a, b, c] = split.body as { id: number; depends_on: number[] }[];
    expect(c!.depends_on).toEqual([a!.id, b!.id]);
    const blocked = await app.request("PATCH", `/api/v1/tasks/${c!.id}`, { key: acme.api_key, body: { status: "in_progress" } });
    expect(blocked.status).toBe(409);

    for (const [i, sub] of [a!, b!, c!].entries()) {
      const pr = { number: 500 + i, body: `Implements part of dark mode.\n\nEntourage-Task: #${sub.id}` };
      await deliver("pull_request", pullRequestPayload("opened", pr));
      expect((await app.request("GET", `/api/v1/tasks/${sub.id}`, { key: acme.api_key })).body.status).toBe("in_review");
      const merged = await deliver("pull_request", pullRequestPayload("merged", pr));
      expect(merged.actions).toContain(`task #${sub.id} in_review → done`);
    }

    const parent = await app.request("GET", `/api/v1/tasks/${parentId}`, { key: acme.api_key });
    expect(parent.body.status).toBe("done");
    expect(parent.body.subtasks.map((s: { status: string }) => s.status)).toEqual(["done", "done", "done"]);
    // eng-1 held the parent: free again.
    expect((await app.db.knex("agents").where({ id: acme.agents[0]!.id }).first()).status).toBe("available");

    const sent = await waitFor(async () => {
      const rows = await app.db.knex("github_outbox").where({ task_id: parentId });
      return rows.length === 1 && rows[0].status !== "pending" && rows[0];
    }, "the resolution comment to be sent");
    expect(sent).toMatchObject({ kind: "issue_comment", status: "sent", attempts: 1 });
    expect(posted).toEqual([{ body: `Resolved in tasks #${a!.id}-#${c!.id}\n\n<!-- entourage:${sent.dedupe_key} -->` }]);
    for (const scope of [lookup, token, comment]) expect(scope.isDone()).toBe(true);
    const detail = await app.request("GET", `/api/v1/tasks/${parentId}`, { key: acme.api_key });
    expect(detail.body.github_updates).toEqual([expect.objectContaining({ kind: "issue_comment", status: "sent", last_error: null })]);
    // Sub-tasks did not come from issues: nothing is posted for them.
    expect(await app.db.knex("github_outbox").whereIn("task_id", [a!.id, b!.id, c!.id])).toEqual([]);
  });
});

describe("without GitHub credentials", () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({}, { githubOutbox: { pollMs: 100 } });
  });
  afterAll(() => app.close());

  it("the finished task records why no comment was posted", async () => {
    const acme = await app.bootstrap();
    const webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"] });
    const opened = await deliverAndWait(app, webhook, issuePayload("opened", { number: 8 }), { event: "issues" });
    const taskId = Number(/#(\d+)/.exec(opened.actions[0])![1]);
    for (const status of ["in_progress", "done"]) {
      expect((await app.request("PATCH", `/api/v1/tasks/${taskId}`, { key: acme.api_key, body: { status } })).status).toBe(200);
    }
    const detail = await waitFor(async () => {
      const res = await app.request("GET", `/api/v1/tasks/${taskId}`, { key: acme.api_key });
      return res.body.github_updates[0]?.status === "skipped" && res.body;
    }, "the comment to be skipped");
    expect(detail.github_updates[0]).toMatchObject({ kind: "issue_comment", status: "skipped" });
    expect(detail.github_updates[0].last_error).toMatch(/APP_ID/);
  });
});
