import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { connectHttp } from "../../helpers/mcp-client.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "curl", version: "1" } },
};
const MCP_HEADERS = { accept: "application/json, text/event-stream" };

describe("POST /mcp (Streamable HTTP)", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(() => app.close());

  it("serves the tools to the SDK client as the agent named in X-Entourage-Agent, with effects visible through REST", async () => {
    const agentId = acme.agents[1]!.id;
    const mcp = await connectHttp(`${app.url}/mcp`, { "X-API-Key": acme.api_key, "X-Entourage-Agent": agentId });
    try {
      expect((await mcp.client.listTools()).tools).toHaveLength(8);
      const { body: task } = await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "Remote work" } });

      const taken = await mcp.call("update_task_status", { task_id: task.id, status: "in_progress" });
      expect(taken.isError, taken.text).toBe(false);
      const mine = await mcp.call("list_my_tasks");
      expect(mine.json).toMatchObject({ agent_id: agentId, tasks: [expect.objectContaining({ id: task.id, status: "in_progress" })] });

      const { body: after } = await app.request("GET", `/api/v1/tasks/${task.id}`, { key: acme.api_key });
      expect(after).toMatchObject({ status: "in_progress", assignee_id: agentId });

      const missing = await mcp.call("get_task", { task_id: 99_999_999 });
      expect(missing.isError).toBe(true);
      expect(missing.text).toContain("Task #99999999 not found");
      expect(mcp.errors).toEqual([]);
    } finally {
      await mcp.close();
    }
  });

  it("accepts Authorization: Bearer and the agent_id query parameter, scoped to the key's org", async () => {
    const { body: theirs } = await app.request("POST", "/api/v1/tasks", { key: other.api_key, body: { team_id: other.team_id, title: "private" } });
    const mcp = await connectHttp(`${app.url}/mcp?agent_id=${acme.agents[0]!.id}`, { Authorization: `Bearer ${acme.api_key}` });
    try {
      const foreign = await mcp.call("get_task", { task_id: theirs.id });
      expect(foreign.isError).toBe(true);
      expect(foreign.text).toContain("HTTP 404");
      const own = await mcp.call("list_my_tasks", { include_finished: true });
      expect(own.isError).toBe(false);
    } finally {
      await mcp.close();
    }
  });

  it("answers 401 without a key or with a wrong one, and the SDK client cannot connect", async () => {
    const agent = acme.agents[0]!.id;
    const none = await app.request("POST", "/mcp", { body: INITIALIZE, headers: { ...MCP_HEADERS, "x-entourage-agent": agent } });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("unauthorized");
    const wrong = await app.request("POST", "/mcp", { key: "oc_wrong", body: INITIALIZE, headers: { ...MCP_HEADERS, "x-entourage-agent": agent } });
    expect(wrong.status).toBe(401);
    await expect(connectHttp(`${app.url}/mcp`, { "X-Entourage-Agent": agent })).rejects.toThrow(/Missing or invalid credentials/);
  });

  it("answers 400 naming X-Entourage-Agent when no agent is given, and 405 to GET", async () => {
    const res = await app.request("POST", "/mcp", { key: acme.api_key, body: INITIALIZE, headers: MCP_HEADERS });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ field: "X-Entourage-Agent", message: "required" }]);
    const bad = await app.request("POST", "/mcp?agent_id=eng-1", { key: acme.api_key, body: INITIALIZE, headers: MCP_HEADERS });
    expect(bad.body.error.details).toEqual([{ field: "X-Entourage-Agent", message: "must be a UUID" }]);
    const get = await app.request("GET", "/mcp", { key: acme.api_key, headers: { accept: "text/event-stream" } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });
});
