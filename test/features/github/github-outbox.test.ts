import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { enqueueGithubAction } from "../../../src/features/github/github-outbox.store.js";
import { NO_GITHUB_CREDENTIALS } from "../../../src/features/github/perform-github-action.js";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubAppEnv, linkInstallation } from "../../helpers/github-app.js";
import { GITHUB_API, nockInstallationToken, nockRepositoryInstallation } from "../../helpers/github-nock.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";

const FAST = { backoffMs: () => 50, pollMs: 100 };

async function settled(app: TestApp, id: number) {
  return waitFor(async () => {
    const row = await app.db.knex("github_outbox").where({ id }).first();
    return row && row.status !== "pending" && row;
  }, `outbox row ${id} to settle`);
}

describe("GitHub outbox sender", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let key = 0;
  const dedupeKey = () => `test:${Date.now()}:${++key}`;

  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    app = await startTestApp(githubAppEnv(), { githubOutbox: FAST });
    acme = await app.bootstrap();
    // Writes go through installations linked to the row's org: 101 covers acme/api, 303 acme/hand (GitHub says).
    await linkInstallation(app, acme.api_key, 101, acme.org_id, { repositories: ["acme/api"] });
    await linkInstallation(app, acme.api_key, 303, acme.org_id);
    // One installation token for the whole file: Probot caches it.
    nockInstallationToken(101);
  });
  afterEach(() => {
    expect(nock.pendingMocks().filter((mock) => !mock.includes("access_tokens"))).toEqual([]);
  });
  afterAll(async () => {
    await app.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  describe("issue_comment", () => {
    it("posts the comment with a hidden marker and records GitHub's ids", async () => {
      const dedupe = dedupeKey();
      let posted: any;
      const scope = nock(GITHUB_API)
        .post("/repos/acme/api/issues/42/comments", (body) => ((posted = body), true))
        .matchHeader("authorization", "token ghs_test_101")
        .reply(201, { id: 1, html_url: "https://github.com/acme/api/issues/42#issuecomment-1", body: "x" });
      const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "issue_comment", repository: "acme/api", installation_id: 101, dedupe_key: dedupe, request: { issue_number: 42, body: "Resolved in tasks #601-#603" }, task_id: 601 });
      const row = await settled(app, id);
      expect(row).toMatchObject({ status: "sent", attempts: 1, last_error: null, result: { comment_id: 1, html_url: "https://github.com/acme/api/issues/42#issuecomment-1" } });
      expect(posted).toEqual({ body: `Resolved in tasks #601-#603\n\n<!-- entourage:${dedupe} -->` });
      expect(scope.isDone()).toBe(true);
    });

    it("after a GitHub 502, checks for its marker and posts once", async () => {
      const dedupe = dedupeKey();
      const posts: unknown[] = [];
      const scope = nock(GITHUB_API)
        .post("/repos/acme/api/issues/43/comments", (body) => (posts.push(body), true))
        .reply(502, { message: "Bad Gateway" })
        .get("/repos/acme/api/issues/43/comments")
        .query(true)
        .reply(200, [{ id: 7, body: "an unrelated comment", html_url: "https://github.com/acme/api/issues/43#issuecomment-7" }])
        .post("/repos/acme/api/issues/43/comments", (body) => (posts.push(body), true))
        .reply(201, { id: 8, html_url: "https://github.com/acme/api/issues/43#issuecomment-8" });
      const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "issue_comment", repository: "acme/api", installation_id: 101, dedupe_key: dedupe, request: { issue_number: 43, body: "Resolved in tasks #7" } });
      const row = await settled(app, id);
      expect(row).toMatchObject({ status: "sent", attempts: 2, result: { comment_id: 8 } });
      expect(posts).toHaveLength(2);
      expect(scope.isDone()).toBe(true);
    });

    it("after a 502 that GitHub had in fact accepted, finds the marker and does not post again", async () => {
      const dedupe = dedupeKey();
      const marker = `<!-- entourage:${dedupe} -->`;
      const scope = nock(GITHUB_API)
        .post("/repos/acme/api/issues/44/comments")
        .reply(502, { message: "Bad Gateway" })
        .get("/repos/acme/api/issues/44/comments")
        .query((query) => typeof query.since === "string")
        .reply(200, [{ id: 9, body: `Resolved in tasks #9\n\n${marker}`, html_url: "https://github.com/acme/api/issues/44#issuecomment-9" }]);
      const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "issue_comment", repository: "acme/api", installation_id: 101, dedupe_key: dedupe, request: { issue_number: 44, body: "Resolved in tasks #9" } });
      const row = await settled(app, id);
      expect(row).toMatchObject({ status: "sent", attempts: 2, result: { comment_id: 9, found_after_retry: true } });
      expect(scope.isDone()).toBe(true);
    });

    it("marks a permanent 4xx failed with GitHub's answer, without retrying", async () => {
      const scope = nock(GITHUB_API).post("/repos/acme/api/issues/45/comments").reply(410, { message: "Issues are disabled for this repo" });
      const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "issue_comment", repository: "acme/api", installation_id: 101, dedupe_key: dedupeKey(), request: { issue_number: 45, body: "x" } });
      const row = await settled(app, id);
      expect(row).toMatchObject({ status: "failed", attempts: 1 });
      expect(row.last_error).toMatch(/GitHub answered 410: Issues are disabled/);
      expect(scope.isDone()).toBe(true);
    });
  });

  describe("other kinds", () => {
    it("create_review sends the request as given (marker appended to the body); close_issue and add_labels", async () => {
      let review: any;
      const scope = nock(GITHUB_API)
        .post("/repos/acme/api/pulls/7/reviews", (body) => ((review = body), true))
        .reply(200, { id: 70, html_url: "https://github.com/acme/api/pull/7#pullrequestreview-70" })
        .patch("/repos/acme/api/issues/8", { state: "closed", state_reason: "completed" })
        .reply(200, { state: "closed", html_url: "https://github.com/acme/api/issues/8" })
        .post("/repos/acme/api/issues/9/labels", { labels: ["entourage:rejected"] })
        .reply(200, [{ name: "entourage:rejected" }]);
      const request = { pull_number: 7, commit_id: "abc123", event: "REQUEST_CHANGES", body: "Needs work", comments: [{ path: "src/a.ts", line: 3, body: "off by one" }] };
      const rows = await Promise.all([
        enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "create_review", repository: "acme/api", installation_id: 101, dedupe_key: "review:1", request }),
        enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "close_issue", repository: "acme/api", installation_id: 101, dedupe_key: "close:8", request: { issue_number: 8, state_reason: "completed" } }),
        enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "add_labels", repository: "acme/api", installation_id: 101, dedupe_key: "labels:9", request: { issue_number: 9, labels: ["entourage:rejected"] } }),
      ]);
      const settledRows = await Promise.all(rows.map((r) => settled(app, r.id)));
      expect(settledRows.map((r) => r.status)).toEqual(["sent", "sent", "sent"]);
      expect(review).toEqual({ commit_id: "abc123", event: "REQUEST_CHANGES", body: "Needs work\n\n<!-- entourage:review:1 -->", comments: [{ path: "src/a.ts", line: 3, body: "off by one" }] });
      expect(scope.isDone()).toBe(true);
    });
  });

  describe("installation lookup", () => {
    it("finds the installation of a repository GitHub's events never named, with the App's JWT", async () => {
      const scope = nockRepositoryInstallation("acme/hand", 303)
        .post("/app/installations/303/access_tokens")
        .reply(201, { token: "ghs_test_303", expires_at: new Date(Date.now() + 3600_000).toISOString() })
        .post("/repos/acme/hand/issues/1/comments")
        .matchHeader("authorization", "token ghs_test_303")
        .reply(201, { id: 31, html_url: "https://github.com/acme/hand/issues/1#issuecomment-31" });
      const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "issue_comment", repository: "acme/hand", dedupe_key: dedupeKey(), request: { issue_number: 1, body: "hi" } });
      expect(await settled(app, id)).toMatchObject({ status: "sent", result: { comment_id: 31 } });
      expect(scope.isDone()).toBe(true);
    });

    it("skips the write, saying the App is not installed there, when GitHub knows no installation", async () => {
      const scope = nockRepositoryInstallation("acme/elsewhere", null);
      const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "issue_comment", repository: "acme/elsewhere", dedupe_key: dedupeKey(), request: { issue_number: 1, body: "hi" }, task_id: 77 });
      const row = await settled(app, id);
      expect(row.status).toBe("skipped");
      expect(row.last_error).toMatch(/not installed on acme\/elsewhere/);
      expect(scope.isDone()).toBe(true);
    });
  });

  describe("an installation not linked to the row's org", () => {
    it("is never used: the write is skipped, saying no linked installation covers the repository", async () => {
      // GitHub says victimco/secret is installation 999's; 999 is not linked to acme.
      const lookup = nockRepositoryInstallation("victimco/secret", 999);
      const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "close_issue", repository: "victimco/secret", installation_id: 999, dedupe_key: dedupeKey(), request: { issue_number: 1 } });
      const row = await settled(app, id);
      expect(row.status).toBe("skipped");
      expect(row.last_error).toMatch(/no GitHub App installation linked to this org covers victimco\/secret/);
      expect(lookup.isDone()).toBe(true);
    });
  });

  describe("the installation token", () => {
    it("is fetched once and reused for several calls", async () => {
      const token = nockInstallationToken(202);
      const api = nock(GITHUB_API).get("/repos/acme/api/issues/1").times(3).matchHeader("authorization", "token ghs_test_202").reply(200, { number: 1 });
      for (let i = 0; i < 3; i++) {
        const octokit = await app.ctx.github!.installationOctokit(202);
        expect((await octokit.rest.issues.get({ owner: "acme", repo: "api", issue_number: 1 })).data).toEqual({ number: 1 });
      }
      expect(token.isDone()).toBe(true);
      expect(api.isDone()).toBe(true);
    });
  });
});

describe("GitHub outbox sender without App credentials", () => {
  let app: TestApp;
  afterAll(() => app?.close());

  it("marks rows skipped with the reason, listed with the task's GitHub actions", async () => {
    app = await startTestApp({}, { githubOutbox: FAST });
    const acme = await app.bootstrap();
    const task = await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "from an issue" } });
    const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "issue_comment", repository: "acme/api", installation_id: 101, dedupe_key: "no-creds:1", request: { issue_number: 1, body: "Resolved" }, task_id: task.body.id });
    const row = await settled(app, id);
    expect(row).toMatchObject({ status: "skipped", last_error: NO_GITHUB_CREDENTIALS, task_id: task.body.id });

    const listed = await app.request("GET", `/api/v1/github/actions?task_id=${task.body.id}`, { key: acme.api_key });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([expect.objectContaining({ id, kind: "issue_comment", status: "skipped", last_error: NO_GITHUB_CREDENTIALS, task_id: task.body.id })]);
    expect(listed.body[0]).not.toHaveProperty("org_id");
    const other = await app.bootstrap({ name: "other" });
    expect((await app.request("GET", `/api/v1/github/actions?task_id=${task.body.id}`, { key: other.api_key })).body).toEqual([]);
  });
});
