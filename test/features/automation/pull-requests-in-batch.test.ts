import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { issuePayload, pullRequestPayload, type PullRequestChanges } from "../../helpers/github-payloads.js";
import { batchWorkers } from "../../helpers/batch-workers.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";
import { waitForLockWait } from "../../helpers/lock-wait.js";

/** Each subject's event types in order, one line per subject, sorted (set-wise, different subjects' events interleave otherwise). */
function eventsBySubject(events: { type: string; data: any }[], subject: (event: { type: string; data: any }) => string): string[] {
  const lines = new Map<string, string[]>();
  for (const event of events) lines.set(subject(event), [...(lines.get(subject(event)) ?? []), event.type]);
  return [...lines].map(([name, types]) => `${name}: ${types.join(" ")}`).sort();
}

const NEW_SHA = "9b2f1c0d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c";

/** A delivery to store: to the org's GitHub webhook (issues, pull_request) or its custom one (task.*). */
type Step = { event: "issues" | "pull_request"; payload: unknown } | { custom: string; doc: Record<string, unknown> };

interface Org {
  org: BootstrapResult;
  github: RegisteredWebhook;
  custom: RegisteredWebhook;
  repository: string;
  /** The org's task ids, oldest first. */
  taskIds(): Promise<number[]>;
}

// Pull request deliveries are stored first (web only), then one worker claims them. The same story
// runs in two orgs: in one, each stage's deliveries are claimed together (the set-wise step); in the
// other, one at a time (the per-delivery rules). What they leave behind must be the same.
describe("automation: a batch of pull request deliveries in one transaction", () => {
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

  /** An org with two engineers (unless told) and (unless told) a reviewer, an auto-assign GitHub webhook on its own repository, and a custom webhook. */
  const setup = async (options: { reviewer?: boolean; engineers?: number } = {}): Promise<Org> => {
    const org = await app.bootstrap({ engineers: options.engineers ?? 2, name: `org-${Math.random()}` });
    if (options.reviewer !== false) {
      const res = await app.request("POST", `/api/v1/teams/${org.team_id}/agents`, { key: org.api_key, body: { name: "rev-1", role: "reviewer" } });
      expect(res.status).toBe(201);
    }
    const repository = `acme/r${Math.random().toString(36).slice(2, 8)}`;
    const github = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*", "pull_request.*"], config: { auto_assign: true } });
    const custom = await registerWebhook(app, org.api_key, org.team_id, { provider: "custom", events: ["task.*"], config: { auto_assign: true } });
    const taskIds = async () => (await app.db.knex("tasks").where({ org_id: org.org_id }).orderBy("id").pluck("id")) as number[];
    return { org, github, custom, repository, taskIds };
  };
  const store = async (org: Org, step: Step) => {
    const res =
      "custom" in step
        ? await sendDelivery(app.url, org.custom, step.doc, { headers: { "x-entourage-event": step.custom } })
        : await sendDelivery(app.url, org.github, step.payload, { event: step.event });
    expect(res.status).toBe(202);
    return res.body.delivery_id as string;
  };
  /** Stores the steps, then one worker takes them: together (batch) or one delivery per claim (alone). Returns their rows, in order. */
  const run = async (org: Org, steps: Step[], mode: "batch" | "alone") => {
    const ids: string[] = [];
    for (const step of steps) ids.push(await store(org, step));
    logLines.length = 0;
    statements.length = 0;
    await workers.start(`worker-${mode}`, mode === "batch" ? 25 : 1);
    const rows = await workers.settled(ids);
    await workers.stopAll();
    return ids.map((id) => rows.get(id)!);
  };
  const issue = (org: Org, action: Parameters<typeof issuePayload>[0], number: number): Step => ({
    event: "issues",
    payload: issuePayload(action, { number, repository: org.repository, title: `issue ${number}` }),
  });
  const pull = (org: Org, action: Parameters<typeof pullRequestPayload>[0], number: number, changes: PullRequestChanges = {}): Step => ({
    event: "pull_request",
    payload: pullRequestPayload(action, { number, repository: org.repository, title: `pull ${number}`, ...changes }),
  });

  /**
   * What an org's story left behind, with ids replaced by their order within the org (T1, R1),
   * agents by name and the repository by REPO, so two orgs can be compared.
   */
  const snapshot = async (org: Org, rows: { status: string; actions: string[] }[], options: { assignees?: boolean } = {}) => {
    const keepAssignees = options.assignees !== false;
    const knex = app.db.knex;
    const tasks = await knex("tasks").where({ org_id: org.org.org_id }).orderBy("id");
    const reviews = await knex("reviews").where({ org_id: org.org.org_id }).orderBy("id");
    const agents = await knex("agents").where({ org_id: org.org.org_id }).orderBy("name");
    const agentName = new Map(agents.map((agent) => [agent.id, agent.name]));
    // Without assignees, who holds which task or review is left out; how many are held stays (`held`).
    const holder = (id: string | null) => (keepAssignees ? (agentName.get(id ?? "") ?? null) : "-");
    const taskName = new Map(tasks.map((task, i) => [task.id, `T${i + 1}`]));
    const reviewName = new Map(reviews.map((review, i) => [review.id, `R${i + 1}`]));
    const name = (text: string) =>
      text
        .replaceAll(org.repository, "REPO")
        .replace(/(task|tasks|review) #(\d+)/g, (_m, word, id) => `${word} ${(word === "review" ? reviewName : taskName).get(Number(id)) ?? `?${id}`}`)
        .replace(/#(\d+)(?=[,\s]|$)/g, (m, id) => taskName.get(Number(id)) ?? m)
        .replace(/ to (eng-\d|rev-\d)/, " to $1");
    const assignment = (type: string) => /^(task\.(un)?assigned|review\.assigned|agent\.)/.test(type);
    const events = (await knex("events").where({ org_id: org.org.org_id }).whereNot("type", "like", "delivery.%").orderBy("id").select("type", "data")).filter(
      (event) => keepAssignees || !assignment(event.type),
    );
    const outbox = await knex("github_outbox").where({ org_id: org.org.org_id }).orderBy("id").select("kind", "dedupe_key", "task_id");
    return {
      deliveries: rows.map((row) => ({ status: row.status, actions: row.actions.map(name).filter((action) => keepAssignees || !/ (assigned to|waiting for a reviewer)/.test(action)) })),
      tasks: tasks.map((task) => [taskName.get(task.id), task.task_type, task.status, holder(task.assignee_id), task.completions, name(task.title)]),
      reviews: reviews.map((review) => [
        reviewName.get(review.id),
        review.status,
        review.head_sha.slice(0, 7),
        review.installation_id,
        holder(review.assignee_id),
        taskName.get(review.task_id),
        review.linked_task_ids.map((id: number) => taskName.get(id)),
        reviewName.get(review.superseded_by) ?? null,
      ]),
      agents: agents.map((agent) => [agent.name, agent.status]),
      held: {
        tasks: tasks.filter((task) => task.assignee_id).length,
        reviews: reviews.filter((review) => review.assignee_id).length,
      },
      // Events in the order each task or review saw them (set-wise, different tasks' events interleave otherwise).
      events: eventsBySubject(events, (event) => (event.data.review_id ? `review ${reviewName.get(event.data.review_id)}` : `task ${taskName.get(event.data.task_id)}`)),
      outbox: outbox.map((row) => `${row.kind} ${taskName.get(row.task_id)} ${row.dedupe_key.replace(/^(\w+):(\d+)/, (_m: string, kind: string, id: string) => `${kind}:${taskName.get(Number(id)) ?? id}`)}`),
    };
  };

  /**
   * The pool is consistent: no agent holds two open tasks, a busy agent holds one, and no agent is
   * free while a task or review waits that it may take (a review: not the work it wrote).
   */
  const expectConsistentPool = async (org: Org) => {
    const knex = app.db.knex;
    const agents = await knex("agents").where({ org_id: org.org.org_id });
    const open = await knex("tasks").where({ org_id: org.org.org_id }).whereIn("status", ["todo", "in_progress", "in_review"]);
    for (const agent of agents) {
      const held = open.filter((task) => task.assignee_id === agent.id);
      expect(held.length, `${agent.name} holds ${held.length} open tasks`).toBeLessThanOrEqual(1);
      expect(agent.status, agent.name).toBe(held.length ? "busy" : "available");
    }
    const free = agents.filter((agent) => agent.status === "available");
    const waitingTasks = open.filter((task) => !task.assignee_id && task.task_type !== "review" && task.source.auto_assign === true);
    if (waitingTasks.length) expect(free.filter((agent) => agent.role === "engineer").map((agent) => agent.name)).toEqual([]);
    for (const review of await knex("reviews").where({ org_id: org.org.org_id, status: "pending" }).whereNull("assignee_id")) {
      const authors = (await knex("tasks").whereIn("id", review.linked_task_ids)).map((task) => task.assignee_id);
      const couldTake = free.filter((agent) => agent.role === "reviewer" || !authors.includes(agent.id));
      expect(couldTake.map((agent) => agent.name), `review ${review.id} waits`).toEqual([]);
    }
  };

  /** Runs the stages in a fresh org, each stage as one batch or one delivery at a time; returns the snapshot and each stage's rows. */
  const story = async (mode: "batch" | "alone", stages: ((org: Org) => Promise<Step[]>)[], options: { reviewer?: boolean; engineers?: number; assignees?: boolean } = {}) => {
    const org = await setup(options);
    const all: { status: string; actions: string[] }[] = [];
    const perStage: { rows: { status: string; actions: string[] }[]; statements: string[] }[] = [];
    for (const stage of stages) {
      const rows = await run(org, await stage(org), mode);
      all.push(...rows);
      perStage.push({ rows, statements: [...statements] });
    }
    await expectConsistentPool(org);
    return { snapshot: await snapshot(org, all, options), perStage, org };
  };

  const reviewInserts = (sql: string[]) => sql.filter((s) => s.startsWith('insert into "reviews"')).length;
  /** Locks taken for one pull request at a time (the per-delivery rules). */
  const pullLocks = (sql: string[]) => sql.filter((s) => s.startsWith("SELECT pg_advisory_xact_lock(hashtextextended(") && s.includes('"github:pull:')).length;

  it("opens pull requests as one by one would: linked tasks in review, one review each (drafts none), reviewers then free engineers, the rest waiting", async () => {
    const stages = [
      async (org: Org) => [1, 2, 3, 4, 5, 6].map((n) => issue(org, "opened", n)),
      async (org: Org) => {
        const ids = await org.taskIds();
        return [
          // An issue event the batch applies set-wise: the pull requests after it stay set-wise.
          issue(org, "opened", 8),
          pull(org, "opened", 101, { body: "Fixes #1" }),
          pull(org, "opened", 102, { body: "Fixes #3" }),
          pull(org, "opened", 103, { body: "Fixes #4", draft: true }),
          pull(org, "opened", 104, { body: "No issue" }),
          pull(org, "ready_for_review", 105, { body: "Fixes #5" }),
          pull(org, "opened", 106, { body: "", branch: `feature/task-${ids[5]}` }),
          // A task no pull request of this repository may name (none has this id), and one of another repository.
          pull(org, "opened", 110, { body: `Entourage-Task: #${ids[5]! + 100000}\n\nFixes other/repo#2` }),
          // An issue without a task, closed: one by one, it makes its task (done). The pull request
          // after it must see that task: it waits for it.
          issue(org, "closed", 7),
          pull(org, "opened", 111, { body: "Fixes #7" }),
        ];
      },
    ];
    // Seven engineers get the seven issues; one stays free.
    const alone = await story("alone", stages, { engineers: 8 });
    const batch = await story("batch", stages, { engineers: 8 });
    expect(batch.snapshot).toEqual(alone.snapshot);

    // The story itself: what one by one does, here as seen in the batch's org.
    expect(batch.snapshot.deliveries[6]!.actions).toEqual(["created task T7", "assigned to eng-7"]);
    expect(batch.snapshot.deliveries.slice(7).map((d) => d.actions)).toEqual([
      ["task T1 todo → in_review", "review R1 requested for ec26c3e", "review R1 assigned to rev-1"],
      ["task T3 todo → in_review", "review R2 requested for ec26c3e", "review R2 assigned to eng-8"],
      ["draft pull request #103: linked tasks stay as they are"],
      ["pull request #104 links no task", "review R3 requested for ec26c3e", "review R3 waiting for a reviewer"],
      ["task T5 todo → in_review", "review R4 requested for ec26c3e", "review R4 waiting for a reviewer"],
      ["task T6 todo → in_review", "review R5 requested for ec26c3e", "review R5 waiting for a reviewer"],
      ["pull request #110 links no task", "review R6 requested for ec26c3e", "review R6 waiting for a reviewer"],
      ["created task T14", "task T14 todo → done"],
      ["linked tasks T14 unchanged", "review R7 requested for ec26c3e", "review R7 waiting for a reviewer"],
    ]);
    // Set-wise: one INSERT of reviews for the first six, no lock taken one pull request at a time;
    // the last one by one.
    const [, opens] = batch.perStage;
    expect(reviewInserts(opens!.statements)).toBe(2);
    expect(pullLocks(opens!.statements)).toBe(1);
    expect(reviewInserts(alone.perStage[1]!.statements)).toBe(7);
  });

  // Which freed agent takes which waiting review may differ: set-wise, the batch's tasks move (and free
  // their agents) before its reviews end or are requested. The pool stays consistent either way.
  it("follows merges, closes, pushes and ready-for-review as one by one would, but for which agent takes which waiting work; a pull request named twice, or sharing a task, goes one by one, and so does what comes after", async () => {
    const stages = [
      async (org: Org) => [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => issue(org, "opened", n)),
      async (org: Org) => [
        pull(org, "opened", 110, { body: "Fixes #9" }),
        pull(org, "opened", 101, { body: "Fixes #1" }),
        pull(org, "opened", 102, { body: "Fixes #3" }),
        pull(org, "opened", 103, { body: "Fixes #4", draft: true }),
        pull(org, "opened", 104, { body: "No issue" }),
        pull(org, "opened", 105, { body: "Fixes #5" }),
        pull(org, "opened", 106, { body: "Fixes #6" }),
        // Two tasks, by an issue and by a task id: one by one (each read again after the other moved).
        pull(org, "opened", 109, { body: "Fixes #7", branch: `task-${(await org.taskIds())[7]}` }),
      ],
      async (org: Org) => [
        // Set-wise: a merge (its task done, its pending review cancelled, the freed agents take waiting work),
        // a close without merge, a push, a draft made ready.
        pull(org, "merged", 101, { body: "Fixes #1" }),
        pull(org, "merged", 110, { body: "Fixes #9" }),
        pull(org, "closed", 102, { body: "Fixes #3" }),
        pull(org, "synchronize", 104, { body: "No issue", head_sha: NEW_SHA }),
        pull(org, "ready_for_review", 103, { body: "Fixes #4" }),
        // Two pull requests of one task: one by one, in order (in review, then done).
        pull(org, "opened", 107, { body: "Fixes #2" }),
        pull(org, "merged", 108, { body: "Fixes #2" }),
        // After them, a pull request alone would be set-wise: it waits for them.
        pull(org, "merged", 105, { body: "Fixes #5" }),
        // One pull request twice: one by one.
        pull(org, "closed", 106, { body: "Fixes #6" }),
        pull(org, "reopened", 106, { body: "Fixes #6" }),
      ],
    ];
    const alone = await story("alone", stages, { assignees: false });
    const batch = await story("batch", stages, { assignees: false });
    expect(batch.snapshot).toEqual(alone.snapshot);

    // Nine issues, then eight pull requests opened, then the follow-ups.
    expect(batch.snapshot.deliveries[16]!.actions.slice(0, 2)).toEqual(["task T7 todo → in_review", "task T8 todo → in_review"]);
    const follow = batch.snapshot.deliveries.slice(17).map((d) => d.actions);
    expect(follow[0]).toEqual(["task T1 in_review → done", "review R2 cancelled"]);
    expect(follow[1]).toEqual(["task T9 in_review → done", "review R1 cancelled"]);
    expect(follow[2]).toEqual(["task T3 in_review → in_progress", "review R3 cancelled"]);
    expect(follow[3]).toEqual(["pull request #104 links no task", "review R4 outdated", `review R8 requested for ${NEW_SHA.slice(0, 7)}`]);
    expect(follow[5]![0]).toBe("task T2 todo → in_review");
    expect(follow[6]![0]).toBe("task T2 in_review → done");
    // Four merges, four comments (two queued set-wise in one INSERT).
    expect(batch.snapshot.outbox.filter((row) => row.startsWith("issue_comment"))).toHaveLength(4);
    // Set-wise: the first five, in one statement per kind; the five after them one by one, each with its own lock.
    const stage = batch.perStage[2]!.statements;
    expect(pullLocks(stage)).toBe(5);
    const outboxInserts = (sql: string[]) => sql.filter((s) => s.includes('insert into "github_outbox"')).length;
    expect([outboxInserts(stage), outboxInserts(alone.perStage[2]!.statements)]).toEqual([3, 4]);
    expect(stage.filter((s) => s.startsWith("UPDATE reviews r SET status")).length).toBeLessThan(alone.perStage[2]!.statements.filter((s) => s.startsWith("UPDATE reviews r SET status")).length);
  });

  it("applies a custom sender's delivery that comes after a pull request event after it: a merge naming the task finishes it, then the sender cancels it", async () => {
    const stages = [
      async (org: Org): Promise<Step[]> => [{ custom: "task.create", doc: { external_id: "OPS-1", title: "ops 1" } }],
      async (org: Org): Promise<Step[]> => {
        const [id] = await org.taskIds();
        return [
          pull(org, "merged", 201, { body: `Entourage-Task: #${id}` }),
          { custom: "task.close", doc: { external_id: "OPS-1", resolution: "cancelled" } },
        ];
      },
    ];
    const alone = await story("alone", stages);
    const batch = await story("batch", stages);
    expect(batch.snapshot).toEqual(alone.snapshot);
    expect(batch.snapshot.deliveries.slice(1).map((d) => d.actions)).toEqual([["task T1 todo → done"], ["task T1 done → cancelled"]]);
    expect(batch.snapshot.tasks[0]).toEqual(["T1", "bugfix", "cancelled", "eng-1", 1, "ops 1"]);
  });

  it("makes one review per pull request when two workers race on batches of the same pull requests", async () => {
    const org = await setup();
    const numbers = Array.from({ length: 10 }, (_, i) => 300 + i);
    const ids: string[] = [];
    // Each pull request's opened arrives twice (two GUIDs): the first ten go to one worker's batch, the second ten to the other's.
    for (let round = 0; round < 2; round++) {
      for (const number of numbers) ids.push(await store(org, pull(org, "opened", number, { body: "No issue" })));
    }
    logLines.length = 0;
    await Promise.all([workers.start("w1", 10), workers.start("w2", 10)]);
    const rows = await workers.settled(ids);
    expect([...rows.values()].every((row) => row.status === "processed")).toBe(true);
    const reviews = await app.db.knex("reviews").where({ org_id: org.org.org_id }).orderBy("pull_number");
    expect(reviews.map((review) => review.pull_number)).toEqual(numbers);
    expect(reviews.every((review) => review.status === "pending")).toBe(true);
    // Each pull request's second delivery found the first's review and did nothing.
    const requested = [...rows.values()].filter((row) => row.actions.some((action) => action.includes("requested")));
    expect(requested).toHaveLength(10);
    expect(logLines.filter((line) => line.includes("one delivery at a time") || line.includes("could not be committed"))).toEqual([]);
  });

  it("waits for a pull request's lock held by another transaction, and then sees the review it made", async () => {
    const org = await setup();
    const payload = pullRequestPayload("opened", { number: 320, repository: org.repository, title: "pull 320", body: "No issue" });
    const steps = [pull(org, "opened", 321, { body: "No issue" }), { event: "pull_request" as const, payload }];
    const ids: string[] = [];
    for (const step of steps) ids.push(await store(org, step));
    const other = await app.db.knex.transaction();
    try {
      // Another worker's transaction, processing pull request 320 one by one.
      await other.raw("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [`github:pull:${org.repository.toLowerCase()}#320`]);
      logLines.length = 0;
      await workers.start("batcher");
      await waitForLockWait(app.db.knex, "%count(pg_advisory_xact_lock%");
      await other("reviews").insert({
        org_id: org.org.org_id,
        team_id: org.org.team_id,
        repository: org.repository,
        pull_number: 320,
        head_sha: payload.pull_request.head.sha,
        html_url: payload.pull_request.html_url,
      });
      await other.commit();
    } catch (error) {
      await other.rollback();
      throw error;
    }
    const rows = await workers.settled(ids);
    expect(ids.map((id) => rows.get(id)!.actions)).toEqual([
      ["pull request #321 links no task", expect.stringMatching(/^review #\d+ requested for ec26c3e$/), expect.stringMatching(/^review #\d+ assigned to rev-1$/)],
      ["pull request #320 links no task"],
    ]);
    expect(await app.db.knex("reviews").where({ org_id: org.org.org_id, pull_number: 320 })).toHaveLength(1);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });

  it("fails a poisoned pull request delivery alone and commits its neighbours in the same transaction", async () => {
    const org = await setup();
    const steps = [401, 402, 403, 404].map((n) => pull(org, "opened", n, { body: "No issue", title: n === 403 ? "nul\u0000title" : `pull ${n}` }));
    const rows = await run(org, steps, "batch");
    expect(rows.map((row) => row.status)).toEqual(["processed", "processed", "failed", "processed"]);
    const reviews = await app.db.knex("reviews").where({ org_id: org.org.org_id }).orderBy("pull_number");
    expect(reviews.map((review) => review.pull_number)).toEqual([401, 402, 404]);
    // The set-wise step fell back to one delivery at a time inside the transaction, which committed.
    expect(logLines.some((line) => line.includes("applying them one delivery at a time"))).toBe(true);
    expect(logLines.some((line) => line.includes("could not be committed"))).toBe(false);
  });

  it("passes over a free engineer for the review of their own work, and gives them the next review", async () => {
    const stages = [
      async (org: Org) => [issue(org, "opened", 1)],
      // The task is finished by hand: eng-1, its author, is free again.
      async (org: Org) => {
        const [id] = await org.taskIds();
        for (const status of ["in_progress", "done"]) {
          const res = await app.request("PATCH", `/api/v1/tasks/${id}`, { key: org.org.api_key, body: { status } });
          expect(res.status).toBe(200);
        }
        return [pull(org, "opened", 501, { body: "Fixes #1" }), pull(org, "opened", 502, { body: "No issue" })];
      },
    ];
    const alone = await story("alone", stages, { reviewer: false, engineers: 1 });
    const batch = await story("batch", stages, { reviewer: false, engineers: 1 });
    expect(batch.snapshot).toEqual(alone.snapshot);
    expect(batch.snapshot.deliveries.slice(1).map((d) => d.actions)).toEqual([
      ["linked tasks T1 unchanged", "review R1 requested for ec26c3e", "review R1 waiting for a reviewer"],
      ["pull request #502 links no task", "review R2 requested for ec26c3e", "review R2 assigned to eng-1"],
    ]);
  });

  it("leaves a pull request of a repository its webhook may not act on to the per-delivery rules, which ignore it", async () => {
    const org = await setup();
    await run(org, [issue(org, "opened", 1)], "batch");
    const other = `${org.repository}-other`;
    const rows = await run(
      org,
      [
        pull(org, "opened", 701, { body: "Fixes #1" }),
        { event: "pull_request", payload: pullRequestPayload("opened", { number: 702, repository: other, title: "elsewhere", body: "No issue" }) },
        pull(org, "opened", 703, { body: "No issue" }),
      ],
      "batch",
    );
    expect(rows.map((row) => row.status)).toEqual(["processed", "ignored", "processed"]);
    expect(rows[1]!.actions[0]).toMatch(/^ignored: this webhook acts only on /);
    const reviews = await app.db.knex("reviews").where({ org_id: org.org.org_id }).orderBy("id");
    expect(reviews.map((review) => review.pull_number)).toEqual([701, 703]);
  });

  it("keeps two orgs' tasks apart when both follow one repository and their pull requests come in one batch", async () => {
    const first = await setup();
    const second = await setup();
    second.repository = first.repository;
    // Both orgs have tasks for issues #1 and #2 of the same repository.
    await run(first, [issue(first, "opened", 1), issue(first, "opened", 2)], "batch");
    await run(second, [issue(second, "opened", 1), issue(second, "opened", 2)], "batch");
    const ids: string[] = [];
    ids.push(await store(first, pull(first, "merged", 801, { body: "Fixes #1" })));
    ids.push(await store(second, pull(second, "opened", 802, { body: "Fixes #2" })));
    await workers.start("batcher");
    const rows = await workers.settled(ids);
    const [first1, first2] = await first.taskIds();
    const [second1, second2] = await second.taskIds();
    expect(rows.get(ids[0]!)!.actions[0]).toBe(`task #${first1} todo → done`);
    expect(rows.get(ids[1]!)!.actions[0]).toBe(`task #${second2} todo → in_review`);
    const status = async (id: number) => (await app.db.knex("tasks").where({ id }).first()).status;
    expect([await status(first1!), await status(first2!), await status(second1!), await status(second2!)]).toEqual(["done", "todo", "todo", "in_review"]);
    // Set-wise, not one by one.
    expect(pullLocks(statements)).toBe(0);
  });

  it("applies a pull request event delivered twice in one batch once: one review, no fallback", async () => {
    const org = await setup();
    const step = pull(org, "opened", 901, { body: "No issue" });
    const rows = await run(org, [step, step, pull(org, "opened", 902, { body: "No issue" })], "batch");
    expect(rows.map((row) => row.actions.length)).toEqual([3, 1, 3]);
    const reviews = await app.db.knex("reviews").where({ org_id: org.org.org_id }).orderBy("id");
    expect(reviews.map((review) => review.pull_number)).toEqual([901, 902]);
    expect(logLines.filter((line) => line.includes("one delivery at a time"))).toEqual([]);
  });
});
