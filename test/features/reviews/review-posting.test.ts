import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import nock from "nock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import type { PullRequestFile } from "../../../src/features/reviews/pull-request-files-source.js";
import { pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp, type TestAppOptions } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

// Posting to GitHub is the GitHub outbox sender's job (branch `github`): these tests run once it
// is merged and are skipped, saying so, until then.
const SENDER = fileURLToPath(new URL("../../../src/features/github/github-outbox-sender.ts", import.meta.url));
const HELPERS = fileURLToPath(new URL("../../helpers/github-app.ts", import.meta.url));
const senderPresent = existsSync(SENDER) && existsSync(HELPERS);
if (!senderPresent) console.warn("[reviews] skipping review-posting tests: the GitHub outbox sender (src/features/github/github-outbox-sender.ts) is not on this branch yet");

const GITHUB_API = "https://api.github.com";
const INSTALLATION = 606;
const SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
const FILES: PullRequestFile[] = [{ filename: "src/login.ts", status: "modified", additions: 3, deletions: 1, patch: "@@ -1 +1,3 @@" }];

describe.skipIf(!senderPresent)("reviews: posted to GitHub once, whatever GitHub answers", () => {
  let app: TestApp;
  let org: BootstrapResult;
  let webhook: RegisteredWebhook;
  let number = 800;

  beforeAll(async () => {
    // Paths held in variables: this file must type-check on branches without the GitHub App helpers.
    const helpersPath = "../../helpers/github-app.js";
    const { githubAppEnv, linkInstallation } = (await import(helpersPath)) as {
      githubAppEnv: () => Record<string, string>;
      linkInstallation: (app: TestApp, key: string, id: number, orgId: string, options?: { repositories?: string[] }) => Promise<unknown>;
    };
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    const options = { pullRequestFiles: async () => FILES, githubOutbox: { backoffMs: () => 50, pollMs: 100 } } as TestAppOptions;
    app = await startTestApp(githubAppEnv(), options);
    org = await app.bootstrap();
    webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["pull_request.*"], config: { installation_id: INSTALLATION } });
    // Reviews are posted through the installation linked to the org that covers the repository.
    await linkInstallation(app, org.api_key, INSTALLATION, org.org_id, { repositories: ["Codertocat/Hello-World"] });
    // Probot asks for an installation token once and caches it.
    nock(GITHUB_API).post(`/app/installations/${INSTALLATION}/access_tokens`).reply(201, { token: "ghs_reviews", expires_at: new Date(Date.now() + 3600_000).toISOString() });
  });
  afterAll(async () => {
    await app?.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const openReview = async () => {
    const n = number++;
    const res = await sendDelivery(app.url, webhook, pullRequestPayload("opened", { number: n }), { event: "pull_request" });
    await waitFor(async () => (await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first()).status === "processed", "processing");
    return app.db.knex("reviews").where({ org_id: org.org_id, pull_number: n }).first();
  };
  const submitAndSettle = async (review: { id: number }, verdict: Record<string, unknown>) => {
    const posted = await app.request("POST", `/api/v1/reviews/${review.id}/verdict`, { key: org.api_key, body: verdict });
    expect(posted.status).toBe(200);
    return waitFor(async () => {
      const found = await app.db.knex("github_outbox").where({ dedupe_key: `review:${review.id}` }).first();
      return found?.status !== "pending" && found;
    }, "the review to be sent");
  };
  const reviewsPath = (n: number) => `/repos/Codertocat/Hello-World/pulls/${n}/reviews`;

  it("after a 502, looks for its review and, not finding it, posts it once more: one review on GitHub", async () => {
    const review = await openReview();
    const posts: unknown[] = [];
    const scope = nock(GITHUB_API)
      .post(reviewsPath(review.pull_number), (body) => (posts.push(body), true))
      .reply(502, { message: "Bad Gateway" })
      .get(reviewsPath(review.pull_number))
      .query(true)
      .reply(200, [{ id: 1, body: "someone else's review", html_url: "https://github.com/r/1" }])
      .post(reviewsPath(review.pull_number), (body) => (posts.push(body), true))
      .reply(200, { id: 9001, html_url: `${review.html_url}#pullrequestreview-9001` });
    const row = await submitAndSettle(review, { verdict: "request_changes", summary: "Validate the redirect.", comments: [{ path: "src/login.ts", line: 2, body: "Unsafe" }] });
    expect(row).toMatchObject({ status: "sent", attempts: 2, result: { review_id: 9001 } });
    // The createReview body: the outbox request minus pull_number (in the path), the marker appended.
    const expected = { commit_id: SHA, event: "REQUEST_CHANGES", body: `Validate the redirect.\n\n<!-- entourage:review:${review.id} -->`, comments: [{ path: "src/login.ts", line: 2, body: "Unsafe" }] };
    expect(posts).toEqual([expected, expected]);
    expect(scope.isDone()).toBe(true);
  });

  it("after a 502 that GitHub had in fact accepted, finds its review and does not post again", async () => {
    const review = await openReview();
    let posts = 0;
    const scope = nock(GITHUB_API)
      .post(reviewsPath(review.pull_number), () => (posts++, true))
      .reply(502, { message: "Bad Gateway" })
      .get(reviewsPath(review.pull_number))
      .query(true)
      .reply(200, [{ id: 9002, body: `Ship it.\n\n<!-- entourage:review:${review.id} -->`, html_url: `${review.html_url}#pullrequestreview-9002` }]);
    const row = await submitAndSettle(review, { verdict: "approve", summary: "Ship it." });
    expect(row).toMatchObject({ status: "sent", attempts: 2, result: { review_id: 9002, found_after_retry: true } });
    expect(posts).toBe(1);
    expect(scope.isDone()).toBe(true);
  });
});
