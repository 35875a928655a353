import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { issuePayload } from "../../helpers/github-payloads.js";
import { batchWorkers } from "../../helpers/batch-workers.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

// Custom senders' deliveries are stored first (web only), then one worker claims them all in one batch.
describe("automation: a batch of custom senders' deliveries in one transaction", () => {
  let app: TestApp;
  let workers: ReturnType<typeof batchWorkers>;
  let logLines: string[];
  /** The statements sent, each followed by its bindings (emptied before each worker run). */
  let statements: string[];

  beforeAll(async () => {
    app = await startTestApp({ ENTOURAGE_WORKER: "off" });
    workers = batchWorkers(app);
    ({ logLines, statements } = workers);
  });
  afterEach(() => workers.stopAll());
  afterAll(() => app.close());

  const setup = async (engineers: number) => {
    const org = await app.bootstrap({ engineers, name: `org-${Math.random()}` });
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { provider: "custom", events: ["task.*"], config: { auto_assign: true, default_task_type: "chore" } });
    return { org, webhook };
  };
  const store = async (webhook: RegisteredWebhook, event: string, doc: Record<string, unknown>) => {
    const res = await sendDelivery(app.url, webhook, doc, { headers: { "x-entourage-event": event } });
    expect(res.status).toBe(202);
    return res.body.delivery_id as string;
  };
  const startWorker = (name: string, perTransaction?: number) => workers.start(name, perTransaction);
  const settled = (ids: string[]) => workers.settled(ids);
  /** Starts a worker on what is stored, waits for the deliveries, and stops it. */
  const processStored = async (ids: string[]) => {
    logLines.length = 0;
    statements.length = 0;
    await startWorker("batcher");
    const rows = await settled(ids);
    await workers.stopAll();
    return rows;
  };
  const tasksOf = (org: BootstrapResult) => app.db.knex("tasks").where({ team_id: org.team_id }).orderBy("id");
  const taskInserts = () => statements.filter((sql) => sql.startsWith('insert into "tasks"'));

  it("creates many tasks in one INSERT as one by one would: in order, free engineers first, the rest waiting; a known id changes nothing", async () => {
    const { org, webhook } = await setup(2);
    const [known] = await processStored([await store(webhook, "task.create", { external_id: "OPS-1", title: "known" })]);
    const ids: string[] = [];
    for (const n of [2, 3, 4, 5]) ids.push(await store(webhook, "task.create", { external_id: ` OPS-${n} `, title: `ops ${n}`, priority: "high", tags: ["ops"] }));
    ids.push(await store(webhook, "task.create", { external_id: "OPS-1", title: "known, again" }));
    const rows = await processStored(ids);

    expect(known![1].actions).toEqual([expect.stringMatching(/^created task #\d+$/), "assigned to eng-1"]);
    const tasks = await tasksOf(org);
    expect(tasks.map((task) => task.title)).toEqual(["known", "ops 2", "ops 3", "ops 4", "ops 5"]);
    expect(tasks[1]).toMatchObject({ priority: "high", task_type: "chore", tags: ["custom", "external:OPS-2", "ops"], source_key: `custom:${webhook.id}:OPS-2` });
    expect(tasks.map((task) => task.assignee_id)).toEqual([org.agents[0]!.id, org.agents[1]!.id, null, null, null]);
    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([
      [`created task #${tasks[1].id}`, "assigned to eng-2"],
      ...tasks.slice(2).map((task) => [`created task #${task.id}`, "no engineer available: waiting for one"]),
      [`task #${tasks[0].id} already exists for OPS-1`],
    ]);
    expect(ids.map((id) => rows.get(id)!.status)).toEqual(["processed", "processed", "processed", "processed", "ignored"]);
    expect(taskInserts()).toHaveLength(1);
    const created = await app.db.knex("events").where({ org_id: org.org_id, type: "task.created" }).orderBy("id");
    expect(created.map((event) => event.data.task_id)).toEqual(tasks.map((task) => task.id));
  });

  it("applies the deliveries of one external id in their order: a create, its update and close; an update before its create", async () => {
    const { org, webhook } = await setup(0);
    const ids = [
      await store(webhook, "task.create", { external_id: "OPS-9", title: "first" }),
      await store(webhook, "task.update", { external_id: "OPS-9 ", priority: "critical" }),
      await store(webhook, "task.create", { external_id: "OPS-10", title: "alone" }),
      await store(webhook, "task.close", { external_id: "OPS-9", resolution: "cancelled" }),
      await store(webhook, "task.update", { external_id: "OPS-11", priority: "critical" }),
      await store(webhook, "task.create", { external_id: "OPS-11", title: "late" }),
    ];
    const rows = await processStored(ids);

    // OPS-10 is made by the set-wise step, before the deliveries that go one by one.
    const tasks = await tasksOf(org);
    const nine = tasks.find((task) => task.title === "first")!;
    const ten = tasks.find((task) => task.title === "alone")!;
    expect(nine).toMatchObject({ title: "first", priority: "critical", status: "cancelled" });
    expect(ten).toMatchObject({ title: "alone", status: "todo" });
    const late = tasks.find((task) => task.title === "late")!;
    expect(late.priority).toBe("medium");
    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([
      [`created task #${nine.id}`, "no engineer available: waiting for one"],
      [`updated task #${nine.id} priority`],
      [`created task #${ten.id}`, "no engineer available: waiting for one"],
      [`task #${nine.id} todo → cancelled`],
      ["ignored: no task for external_id OPS-11"],
      [`created task #${late.id}`, "no engineer available: waiting for one"],
    ]);
  });

  it("hands engineers out in the order the deliveries came, custom creates and opened issues alike", async () => {
    const { org, webhook } = await setup(1);
    const github = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*"], config: { auto_assign: true } });
    const ids = [
      await store(webhook, "task.create", { external_id: "OPS-20", title: "custom first" }),
      (await sendDelivery(app.url, github, issuePayload("opened", { number: 20, repository: "acme/ops", title: "issue second" }), { event: "issues" })).body.delivery_id as string,
      await store(webhook, "task.create", { external_id: "OPS-21", title: "custom third" }),
    ];
    const rows = await processStored(ids);

    const tasks = await tasksOf(org);
    const byTitle = (title: string) => tasks.find((task) => task.title === title)!;
    expect(byTitle("custom first").assignee_id).toBe(org.agents[0]!.id);
    expect(byTitle("issue second").assignee_id).toBeNull();
    expect(byTitle("custom third").assignee_id).toBeNull();
    expect(tasks.map((task) => task.title)).toEqual(["custom first", "issue second", "custom third"]);
    expect(rows.get(ids[0]!)!.actions).toEqual([`created task #${byTitle("custom first").id}`, "assigned to eng-1"]);
    expect(taskInserts()).toHaveLength(1);
  });

  it("updates and closes many tasks in a few statements as one by one would, and the engineer a close frees takes a waiting task", async () => {
    const { org, webhook } = await setup(1);
    const created: string[] = [];
    for (const n of [60, 61, 62, 63, 64, 65]) created.push(await store(webhook, "task.create", { external_id: `OPS-${n}`, title: `ops ${n}` }));
    await processStored(created);
    await processStored([await store(webhook, "task.close", { external_id: "OPS-64", resolution: "cancelled" })]);
    const before = await tasksOf(org);
    const task = (n: number) => before.find((t) => t.title === `ops ${n}`)!;
    expect(task(60).assignee_id).toBe(org.agents[0]!.id);

    const ids = [
      await store(webhook, "task.update", { external_id: "OPS-65", title: "ops 65, renamed" }),
      await store(webhook, "task.update", { external_id: "OPS-61", priority: "critical", tags: ["paged"] }),
      await store(webhook, "task.update", { external_id: "OPS-62" }),
      await store(webhook, "task.close", { external_id: "OPS-60" }),
      await store(webhook, "task.close", { external_id: "OPS-63", resolution: "cancelled" }),
      await store(webhook, "task.close", { external_id: "OPS-64", resolution: "cancelled" }),
      await store(webhook, "task.update", { external_id: "OPS-99", title: "nobody" }),
      await store(webhook, "task.close", { external_id: "OPS-98" }),
    ];
    const rows = await processStored(ids);

    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([
      [`updated task #${task(65).id} title`],
      [`updated task #${task(61).id} priority, tags`],
      [`task #${task(62).id}: nothing to update`],
      [`task #${task(60).id} todo → done`],
      [`task #${task(63).id} todo → cancelled`],
      [`task #${task(64).id} already cancelled`],
      ["ignored: no task for external_id OPS-99"],
      ["ignored: no task for external_id OPS-98"],
    ]);
    expect(ids.map((id) => rows.get(id)!.status)).toEqual(["processed", "processed", "processed", "processed", "processed", "processed", "ignored", "ignored"]);
    const after = new Map((await tasksOf(org)).map((t) => [t.title, t]));
    expect(after.get("ops 61")).toMatchObject({ priority: "critical", tags: ["custom", "external:OPS-61", "paged"], status: "todo" });
    expect(after.get("ops 60")).toMatchObject({ status: "done" });
    expect(after.get("ops 63")).toMatchObject({ status: "cancelled" });
    // eng-1, freed by OPS-60, takes the oldest waiting task.
    expect(after.get("ops 61")!.assignee_id).toBe(org.agents[0]!.id);
    // The updates' events, in task order.
    const updated = await app.db.knex("events").where({ org_id: org.org_id, type: "task.updated" }).orderBy("id");
    expect(updated.map((event) => event.data)).toEqual([
      expect.objectContaining({ task_id: task(61).id, changes: ["priority", "tags"], reason: "updated by the sender" }),
      expect.objectContaining({ task_id: task(65).id, changes: ["title"], reason: "updated by the sender" }),
    ]);
    // Both moves in one status UPDATE, the fields in one UPDATE of their own; none task by task.
    const taskUpdates = statements.filter((sql) => sql.startsWith("UPDATE tasks"));
    expect(taskUpdates.filter((sql) => sql.includes("SET status = v.status"))).toHaveLength(1);
    expect(taskUpdates.filter((sql) => sql.includes("SET title = coalesce(v.title"))).toHaveLength(1);
    expect(statements.filter((sql) => /^update "tasks" set "(title|description|priority|task_type|tags)"/.test(sql))).toEqual([]);
  });

  it("makes one task per external id when two workers race on batches of the same ids", async () => {
    const { org, webhook } = await setup(0);
    const ids: string[] = [];
    // Each create arrives twice (two GUIDs): the first ten go to one worker's batch, the second ten to the other's.
    for (let round = 0; round < 2; round++) {
      for (let n = 40; n < 50; n++) ids.push(await store(webhook, "task.create", { external_id: `OPS-${n}`, title: `ops ${n}` }));
    }
    logLines.length = 0;
    await Promise.all([startWorker("w1", 10), startWorker("w2", 10)]);
    const rows = await settled(ids);

    const tasks = await tasksOf(org);
    expect(tasks).toHaveLength(10);
    const actions = [...rows.values()].map((row) => row.actions[0]!);
    expect(actions.filter((action) => action.startsWith("created task"))).toHaveLength(10);
    expect(actions.filter((action) => action.includes("already exists"))).toHaveLength(10);
    expect([...rows.values()].every((row) => row.status !== "failed")).toBe(true);
    // The later batch waited on the ids' locks and saw the tasks: no unique violation sent it the slow way.
    expect(logLines.filter((line) => line.includes("applying them one delivery at a time"))).toEqual([]);
  });

  it("leaves a stored document its rules refuse to the one-by-one path, and applies the others set-wise", async () => {
    const { org, webhook } = await setup(0);
    // The receive path refuses such a document (422); one stored before a rule tightened reaches the worker.
    const refused = async () => {
      const [row] = await app.db
        .knex("deliveries")
        .insert({
          webhook_id: webhook.id,
          org_id: org.org_id,
          delivery_guid: `stored-${Math.random()}`,
          event_type: "task.create",
          status: "received",
          payload: JSON.stringify({ external_id: "OPS-71", title: "bad priority", priority: "whenever" }),
        })
        .returning("id");
      return row.id as string;
    };
    const ids = [
      await store(webhook, "task.create", { external_id: "OPS-70", title: "fine" }),
      await refused(),
      await store(webhook, "task.create", { external_id: "OPS-72", title: "fine too" }),
    ];
    const rows = await processStored(ids);

    expect(rows.get(ids[1]!)).toMatchObject({ status: "failed" });
    expect(rows.get(ids[1]!)!.error).toMatch(/priority/);
    expect((await tasksOf(org)).map((task) => task.title)).toEqual(["fine", "fine too"]);
    expect(taskInserts()).toHaveLength(1);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  it("fails a poisoned create alone and commits its neighbours in the same transaction", async () => {
    const { org, webhook } = await setup(0);
    const ids: string[] = [];
    // PostgreSQL refuses U+0000 in a task title: the set-wise INSERT fails for the whole batch.
    for (const n of [30, 31, 32]) ids.push(await store(webhook, "task.create", { external_id: `OPS-${n}`, title: n === 31 ? "nul\u0000title" : `ops ${n}` }));
    const rows = await processStored(ids);

    expect(rows.get(ids[1]!)).toMatchObject({ status: "failed", attempts: 1 });
    expect(rows.get(ids[1]!)!.error).toMatch(/0x00/);
    for (const id of [ids[0]!, ids[2]!]) expect(rows.get(id)).toMatchObject({ status: "processed", attempts: 1 });
    expect((await tasksOf(org)).map((task) => task.title)).toEqual(["ops 30", "ops 32"]);
    expect(logLines.some((line) => line.includes("applying them one delivery at a time"))).toBe(true);
  });
});
