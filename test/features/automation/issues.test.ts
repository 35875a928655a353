import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { pruneHistory } from "../../../src/features/retention/prune-history.js";
import { issuePayload } from "../../helpers/github-payloads.js";
import { taskEventDetails } from "../../helpers/task-events.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

const DAY = 86_400_000;

describe("automation: GitHub issues become tasks", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;
  let nextIssue = 100;

  const deliver = (payload: unknown, hook = webhook) => deliverAndWait(app, hook, payload, { event: "issues" });
  const taskFor = (number: number, repo = "Codertocat/Hello-World") =>
    app.db.knex("tasks").where({ source_key: `github:issue:${repo.toLowerCase()}#${number}` });
  const eventsOf = (taskId: number, type: string) => taskEventDetails(app.db.knex, taskId, type);

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"] });
  });
  afterAll(() => app.close());

  it("issues.opened creates a task with title, description and link, priority and type from labels, tags and source", async () => {
    const number = nextIssue++;
    const payload = issuePayload("opened", { number, title: "Login broken on Safari", body: "Steps: open Safari.", labels: ["bug", "P1"] });
    const delivery = await deliver(payload);
    const [task] = await taskFor(number);
    expect(delivery.status).toBe("processed");
    expect(delivery.actions).toEqual([`created task #${task.id}`]);

    const res = await app.request("GET", `/api/v1/tasks/${task.id}`, { key: acme.api_key });
    expect(res.body).toMatchObject({
      title: "Login broken on Safari",
      description: `Steps: open Safari.\n\nGitHub issue: ${payload.issue.html_url}`,
      priority: "high",
      task_type: "bugfix",
      status: "todo",
      team_id: acme.team_id,
      assignee_id: null,
      tags: ["github", `issue:${number}`, "repo:Codertocat/Hello-World", "bug", "P1"],
      source: {
        kind: "github_issue",
        repository: "Codertocat/Hello-World",
        issue_number: number,
        node_id: payload.issue.node_id,
        html_url: payload.issue.html_url,
        installation_id: null,
      },
    });
    const events = await app.db.knex("events").whereRaw("(data->>'task_id')::int = ?", [task.id]).pluck("type");
    expect(events).toEqual(["task.created"]);
  });

  it.each([
    [["urgent"], "critical", "bugfix"],
    [["p0", "enhancement"], "critical", "feature"],
    [["important", "documentation"], "high", "docs"],
    [["minor"], "low", "bugfix"],
    [["question"], "medium", "bugfix"],
  ])("labels %j give priority %s and type %s", async (labels, priority, taskType) => {
    const number = nextIssue++;
    await deliver(issuePayload("opened", { number, labels }));
    const [task] = await taskFor(number);
    expect(task).toMatchObject({ priority, task_type: taskType });
  });

  it("uses the webhook's default_task_type when no label names a type", async () => {
    const docs = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"], config: { default_task_type: "chore" } });
    const number = nextIssue++;
    await deliver(issuePayload("opened", { number, labels: [], repository: "acme/ops" }), docs);
    const [task] = await taskFor(number, "acme/ops");
    expect(task.task_type).toBe("chore");
  });

  it("never makes two tasks for one issue, whatever arrives twice", async () => {
    const number = nextIssue++;
    const payload = issuePayload("opened", { number });
    const deliveries = await Promise.all([1, 2, 3].map(() => deliver(payload)));
    expect(await taskFor(number)).toHaveLength(1);
    expect(deliveries.filter((d) => d.actions[0].startsWith("created task"))).toHaveLength(1);
  });

  it("follows the issue: closed completed → done, reopened → todo, closed not_planned → cancelled", async () => {
    const number = nextIssue++;
    await deliver(issuePayload("opened", { number, updated_at: "2026-01-01T10:00:00Z" }));
    await deliver(issuePayload("closed", { number, updated_at: "2026-01-01T11:00:00Z" }));
    expect((await taskFor(number))[0].status).toBe("done");
    await deliver(issuePayload("reopened", { number, updated_at: "2026-01-01T12:00:00Z" }));
    expect((await taskFor(number))[0].status).toBe("todo");
    await deliver(issuePayload("closed", { number, state_reason: "not_planned", updated_at: "2026-01-01T13:00:00Z" }));
    const [task] = await taskFor(number);
    expect(task.status).toBe("cancelled");
    // Subscribers learn that GitHub moved the task, and which way.
    expect(await eventsOf(task.id, "task.status_changed")).toEqual([
      { from: "todo", to: "done", reason: "issue closed on GitHub" },
      { from: "done", to: "todo", reason: "issue reopened on GitHub" },
      { from: "todo", to: "cancelled", reason: "issue closed on GitHub" },
    ]);
  });

  it("ignores an issues event about a pull request (GitHub counts pull requests as issues)", async () => {
    const number = nextIssue++;
    const payload = issuePayload("opened", { number });
    payload.issue.pull_request = { url: `https://api.github.com/repos/Codertocat/Hello-World/pulls/${number}` };
    const delivery = await deliver(payload);
    expect(delivery.status).toBe("ignored");
    expect(await taskFor(number)).toEqual([]);
  });

  it("trims the issue's body into the description, and links the issue alone when the body is empty", async () => {
    const [padded, empty] = [nextIssue++, nextIssue++];
    await deliver(issuePayload("opened", { number: padded, body: "\n  Steps: open Safari.  \n\n" }));
    await deliver(issuePayload("opened", { number: empty, body: null }));
    const link = (number: number) => `https://github.com/Codertocat/Hello-World/issues/${number}`;
    expect((await taskFor(padded))[0].description).toBe(`Steps: open Safari.\n\nGitHub issue: ${link(padded)}`);
    expect((await taskFor(empty))[0].description).toBe(`GitHub issue: ${link(empty)}`);
  });

  describe("announcing a finished task on its issue", () => {
    let closing: RegisteredWebhook;
    const setStatus = async (id: number, status: string) => expect((await app.request("PATCH", `/api/v1/tasks/${id}`, { key: acme.api_key, body: { status } })).status).toBe(200);
    const outbox = (taskId: number) => app.db.knex("github_outbox").where({ task_id: taskId }).orderBy("id").select("kind", "dedupe_key", "request");

    beforeAll(async () => {
      closing = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"], config: { close_issue: true } });
    });

    it("queues the resolution comment and, with close_issue, the close — again for each time the task is finished", async () => {
      const number = nextIssue++;
      await deliver(issuePayload("opened", { number, updated_at: "2026-01-01T10:00:00Z" }), closing);
      const [task] = await taskFor(number);
      await setStatus(task.id, "in_progress");
      await setStatus(task.id, "done");
      const first = [
        { kind: "issue_comment", dedupe_key: `resolution:${task.id}:1`, request: { issue_number: number, body: `Resolved in task #${task.id}` } },
        { kind: "close_issue", dedupe_key: `close:${task.id}:1`, request: { issue_number: number, state_reason: "completed" } },
      ];
      expect(await outbox(task.id)).toEqual(first);

      // Reopened on GitHub, then finished again: announced again, under a new key.
      await deliver(issuePayload("reopened", { number, updated_at: "2026-01-01T12:00:00Z" }), closing);
      expect((await taskFor(number))[0].status).toBe("todo");
      await setStatus(task.id, "in_progress");
      await setStatus(task.id, "done");
      expect(await outbox(task.id)).toEqual([
        ...first,
        { kind: "issue_comment", dedupe_key: `resolution:${task.id}:2`, request: { issue_number: number, body: `Resolved in task #${task.id}` } },
        { kind: "close_issue", dedupe_key: `close:${task.id}:2`, request: { issue_number: number, state_reason: "completed" } },
      ]);
    });

    it("announces a task finished again after retention pruned the events of its earlier completion", async () => {
      const number = nextIssue++;
      await deliver(issuePayload("opened", { number, updated_at: "2026-01-01T10:00:00Z" }), closing);
      const [task] = await taskFor(number);
      await setStatus(task.id, "in_progress");
      await setStatus(task.id, "done");
      // A month on, retention has pruned the events (its task.completed among them); the queued comment
      // is kept for as long as deliveries are (90 days by default), so its dedupe key is still taken.
      const settings = { DELIVERY_PAYLOAD_RETENTION_DAYS: 0, DELIVERY_RETENTION_DAYS: 90, EVENT_RETENTION_DAYS: 30 };
      const pruned = await pruneHistory({ knex: app.db.knex, logger: app.ctx.logger, now: () => new Date(Date.now() + 31 * DAY) }, settings);
      expect(pruned?.events).toBeGreaterThan(0);
      expect(await eventsOf(task.id, "task.completed")).toEqual([]);

      await deliver(issuePayload("reopened", { number, updated_at: "2026-01-01T12:00:00Z" }), closing);
      await setStatus(task.id, "in_progress");
      await setStatus(task.id, "done");
      expect((await outbox(task.id)).map((row) => row.dedupe_key)).toEqual([`resolution:${task.id}:1`, `close:${task.id}:1`, `resolution:${task.id}:2`, `close:${task.id}:2`]);
    });

    it("posts nothing when the task is cancelled", async () => {
      const number = nextIssue++;
      await deliver(issuePayload("opened", { number }), closing);
      const [task] = await taskFor(number);
      // The change and anything it queues commit together: once answered, a queued comment would be there.
      await setStatus(task.id, "cancelled");
      expect(await outbox(task.id)).toEqual([]);
    });

    it("posts nothing when GitHub itself closed the issue", async () => {
      const number = nextIssue++;
      await deliver(issuePayload("opened", { number, updated_at: "2026-01-01T10:00:00Z" }), closing);
      const delivery = await deliver(issuePayload("closed", { number, updated_at: "2026-01-01T11:00:00Z" }), closing);
      // The delivery's effects commit with its status: once processed, anything queued would be there.
      expect(delivery.status).toBe("processed");
      const [task] = await taskFor(number);
      expect(task.status).toBe("done");
      expect(await outbox(task.id)).toEqual([]);
    });
  });

  it("follows edits and label changes", async () => {
    const number = nextIssue++;
    await deliver(issuePayload("opened", { number, title: "Old", labels: ["bug"], updated_at: "2026-01-01T10:00:00Z" }));
    const edited = await deliver(issuePayload("edited", { number, title: "New title", body: "New body", labels: ["bug"], updated_at: "2026-01-01T10:05:00Z" }));
    expect(edited.actions[0]).toMatch(/updated task #\d+ title and description/);
    await deliver(issuePayload("labeled", { number, labels: ["enhancement", "critical"], updated_at: "2026-01-01T10:06:00Z" }));
    const [task] = await taskFor(number);
    expect(task).toMatchObject({ title: "New title", priority: "critical", task_type: "feature" });
    expect(task.description).toMatch(/^New body\n\nGitHub issue: /);
    expect(task.tags).toEqual(["github", `issue:${number}`, "repo:Codertocat/Hello-World", "enhancement", "critical"]);
  });

  it("an edit of the body alone changes the description; an edit that changes neither title nor body changes nothing", async () => {
    const number = nextIssue++;
    await deliver(issuePayload("opened", { number, title: "Same title", body: "v1", updated_at: "2026-04-01T10:00:00Z" }));
    await deliver(issuePayload("edited", { number, title: "Same title", body: "v2", updated_at: "2026-04-01T10:01:00Z" }));
    const [task] = await taskFor(number);
    expect(task.description).toMatch(/^v2\n\nGitHub issue: /);
    // GitHub also sends `edited` for changes Entourage does not mirror (say, the issue type).
    const unchanged = await deliver(issuePayload("edited", { number, title: "Same title", body: "v2", updated_at: "2026-04-01T10:02:00Z" }));
    expect(unchanged.status).toBe("processed");
    expect(await eventsOf(task.id, "task.updated")).toEqual([{ changes: ["title", "description"], reason: "issue edited" }]);
  });

  it("follows a label removed: priority and type fall back, the label leaves the tags, subscribers are told", async () => {
    const number = nextIssue++;
    await deliver(issuePayload("opened", { number, labels: ["P1", "enhancement"], updated_at: "2026-04-02T10:00:00Z" }));
    await deliver(issuePayload("unlabeled", { number, labels: ["enhancement"], updated_at: "2026-04-02T10:01:00Z" }));
    const [task] = await taskFor(number);
    expect(task).toMatchObject({ priority: "medium", task_type: "feature", tags: ["github", `issue:${number}`, "repo:Codertocat/Hello-World", "enhancement"] });
    expect(await eventsOf(task.id, "task.updated")).toEqual([{ changes: ["priority", "task_type", "tags"], reason: "issue unlabeled" }]);
  });

  it("handles closed before opened: one task, done, and the late opened changes nothing", async () => {
    const number = nextIssue++;
    const closed = await deliver(issuePayload("closed", { number, updated_at: "2026-02-01T12:00:00Z" }));
    expect(closed.actions[0]).toMatch(/^created task #\d+$/);
    const opened = await deliver(issuePayload("opened", { number, updated_at: "2026-02-01T11:00:00Z" }));
    expect(opened.status).toBe("ignored");
    expect(opened.actions[0]).toMatch(/older than the state already applied/);
    const tasks = await taskFor(number);
    expect(tasks).toHaveLength(1);
    expect(tasks[0].status).toBe("done");
  });

  it("never lets an older edit overwrite a newer one", async () => {
    const number = nextIssue++;
    await deliver(issuePayload("opened", { number, title: "v1", updated_at: "2026-03-01T10:00:00Z" }));
    await deliver(issuePayload("edited", { number, title: "v3", updated_at: "2026-03-01T10:03:00Z" }));
    await deliver(issuePayload("edited", { number, title: "v2", updated_at: "2026-03-01T10:02:00Z" }));
    expect((await taskFor(number))[0].title).toBe("v3");
  });

  it("ignores events for an issue it never saw open (except closed/reopened)", async () => {
    const number = nextIssue++;
    const res = await deliver(issuePayload("labeled", { number, labels: ["bug"] }));
    expect(res.status).toBe("ignored");
    expect(await taskFor(number)).toEqual([]);
  });

  it("fails a payload that lacks the issue at once, without retrying", async () => {
    const res = await sendDelivery(app.url, webhook, { action: "opened", repository: { full_name: "Codertocat/Hello-World" } }, { event: "issues" });
    const row = await waitFor(async () => {
      const r = await app.db.knex("deliveries").where({ id: res.body.delivery_id }).first();
      return r.status === "failed" && r;
    }, "failure");
    expect(row.attempts).toBe(1);
    expect(row.error).toMatch(/lacks required fields: issue/);
  });
});

describe("automation: values PostgreSQL refuses", () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  it("fails a delivery whose issue title holds a NUL character at once, with the reason, instead of retrying", async () => {
    const acme = await app.bootstrap();
    const webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["issues.*"] });
    // Stored as received (the writer keeps it storable), but a task title cannot hold U+0000.
    const row = await deliverAndWait(app, webhook, issuePayload("opened", { number: 1, title: "nul\u0000title" }), { event: "issues" });
    expect(row.attempts).toBe(1);
    expect(row).toMatchObject({ status: "failed", attempts: 1 });
    expect(row.error).toMatch(/0x00/);
  });
});
