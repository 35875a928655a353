import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import type { PullRequestFile } from "../../../src/features/reviews/pull-request-files-source.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { connectStdio, type McpTestClient } from "../../helpers/mcp-client.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { deliverAndWait, registerWebhook } from "../../helpers/webhooks.js";

const FILES: PullRequestFile[] = [
  { filename: "src/theme.ts", status: "modified", additions: 3, deletions: 1, changes: 4, patch: "@@ -1,3 +1,5 @@\n-const dark = false;\n+const dark = true;\n+export const theme = dark ? 'dark' : 'light';" },
];

describe("entourage mcp: a reviewer agent reviews a pull request", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let reviewer: { id: string };
  let mcp: McpTestClient;

  beforeAll(async () => {
    // GitHub's pulls.listFiles is the one thing faked here.
    app = await startTestApp({}, { pullRequestFiles: async () => structuredClone(FILES) });
    acme = await app.bootstrap();
    reviewer = (await app.request("POST", `/api/v1/teams/${acme.team_id}/agents`, { key: acme.api_key, body: { name: "rev-1", role: "reviewer" } })).body;
    mcp = await connectStdio({ ENTOURAGE_API_KEY: acme.api_key, ENTOURAGE_AGENT_ID: reviewer.id, ENTOURAGE_URL: app.url });
  }, 60_000);
  afterAll(async () => {
    await mcp?.close();
    await app?.close();
  });

  it("lists its pending review, reads the files, submits request_changes, and the task goes back with the comment", async () => {
    const webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*", "pull_request.*"] });
    const opened = await deliverAndWait(app, webhook, issuePayload("opened", { number: 12, title: "Dark mode" }), { event: "issues" });
    const taskId = Number(/#(\d+)/.exec(opened.actions[0])![1]);
    await deliverAndWait(app, webhook, pullRequestPayload("opened", { number: 34, body: "Fixes #12", head_sha: "a".repeat(40) }), { event: "pull_request" });

    const pending = await mcp.call("list_pending_reviews");
    expect(pending.isError).toBe(false);
    expect(pending.json.reviews).toHaveLength(1);
    const review = pending.json.reviews[0];
    expect(review).toMatchObject({ pull_number: 34, head_sha: "a".repeat(40), assignee_id: reviewer.id, status: "pending" });

    const detail = await mcp.call("get_review", { review_id: review.id });
    expect(detail.json.files.map((f: { filename: string }) => f.filename)).toEqual(["src/theme.ts"]);
    expect(detail.json.files[0].patch).toContain("+const dark = true;");

    const badPath = await mcp.call("submit_review", {
      review_id: review.id,
      verdict: "request_changes",
      summary: "Needs work",
      comments: [{ path: "src/nope.ts", line: 1, body: "?" }],
    });
    expect(badPath.isError).toBe(true);
    expect(badPath.text).toMatch(/HTTP 422/);
    expect(badPath.text).toContain("src/nope.ts");

    const submitted = await mcp.call("submit_review", {
      review_id: review.id,
      verdict: "request_changes",
      summary: "Close, but the toggle is missing.",
      comments: [{ path: "src/theme.ts", line: 2, body: "Read the user's preference instead of hard-coding true." }],
    });
    expect(submitted.isError).toBe(false);

    const rest = await app.request("GET", `/api/v1/reviews/${review.id}`, { key: acme.api_key });
    expect(rest.body).toMatchObject({ status: "submitted", verdict: "request_changes" });
    const task = await app.request("GET", `/api/v1/tasks/${taskId}`, { key: acme.api_key });
    expect(task.body.status).toBe("in_progress");
    const comments = await app.request("GET", `/api/v1/tasks/${taskId}/comments?kind=review`, { key: acme.api_key });
    expect(comments.body.map((c: { body: string }) => c.body).join("\n")).toContain("Read the user's preference instead of hard-coding true.");

    const again = await mcp.call("submit_review", { review_id: review.id, verdict: "approve", summary: "ok" });
    expect(again.isError).toBe(true);
    expect(again.text).toMatch(/HTTP 409/);
    expect((await mcp.call("list_pending_reviews")).json.reviews).toEqual([]);
  });
});
