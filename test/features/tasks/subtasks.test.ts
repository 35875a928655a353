import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("POST /api/v1/tasks/{id}/subtasks", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;

  const createTask = async (body: Record<string, unknown> = {}) =>
    (await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "Parent", ...body } })).body;
  const split = (id: number, subtasks: unknown, key = acme.api_key) =>
    app.request("POST", `/api/v1/tasks/${id}/subtasks`, { key, body: { subtasks } });
  const setStatus = (id: number, status: string) => app.request("PATCH", `/api/v1/tasks/${id}`, { key: acme.api_key, body: { status } });
  const taskCount = async () => Number((await app.db.knex("tasks").count({ n: "*" }).first())!.n);

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(() => app.close());

  it("creates the sub-tasks in list order under the parent, with dependencies as task ids and task.created events", async () => {
    const parent = await createTask({ title: "Add dark mode support", priority: "high", task_type: "feature", tags: ["github"] });
    const res = await split(parent.id, [
      { title: "Design tokens" },
      { title: "Theme toggle", priority: "low", task_type: "chore", description: "In the header" },
      { title: "Docs", task_type: "docs", depends_on: [0, 1] },
    ]);
    expect(res.status).toBe(201);
    const [tokens, toggle, docs] = res.body;
    expect(res.body).toHaveLength(3);
    expect([toggle.id, docs.id]).toEqual([tokens.id + 1, tokens.id + 2]);
    for (const task of res.body) expect(task).toMatchObject({ parent_id: parent.id, team_id: acme.team_id, status: "todo", tags: [], assignee_id: null });
    expect(tokens).toMatchObject({ title: "Design tokens", priority: "high", task_type: "feature", depends_on: [] });
    expect(toggle).toMatchObject({ priority: "low", task_type: "chore", description: "In the header" });
    expect(docs.depends_on).toEqual([tokens.id, toggle.id]);

    const events = await app.db.knex("events").where({ type: "task.created" }).whereRaw("(data->>'task_id')::int = ANY(?)", [[tokens.id, toggle.id, docs.id]]);
    expect(events).toHaveLength(3);
    const docsEvent = events.find((event) => event.data.task_id === docs.id);
    expect(docsEvent.data.task.depends_on).toEqual([tokens.id, toggle.id]);

    const detail = await app.request("GET", `/api/v1/tasks/${parent.id}`, { key: acme.api_key });
    expect(detail.body.subtasks.map((task: { id: number }) => task.id)).toEqual([tokens.id, toggle.id, docs.id]);
  });

  it("blocks a sub-task until its dependencies are done, and completes the parent after the last one", async () => {
    const parent = await createTask();
    await setStatus(parent.id, "in_progress");
    const { body: subtasks } = await split(parent.id, [{ title: "A" }, { title: "B", depends_on: [0] }]);
    const [a, b] = subtasks;
    expect((await setStatus(b.id, "in_progress")).status).toBe(409);
    for (const id of [a.id, b.id]) {
      expect((await setStatus(id, "in_progress")).status).toBe(200);
      expect((await setStatus(id, "done")).status).toBe(200);
    }
    const after = await app.request("GET", `/api/v1/tasks/${parent.id}`, { key: acme.api_key });
    expect(after.body.status).toBe("done");
  });

  it("accepts dependencies that join again without a cycle (a diamond), each edge once", async () => {
    const parent = await createTask();
    const res = await split(parent.id, [{ title: "Spec" }, { title: "Backend", depends_on: [0] }, { title: "Frontend", depends_on: [0] }, { title: "Release", depends_on: [1, 2, 1] }]);
    expect(res.status).toBe(201);
    const [spec, backend, frontend, release] = res.body;
    expect([backend.depends_on, frontend.depends_on, release.depends_on]).toEqual([[spec.id], [spec.id], [backend.id, frontend.id]]);
  });

  it("answers 400 naming the bad entry for out-of-range, self and cyclic dependencies, and creates nothing", async () => {
    const parent = await createTask();
    const before = await taskCount();

    const range = await split(parent.id, [{ title: "A" }, { title: "B", depends_on: [5] }]);
    expect(range.status).toBe(400);
    expect(range.body.error.details).toEqual([{ field: "subtasks.1.depends_on", message: expect.stringContaining("index 5 is out of range") }]);
    // One past the last index is out of range too.
    const pastEnd = await split(parent.id, [{ title: "A" }, { title: "B", depends_on: [2] }]);
    expect(pastEnd.status).toBe(400);
    expect(pastEnd.body.error.details).toEqual([{ field: "subtasks.1.depends_on", message: expect.stringContaining("index 2 is out of range") }]);

    const self = await split(parent.id, [{ title: "A", depends_on: [0] }]);
    expect(self.status).toBe(400);
    expect(self.body.error.details).toEqual([{ field: "subtasks.0.depends_on", message: "a sub-task cannot depend on itself" }]);

    const cycle = await split(parent.id, [{ title: "A" }, { title: "B", depends_on: [2] }, { title: "C", depends_on: [0, 1] }]);
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.details).toEqual([{ field: "subtasks.1.depends_on", message: "dependency cycle: 1 → 2 → 1" }]);
    // The cycle named is the loop itself, not the branches looked at before it was found.
    const branched = await split(parent.id, [{ title: "A", depends_on: [1, 2] }, { title: "B" }, { title: "C", depends_on: [0] }]);
    expect(branched.body.error.details).toEqual([{ field: "subtasks.0.depends_on", message: "dependency cycle: 0 → 2 → 0" }]);

    const shapes = await split(parent.id, [{ title: "" }, { title: "x", priority: "urgent", depends_on: [-1] }]);
    expect(shapes.status).toBe(400);
    expect(shapes.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(["subtasks.0.title", "subtasks.1.depends_on.0", "subtasks.1.priority"]);

    expect((await split(parent.id, [])).status).toBe(400);
    expect((await app.request("POST", `/api/v1/tasks/${parent.id}/subtasks`, { key: acme.api_key, body: { title: "not a list" } })).status).toBe(400);
    expect(await taskCount()).toBe(before);
  });

  it("answers 404 for another org's task or a missing one, and 409 for a finished parent", async () => {
    const theirs = await app.request("POST", "/api/v1/tasks", { key: other.api_key, body: { team_id: other.team_id, title: "private" } });
    const before = await taskCount();
    expect((await split(theirs.body.id, [{ title: "sneaky" }])).status).toBe(404);
    expect((await split(99_999_999, [{ title: "nothing" }])).status).toBe(404);
    expect(await taskCount()).toBe(before);

    const cancelled = await createTask();
    await setStatus(cancelled.id, "cancelled");
    const res = await split(cancelled.id, [{ title: "late" }]);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toMatch(/is cancelled/);
    const done = await createTask();
    for (const status of ["in_progress", "done"]) await setStatus(done.id, status);
    expect((await split(done.id, [{ title: "after the fact" }])).status).toBe(409);
    expect(await taskCount()).toBe(before + 2);
  });

  it("requires an API key", async () => {
    const parent = await createTask();
    expect((await app.request("POST", `/api/v1/tasks/${parent.id}/subtasks`, { body: { subtasks: [{ title: "x" }] } })).status).toBe(401);
  });
});
