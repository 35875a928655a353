import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { addTaskComment } from "../../../src/features/tasks/task-comments.service.js";
import { getTask } from "../../../src/features/tasks/tasks.service.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("task comments", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;

  const createTask = async () =>
    (await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "Discuss me" } })).body;
  const comment = (id: number, body: unknown, key = acme.api_key) => app.request("POST", `/api/v1/tasks/${id}/comments`, { key, body });

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(() => app.close());

  it("adds a comment with its author and a task.commented event, and lists the thread oldest first", async () => {
    const task = await createTask();
    const author = acme.agents[0]!.id;
    const first = await comment(task.id, { body: "Started on the schema", author_agent_id: author });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ task_id: task.id, author_agent_id: author, kind: "comment", body: "Started on the schema", metadata: {} });
    const second = await comment(task.id, { body: "Anonymous note" });
    expect(second.body.author_agent_id).toBeNull();

    const list = await app.request("GET", `/api/v1/tasks/${task.id}/comments`, { key: acme.api_key });
    expect(list.status).toBe(200);
    expect(list.body.map((c: { body: string }) => c.body)).toEqual(["Started on the schema", "Anonymous note"]);

    const events = await app.db.knex("events").where({ type: "task.commented" }).whereRaw("(data->>'task_id')::int = ?", [task.id]).orderBy("id");
    expect(events.map((event) => event.data.comment.body)).toEqual(["Started on the schema", "Anonymous note"]);
    expect(events[0].data.task.id).toBe(task.id);
  });

  it("keeps review comments (added by the service) in the same thread, filterable by kind", async () => {
    const task = await createTask();
    await comment(task.id, { body: "plain" });
    await app.db.knex.transaction(async (trx) =>
      addTaskComment(trx, await getTask(trx, acme.org_id, task.id), {
        body: "Handle the null case",
        kind: "review",
        metadata: { review_id: "r1", path: "src/a.ts", line: 12 },
      }),
    );
    const all = await app.request("GET", `/api/v1/tasks/${task.id}/comments`, { key: acme.api_key });
    expect(all.body.map((c: { kind: string }) => c.kind)).toEqual(["comment", "review"]);
    const reviews = await app.request("GET", `/api/v1/tasks/${task.id}/comments?kind=review`, { key: acme.api_key });
    expect(reviews.body).toEqual([expect.objectContaining({ body: "Handle the null case", metadata: { review_id: "r1", path: "src/a.ts", line: 12 } })]);
  });

  it("pages with the Link header", async () => {
    const task = await createTask();
    for (let i = 0; i < 3; i++) await comment(task.id, { body: `c${i}` });
    const seen: string[] = [];
    let next: string | undefined = `/api/v1/tasks/${task.id}/comments?limit=2`;
    while (next) {
      const page = await app.request("GET", next, { key: acme.api_key });
      seen.push(...page.body.map((c: { body: string }) => c.body));
      const link = page.headers.get("link");
      next = link ? /<([^>]+)>; rel="next"/.exec(link)![1] : undefined;
    }
    expect(seen).toEqual(["c0", "c1", "c2"]);
  });

  it("answers 400 for an empty body, unknown fields or an author from another org", async () => {
    const task = await createTask();
    const empty = await comment(task.id, { body: "  " });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details[0].field).toBe("body");
    expect((await comment(task.id, { body: "x", kind: "review" })).status).toBe(400);
    const foreign = await comment(task.id, { body: "x", author_agent_id: other.agents[0]!.id });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.details).toEqual([{ field: "author_agent_id", message: "no such agent in this org" }]);
    expect((await app.request("GET", `/api/v1/tasks/${task.id}/comments`, { key: acme.api_key })).body).toEqual([]);
  });

  it("answers 404 for another org's task, both ways, and writes nothing", async () => {
    const theirs = await app.request("POST", "/api/v1/tasks", { key: other.api_key, body: { team_id: other.team_id, title: "private" } });
    await comment(theirs.body.id, { body: "their secret" }, other.api_key);
    expect((await comment(theirs.body.id, { body: "peek" })).status).toBe(404);
    expect((await app.request("GET", `/api/v1/tasks/${theirs.body.id}/comments`, { key: acme.api_key })).status).toBe(404);
    const still = await app.request("GET", `/api/v1/tasks/${theirs.body.id}/comments`, { key: other.api_key });
    expect(still.body.map((c: { body: string }) => c.body)).toEqual(["their secret"]);
  });
});
