import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("teams and agents", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(() => app.close());

  it("lists only the caller's teams", async () => {
    const res = await app.request("GET", "/api/v1/teams", { key: acme.api_key });
    expect(res.body.map((team: { id: string }) => team.id)).toEqual([acme.team_id]);
  });

  it("creates a team, and a second with the same name is a 409", async () => {
    const res = await app.request("POST", "/api/v1/teams", { key: acme.api_key, body: { name: "platform" } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: "platform", org_id: acme.org_id });
    const again = await app.request("POST", "/api/v1/teams", { key: acme.api_key, body: { name: "platform" } });
    expect(again.status).toBe(409);
  });

  it("answers 400 with field errors for a bad team body", async () => {
    const res = await app.request("POST", "/api/v1/teams", { key: acme.api_key, body: { name: "", extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    const fields = res.body.error.details.map((detail: { field: string }) => detail.field);
    expect(fields).toContain("name");
  });

  it("answers 400 invalid_json for a body that is not JSON", async () => {
    const res = await app.request("POST", "/api/v1/teams", { key: acme.api_key, body: "{nope" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_json");
  });

  it("answers 413 JSON for a body over the limit", async () => {
    const res = await app.request("POST", "/api/v1/teams", { key: acme.api_key, body: { name: "x".repeat(2_000_000) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
  });

  it("adds agents to a team in a stable order", async () => {
    const created = await app.request("POST", `/api/v1/teams/${acme.team_id}/agents`, {
      key: acme.api_key,
      body: { name: "rev-1", role: "reviewer" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "rev-1", role: "reviewer", status: "available", team_id: acme.team_id });
    const list = await app.request("GET", `/api/v1/teams/${acme.team_id}/agents`, { key: acme.api_key });
    expect(list.body.map((agent: { name: string }) => agent.name)).toEqual(["eng-1", "eng-2", "rev-1"]);
  });

  it("refuses an unknown role with a field error", async () => {
    const res = await app.request("POST", `/api/v1/teams/${acme.team_id}/agents`, {
      key: acme.api_key,
      body: { name: "x", role: "overlord" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details[0].field).toBe("role");
  });

  it("changes an agent's status and records an event", async () => {
    const agentId = acme.agents[0]!.id;
    const res = await app.request("PATCH", `/api/v1/agents/${agentId}`, { key: acme.api_key, body: { status: "offline" } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("offline");
    const event = await app.db.knex("events").where({ org_id: acme.org_id, type: "agent.status_changed" }).first();
    // The same shape as when the pool changes a status (assignment, release): with why.
    expect(event.data).toEqual({ agent_id: agentId, name: acme.agents[0]!.name, from: "available", to: "offline", reason: "set through the API" });
  });

  it("answers 404 for another org's team and agent, exactly like a missing one", async () => {
    const foreignTeam = await app.request("GET", `/api/v1/teams/${other.team_id}/agents`, { key: acme.api_key });
    const missingTeam = await app.request("GET", `/api/v1/teams/00000000-0000-4000-8000-000000000000/agents`, { key: acme.api_key });
    expect(foreignTeam.status).toBe(404);
    expect(missingTeam.status).toBe(404);
    expect(foreignTeam.body.error.code).toBe(missingTeam.body.error.code);

    const addToForeign = await app.request("POST", `/api/v1/teams/${other.team_id}/agents`, {
      key: acme.api_key,
      body: { name: "intruder", role: "engineer" },
    });
    expect(addToForeign.status).toBe(404);

    const patchForeign = await app.request("PATCH", `/api/v1/agents/${other.agents[0]!.id}`, { key: acme.api_key, body: { status: "busy" } });
    expect(patchForeign.status).toBe(404);
    const untouched = await app.request("GET", `/api/v1/teams/${other.team_id}/agents`, { key: other.api_key });
    expect(untouched.body[0].status).toBe("available");
  });

  it("answers 404 for a malformed id", async () => {
    const res = await app.request("GET", "/api/v1/teams/..%2F..%2Fetc/agents", { key: acme.api_key });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });
});
