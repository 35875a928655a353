import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { enqueueGithubAction } from "../../../src/features/github/github-outbox.store.js";
import { createTasks } from "../../../src/features/tasks/tasks.service.js";
import { taskEventDetails } from "../../helpers/task-events.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("tasks API", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;

  const createTask = async (body: Record<string, unknown>, key = acme.api_key) =>
    app.request("POST", "/api/v1/tasks", { key, body: { team_id: acme.team_id, ...body } });
  const setStatus = (id: number, status: string) => app.request("PATCH", `/api/v1/tasks/${id}`, { key: acme.api_key, body: { status } });
  const patch = (id: number, body: Record<string, unknown>, key = acme.api_key) => app.request("PATCH", `/api/v1/tasks/${id}`, { key, body });
  const agentStatuses = async (ids: string[]) => {
    const rows = await app.db.knex("agents").whereIn("id", ids).select("id", "status");
    return ids.map((id) => rows.find((row) => row.id === id)!.status);
  };

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(() => app.close());

  it("creates a task with defaults and a task.created event in the same transaction", async () => {
    const res = await createTask({ title: "Fix login", tags: ["web"] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      title: "Fix login",
      status: "todo",
      priority: "medium",
      task_type: "feature",
      tags: ["web"],
      parent_id: null,
      assignee_id: null,
      depends_on: [],
    });
    expect(Number.isInteger(res.body.id)).toBe(true);
    const events = await app.db.knex("events").where({ type: "task.created" }).whereRaw("(data->>'task_id')::int = ?", [res.body.id]);
    expect(events).toHaveLength(1);
  });

  it("answers 400 naming each bad field", async () => {
    const res = await app.request("POST", "/api/v1/tasks", {
      key: acme.api_key,
      body: { team_id: "nope", title: "", priority: "urgent" },
    });
    expect(res.status).toBe(400);
    const fields = res.body.error.details.map((detail: { field: string }) => detail.field).sort();
    expect(fields).toEqual(["priority", "team_id", "title"]);
  });

  it("refuses a team, parent, dependency or assignee of another org", async () => {
    const foreignTask = await app.request("POST", "/api/v1/tasks", { key: other.api_key, body: { team_id: other.team_id, title: "theirs" } });
    const cases = [
      { team_id: other.team_id, title: "x" },
      { title: "x", parent_id: foreignTask.body.id },
      { title: "x", depends_on: [foreignTask.body.id] },
      { title: "x", assignee_id: other.agents[0]!.id },
    ];
    for (const body of cases) {
      const res = await createTask(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("refuses a dependency list that mixes the org's own tasks with another org's, naming the missing ones", async () => {
    const { body: mine } = await createTask({ title: "Ours" });
    const theirs = await app.request("POST", "/api/v1/tasks", { key: other.api_key, body: { team_id: other.team_id, title: "theirs" } });
    const res = await createTask({ title: "x", depends_on: [mine.id, theirs.body.id] });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: "depends_on", message: `tasks not found: #${theirs.body.id}` }]);
  });

  it("refuses by PATCH an assignee of another org, and a PATCH that changes nothing", async () => {
    const { body: task } = await createTask({ title: "Hand me over" });
    const foreign = await patch(task.id, { assignee_id: other.agents[0]!.id });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details).toEqual([{ field: "assignee_id", message: "no such agent in this org" }]);
    const empty = await patch(task.id, {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.message + JSON.stringify(empty.body.error.details)).toMatch(/nothing to update/);
    expect((await app.request("GET", `/api/v1/tasks/${task.id}`, { key: acme.api_key })).body).toMatchObject({ assignee_id: null, status: "todo" });
  });

  it("creates tasks in batch only in teams of their own org", async () => {
    const task = { description: "", tags: [], priority: "medium" as const, task_type: "feature" as const };
    const tasks = [
      { ...task, org_id: acme.org_id, team_id: acme.team_id, title: "ours" },
      { ...task, org_id: acme.org_id, team_id: other.team_id, title: "in another org's team" },
    ];
    const before = await app.db.knex("tasks").count<{ count: string }[]>("* as count");
    await expect(app.db.knex.transaction((trx) => createTasks(trx, tasks))).rejects.toMatchObject({ details: [{ field: "team_id", message: "no such team in this org" }] });
    expect(await app.db.knex("tasks").count<{ count: string }[]>("* as count")).toEqual(before);
  });

  it("answers 404 for another org's task, like a missing one, and does not change it", async () => {
    const theirs = await app.request("POST", "/api/v1/tasks", { key: other.api_key, body: { team_id: other.team_id, title: "private" } });
    expect((await app.request("GET", `/api/v1/tasks/${theirs.body.id}`, { key: acme.api_key })).status).toBe(404);
    expect((await app.request("GET", `/api/v1/tasks/99999999`, { key: acme.api_key })).status).toBe(404);
    const patch = await app.request("PATCH", `/api/v1/tasks/${theirs.body.id}`, { key: acme.api_key, body: { status: "cancelled" } });
    expect(patch.status).toBe(404);
    const still = await app.request("GET", `/api/v1/tasks/${theirs.body.id}`, { key: other.api_key });
    expect(still.body.status).toBe("todo");
    const list = await app.request("GET", "/api/v1/tasks", { key: acme.api_key });
    expect(list.body.some((task: { id: number }) => task.id === theirs.body.id)).toBe(false);
  });

  it("enforces the status transitions with a 409 that gives the reason", async () => {
    const { body: task } = await createTask({ title: "Transitions" });
    const skip = await setStatus(task.id, "in_review");
    expect(skip.status).toBe(409);
    expect(skip.body.error.message).toMatch(/cannot go from todo to in_review/);
    expect(skip.body.error.details.allowed).toEqual(["in_progress", "cancelled"]);

    for (const status of ["in_progress", "in_review", "done"]) expect((await setStatus(task.id, status)).status).toBe(200);
    const done = await app.request("GET", `/api/v1/tasks/${task.id}`, { key: acme.api_key });
    expect(done.body.completed_at).not.toBeNull();
    expect((await setStatus(task.id, "in_progress")).status).toBe(409);
    const reopened = await setStatus(task.id, "todo");
    expect(reopened.status).toBe(200);
    expect(reopened.body.completed_at).toBeNull();

    const types = (await app.db.knex("events").whereRaw("(data->>'task_id')::int = ?", [task.id]).orderBy("id")).map((e) => e.type);
    expect(types).toEqual(["task.created", "task.status_changed", "task.status_changed", "task.status_changed", "task.completed", "task.status_changed"]);
  });

  it("names each dependency once and in id order, however the request lists them", async () => {
    const { body: first } = await createTask({ title: "Migration" });
    const { body: second } = await createTask({ title: "Backfill" });
    const created = await createTask({ title: "Switch over", depends_on: [second.id, first.id, second.id] });
    expect(created.status).toBe(201);
    expect(created.body.depends_on).toEqual([first.id, second.id]);
    expect((await app.request("GET", `/api/v1/tasks/${created.body.id}`, { key: acme.api_key })).body.depends_on).toEqual([first.id, second.id]);
  });

  it("does not start a task while a dependency is not done", async () => {
    const { body: first } = await createTask({ title: "Schema" });
    const { body: second } = await createTask({ title: "API", depends_on: [first.id] });
    expect(second.depends_on).toEqual([first.id]);
    const blocked = await setStatus(second.id, "in_progress");
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.message).toContain(`#${first.id} (todo)`);
    await setStatus(first.id, "in_progress");
    await setStatus(first.id, "done");
    expect((await setStatus(second.id, "in_progress")).status).toBe(200);
  });

  it("completes a parent when its last sub-task is done", async () => {
    const { body: parent } = await createTask({ title: "Dark mode" });
    const a = await createTask({ title: "Tokens", parent_id: parent.id });
    const b = await createTask({ title: "Toggle", parent_id: parent.id });
    for (const id of [a.body.id, b.body.id]) {
      await setStatus(id, "in_progress");
      await setStatus(id, "done");
    }
    const detail = await app.request("GET", `/api/v1/tasks/${parent.id}`, { key: acme.api_key });
    expect(detail.body.status).toBe("done");
    expect(detail.body.subtasks.map((task: { id: number }) => task.id)).toEqual([a.body.id, b.body.id]);
  });

  it("leaves a parent open when all its sub-tasks were cancelled, and completes it when the last open one is cancelled after one was done", async () => {
    const parentStatus = async (id: number) => (await app.request("GET", `/api/v1/tasks/${id}`, { key: acme.api_key })).body.status;
    const { body: dropped } = await createTask({ title: "Dropped feature" });
    for (const title of ["Spike", "Build"]) {
      const child = await createTask({ title, parent_id: dropped.id });
      expect((await setStatus(child.body.id, "cancelled")).status).toBe(200);
    }
    // Nothing was done: cancelling every sub-task is not finishing the parent.
    expect(await parentStatus(dropped.id)).toBe("todo");

    const { body: trimmed } = await createTask({ title: "Trimmed feature" });
    const built = await createTask({ title: "Build", parent_id: trimmed.id });
    const polish = await createTask({ title: "Polish", parent_id: trimmed.id });
    await setStatus(built.body.id, "in_progress");
    await setStatus(built.body.id, "done");
    expect(await parentStatus(trimmed.id)).toBe("todo");
    await setStatus(polish.body.id, "cancelled");
    expect(await parentStatus(trimmed.id)).toBe("done");
  });

  it("leaves a cancelled parent cancelled when its sub-tasks are finished after it", async () => {
    const { body: parent } = await createTask({ title: "Shelved epic" });
    const child = await createTask({ title: "Already started", parent_id: parent.id });
    expect((await setStatus(parent.id, "cancelled")).status).toBe(200);
    await setStatus(child.body.id, "in_progress");
    expect((await setStatus(child.body.id, "done")).status).toBe(200);
    expect((await app.request("GET", `/api/v1/tasks/${parent.id}`, { key: acme.api_key })).body.status).toBe("cancelled");
  });

  it("does not complete a parent twice: one finished by hand stays done with one task.completed when its last sub-task finishes", async () => {
    const { body: parent } = await createTask({ title: "Finished early" });
    const child = await createTask({ title: "Straggler", parent_id: parent.id });
    await setStatus(parent.id, "in_progress");
    expect((await setStatus(parent.id, "done")).status).toBe(200);
    await setStatus(child.body.id, "in_progress");
    expect((await setStatus(child.body.id, "done")).status).toBe(200);
    const completed = await app.db.knex("events").where({ type: "task.completed" }).whereRaw("(data->>'task_id')::int = ?", [parent.id]);
    expect(completed).toHaveLength(1);
  });

  it("shows in a task's detail only the GitHub writes made for that task", async () => {
    const { body: first } = await createTask({ title: "Has a comment" });
    const { body: second } = await createTask({ title: "Has another" });
    const comment = (task: number) => ({ org_id: acme.org_id, kind: "issue_comment" as const, repository: "acme/app", dedupe_key: `detail-test-${task}`, request: { issue_number: task, body: "hi" }, task_id: task });
    const mine = await enqueueGithubAction(app.db.knex, comment(first.id));
    await enqueueGithubAction(app.db.knex, comment(second.id));
    const detail = await app.request("GET", `/api/v1/tasks/${first.id}`, { key: acme.api_key });
    expect(detail.body.github_updates.map((update: { id: number }) => update.id)).toEqual([mine.id]);
  });

  it("changes title and description by PATCH, with one task.updated event naming the fields and their previous values", async () => {
    const { body: task } = await createTask({ title: "Old title", description: "Old text" });
    const res = await patch(task.id, { title: "New title", description: "New text" });
    expect(res.body).toMatchObject({ title: "New title", description: "New text", priority: "medium" });
    expect(await taskEventDetails(app.db.knex, task.id, "task.updated")).toEqual([
      { changes: ["title", "description"], previous: { title: "Old title", description: "Old text" } },
    ]);
  });

  it("assigns and unassigns with events", async () => {
    const { body: task } = await createTask({ title: "Assign me" });
    const agent = acme.agents[1]!.id;
    const assigned = await app.request("PATCH", `/api/v1/tasks/${task.id}`, { key: acme.api_key, body: { assignee_id: agent, priority: "high" } });
    expect(assigned.body).toMatchObject({ assignee_id: agent, priority: "high" });
    const cleared = await app.request("PATCH", `/api/v1/tasks/${task.id}`, { key: acme.api_key, body: { assignee_id: null } });
    expect(cleared.body.assignee_id).toBeNull();
    const types = (await app.db.knex("events").whereRaw("(data->>'task_id')::int = ?", [task.id]).orderBy("id")).map((e) => e.type);
    expect(types).toEqual(["task.created", "task.updated", "task.assigned", "task.unassigned"]);
  });

  it("keeps the agent pool in step with hand assignments: busy while holding an open task, free after", async () => {
    const org = await app.bootstrap({ name: "pool", engineers: 1 });
    const agent = org.agents[0]!.id;
    const status = async () => (await app.db.knex("agents").where({ id: agent }).first()).status;
    const { body: task } = await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "By hand", assignee_id: agent } });
    expect(await status()).toBe("busy");
    await app.request("PATCH", `/api/v1/tasks/${task.id}`, { key: org.api_key, body: { assignee_id: null } });
    expect(await status()).toBe("available");
    await app.request("PATCH", `/api/v1/tasks/${task.id}`, { key: org.api_key, body: { assignee_id: agent } });
    expect(await status()).toBe("busy");
    await app.request("PATCH", `/api/v1/tasks/${task.id}`, { key: org.api_key, body: { status: "cancelled" } });
    expect(await status()).toBe("available");
  });

  it("tells who a task was created for; assigning the same agent again changes nothing; reassigning frees the first agent and occupies the second", async () => {
    const org = await app.bootstrap({ name: "reassign" });
    const [first, second] = org.agents.map((agent) => agent.id) as [string, string];
    const { body: task } = await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "Hand over", assignee_id: first } });
    expect((await patch(task.id, { assignee_id: first }, org.api_key)).status).toBe(200);
    expect(await agentStatuses([first, second])).toEqual(["busy", "available"]);
    expect((await patch(task.id, { assignee_id: second }, org.api_key)).body.assignee_id).toBe(second);
    expect(await agentStatuses([first, second])).toEqual(["available", "busy"]);
    expect(await taskEventDetails(app.db.knex, task.id, "task.assigned")).toEqual([
      { assignee_id: first },
      { assignee_id: second, previous_assignee_id: first },
    ]);
  });

  it("leaves an agent free when it is given a task that is already finished", async () => {
    const org = await app.bootstrap({ name: "finished", engineers: 1 });
    const agent = org.agents[0]!.id;
    const { body: task } = await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title: "Dropped" } });
    await patch(task.id, { status: "cancelled" }, org.api_key);
    expect((await patch(task.id, { assignee_id: agent }, org.api_key)).body.assignee_id).toBe(agent);
    expect(await agentStatuses([agent])).toEqual(["available"]);
  });

  it("filters the list by status, assignee and parent", async () => {
    const { body: team } = await app.request("POST", "/api/v1/teams", { key: acme.api_key, body: { name: "filters" } });
    const inTeam = async (body: Record<string, unknown>) => (await createTask({ team_id: team.id, ...body })).body;
    const parent = await inTeam({ title: "Parent" });
    const child = await inTeam({ title: "Child", parent_id: parent.id });
    const assigned = await inTeam({ title: "Assigned", assignee_id: acme.agents[0]!.id });
    const started = await inTeam({ title: "Started" });
    await setStatus(started.id, "in_progress");
    const ids = async (query: string) => (await app.request("GET", `/api/v1/tasks?team_id=${team.id}&${query}`, { key: acme.api_key })).body.map((task: { id: number }) => task.id);
    expect(await ids("status=in_progress")).toEqual([started.id]);
    expect(await ids(`assignee_id=${acme.agents[0]!.id}`)).toEqual([assigned.id]);
    expect(await ids(`parent_id=${parent.id}`)).toEqual([child.id]);
  });

  it("lists newest first with filters and cursor pagination via the Link header", async () => {
    const { body: team } = await app.request("POST", "/api/v1/teams", { key: acme.api_key, body: { name: "paging" } });
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: team.id, title: `t${i}`, tags: i % 2 ? ["odd"] : [] } });
      ids.push(res.body.id);
    }
    const seen: number[] = [];
    let next: string | undefined = `/api/v1/tasks?team_id=${team.id}&limit=2`;
    while (next) {
      const page = await app.request("GET", next, { key: acme.api_key });
      expect(page.status).toBe(200);
      seen.push(...page.body.map((task: { id: number }) => task.id));
      const link = page.headers.get("link");
      next = link ? /<([^>]+)>; rel="next"/.exec(link)![1] : undefined;
    }
    expect(seen).toEqual([...ids].reverse());

    const odd = await app.request("GET", `/api/v1/tasks?team_id=${team.id}&tag=odd`, { key: acme.api_key });
    expect(odd.body.map((task: { id: number }) => task.id)).toEqual([ids[3], ids[1]]);
    const badCursor = await app.request("GET", `/api/v1/tasks?cursor=garbage`, { key: acme.api_key });
    expect(badCursor.status).toBe(400);
    const badStatus = await app.request("GET", `/api/v1/tasks?status=sleeping`, { key: acme.api_key });
    expect(badStatus.status).toBe(400);
  });
});
