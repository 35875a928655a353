import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAutomationProcessor } from "../../../src/features/automation/automation-processor.js";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { DeliveryWorker } from "../../../src/features/webhooks/delivery-worker.js";
import { issuePayload } from "../../helpers/github-payloads.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

interface DeliveryRow {
  id: string;
  status: string;
  actions: string[];
  attempts: number;
  error: string | null;
}

// The deliveries are stored first (web only), then one worker claims them all in one batch.
describe("automation: a batch of issue deliveries in one transaction", () => {
  let app: TestApp;
  let nextIssue = 1;
  const workers: DeliveryWorker[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ ENTOURAGE_WORKER: "off" });
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  });
  afterAll(() => app.close());

  const setup = async (engineers: number) => {
    const org = await app.bootstrap({ engineers, name: `org-${Math.random()}` });
    const repository = `acme/r${Math.random().toString(36).slice(2, 8)}`;
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*"], config: { auto_assign: true } });
    return { org, webhook, repository };
  };
  const store = async (webhook: RegisteredWebhook, payload: unknown) => {
    const res = await sendDelivery(app.url, webhook, payload, { event: "issues" });
    expect(res.status).toBe(202);
    return res.body.delivery_id as string;
  };
  const startWorker = async (name: string, batchSize = 100) => {
    const worker = new DeliveryWorker({
      knex: app.db.knex,
      logger: pino(
        { level: "warn" },
        new Writable({
          write(chunk, _encoding, done) {
            logLines.push(String(chunk));
            done();
          },
        }),
      ),
      processor: createAutomationProcessor(),
      workerId: name,
      concurrency: 1,
      batchSize,
      perTransaction: 25,
      pollMs: 50,
      maxAttempts: 2,
      backoffSeconds: () => 0,
    });
    workers.push(worker);
    await worker.start();
  };
  const settled = (ids: string[]) =>
    waitFor(
      async () => {
        const rows = (await app.db.knex("deliveries").whereIn("id", ids).select("id", "status", "actions", "attempts", "error")) as DeliveryRow[];
        if (rows.some((row) => row.status === "received")) return undefined;
        return new Map(rows.map((row) => [row.id, row]));
      },
      "deliveries settled",
      15_000,
    );
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
});
