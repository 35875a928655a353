import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import type { PullRequestFile, PullRequestRef } from "../../../src/features/reviews/pull-request-files-source.js";
import { issuePayload, pullRequestPayload, type PullRequestChanges } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

const SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"; // the example payloads' head
const NEW_SHA = "9b2f1c0d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c";
const REPO = "Codertocat/Hello-World";

/** What GitHub's pulls.listFiles answers for every pull request in these tests. */
const FILES: PullRequestFile[] = [
  { filename: "src/login.ts", status: "modified", additions: 12, deletions: 3, changes: 15, patch: "@@ -1,3 +1,12 @@\n-old\n+new" },
  { filename: "README.md", status: "added", additions: 4, deletions: 0, changes: 4, patch: "@@ -0,0 +1,4 @@\n+# Hello" },
];

describe("reviews: a pull request gets a structured review, posted to GitHub through the outbox", () => {
  let app: TestApp;
  const listed: PullRequestRef[] = [];
  let nextNumber = 1;

  beforeAll(async () => {
    // A test double for GitHub's pulls.listFiles only; everything else is the real pipeline.
    app = await startTestApp({}, { pullRequestFiles: async (ref) => (listed.push(ref), structuredClone(FILES)) });
  });
  afterAll(() => app.close());

  /** An org whose team has `engineers` engineers (and a reviewer unless told otherwise), with an auto-assign GitHub webhook. */
  const setup = async (options: { engineers?: number; reviewer?: boolean } = {}) => {
    const org = await app.bootstrap({ engineers: options.engineers ?? 2, name: `org-${nextNumber++}-${Math.random()}` });
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*", "pull_request.*"], config: { auto_assign: true } });
    let reviewerId: string | undefined;
    if (options.reviewer !== false) {
      const res = await app.request("POST", `/api/v1/teams/${org.team_id}/agents`, { key: org.api_key, body: { name: "rev-1", role: "reviewer" } });
      expect(res.status).toBe(201);
      reviewerId = res.body.id;
    }
    return { org, webhook, reviewerId: reviewerId! };
  };
  const deliver = async (webhook: RegisteredWebhook, event: string, payload: unknown) => {
    const res = await sendDelivery(app.url, webhook, payload, { event });
    expect(res.status).toBe(202);
    return waitFor(async () => {
      const row = await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first();
      return row.status !== "received" && row;
    }, "processing");
  };
  /** An issue → its task (auto-assigned to the first free engineer). */
  const openIssue = async (webhook: RegisteredWebhook) => {
    const number = nextNumber++;
    const delivery = await deliver(webhook, "issues", issuePayload("opened", { number }));
    expect(delivery.status).toBe("processed");
    return app.db.knex("tasks").where({ source_key: `github:issue:codertocat/hello-world#${number}` }).first();
  };
  /** A pull request event (`Fixes #<issue>` when given) → the PR's reviews, oldest first. */
  const pullRequest = async (
    ctx: { org: BootstrapResult; webhook: RegisteredWebhook },
    action: Parameters<typeof pullRequestPayload>[0],
    changes: PullRequestChanges & { number: number },
  ) => {
    const delivery = await deliver(ctx.webhook, "pull_request", pullRequestPayload(action, changes));
    expect(delivery.status).toBe("processed");
    const res = await app.request("GET", `/api/v1/reviews?repository=${REPO}&pull_number=${changes.number}`, { key: ctx.org.api_key });
    expect(res.status).toBe(200);
    return { delivery, reviews: (res.body as any[]).reverse() };
  };
  const openPullRequest = async (ctx: { org: BootstrapResult; webhook: RegisteredWebhook }, issueNumber?: number, changes: PullRequestChanges = {}) => {
    const number = nextNumber++;
    const { reviews, delivery } = await pullRequest(ctx, "opened", { number, body: issueNumber ? `Fixes #${issueNumber}` : "No issue", ...changes });
    return { number, review: reviews.at(-1), delivery };
  };
  const issueNumberOf = (task: any) => Number(/#(\d+)$/.exec(task.source_key)![1]);
  const task = async (id: number) => (await app.db.knex("tasks").where({ id }).first()) as any;
  const agentStatus = async (id: string) => (await app.db.knex("agents").where({ id }).first()).status;
  const verdict = (org: BootstrapResult, id: number, body: unknown) => app.request("POST", `/api/v1/reviews/${id}/verdict`, { key: org.api_key, body });
  const outbox = (dedupeKey: string) => app.db.knex("github_outbox").where({ dedupe_key: dedupeKey }).first();

  describe("review requested", () => {
    it("pull_request.opened → a pending review of the head SHA for the team's reviewer, a review task on the board, review.requested", async () => {
      const ctx = await setup();
      const linked = await openIssue(ctx.webhook);
      expect(linked.assignee_id).toBe(ctx.org.agents[0]!.id);
      expect((await app.request("PATCH", `/api/v1/tasks/${linked.id}`, { key: ctx.org.api_key, body: { priority: "critical" } })).status).toBe(200);
      const { number, review, delivery } = await openPullRequest(ctx, issueNumberOf(linked));

      expect(review).toMatchObject({
        id: expect.any(Number),
        status: "pending",
        repository: REPO,
        pull_number: number,
        head_sha: SHA,
        html_url: `https://github.com/${REPO}/pull/${number}`,
        task_id: expect.any(Number),
        linked_task_ids: [linked.id],
        assignee_id: ctx.reviewerId,
        verdict: null,
        summary: null,
        comments: [],
        submitted_at: null,
      });
      expect(delivery.actions).toEqual([
        `task #${linked.id} todo → in_review`,
        `review #${review.id} requested for ${SHA.slice(0, 7)}`,
        `review #${review.id} assigned to rev-1`,
      ]);
      const reviewTask = await app.request("GET", `/api/v1/tasks/${review.task_id}`, { key: ctx.org.api_key });
      expect(reviewTask.body).toMatchObject({ task_type: "review", status: "todo", assignee_id: ctx.reviewerId, parent_id: null });
      expect(reviewTask.body.title).toBe(`Review ${REPO}#${number}: ${pullRequestPayload("opened").pull_request.title}`);
      expect(reviewTask.body.tags).toEqual(["github", "review", `pr:${number}`, `repo:${REPO}`, `task:${linked.id}`]);
      // As urgent as the work it reviews; its source says which review and head it is for.
      expect(reviewTask.body.priority).toBe("critical");
      expect(reviewTask.body.source).toEqual({
        kind: "github_pull_request_review",
        review_id: review.id,
        repository: REPO,
        pull_number: number,
        head_sha: SHA,
        html_url: review.html_url,
        installation_id: null,
        linked_task_ids: [linked.id],
      });
      expect(reviewTask.body.description).toBe(
        [
          `Review pull request ${REPO}#${number} at ${SHA}.`,
          "",
          review.html_url,
          "",
          `Submit the verdict with POST /api/v1/reviews/${review.id}/verdict (or the submit_review MCP tool).`,
          "",
          `Linked tasks: #${linked.id} ${linked.title}`,
        ].join("\n"),
      );
      expect(await agentStatus(ctx.reviewerId)).toBe("busy");

      const events = await app.db.knex("events").where({ org_id: ctx.org.org_id, type: "review.requested" });
      expect(events).toHaveLength(1);
      expect(events[0].data).toMatchObject({ review_id: review.id, task_id: linked.id, review_task_id: review.task_id, review: { status: "pending" } });
      const assigned = await app.db.knex("events").where({ org_id: ctx.org.org_id, type: "review.assigned" });
      expect(assigned.map((event) => event.data)).toEqual([expect.objectContaining({ review_id: review.id, assignee_id: ctx.reviewerId, assignee_name: "rev-1" })]);

      // The same delivery again (a redelivery has a new GUID) requests nothing more.
      const again = await pullRequest(ctx, "opened", { number, body: `Fixes #${issueNumberOf(linked)}` });
      expect(again.reviews.map((r) => r.id)).toEqual([review.id]);
    });

    it("lists reviews by status and by assignee (assignee or assignee_id), other orgs' never", async () => {
      const ctx = await setup();
      const { review } = await openPullRequest(ctx);
      for (const query of [`assignee=${ctx.reviewerId}`, `assignee_id=${ctx.reviewerId}`, "status=pending", `status=pending&assignee=${ctx.reviewerId}`]) {
        const res = await app.request("GET", `/api/v1/reviews?${query}`, { key: ctx.org.api_key });
        expect(res.status, query).toBe(200);
        expect(res.body.map((r: any) => r.id), query).toEqual([review.id]);
      }
      expect((await app.request("GET", "/api/v1/reviews?status=submitted", { key: ctx.org.api_key })).body).toEqual([]);
      expect((await app.request("GET", `/api/v1/reviews?assignee=${ctx.org.agents[0]!.id}`, { key: ctx.org.api_key })).body).toEqual([]);

      const other = await setup();
      expect((await app.request("GET", "/api/v1/reviews", { key: other.org.api_key })).body).toEqual([]);
      expect((await app.request("GET", `/api/v1/reviews/${review.id}`, { key: other.org.api_key })).status).toBe(404);
      const bad = await app.request("GET", "/api/v1/reviews?status=approved", { key: ctx.org.api_key });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details[0].field).toBe("status");
      expect((await app.request("GET", "/api/v1/reviews/not-a-number", { key: ctx.org.api_key })).status).toBe(404);
      expect((await app.request("GET", "/api/v1/reviews")).status).toBe(401);
    });

    it("GET /reviews/{id} answers the PR's changed files, listed from GitHub once per head SHA", async () => {
      const ctx = await setup();
      const { number, review } = await openPullRequest(ctx);
      const before = listed.length;
      for (let i = 0; i < 2; i++) {
        const res = await app.request("GET", `/api/v1/reviews/${review.id}`, { key: ctx.org.api_key });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: review.id, status: "pending", head_sha: SHA, files: FILES });
        expect(res.body.files_error).toBeUndefined();
      }
      expect(listed.slice(before)).toEqual([{ org_id: ctx.org.org_id, repository: REPO, pull_number: number, installation_id: null }]);
    });

    it("a draft requests no review; ready_for_review does", async () => {
      const ctx = await setup();
      const number = nextNumber++;
      const draft = await pullRequest(ctx, "opened", { number, draft: true });
      expect(draft.reviews).toEqual([]);
      const ready = await pullRequest(ctx, "ready_for_review", { number, draft: false });
      expect(ready.reviews).toHaveLength(1);
      expect(ready.reviews[0]).toMatchObject({ status: "pending", assignee_id: ctx.reviewerId });
    });
  });

  describe("verdicts", () => {
    it("request_changes → createReview REQUEST_CHANGES at the head SHA, task back in_progress with the comments attached", async () => {
      const ctx = await setup();
      const linked = await openIssue(ctx.webhook);
      const { number, review } = await openPullRequest(ctx, issueNumberOf(linked));
      const comments = [
        { path: "src/login.ts", line: 7, body: "Validate the return URL" },
        { path: "src/login.ts", line: 11, side: "RIGHT", start_line: 9, body: "This block needs a test" },
      ];
      const res = await verdict(ctx.org, review.id, { verdict: "request_changes", summary: "Close, but the redirect is unsafe.", comments });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: review.id, status: "submitted", verdict: "request_changes", summary: "Close, but the redirect is unsafe.", comments });
      expect(res.body.submitted_at).toBeTruthy();

      const row = await outbox(`review:${review.id}`);
      expect(row).toMatchObject({ kind: "create_review", repository: REPO, task_id: review.task_id });
      expect(row.request).toEqual({ pull_number: number, commit_id: SHA, event: "REQUEST_CHANGES", body: "Close, but the redirect is unsafe.", comments });
      expect(res.body.github).toEqual({ outbox_ids: [Number(row.id)], duplicate_comments: 0 });

      expect((await task(linked.id)).status).toBe("in_progress");
      const thread = await app.request("GET", `/api/v1/tasks/${linked.id}/comments?kind=review`, { key: ctx.org.api_key });
      expect(thread.body.map((c: any) => [c.body, c.author_agent_id, c.metadata])).toEqual([
        [`Review #${review.id} of ${REPO}#${number} requested changes: Close, but the redirect is unsafe.`, ctx.reviewerId, { review_id: review.id, verdict: "request_changes", html_url: review.html_url }],
        ["Validate the return URL", ctx.reviewerId, { review_id: review.id, path: "src/login.ts", line: 7 }],
        ["This block needs a test", ctx.reviewerId, { review_id: review.id, path: "src/login.ts", line: 11, side: "RIGHT", start_line: 9 }],
      ]);
      // The review task is done and the reviewer free again.
      expect((await task(review.task_id)).status).toBe("done");
      expect(await agentStatus(ctx.reviewerId)).toBe("available");
      const submitted = await app.db.knex("events").where({ org_id: ctx.org.org_id, type: "review.submitted" });
      expect(submitted).toHaveLength(1);
      expect(submitted[0].data).toMatchObject({ review_id: review.id, task_id: linked.id, verdict: "request_changes", comments: 2 });
    });

    it("approve → createReview APPROVE; the linked task stays in_review until the PR merges", async () => {
      const ctx = await setup();
      const linked = await openIssue(ctx.webhook);
      const { number, review } = await openPullRequest(ctx, issueNumberOf(linked));
      const res = await verdict(ctx.org, review.id, { verdict: "approve", summary: "Looks good.", comments: [{ path: "README.md", line: 1, body: "Nice intro" }] });
      expect(res.status).toBe(200);
      expect((await outbox(`review:${review.id}`)).request).toEqual({
        pull_number: number,
        commit_id: SHA,
        event: "APPROVE",
        body: "Looks good.",
        comments: [{ path: "README.md", line: 1, body: "Nice intro" }],
      });
      expect((await task(linked.id)).status).toBe("in_review");
      expect((await app.request("GET", `/api/v1/tasks/${linked.id}/comments`, { key: ctx.org.api_key })).body).toEqual([]);
      await pullRequest(ctx, "merged", { number, body: `Fixes #${issueNumberOf(linked)}` });
      expect((await task(linked.id)).status).toBe("done");
    });

    it("reject → createReview REQUEST_CHANGES, the PR labelled `entourage: rejected`, the task back in_progress", async () => {
      const ctx = await setup();
      const linked = await openIssue(ctx.webhook);
      const { number, review } = await openPullRequest(ctx, issueNumberOf(linked));
      const res = await verdict(ctx.org, review.id, { verdict: "reject", summary: "This approach cannot work: start over." });
      expect(res.status).toBe(200);
      expect((await outbox(`review:${review.id}`)).request).toEqual({ pull_number: number, commit_id: SHA, event: "REQUEST_CHANGES", body: "This approach cannot work: start over.", comments: [] });
      const label = await outbox(`review:${review.id}:rejected-label`);
      expect(label).toMatchObject({ kind: "add_labels", repository: REPO, request: { issue_number: number, labels: ["entourage: rejected"] } });
      expect(res.body.github.outbox_ids).toHaveLength(2);
      expect((await task(linked.id)).status).toBe("in_progress");
      const thread = await app.request("GET", `/api/v1/tasks/${linked.id}/comments?kind=review`, { key: ctx.org.api_key });
      expect(thread.body.map((c: any) => c.body)).toEqual([`Review #${review.id} of ${REPO}#${number} rejected: This approach cannot work: start over.`]);
    });

    it("one verdict per review: a second one is a 409 and queues nothing more", async () => {
      const ctx = await setup();
      const { review } = await openPullRequest(ctx);
      expect((await verdict(ctx.org, review.id, { verdict: "approve", summary: "ok" })).status).toBe(200);
      const [second, third] = await Promise.all([
        verdict(ctx.org, review.id, { verdict: "reject", summary: "changed my mind" }),
        verdict(ctx.org, review.id, { verdict: "approve", summary: "again" }),
      ]);
      for (const res of [second, third]) {
        expect(res.status).toBe(409);
        expect(res.body.error).toMatchObject({ code: "conflict", details: { status: "submitted", verdict: "approve" } });
        expect(res.body.error.message).toMatch(/already has its verdict \(approve\)/);
      }
      expect(await app.db.knex("github_outbox").where("dedupe_key", "like", `review:${review.id}%`)).toHaveLength(1);
      expect((await app.request("GET", `/api/v1/reviews/${review.id}`, { key: ctx.org.api_key })).body).toMatchObject({ status: "submitted", verdict: "approve", summary: "ok" });
    });

    it("answers 422 naming the comment whose path is not a changed file or whose line is not a positive integer, and records nothing", async () => {
      const ctx = await setup();
      const linked = await openIssue(ctx.webhook);
      const { number, review } = await openPullRequest(ctx, issueNumberOf(linked));
      const good = { path: "src/login.ts", line: 3, body: "fine" };
      const cases: [unknown, string, RegExp][] = [
        [{ path: "src/other.ts", line: 3, body: "x" }, "comments[1].path", new RegExp(`comments\\[1\\]: src/other.ts is not a file changed by pull request #${number}`)],
        [{ path: "src/login.ts", line: 0, body: "x" }, "comments[1].line", /comments\[1\] \(src\/login.ts\): line must be a positive integer, got 0/],
        [{ path: "src/login.ts", line: -4, body: "x" }, "comments[1].line", /positive integer, got -4/],
        [{ path: "src/login.ts", line: 2.5, body: "x" }, "comments[1].line", /positive integer, got 2.5/],
        [{ path: "src/login.ts", line: 5, start_line: 5, body: "x" }, "comments[1].start_line", /start_line must be a positive integer below line 5/],
      ];
      for (const [bad, field, message] of cases) {
        const res = await verdict(ctx.org, review.id, { verdict: "request_changes", summary: "s", comments: [good, bad] });
        expect(res.status, JSON.stringify(bad)).toBe(422);
        expect(res.body.error.code).toBe("unprocessable_entity");
        expect(res.body.error.message).toMatch(message);
        expect(res.body.error.details[0].field).toBe(field);
      }
      // Malformed bodies are 400s with the field named.
      for (const body of [{ verdict: "maybe", summary: "s" }, { verdict: "approve" }, { verdict: "approve", summary: "s", comments: [{ path: "a", line: "7", body: "x" }] }]) {
        const res = await verdict(ctx.org, review.id, body);
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.error.code).toBe("validation_failed");
      }
      expect((await app.db.knex("reviews").where({ id: review.id }).first()).status).toBe("pending");
      expect(await app.db.knex("github_outbox").where("dedupe_key", "like", `review:${review.id}%`)).toEqual([]);
      expect((await task(linked.id)).status).toBe("in_review");

      const other = await setup();
      expect((await verdict(other.org, review.id, { verdict: "approve", summary: "not mine" })).status).toBe(404);
      expect((await verdict(ctx.org, 999_999, { verdict: "approve", summary: "s" })).status).toBe(404);
    });
  });

  describe("new commits", () => {
    it("synchronize outdates the pending review and requests a fresh one for the new head SHA from the same reviewer", async () => {
      const ctx = await setup();
      const linked = await openIssue(ctx.webhook);
      const body = `Fixes #${issueNumberOf(linked)}`;
      const { number, review: first } = await openPullRequest(ctx, issueNumberOf(linked));
      const sync = await pullRequest(ctx, "synchronize", { number, body, head_sha: NEW_SHA });
      const [outdated, fresh] = sync.reviews;
      expect(sync.reviews).toHaveLength(2);
      expect(outdated).toMatchObject({ id: first.id, status: "outdated", head_sha: SHA, superseded_by: fresh.id });
      expect(fresh).toMatchObject({ status: "pending", head_sha: NEW_SHA, assignee_id: ctx.reviewerId, linked_task_ids: [linked.id] });
      expect(sync.delivery.actions).toEqual([
        `linked tasks #${linked.id} unchanged`,
        `review #${first.id} outdated`,
        `review #${fresh.id} requested for ${NEW_SHA.slice(0, 7)}`,
        `review #${fresh.id} assigned to rev-1`,
      ]);
      expect((await task(first.task_id)).status).toBe("cancelled");
      const reason = `new commits: head is now ${NEW_SHA.slice(0, 7)}`;
      const [outdatedEvent] = await app.db.knex("events").where({ org_id: ctx.org.org_id, type: "review.outdated" });
      expect(outdatedEvent.data).toMatchObject({ review_id: first.id, reason, superseded_by: fresh.id, review: { status: "outdated", superseded_by: fresh.id } });
      const moved = await app.db.knex("events").where({ org_id: ctx.org.org_id, type: "task.status_changed" }).whereRaw("(data->>'task_id')::int = ?", [first.task_id]);
      expect(moved.map((event) => [event.data.to, event.data.reason])).toEqual([["cancelled", reason]]);
      expect((await task(fresh.task_id)).assignee_id).toBe(ctx.reviewerId);
      expect(await agentStatus(ctx.reviewerId)).toBe("busy");

      const late = await verdict(ctx.org, first.id, { verdict: "approve", summary: "ok" });
      expect(late.status).toBe(409);
      expect(late.body.error.message).toBe(`Review #${first.id} is outdated: the pull request has new commits; review #${fresh.id} covers the new head`);
      const listedOutdated = await app.request("GET", "/api/v1/reviews?status=outdated", { key: ctx.org.api_key });
      expect(listedOutdated.body.map((r: any) => r.id)).toEqual([first.id]);

      const res = await verdict(ctx.org, fresh.id, { verdict: "approve", summary: "Better now." });
      expect(res.status).toBe(200);
      expect((await outbox(`review:${fresh.id}`)).request).toMatchObject({ commit_id: NEW_SHA, event: "APPROVE" });
    });

    it("asks no second review of a head with one pending or submitted, and a late `opened` does not replace the review of newer commits", async () => {
      const ctx = await setup();
      const linked = await openIssue(ctx.webhook);
      const body = `Fixes #${issueNumberOf(linked)}`;
      const { number, review: first } = await openPullRequest(ctx, issueNumberOf(linked));
      // Reopened at the same head while its review is pending: nothing new.
      const again = await pullRequest(ctx, "reopened", { number, body });
      expect(again.reviews.map((r: any) => [r.id, r.status])).toEqual([[first.id, "pending"]]);
      expect(again.delivery.actions).toEqual([`linked tasks #${linked.id} unchanged`]);
      // Reviewed, then reopened at the same head: that head has its verdict.
      expect((await verdict(ctx.org, first.id, { verdict: "request_changes", summary: "Fix the login." })).status).toBe(200);
      const reviewed = await pullRequest(ctx, "reopened", { number, body });
      expect(reviewed.reviews.map((r: any) => [r.id, r.status])).toEqual([[first.id, "submitted"]]);
      // New commits get a review; a late `opened` of the old head then changes nothing.
      const sync = await pullRequest(ctx, "synchronize", { number, body, head_sha: NEW_SHA });
      const fresh = sync.reviews.at(-1);
      expect(fresh).toMatchObject({ status: "pending", head_sha: NEW_SHA });
      const late = await pullRequest(ctx, "opened", { number, body, head_sha: "0000000000000000000000000000000000000001" });
      expect(late.reviews.map((r: any) => [r.id, r.status, r.head_sha])).toEqual([
        [first.id, "submitted", SHA],
        [fresh.id, "pending", NEW_SHA],
      ]);
    });

    it("a comment already posted on an earlier review of the same PR is not posted again", async () => {
      const ctx = await setup();
      const { number, review: first } = await openPullRequest(ctx);
      const repeated = { path: "src/login.ts", line: 7, body: "Validate the return URL" };
      expect((await verdict(ctx.org, first.id, { verdict: "request_changes", summary: "Fix the redirect.", comments: [repeated] })).status).toBe(200);
      const { reviews } = await pullRequest(ctx, "synchronize", { number, body: "No issue", head_sha: NEW_SHA });
      const second = reviews.at(-1);
      expect(second).toMatchObject({ status: "pending", head_sha: NEW_SHA });
      const fresh = { path: "README.md", line: 2, body: "Typo" };
      const res = await verdict(ctx.org, second.id, { verdict: "request_changes", summary: "Still unsafe.", comments: [repeated, fresh, { ...repeated, line: 8 }] });
      expect(res.status).toBe(200);
      expect(res.body.github.duplicate_comments).toBe(1);
      expect((await outbox(`review:${second.id}`)).request).toEqual({
        pull_number: number,
        commit_id: NEW_SHA,
        event: "REQUEST_CHANGES",
        body: "Still unsafe.",
        comments: [fresh, { ...repeated, line: 8 }],
      });
      // The review itself keeps every comment it was given.
      expect(res.body.comments).toHaveLength(3);
    });

    it("closing the pull request cancels its pending review and frees the reviewer", async () => {
      const ctx = await setup();
      const { number, review } = await openPullRequest(ctx);
      const closed = await pullRequest(ctx, "closed", { number, body: "No issue" });
      expect(closed.delivery.actions).toContain(`review #${review.id} cancelled`);
      expect(closed.reviews[0]).toMatchObject({ status: "cancelled" });
      expect((await task(review.task_id)).status).toBe("cancelled");
      // Why, in the review's event and in its task's move.
      const reason = `pull request #${number} closed`;
      const [cancelled] = await app.db.knex("events").where({ org_id: ctx.org.org_id, type: "review.cancelled" });
      expect(cancelled.data).toMatchObject({ review_id: review.id, reason, review: { status: "cancelled" } });
      const moved = await app.db.knex("events").where({ org_id: ctx.org.org_id, type: "task.status_changed" }).whereRaw("(data->>'task_id')::int = ?", [review.task_id]);
      expect(moved.map((event) => [event.data.to, event.data.reason])).toEqual([["cancelled", reason]]);
      expect(await agentStatus(ctx.reviewerId)).toBe("available");
      expect((await verdict(ctx.org, review.id, { verdict: "approve", summary: "late" })).status).toBe(409);
    });
  });

  describe("assignment", () => {
    it("without a reviewer, an available engineer who is not the linked task's assignee reviews", async () => {
      const ctx = await setup({ engineers: 2, reviewer: false });
      const linked = await openIssue(ctx.webhook); // eng-1 writes it
      const { review } = await openPullRequest(ctx, issueNumberOf(linked));
      expect(review.assignee_id).toBe(ctx.org.agents[1]!.id);
    });

    it("waits when only the author is free, and is handed out when an agent becomes available", async () => {
      const ctx = await setup({ engineers: 1, reviewer: false });
      const linked = await openIssue(ctx.webhook);
      // eng-1 frees up by finishing nothing else: make it available while still the task's assignee.
      await app.db.knex("agents").where({ id: ctx.org.agents[0]!.id }).update({ status: "available" });
      const { review, delivery } = await openPullRequest(ctx, issueNumberOf(linked));
      expect(delivery.actions).toContain(`review #${review.id} waiting for a reviewer`);
      expect(review.assignee_id).toBeNull();
      expect((await task(review.task_id)).assignee_id).toBeNull();

      const joined = await app.request("POST", `/api/v1/teams/${ctx.org.team_id}/agents`, { key: ctx.org.api_key, body: { name: "rev-9", role: "reviewer" } });
      expect(joined.status).toBe(201);
      expect(joined.body.status).toBe("busy");
      const now = (await app.request("GET", `/api/v1/reviews/${review.id}`, { key: ctx.org.api_key })).body;
      expect(now.assignee_id).toBe(joined.body.id);
      expect((await task(review.task_id)).assignee_id).toBe(joined.body.id);
    });

    it("a reviewer freed by a verdict takes the next waiting review", async () => {
      const ctx = await setup({ engineers: 1 });
      const linked = await openIssue(ctx.webhook); // eng-1, busy
      const first = await openPullRequest(ctx, issueNumberOf(linked));
      const second = await openPullRequest(ctx, issueNumberOf(linked));
      expect(first.review.assignee_id).toBe(ctx.reviewerId);
      expect(second.review.assignee_id).toBeNull();
      expect((await verdict(ctx.org, first.review.id, { verdict: "approve", summary: "ok" })).status).toBe(200);
      const next = (await app.request("GET", `/api/v1/reviews/${second.review.id}`, { key: ctx.org.api_key })).body;
      expect(next.assignee_id).toBe(ctx.reviewerId);
      expect(await agentStatus(ctx.reviewerId)).toBe("busy");
    });
  });
});

describe("reviews without GitHub credentials", () => {
  let app: TestApp;
  let org: BootstrapResult;
  let webhook: RegisteredWebhook;
  let number = 700;

  beforeAll(async () => {
    app = await startTestApp();
    org = await app.bootstrap();
    webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["pull_request.*"] });
  });
  afterAll(() => app.close());

  const openReview = async () => {
    const n = number++;
    const res = await sendDelivery(app.url, webhook, pullRequestPayload("opened", { number: n }), { event: "pull_request" });
    await waitFor(async () => (await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first()).status === "processed", "processing");
    return app.db.knex("reviews").where({ org_id: org.org_id, pull_number: n }).first();
  };

  it("answers the review with no files and says why", async () => {
    const review = await openReview();
    const res = await app.request("GET", `/api/v1/reviews/${review.id}`, { key: org.api_key });
    expect(res.status).toBe(200);
    expect(res.body.files).toEqual([]);
    expect(res.body.files_error).toMatch(/GitHub credentials are missing/);
  });

  it("refuses comments it cannot check (422), takes a verdict without comments, and checks against files cached for the head", async () => {
    const review = await openReview();
    const withComments = await app.request("POST", `/api/v1/reviews/${review.id}/verdict`, {
      key: org.api_key,
      body: { verdict: "request_changes", summary: "s", comments: [{ path: "src/login.ts", line: 3, body: "x" }] },
    });
    expect(withComments.status).toBe(422);
    expect(withComments.body.error.message).toMatch(/Cannot check the comments against the pull request's changed files: GitHub credentials are missing/);

    await app.db.knex("pull_request_files").insert({ org_id: org.org_id, repository: REPO, pull_number: review.pull_number, head_sha: SHA, files: JSON.stringify(FILES) });
    const cached = await app.request("POST", `/api/v1/reviews/${review.id}/verdict`, {
      key: org.api_key,
      body: { verdict: "request_changes", summary: "s", comments: [{ path: "src/login.ts", line: 3, body: "x" }] },
    });
    expect(cached.status).toBe(200);

    const plain = await openReview();
    const approve = await app.request("POST", `/api/v1/reviews/${plain.id}/verdict`, { key: org.api_key, body: { verdict: "approve", summary: "LGTM" } });
    expect(approve.status).toBe(200);
    expect((await app.db.knex("github_outbox").where({ dedupe_key: `review:${plain.id}` }).first()).request.event).toBe("APPROVE");
  });
});
