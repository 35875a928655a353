import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { addTaskComment } from "../../../src/features/tasks/task-comments.service.js";
import { insertTask } from "../../../src/features/tasks/tasks.store.js";
import { findFreePort } from "../../../src/lib/find-free-port.js";
import { connectStdio, entourageCommand, REPO_ROOT, type McpTestClient } from "../../helpers/mcp-client.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

const TOOLS = [
  "add_task_comment",
  "create_subtasks",
  "get_review",
  "get_task",
  "list_my_tasks",
  "list_pending_reviews",
  "submit_review",
  "update_task_status",
];

describe("entourage mcp (stdio)", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;
  let mcp: McpTestClient;
  let agentId: string;

  const rest = (method: string, path: string, body?: unknown) => app.request(method, path, { key: acme.api_key, body });

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
    agentId = acme.agents[0]!.id;
    mcp = await connectStdio({ ENTOURAGE_API_KEY: acme.api_key, ENTOURAGE_AGENT_ID: agentId, ENTOURAGE_URL: app.url });
  }, 60_000);
  afterAll(async () => {
    await mcp?.close();
    await app?.close();
  });

  it("lists the eight tools, each with a description and an input schema", async () => {
    const { tools } = await mcp.client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description?.length, tool.name).toBeGreaterThan(60);
      expect(tool.inputSchema.type).toBe("object");
    }
    const status = tools.find((tool) => tool.name === "update_task_status")!;
    expect(status.inputSchema.required).toEqual(["task_id", "status"]);
  });

  it("takes a task, splits it into dependent sub-tasks, finishes them, and the REST API sees the parent done", async () => {
    const { body: parent } = await rest("POST", "/api/v1/tasks", { team_id: acme.team_id, title: "Add dark mode support", assignee_id: agentId });

    const mine = await mcp.call("list_my_tasks");
    expect(mine.isError).toBe(false);
    expect(mine.json.tasks.map((task: { id: number }) => task.id)).toContain(parent.id);

    const taken = await mcp.call("update_task_status", { task_id: parent.id, status: "in_progress" });
    expect(taken.json.task).toMatchObject({ id: parent.id, status: "in_progress" });

    const split = await mcp.call("create_subtasks", {
      task_id: parent.id,
      subtasks: [{ title: "Design tokens" }, { title: "Theme toggle", priority: "high" }, { title: "Docs", task_type: "docs", depends_on: [0, 1] }],
    });
    expect(split.isError, split.text).toBe(false);
    const [tokens, toggle, docs] = split.json.subtasks;
    expect(docs.depends_on).toEqual([tokens.id, toggle.id]);

    const blocked = await mcp.call("update_task_status", { task_id: docs.id, status: "in_progress" });
    expect(blocked.isError).toBe(true);
    expect(blocked.text).toContain(`Task #${docs.id} cannot start: it depends on #${tokens.id} (todo), #${toggle.id} (todo)`);

    let last: Awaited<ReturnType<McpTestClient["call"]>> | undefined;
    for (const task of [tokens, toggle, docs]) {
      expect((await mcp.call("update_task_status", { task_id: task.id, status: "in_progress" })).isError).toBe(false);
      last = await mcp.call("update_task_status", { task_id: task.id, status: "done" });
      expect(last.isError, last.text).toBe(false);
    }
    expect(last!.json.parent).toMatchObject({ id: parent.id, status: "done" });

    const { body: detail } = await rest("GET", `/api/v1/tasks/${parent.id}`);
    expect(detail.status).toBe("done");
    expect(detail.subtasks).toEqual([tokens, toggle, docs].map((task) => expect.objectContaining({ id: task.id, status: "done", assignee_id: agentId })));

    const viaMcp = await mcp.call("get_task", { task_id: parent.id });
    expect(viaMcp.json.task.status).toBe("done");
    expect(viaMcp.json.subtasks.map((task: { status: string }) => task.status)).toEqual(["done", "done", "done"]);
    const docsDetail = await mcp.call("get_task", { task_id: docs.id });
    expect(docsDetail.json.parent).toMatchObject({ id: parent.id, status: "done" });
    expect(docsDetail.json.dependencies).toEqual([expect.objectContaining({ id: tokens.id, status: "done" }), expect.objectContaining({ id: toggle.id, status: "done" })]);
  });

  it("comments as the agent, and get_task shows GitHub links, comments and review comments to address", async () => {
    const task = await insertTask(app.db.knex, {
      org_id: acme.org_id,
      team_id: acme.team_id,
      title: "Fix login redirect",
      description: "From GitHub",
      priority: "high",
      task_type: "bugfix",
      tags: ["github"],
      source: { repository: "acme/web", issue_number: 42, html_url: "https://github.com/acme/web/issues/42" },
    });
    const added = await mcp.call("add_task_comment", { task_id: task.id, body: "Reproduced on Safari" });
    expect(added.json).toMatchObject({ task_id: task.id, author_agent_id: agentId, kind: "comment" });
    const { body: thread } = await rest("GET", `/api/v1/tasks/${task.id}/comments`);
    expect(thread).toEqual([expect.objectContaining({ body: "Reproduced on Safari", author_agent_id: agentId })]);

    await app.db.knex.transaction((trx) =>
      addTaskComment(trx, task, { body: "Check the return URL", kind: "review", metadata: { path: "src/login.ts", line: 7 } }),
    );
    const detail = await mcp.call("get_task", { task_id: task.id });
    expect(detail.json.github).toMatchObject({ repository: "acme/web", issue_number: 42, urls: ["https://github.com/acme/web/issues/42"] });
    expect(detail.json.comments.map((c: { body: string }) => c.body)).toEqual(["Reproduced on Safari"]);
    expect(detail.json.review_comments_to_address).toEqual([
      expect.objectContaining({ body: "Check the return URL", metadata: { path: "src/login.ts", line: 7 } }),
    ]);
  });

  it("returns the API's refusals as tool errors: unknown task, another org's task, forbidden transition", async () => {
    const unknown = await mcp.call("get_task", { task_id: 99_999_999 });
    expect(unknown).toMatchObject({ isError: true });
    expect(unknown.text).toContain("Entourage API error (HTTP 404 not_found): Task #99999999 not found");

    const { body: theirs } = await app.request("POST", "/api/v1/tasks", { key: other.api_key, body: { team_id: other.team_id, title: "private" } });
    const foreign = await mcp.call("update_task_status", { task_id: theirs.id, status: "in_progress" });
    expect(foreign.isError).toBe(true);
    expect(foreign.text).toContain("HTTP 404");
    expect((await app.request("GET", `/api/v1/tasks/${theirs.id}`, { key: other.api_key })).body.status).toBe("todo");

    const { body: task } = await rest("POST", "/api/v1/tasks", { team_id: acme.team_id, title: "Skip ahead" });
    const forbidden = await mcp.call("update_task_status", { task_id: task.id, status: "done" });
    expect(forbidden.isError).toBe(true);
    expect(forbidden.text).toContain("cannot go from todo to done");
    expect(forbidden.text).toContain('"allowed":["in_progress","cancelled"]');

    const badIndex = await mcp.call("create_subtasks", { task_id: task.id, subtasks: [{ title: "A", depends_on: [3] }] });
    expect(badIndex.isError).toBe(true);
    expect(badIndex.text).toContain("subtasks.0.depends_on");
  });

  it("returns bad arguments as tool errors, and keeps serving afterwards", async () => {
    const cases: [string, Record<string, unknown>][] = [
      ["update_task_status", { task_id: 1, status: "flying" }],
      ["get_task", { task_id: "abc" }],
      ["get_task", {}],
      ["create_subtasks", { task_id: 1, subtasks: [] }],
      ["add_task_comment", { task_id: 1, body: "" }],
      ["submit_review", { review_id: "1", verdict: "maybe", summary: "?" }],
      ["submit_review", { review_id: "1", verdict: "approve", summary: "ok", comments: [{ path: "a.ts", line: 0, body: "x" }] }],
    ];
    for (const [name, args] of cases) {
      const result = await mcp.call(name, args);
      expect(result.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
      expect(result.text).toMatch(/Input validation error/);
    }
    expect((await mcp.client.listTools()).tools).toHaveLength(TOOLS.length);
  });

  it("surfaces the Reviews API's answer for an unknown review as a tool error", async () => {
    const review = await mcp.call("get_review", { review_id: "00000000-0000-4000-8000-000000000000" });
    expect(review.isError).toBe(true);
    expect(review.text).toContain("HTTP 404");
    const verdict = await mcp.call("submit_review", {
      review_id: "00000000-0000-4000-8000-000000000000",
      verdict: "request_changes",
      summary: "Needs tests",
      comments: [{ path: "src/a.ts", line: 3, body: "Test this" }],
    });
    expect(verdict.isError).toBe(true);
    expect(verdict.text).toContain("HTTP 404");
  });

  it("wrote nothing but protocol messages to stdout, and its diagnostics to stderr", () => {
    expect(mcp.errors).toEqual([]);
    expect(mcp.stderr()).toContain(`serving agent ${agentId}`);
  });

  it("reports a wrong key and an unreachable server as tool errors", async () => {
    const badKey = await connectStdio({ ENTOURAGE_API_KEY: "oc_not-a-real-key", ENTOURAGE_AGENT_ID: agentId, ENTOURAGE_URL: app.url });
    const closedPort = await findFreePort();
    const nowhere = await connectStdio({ ENTOURAGE_API_KEY: acme.api_key, ENTOURAGE_AGENT_ID: agentId, ENTOURAGE_URL: `http://127.0.0.1:${closedPort}` });
    try {
      const denied = await badKey.call("list_my_tasks");
      expect(denied.isError).toBe(true);
      expect(denied.text).toContain("HTTP 401 unauthorized");
      const unreachable = await nowhere.call("get_task", { task_id: 1 });
      expect(unreachable.isError).toBe(true);
      expect(unreachable.text).toContain(`Cannot reach Entourage at http://127.0.0.1:${closedPort}`);
    } finally {
      await badKey.close();
      await nowhere.close();
    }
  });

  it("refuses to start without its environment, saying what is missing on stderr and nothing on stdout", () => {
    const { command, args } = entourageCommand("mcp");
    const run = spawnSync(command, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", ENTOURAGE_AGENT_ID: "eng-1" },
      input: "",
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(78);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("ENTOURAGE_API_KEY: is required");
    expect(run.stderr).toContain("ENTOURAGE_AGENT_ID: must be the id (a UUID)");
  });
});
