import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { deliverAndWait, registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

describe("the seed story: an issue becomes work, is split, merged piece by piece, and announced once", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;

  const deliver = (event: string, payload: unknown) => deliverAndWait(app, webhook, payload, { event });

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*", "pull_request.*"], config: { auto_assign: true } });
  });
  afterAll(() => app.close());

  it("issue → task → three sub-tasks → three merged PRs → parent done → one resolution comment queued", async () => {
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

    const outbox = await app.db.knex("github_outbox").where({ task_id: parentId });
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      kind: "issue_comment",
      repository: "Codertocat/Hello-World",
      request: { issue_number: 42, body: `Resolved in tasks #${a!.id}-#${c!.id}` },
    });
    // Sub-tasks did not come from issues: nothing is posted for them.
    expect(await app.db.knex("github_outbox").whereIn("task_id", [a!.id, b!.id, c!.id])).toEqual([]);
  });
});
