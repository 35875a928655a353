import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { parseTaskLinks } from "../../../src/features/automation/parse-task-links.js";
import { githubExample } from "../../helpers/github-examples.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitForLockWait } from "../../helpers/lock-wait.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

describe("automation: pull requests move their linked tasks", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;
  let nextNumber = 300;

  const deliver = (event: string, payload: unknown) => deliverAndWait(app, webhook, payload, { event });
  const openIssue = async () => {
    const number = nextNumber++;
    await deliver("issues", issuePayload("opened", { number }));
    const task = await app.db.knex("tasks").where({ source_key: `github:issue:codertocat/hello-world#${number}` }).first();
    return { number, task };
  };
  const statusOf = async (id: number) => (await app.db.knex("tasks").where({ id }).first()).status;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*", "pull_request.*", "push"] });
  });
  afterAll(() => app.close());

  it("opened with `Fixes #N` → in_review; merged → done", async () => {
    const { number, task } = await openIssue();
    const opened = await deliver("pull_request", pullRequestPayload("opened", { number: 900, body: `Fixes #${number}` }));
    expect(opened.actions).toContain(`task #${task.id} todo → in_review`);
    expect(await statusOf(task.id)).toBe("in_review");
    const merged = await deliver("pull_request", pullRequestPayload("merged", { number: 900, body: `Fixes #${number}` }));
    expect(merged.event_type).toBe("pull_request.merged");
    expect(merged.actions).toContain(`task #${task.id} in_review → done`);
    expect(await statusOf(task.id)).toBe("done");
  });

  it("closed without merge → back to in_progress", async () => {
    const { number, task } = await openIssue();
    await deliver("pull_request", pullRequestPayload("opened", { number: 901, title: `Resolve #${number}` }));
    await deliver("pull_request", pullRequestPayload("closed", { number: 901, title: `Resolve #${number}` }));
    expect(await statusOf(task.id)).toBe("in_progress");
  });

  it("links by Entourage-Task trailer and by task-N / issue-N branch names", async () => {
    const a = await openIssue();
    const b = await openIssue();
    const c = await openIssue();
    await deliver("pull_request", pullRequestPayload("opened", { number: 902, body: `Work.\n\nEntourage-Task: #${a.task.id}`, branch: `feature/task-${b.task.id}` }));
    await deliver("pull_request", pullRequestPayload("opened", { number: 903, body: "", branch: `issue-${c.number}-fix-it` }));
    expect([await statusOf(a.task.id), await statusOf(b.task.id), await statusOf(c.task.id)]).toEqual(["in_review", "in_review", "in_review"]);
  });

  it("a merge finishing two tasks: the engineer freed by the first is handed the second, finishes it with the merge, and takes the next", async () => {
    const org = await app.bootstrap({ engineers: 1, name: `solo-${Math.random()}` });
    const solo = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*", "pull_request.*"], config: { auto_assign: true } });
    const numbers = [nextNumber++, nextNumber++, nextNumber++];
    for (const number of numbers) await deliverAndWait(app, solo, issuePayload("opened", { number }), { event: "issues" });
    const tasks = await app.db.knex("tasks").where({ org_id: org.org_id }).orderBy("id");
    const engineer = org.agents[0]!.id;
    expect(tasks.map((task) => task.assignee_id)).toEqual([engineer, null, null]);

    const merged = await deliverAndWait(app, solo, pullRequestPayload("merged", { number: 907, body: `Fixes #${numbers[0]}, fixes #${numbers[1]}` }), { event: "pull_request" });
    expect(merged.actions).toEqual([`task #${tasks[0].id} todo → done`, `task #${tasks[1].id} todo → done`]);
    // The second task was handed to the freed engineer before the merge finished it: finishing it freed the engineer again.
    const after = await app.db.knex("tasks").where({ org_id: org.org_id }).orderBy("id");
    expect(after.map((task) => [task.status, task.assignee_id])).toEqual([
      ["done", engineer],
      ["done", engineer],
      ["todo", engineer],
    ]);
    expect((await app.db.knex("agents").where({ id: engineer }).first()).status).toBe("busy");
  });

  it("a push moves nothing, and locks none of the tasks it links while its transaction runs", async () => {
    const { number, task } = await openIssue();
    const body = `Fixes #${number}`;
    await deliver("pull_request", pullRequestPayload("opened", { number: 908, body }));
    const review = await app.db.knex("reviews").where({ org_id: acme.org_id, pull_number: 908 }).first();
    const held = await app.db.knex.transaction();
    let sent: Awaited<ReturnType<typeof sendDelivery>>;
    try {
      // Hold the pull request's review: the push's transaction stops in the review rule, after reading its tasks.
      await held.raw("SELECT id FROM reviews WHERE id = ? FOR UPDATE", [review.id]);
      sent = await sendDelivery(app.url, webhook, pullRequestPayload("synchronize", { number: 908, body, head_sha: "f".repeat(40) }), { event: "pull_request" });
      expect(sent.status).toBe(202);
      await waitForLockWait(app.db.knex, '%from "reviews"%for update');
      await app.db.knex.transaction((other) => other.raw("SELECT id FROM tasks WHERE id = ? FOR UPDATE NOWAIT", [task.id]));
    } finally {
      await held.rollback();
    }
    const done = await waitFor(async () => {
      const row = await app.db.knex("deliveries").where({ id: sent.body.delivery_id }).first();
      return row.status !== "received" && row;
    }, "the push processed");
    expect(done.status).toBe("processed");
    expect(await statusOf(task.id)).toBe("in_review");
  });

  it("moves nothing for a draft, and does on ready_for_review", async () => {
    const { number, task } = await openIssue();
    const draft = await deliver("pull_request", pullRequestPayload("opened", { number: 904, body: `closes #${number}`, draft: true }));
    expect(draft.actions[0]).toMatch(/draft/);
    expect(await statusOf(task.id)).toBe("todo");
    await deliver("pull_request", pullRequestPayload("ready_for_review", { number: 904, body: `closes #${number}`, draft: false }));
    expect(await statusOf(task.id)).toBe("in_review");
  });

  it("moves a task only from the states the event moves from: a done task stays done when another pull request naming it opens or closes", async () => {
    const { number, task } = await openIssue();
    await deliver("pull_request", pullRequestPayload("opened", { number: 906, body: `Fixes #${number}` }));
    await deliver("pull_request", pullRequestPayload("merged", { number: 906, body: `Fixes #${number}` }));
    await deliver("pull_request", pullRequestPayload("opened", { number: 907, body: `Fixes #${number}` }));
    expect(await statusOf(task.id)).toBe("done");
    await deliver("pull_request", pullRequestPayload("closed", { number: 907, body: `Fixes #${number}` }));
    expect(await statusOf(task.id)).toBe("done");
    // Subscribers learn which pull request moved the task, and how.
    const changes = await app.db.knex("events").where({ type: "task.status_changed" }).whereRaw("(data->>'task_id')::int = ?", [task.id]).orderBy("id");
    expect(changes.map(({ data }) => [data.to, data.reason])).toEqual([
      ["in_review", "pull request opened (#906)"],
      ["done", "pull request merged (#906)"],
    ]);
  });

  it("moves the tasks it knows when a pull request also closes an issue Entourage never saw", async () => {
    const { number, task } = await openIssue();
    const opened = await deliver("pull_request", pullRequestPayload("opened", { number: 908, body: `Fixes #99999\nFixes #${number}` }));
    expect(opened.status).toBe("processed");
    expect(await statusOf(task.id)).toBe("in_review");
  });

  it("moves nothing when a draft is reopened", async () => {
    const { number, task } = await openIssue();
    const reopened = await deliver("pull_request", pullRequestPayload("reopened", { number: 909, body: `Fixes #${number}`, draft: true }));
    expect(reopened.status).toBe("processed");
    expect(await statusOf(task.id)).toBe("todo");
  });

  it("moves nothing when a draft is closed: a task in review through another pull request stays in review", async () => {
    const { number, task } = await openIssue();
    await deliver("pull_request", pullRequestPayload("opened", { number: 910, body: `Fixes #${number}` }));
    expect(await statusOf(task.id)).toBe("in_review");
    const closed = await deliver("pull_request", pullRequestPayload("closed", { number: 911, body: `Fixes #${number}`, draft: true }));
    expect(closed.actions[0]).toMatch(/draft/);
    expect(await statusOf(task.id)).toBe("in_review");
  });

  it("a push has no rule: it is processed and moves no task, even one its commit message closes", async () => {
    const { number, task } = await openIssue();
    const push = githubExample("push");
    push.head_commit.message = `Fixes #${number}`;
    const delivery = await deliver("push", push);
    expect(delivery).toMatchObject({ event_type: "push", status: "processed" });
    expect(await statusOf(task.id)).toBe("todo");
  });

  it("never moves another org's task named by id", async () => {
    const other = await app.bootstrap({ name: "other" });
    const theirs = await app.request("POST", "/api/v1/tasks", { key: other.api_key, body: { team_id: other.team_id, title: "private" } });
    const res = await deliver("pull_request", pullRequestPayload("opened", { number: 905, body: `Entourage-Task: #${theirs.body.id}` }));
    // The pull request is still reviewed (Reviews), without a task to move.
    expect(res.actions.slice(0, 2)).toEqual(["pull request #905 links no task", expect.stringMatching(/^review #\d+ requested for ec26c3e$/)]);
    expect(await statusOf(theirs.body.id)).toBe("todo");
  });

  describe("parseTaskLinks", () => {
    it("reads closing keywords, cross-repo references, trailers and branches", () => {
      const links = parseTaskLinks(
        { title: "Fix: closes #4", body: "Fixes octo/other#7\nresolved #9\nmentions #10\nEntourage-Task: #601, #602", branch: "task-603/issue-11-x" },
        "octo/repo",
      );
      expect(links.issues).toEqual([
        { repository: "octo/repo", number: 4 },
        { repository: "octo/other", number: 7 },
        { repository: "octo/repo", number: 9 },
        { repository: "octo/repo", number: 11 },
      ]);
      expect(links.taskIds).toEqual([601, 602, 603]);
    });

    it("does not take words that merely contain a keyword or a task number", () => {
      const links = parseTaskLinks({ title: "prefixes #4", body: "hotfix#5 subtask-6", branch: "multitask-7" }, "o/r");
      expect(links).toEqual({ issues: [], taskIds: [] });
    });
  });
});
