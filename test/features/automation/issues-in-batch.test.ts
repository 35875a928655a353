import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { issuePayload, pullRequestPayload } from "../../helpers/github-payloads.js";
import { batchWorkers } from "../../helpers/batch-workers.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

// The deliveries are stored first (web only), then one worker claims them all in one batch.
describe("automation: a batch of issue deliveries in one transaction", () => {
  let app: TestApp;
  let nextIssue = 1;
  let workers: ReturnType<typeof batchWorkers>;
  let logLines: string[];

  beforeAll(async () => {
    app = await startTestApp({ ENTOURAGE_WORKER: "off" });
    workers = batchWorkers(app);
    logLines = workers.logLines;
  });
  afterEach(() => workers.stopAll());
  afterAll(() => app.close());

  const setup = async (engineers: number) => {
    const org = await app.bootstrap({ engineers, name: `org-${Math.random()}` });
    const repository = `acme/r${Math.random().toString(36).slice(2, 8)}`;
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*", "pull_request.*"], config: { auto_assign: true } });
    return { org, webhook, repository };
  };
  const store = async (webhook: RegisteredWebhook, payload: unknown, event = "issues") => {
    const res = await sendDelivery(app.url, webhook, payload, { event });
    expect(res.status).toBe(202);
    return res.body.delivery_id as string;
  };
  const startWorker = (name: string, perTransaction?: number) => workers.start(name, perTransaction);
  const settled = (ids: string[]) => workers.settled(ids);
  const tasksOf = (org: BootstrapResult) => app.db.knex("tasks").where({ team_id: org.team_id }).orderBy("id");

  it("opens many issues as one processed one by one would: one task each, free engineers first, the rest waiting", async () => {
    const { org, webhook, repository } = await setup(2);
    const numbers = Array.from({ length: 6 }, () => nextIssue++);
    const ids: string[] = [];
    for (const number of numbers) ids.push(await store(webhook, issuePayload("opened", { number, repository, title: `issue ${number}` })));
    await startWorker("batcher");
    const rows = await settled(ids);

    const tasks = await tasksOf(org);
    expect(tasks.map((task) => task.title)).toEqual(numbers.map((n) => `issue ${n}`));
    expect(tasks.map((task) => task.assignee_id)).toEqual([org.agents[0]!.id, org.agents[1]!.id, null, null, null, null]);
    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([
      [`created task #${tasks[0].id}`, "assigned to eng-1"],
      [`created task #${tasks[1].id}`, "assigned to eng-2"],
      ...tasks.slice(2).map((task) => [`created task #${task.id}`, "no engineer available: waiting for one"]),
    ]);
    expect(ids.every((id) => rows.get(id)!.status === "processed")).toBe(true);
    const created = await app.db.knex("events").where({ org_id: org.org_id, type: "task.created" }).orderBy("id");
    expect(created.map((event) => event.data.task_id)).toEqual(tasks.map((task) => task.id));
    const assigned = await app.db.knex("events").where({ org_id: org.org_id, type: "task.assigned" });
    expect(assigned).toHaveLength(2);
    // The webhook recorded its first repository on the way, as a lone delivery would have.
    expect((await app.db.knex("webhooks").where({ id: webhook.id }).first()).first_repository).toBe(repository);
  });

  it("applies events of one issue in their order when a batch mixes them: closed, then a late opened, then reopened", async () => {
    const { org, webhook, repository } = await setup(0);
    const number = nextIssue++;
    const other = nextIssue++;
    const ids = [
      await store(webhook, issuePayload("closed", { number, repository, updated_at: "2026-02-01T12:00:00Z" })),
      await store(webhook, issuePayload("opened", { number, repository, updated_at: "2026-02-01T11:00:00Z" })),
      await store(webhook, issuePayload("opened", { number: other, repository })),
      await store(webhook, issuePayload("reopened", { number, repository, updated_at: "2026-02-01T13:00:00Z" })),
    ];
    await startWorker("batcher");
    const rows = await settled(ids);

    const [closed, lateOpened, otherOpened, reopened] = ids.map((id) => rows.get(id)!);
    const tasks = await tasksOf(org);
    expect(tasks).toHaveLength(2);
    const task = tasks.find((t) => t.source_key.endsWith(`#${number}`))!;
    expect(closed!.actions[0]).toBe(`created task #${task.id}`);
    expect(lateOpened).toMatchObject({ status: "ignored" });
    expect(lateOpened!.actions[0]).toMatch(/older than the state already applied/);
    expect(reopened!.actions).toEqual([`task #${task.id} done → todo`]);
    expect(task.status).toBe("todo");
    expect(otherOpened!.actions[0]).toMatch(/^created task #\d+$/);
  });

  it("fails a poisoned delivery alone and commits its neighbours in the same transaction", async () => {
    const { org, webhook, repository } = await setup(0);
    const numbers = Array.from({ length: 5 }, () => nextIssue++);
    const ids: string[] = [];
    for (const number of numbers) {
      // PostgreSQL refuses U+0000 in a task title: the set-wise INSERT fails for the whole batch.
      const title = number === numbers[2] ? "nul\u0000title" : `issue ${number}`;
      ids.push(await store(webhook, issuePayload("opened", { number, repository, title })));
    }
    logLines.length = 0;
    await startWorker("batcher");
    const rows = await settled(ids);

    const poisoned = rows.get(ids[2]!)!;
    expect(poisoned).toMatchObject({ status: "failed", attempts: 1 });
    expect(poisoned.error).toMatch(/0x00/);
    for (const id of ids.filter((id) => id !== ids[2])) expect(rows.get(id)).toMatchObject({ status: "processed", attempts: 1 });
    expect((await tasksOf(org)).map((task) => task.title)).toEqual(numbers.filter((n) => n !== numbers[2]).map((n) => `issue ${n}`));
    // The batch step fell back to one delivery at a time inside the transaction; the transaction itself committed.
    expect(logLines.some((line) => line.includes("applying them one delivery at a time"))).toBe(true);
    expect(logLines.some((line) => line.includes("could not be committed"))).toBe(false);
  });

  it("makes one task per issue when two workers race on batches of the same issues", async () => {
    const { org, webhook, repository } = await setup(1);
    const numbers = Array.from({ length: 10 }, () => nextIssue++);
    const ids: string[] = [];
    // Each issue's opened arrives twice (two GUIDs): the first ten go to one worker's batch, the second ten to the other's.
    for (let round = 0; round < 2; round++) {
      for (const number of numbers) ids.push(await store(webhook, issuePayload("opened", { number, repository })));
    }
    logLines.length = 0;
    await Promise.all([startWorker("w1", 10), startWorker("w2", 10)]);
    const rows = await settled(ids);

    expect([...rows.values()].every((row) => row.status === "processed")).toBe(true);
    const tasks = await tasksOf(org);
    expect(tasks).toHaveLength(numbers.length);
    expect(new Set(tasks.map((task) => task.source_key)).size).toBe(numbers.length);
    const creations = [...rows.values()].filter((row) => row.actions[0]?.startsWith("created task"));
    expect(creations).toHaveLength(numbers.length);
    expect(tasks.filter((task) => task.assignee_id)).toHaveLength(1);
    expect(await app.db.knex("events").where({ org_id: org.org_id, type: "task.created" })).toHaveLength(numbers.length);
    // The later batch waited on the issues' locks and saw the tasks: no unique violation sent it the slow way.
    expect(logLines.filter((line) => line.includes("applying them one delivery at a time"))).toEqual([]);
  });

  /** Opens the issues (processed by a worker of their own, then stopped); returns their tasks by issue number. */
  const openIssues = async (org: BootstrapResult, webhook: RegisteredWebhook, repository: string, numbers: number[], labels: Record<number, string[]> = {}) => {
    const ids: string[] = [];
    for (const number of numbers) ids.push(await store(webhook, issuePayload("opened", { number, repository, title: `issue ${number}`, labels: labels[number] })));
    await startWorker("opener");
    await settled(ids);
    await workers.stopAll();
    const tasks = await tasksOf(org);
    return new Map(numbers.map((number) => [number, tasks.find((task) => task.title === `issue ${number}`)!]));
  };
  const later = "2026-02-01T12:00:00Z";
  /** Processes the stored follow-ups with a new worker; returns their rows, and each issue's task as it is now. */
  const processFollowUps = async (name: string, ids: string[], org: BootstrapResult, opened: Map<number, { id: number }>) => {
    logLines.length = 0;
    await startWorker(name);
    const rows = await settled(ids);
    const after = new Map((await tasksOf(org)).map((task) => [task.id, task]));
    return { rows, task: (number: number) => after.get(opened.get(number)!.id)! };
  };

  it("closes many issues' tasks in one batch as one by one would, and the engineer it frees takes a task that stays open", async () => {
    const { org, webhook, repository } = await setup(1);
    const numbers = Array.from({ length: 6 }, () => nextIssue++);
    const [first, second, third, stale, fifth, sixth] = numbers as [number, number, number, number, number, number];
    const tasks = await openIssues(org, webhook, repository, numbers);
    const engineer = org.agents[0]!.id;
    expect(tasks.get(first)!.assignee_id).toBe(engineer); // the rest wait for it
    const eventsBefore = Number((await app.db.knex("events").where({ org_id: org.org_id }).max({ id: "id" }))[0]!.id);

    const ids = [
      await store(webhook, issuePayload("closed", { number: first, repository, updated_at: later })),
      await store(webhook, issuePayload("closed", { number: second, repository, updated_at: later })),
      await store(webhook, issuePayload("closed", { number: third, repository, updated_at: later, state_reason: "not_planned" })),
      // Older than the opened event already applied to its task: changes nothing.
      await store(webhook, issuePayload("closed", { number: stale, repository, updated_at: "2001-01-01T00:00:00Z" })),
      // Its task is open already: nothing moves, but the issue's updated_at is recorded.
      await store(webhook, issuePayload("reopened", { number: sixth, repository, updated_at: later })),
    ];
    const { rows, task } = await processFollowUps("closer", ids, org, tasks);
    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([
      [`task #${task(first).id} todo → done`],
      [`task #${task(second).id} todo → done`],
      [`task #${task(third).id} todo → cancelled`],
      [`ignored: older than the state already applied to task #${task(stale).id} (updated_at 2001-01-01T00:00:00Z)`],
      [`task #${task(sixth).id} already up to date`],
    ]);
    expect(ids.map((id) => rows.get(id)!.status)).toEqual(["processed", "processed", "processed", "ignored", "processed"]);
    expect([first, second, third, stale, fifth, sixth].map((number) => task(number).status)).toEqual(["done", "done", "cancelled", "todo", "todo", "todo"]);
    expect(task(first).completed_at).not.toBeNull();
    for (const number of [second, sixth]) expect(task(number).source_updated_at.toISOString()).toBe("2026-02-01T12:00:00.000Z");
    expect(task(stale).source_updated_at.toISOString()).toBe(tasks.get(stale)!.source_updated_at.toISOString());
    // Freed, the engineer took the oldest waiting task still open. One by one, it would first have
    // been handed the second and third issues' tasks, which this batch closes.
    expect((await tasksOf(org)).filter((t) => t.assignee_id === engineer).map((t) => t.id)).toEqual([task(first).id, task(stale).id]);
    const events = await app.db.knex("events").where({ org_id: org.org_id }).where("id", ">", eventsBefore).orderBy("id");
    const about = (type: string) => events.filter((event) => event.type === type).map((event) => event.data.task_id);
    expect(about("task.status_changed")).toEqual([task(first).id, task(second).id, task(third).id]);
    expect(about("task.completed")).toEqual([task(first).id, task(second).id]);
    expect(about("task.assigned")).toEqual([task(stale).id]);
    // Nothing is announced on issues GitHub itself closed.
    expect(await app.db.knex("github_outbox").where({ org_id: org.org_id })).toEqual([]);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  it("reopens tasks in a batch, and leaves a delivery with an unreadable updated_at to fail alone", async () => {
    const { org, webhook, repository } = await setup(0);
    const numbers = Array.from({ length: 3 }, () => nextIssue++);
    const tasks = await openIssues(org, webhook, repository, numbers);
    const closes = [];
    for (const number of numbers) closes.push(await store(webhook, issuePayload("closed", { number, repository, updated_at: later })));
    await startWorker("closer");
    await settled(closes);
    await workers.stopAll();

    const ids = numbers.map((number, i) =>
      issuePayload("reopened", { number, repository, updated_at: i === 1 ? "not a date" : "2026-02-02T12:00:00Z" }),
    );
    const stored: string[] = [];
    for (const payload of ids) stored.push(await store(webhook, payload));
    logLines.length = 0;
    await startWorker("reopener");
    const rows = await settled(stored);

    const statuses = new Map((await tasksOf(org)).map((task) => [task.id, task.status]));
    expect(numbers.map((number) => statuses.get(tasks.get(number)!.id))).toEqual(["todo", "done", "todo"]);
    expect(stored.map((id) => rows.get(id)!.status)).toEqual(["processed", "failed", "processed"]);
    expect(rows.get(stored[0]!)!.actions).toEqual([`task #${tasks.get(numbers[0]!)!.id} done → todo`]);
    expect(rows.get(stored[1]!)!.error).toMatch(/issue\.updated_at/);
    // Refused by the payload's schema, never sent to the database: the others stay set-wise.
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  it("fails an edit the database refuses alone: the set-wise step falls back to one delivery at a time in the same transaction", async () => {
    const { org, webhook, repository } = await setup(0);
    const numbers = Array.from({ length: 3 }, () => nextIssue++);
    const tasks = await openIssues(org, webhook, repository, numbers);
    const stored: string[] = [];
    // PostgreSQL refuses U+0000 in a task title: the set-wise UPDATE fails for the whole batch.
    for (const [i, number] of numbers.entries()) {
      stored.push(await store(webhook, issuePayload("edited", { number, repository, title: i === 1 ? "nul\u0000title" : `edited ${number}`, updated_at: later })));
    }
    logLines.length = 0;
    await startWorker("editor");
    const rows = await settled(stored);

    expect(stored.map((id) => rows.get(id)!.status)).toEqual(["processed", "failed", "processed"]);
    expect(rows.get(stored[1]!)!.error).toMatch(/0x00/);
    const titles = new Map((await tasksOf(org)).map((task) => [task.id, task.title]));
    expect(numbers.map((number) => titles.get(tasks.get(number)!.id))).toEqual([`edited ${numbers[0]}`, `issue ${numbers[1]}`, `edited ${numbers[2]}`]);
    expect(logLines.some((line) => line.includes("applying them one delivery at a time"))).toBe(true);
    expect(logLines.some((line) => line.includes("could not be committed"))).toBe(false);
  });

  it("edits and relabels many issues' tasks in one batch as one by one would", async () => {
    const { org, webhook, repository } = await setup(0);
    const numbers = Array.from({ length: 6 }, () => nextIssue++);
    const [edited, unchanged, labeled, unlabeled, stale, assigned] = numbers as [number, number, number, number, number, number];
    const tasks = await openIssues(org, webhook, repository, numbers, { [unlabeled]: ["enhancement", "low"] });
    expect(tasks.get(unlabeled)).toMatchObject({ priority: "low", task_type: "feature" });
    const opened = tasks.get(unchanged)!;
    const eventsBefore = Number((await app.db.knex("events").where({ org_id: org.org_id }).max({ id: "id" }))[0]!.id);

    const ids = [
      await store(webhook, issuePayload("labeled", { number: labeled, repository, title: `issue ${labeled}`, labels: ["bug", "P0: urgent"], updated_at: later })),
      await store(webhook, issuePayload("edited", { number: edited, repository, title: "a new title", body: "a new body", updated_at: later })),
      // The same title and body as its task has: nothing to change.
      await store(webhook, issuePayload("edited", { number: unchanged, repository, title: `issue ${unchanged}`, updated_at: later })),
      await store(webhook, issuePayload("unlabeled", { number: unlabeled, repository, title: `issue ${unlabeled}`, labels: [], updated_at: later })),
      await store(webhook, issuePayload("edited", { number: stale, repository, title: "too late", updated_at: "2001-01-01T00:00:00Z" })),
      // No rule for it: recorded, nothing else (the labels it carries change nothing).
      await store(webhook, { ...issuePayload("labeled", { number: assigned, repository, labels: ["critical"], updated_at: later }), action: "assigned" }),
    ];
    const { rows, task } = await processFollowUps("editor", ids, org, tasks);
    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([
      [`task #${task(labeled).id} priority critical, type bugfix`],
      [`updated task #${task(edited).id} title and description`],
      [`task #${task(unchanged).id} already up to date`],
      [`task #${task(unlabeled).id} priority medium, type bugfix`], // the webhook's default type
      [`ignored: older than the state already applied to task #${task(stale).id} (updated_at 2001-01-01T00:00:00Z)`],
      ["no rule for issues.assigned"],
    ]);
    expect(task(assigned)).toMatchObject({ priority: tasks.get(assigned)!.priority, tags: tasks.get(assigned)!.tags });
    expect(task(labeled)).toMatchObject({ priority: "critical", task_type: "bugfix", tags: ["github", `issue:${labeled}`, `repo:${repository}`, "bug", "P0: urgent"] });
    expect(task(edited).title).toBe("a new title");
    expect(task(edited).description).toMatch(/^a new body\n\nGitHub issue: https:/);
    expect(task(unchanged)).toMatchObject({ title: opened.title, description: opened.description, tags: opened.tags });
    expect(task(unlabeled)).toMatchObject({ priority: "medium", task_type: "bugfix", tags: ["github", `issue:${unlabeled}`, `repo:${repository}`] });
    expect(task(stale).title).toBe(`issue ${stale}`);
    for (const number of [edited, unchanged, labeled, unlabeled]) expect(task(number).source_updated_at.toISOString()).toBe("2026-02-01T12:00:00.000Z");
    const updates = await app.db.knex("events").where({ org_id: org.org_id, type: "task.updated" }).where("id", ">", eventsBefore).orderBy("id");
    expect(updates.map((event) => [event.data.task_id, event.data.reason, event.data.changes, event.data.task.title])).toEqual([
      [task(edited).id, "issue edited", ["title", "description"], "a new title"],
      [task(labeled).id, "issue labeled", ["priority", "task_type", "tags"], `issue ${labeled}`],
      [task(unlabeled).id, "issue unlabeled", ["priority", "task_type", "tags"], `issue ${unlabeled}`],
    ]);
    expect(updates[1].data.task.tags).toEqual(task(labeled).tags);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  it("closes each task once when two workers race on batches closing the same issues", async () => {
    const { org, webhook, repository } = await setup(0);
    const numbers = Array.from({ length: 10 }, () => nextIssue++);
    const tasks = await openIssues(org, webhook, repository, numbers);
    const ids: string[] = [];
    // Each close arrives twice (two GUIDs): the first ten go to one worker's batch, the second ten to the other's.
    for (let round = 0; round < 2; round++) {
      for (const number of numbers) ids.push(await store(webhook, issuePayload("closed", { number, repository, updated_at: later })));
    }
    logLines.length = 0;
    await Promise.all([startWorker("w1", 10), startWorker("w2", 10)]);
    const rows = await settled(ids);

    expect([...rows.values()].every((row) => row.status === "processed")).toBe(true);
    expect((await tasksOf(org)).every((task) => task.status === "done")).toBe(true);
    const moves = [...rows.values()].filter((row) => row.actions[0]?.endsWith("todo → done"));
    expect(moves).toHaveLength(numbers.length);
    expect([...rows.values()].filter((row) => row.actions[0]?.endsWith("already up to date"))).toHaveLength(numbers.length);
    const completed = await app.db.knex("events").where({ org_id: org.org_id, type: "task.completed" });
    expect(completed.map((event) => event.data.task_id).sort()).toEqual([...tasks.values()].map((task) => task.id).sort());
    expect(logLines.filter((line) => line.includes("applying them one delivery at a time"))).toEqual([]);
  });

  it("holds a batch to the webhook's entitlement: its first repository only, and no installation from the payload", async () => {
    const { org, webhook, repository } = await setup(0);
    const [first, elsewhere] = [nextIssue++, nextIssue++];
    // Signed with the webhook's own secret: an `installation` in it is data a sender wrote, never a credential.
    const forged = { ...issuePayload("opened", { number: first, repository, title: "ours" }), installation: { id: 4242 } };
    const ids = [await store(webhook, forged), await store(webhook, issuePayload("opened", { number: elsewhere, repository: "acme/not-this-one", title: "theirs" }))];
    logLines.length = 0;
    await startWorker("batcher");
    const rows = await settled(ids);

    expect(ids.map((id) => rows.get(id)!.status)).toEqual(["processed", "ignored"]);
    expect(rows.get(ids[1]!)!.actions).toEqual([
      `ignored: this webhook acts only on ${repository}, the first repository it received from (name others in config.repositories), not on acme/not-this-one`,
    ]);
    const tasks = await tasksOf(org);
    expect(tasks.map((task) => task.title)).toEqual(["ours"]);
    expect(tasks[0].source.installation_id).toBeNull();
    expect((await app.db.knex("webhooks").where({ id: webhook.id }).first()).first_repository).toBe(repository);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  it("makes no task for an issues.opened about a pull request in a batch, beside one it does", async () => {
    const { org, webhook, repository } = await setup(0);
    const [pull, issue] = [nextIssue++, nextIssue++];
    const aboutPull = issuePayload("opened", { number: pull, repository });
    aboutPull.issue.pull_request = { url: `https://api.github.com/repos/${repository}/pulls/${pull}` };
    const ids = [await store(webhook, aboutPull), await store(webhook, issuePayload("opened", { number: issue, repository, title: "a real issue" }))];
    await startWorker("batcher");
    const rows = await settled(ids);

    expect(ids.map((id) => rows.get(id)!.status)).toEqual(["ignored", "processed"]);
    expect((await tasksOf(org)).map((task) => task.title)).toEqual(["a real issue"]);
  });

  it("leaves events about issues without a task to the one-by-one rules in a batch: a close creates the task closed, a label is ignored", async () => {
    const { org, webhook, repository } = await setup(0);
    const [closed, labeled, opened] = [nextIssue++, nextIssue++, nextIssue++];
    const ids = [
      await store(webhook, issuePayload("closed", { number: closed, repository, title: `issue ${closed}` })),
      await store(webhook, issuePayload("labeled", { number: labeled, repository, labels: ["bug"] })),
      await store(webhook, issuePayload("opened", { number: opened, repository, title: `issue ${opened}` })),
    ];
    logLines.length = 0;
    await startWorker("batcher");
    const rows = await settled(ids);

    const tasks = await tasksOf(org);
    const task = (number: number) => tasks.find((t) => t.title === `issue ${number}`)!;
    expect(rows.get(ids[0]!)!.actions).toEqual([`created task #${task(closed).id}`, `task #${task(closed).id} todo → done`]);
    expect(task(closed).status).toBe("done");
    expect(rows.get(ids[1]!)).toMatchObject({ status: "ignored", actions: [`ignored: no task for ${repository}#${labeled} (it was opened before this webhook)`] });
    expect(rows.get(ids[2]!)!.actions).toEqual([`created task #${task(opened).id}`, "no engineer available: waiting for one"]);
    expect(tasks).toHaveLength(2);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  it("keeps two orgs' tasks of the same repository apart in one batch: each delivery moves its own org's task", async () => {
    // Two orgs follow the same repository: each has a task for issues one and two.
    const first = await setup(0);
    const second = await setup(0);
    const repository = first.repository;
    const [one, two] = [nextIssue++, nextIssue++];
    const opened: string[] = [];
    for (const { webhook } of [first, second]) {
      for (const number of [one, two]) opened.push(await store(webhook, issuePayload("opened", { number, repository, title: `issue ${number}`, updated_at: "2026-03-01T10:00:00Z" })));
    }
    await startWorker("opener");
    await settled(opened);
    await workers.stopAll();
    const taskOf = async (org: BootstrapResult, number: number) => (await tasksOf(org)).find((task) => task.title === `issue ${number}`)!;
    const [oneOfFirst, twoOfSecond] = [await taskOf(first.org, one), await taskOf(second.org, two)];

    // One batch: the first org's close of issue one, the second org's close of issue two.
    const ids = [
      await store(first.webhook, issuePayload("closed", { number: one, repository, updated_at: "2026-03-01T11:00:00Z" })),
      await store(second.webhook, issuePayload("closed", { number: two, repository, updated_at: "2026-03-01T11:00:00Z" })),
    ];
    logLines.length = 0;
    await startWorker("closer");
    const rows = await settled(ids);
    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([[`task #${oneOfFirst.id} todo → done`], [`task #${twoOfSecond.id} todo → done`]]);
    const statuses = async (org: BootstrapResult) => (await tasksOf(org)).map((task) => `${task.title}: ${task.status}`);
    expect(await statuses(first.org)).toEqual([`issue ${one}: done`, `issue ${two}: todo`]);
    expect(await statuses(second.org)).toEqual([`issue ${one}: todo`, `issue ${two}: done`]);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  it("opens issues of two webhooks of one team in one batch: only the auto_assign one's tasks take engineers", async () => {
    const { org, webhook, repository } = await setup(2);
    const manual = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*"], config: { auto_assign: false } });
    const manualRepository = `${repository}-manual`;
    const numbers = Array.from({ length: 4 }, () => nextIssue++);
    // Manual first, so that a manual task handed an engineer would take one the auto_assign tasks need.
    const ids = [
      await store(manual, issuePayload("opened", { number: numbers[0], repository: manualRepository, title: "manual 1" })),
      await store(webhook, issuePayload("opened", { number: numbers[1], repository, title: "auto 1" })),
      await store(manual, issuePayload("opened", { number: numbers[2], repository: manualRepository, title: "manual 2" })),
      await store(webhook, issuePayload("opened", { number: numbers[3], repository, title: "auto 2" })),
    ];
    await startWorker("batcher");
    const rows = await settled(ids);
    const tasks = new Map((await tasksOf(org)).map((task) => [task.title, task]));
    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([
      [`created task #${tasks.get("manual 1")!.id}`],
      [`created task #${tasks.get("auto 1")!.id}`, "assigned to eng-1"],
      [`created task #${tasks.get("manual 2")!.id}`],
      [`created task #${tasks.get("auto 2")!.id}`, "assigned to eng-2"],
    ]);
    expect(["manual 1", "auto 1", "manual 2", "auto 2"].map((title) => tasks.get(title)!.assignee_id)).toEqual([null, org.agents[0]!.id, null, org.agents[1]!.id]);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  describe("beside pull requests of the same repository, in the order they came", () => {
    const merged = (repository: string, pull: number, issue: number) => pullRequestPayload("merged", { number: pull, repository, body: `Fixes #${issue}`, head_sha: `${pull}`.padStart(40, "0") });
    const comments = (taskId: number) => app.db.knex("github_outbox").where({ task_id: taskId, kind: "issue_comment" }).orderBy("id").pluck("dedupe_key");

    it("a merge, then the close GitHub sends for the issue it fixed: the task is done by the merge, and its resolution announced", async () => {
      const { org, webhook, repository } = await setup(1);
      const issue = nextIssue++;
      const tasks = await openIssues(org, webhook, repository, [issue]);
      const ids = [await store(webhook, merged(repository, 70_000 + issue, issue), "pull_request"), await store(webhook, issuePayload("closed", { number: issue, repository, updated_at: later }))];
      const { rows, task } = await processFollowUps("merger", ids, org, tasks);
      expect(rows.get(ids[0]!)!.actions).toEqual([`task #${task(issue).id} todo → done`]);
      expect(task(issue).status).toBe("done");
      // Applied before the merge (as a set), the close would have finished the task as GitHub's own, announcing nothing.
      expect(await comments(task(issue).id)).toEqual([`resolution:${task(issue).id}:1`]);
    });

    it("two merges finishing two issues' tasks in one batch: each is its own task's first completion", async () => {
      const { org, webhook, repository } = await setup(1);
      const [first, second] = [nextIssue++, nextIssue++];
      const tasks = await openIssues(org, webhook, repository, [first, second]);
      const ids = [
        await store(webhook, merged(repository, 70_000 + first, first), "pull_request"),
        await store(webhook, merged(repository, 70_000 + second, second), "pull_request"),
      ];
      const { task } = await processFollowUps("merger", ids, org, tasks);
      expect(await comments(task(first).id)).toEqual([`resolution:${task(first).id}:1`]);
      expect(await comments(task(second).id)).toEqual([`resolution:${task(second).id}:1`]);
    });

    it("merged, reopened and merged again in one batch: announced twice, once for each completion", async () => {
      const { org, webhook, repository } = await setup(1);
      const issue = nextIssue++;
      const tasks = await openIssues(org, webhook, repository, [issue]);
      const ids = [
        await store(webhook, merged(repository, 80_000 + issue, issue), "pull_request"),
        await store(webhook, issuePayload("reopened", { number: issue, repository, updated_at: later })),
        await store(webhook, merged(repository, 90_000 + issue, issue), "pull_request"),
      ];
      const { rows, task } = await processFollowUps("merger", ids, org, tasks);
      expect(ids.map((id) => rows.get(id)!.status)).toEqual(["processed", "processed", "processed"]);
      const id = task(issue).id;
      expect(task(issue).status).toBe("done");
      expect(await comments(id)).toEqual([`resolution:${id}:1`, `resolution:${id}:2`]);
      expect(await app.db.knex("events").where({ org_id: org.org_id, type: "task.completed" }).whereRaw("data->>'task_id' = ?", [String(id)])).toHaveLength(2);
    });
  });
});
