import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { openSse, type SseClient } from "../../helpers/sse-client.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("GET /api/v1/events", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let other: BootstrapResult;
  const clients: SseClient[] = [];

  const connect = async (query = "", headers: Record<string, string> = { "x-api-key": acme.api_key }) => {
    const client = await openSse(`${app.url}/api/v1/events${query}`, headers);
    clients.push(client);
    return client;
  };
  const createTask = async (title: string, org = acme) => {
    const res = await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title } });
    expect(res.status).toBe(201);
    return res.body as { id: number };
  };
  const tokenFor = async (org: BootstrapResult) => {
    const res = await app.request("POST", "/api/v1/auth/token", { key: org.api_key, body: { expires_in: 120 } });
    return res.body.token as string;
  };
  const isTaskEvent = (type: string, taskId: number) => (m: { json: any }) => m.json?.type === type && m.json?.data?.task_id === taskId;

  beforeAll(async () => {
    app = await startTestApp({ SSE_HEARTBEAT_SECONDS: "0.2" });
    acme = await app.bootstrap();
    other = await app.bootstrap({ name: "other" });
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await app.close();
  });

  describe("live", () => {
    it("streams the caller's events with the event id as the SSE id", async () => {
      const client = await connect();
      expect(client.status).toBe(200);
      const task = await createTask("Live one");
      const message = await client.waitFor(isTaskEvent("task.created", task.id));
      expect(message.json).toMatchObject({ type: "task.created", org_id: acme.org_id, team_id: acme.team_id, data: { task: { title: "Live one" } } });
      expect(message.id).toBe(String(message.json.id));
      const stored = await app.db.knex("events").where({ id: message.json.id }).first();
      expect(stored.type).toBe("task.created");
    });

    it("never shows another org's events", async () => {
      const acmeClient = await connect();
      const otherClient = await connect("", { "x-api-key": other.api_key });
      const theirs = await createTask("Their secret", other);
      const ours = await createTask("Ours", acme);
      await otherClient.waitFor(isTaskEvent("task.created", theirs.id));
      await acmeClient.waitFor(isTaskEvent("task.created", ours.id));
      await otherClient.waitFor(isTaskEvent("task.created", ours.id), 300).then(
        () => expect.fail("other org saw acme's task"),
        () => undefined,
      );
      expect(acmeClient.messages.every((m) => m.json.org_id === acme.org_id)).toBe(true);
      expect(otherClient.messages.every((m) => m.json.org_id === other.org_id)).toBe(true);
    });

    it("filters by type, with wildcards, and by team", async () => {
      const team2 = await app.request("POST", "/api/v1/teams", { key: acme.api_key, body: { name: "second" } });
      const statusOnly = await connect("?types=task.status_changed");
      const teamOnly = await connect(`?types=task.*&team_id=${team2.body.id}`);
      const inTeam2 = await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: team2.body.id, title: "team 2" } });
      const task = await createTask("filtered");
      await app.request("PATCH", `/api/v1/tasks/${task.id}`, { key: acme.api_key, body: { status: "in_progress" } });

      await statusOnly.waitFor(isTaskEvent("task.status_changed", task.id));
      expect(statusOnly.messages.map((m) => m.json.type)).toEqual(["task.status_changed"]);
      await teamOnly.waitFor(isTaskEvent("task.created", inTeam2.body.id));
      // The acme-team task's events were published after team 2's, so they would have arrived by now.
      const marker = await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: team2.body.id, title: "marker" } });
      await teamOnly.waitFor(isTaskEvent("task.created", marker.body.id));
      expect(teamOnly.messages.every((m) => m.json.team_id === team2.body.id)).toBe(true);
    });

    it("sends heartbeat comments while nothing happens", async () => {
      const client = await connect();
      await client.waitForComment((comment) => comment === "heartbeat");
    });
  });

  describe("resume", () => {
    it("replays what was missed after Last-Event-ID, then continues live, without duplicates", async () => {
      const first = await connect("?types=task.created");
      const a = await createTask("before disconnect");
      const seen = await first.waitFor(isTaskEvent("task.created", a.id));
      first.close();

      const b = await createTask("while away 1");
      const c = await createTask("while away 2");
      const resumed = await connect("?types=task.created", { "x-api-key": acme.api_key, "last-event-id": seen.id! });
      await resumed.waitFor(isTaskEvent("task.created", c.id));
      const d = await createTask("after resume");
      await resumed.waitFor(isTaskEvent("task.created", d.id));

      const taskIds = resumed.messages.map((m) => m.json.data.task_id);
      expect(taskIds).toEqual([b.id, c.id, d.id]);
      const ids = resumed.messages.map((m) => Number(m.id));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    });

    it("accepts ?last_event_id= and lets the Last-Event-ID header win on a browser reconnect", async () => {
      const a = await createTask("q1");
      const b = await createTask("q2");
      const [eventA] = await app.db.knex("events").where({ type: "task.created" }).whereRaw("(data->>'task_id')::int = ?", [a.id]);
      const [eventB] = await app.db.knex("events").where({ type: "task.created" }).whereRaw("(data->>'task_id')::int = ?", [b.id]);

      const byQuery = await connect(`?types=task.created&last_event_id=${eventA.id - 1}`);
      await byQuery.waitFor(isTaskEvent("task.created", b.id));
      expect(byQuery.messages.map((m) => m.json.data.task_id)).toEqual([a.id, b.id]);

      const headerWins = await connect(`?types=task.created&last_event_id=${eventA.id - 1}`, { "x-api-key": acme.api_key, "last-event-id": String(eventA.id) });
      await headerWins.waitFor(isTaskEvent("task.created", b.id));
      expect(headerWins.messages.map((m) => Number(m.id))).toEqual([eventB.id]);
    });

    it("replays only the caller's org", async () => {
      const theirs = await createTask("their replay", other);
      const ours = await createTask("our replay");
      const resumed = await connect("?types=task.created&last_event_id=0");
      await resumed.waitFor(isTaskEvent("task.created", ours.id));
      expect(resumed.messages.some((m) => m.json.data.task_id === theirs.id)).toBe(false);
      expect(resumed.messages.every((m) => m.json.org_id === acme.org_id)).toBe(true);
    });
  });

  describe("auth", () => {
    it("accepts a JWT from /auth/token as ?access_token=", async () => {
      const client = await connect(`?access_token=${await tokenFor(acme)}`, {});
      expect(client.status).toBe(200);
      const task = await createTask("via token");
      await client.waitFor(isTaskEvent("task.created", task.id));
    });

    it("accepts Authorization: Bearer <JWT>", async () => {
      const client = await connect("", { authorization: `Bearer ${await tokenFor(acme)}` });
      expect(client.status).toBe(200);
    });

    it("refuses an API key in the URL", async () => {
      const res = await app.request("GET", `/api/v1/events?access_token=${acme.api_key}`);
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/not accepted in URLs/);
    });

    it("refuses no credentials, a bad token, and ?access_token= on any other route", async () => {
      expect((await app.request("GET", "/api/v1/events")).status).toBe(401);
      expect((await app.request("GET", "/api/v1/events?access_token=not-a-jwt")).status).toBe(401);
      const other = await app.request("GET", `/api/v1/tasks?access_token=${await tokenFor(acme)}`);
      expect(other.status).toBe(401);
    });
  });

  describe("bad input", () => {
    it("answers 400 for a malformed type filter or Last-Event-ID", async () => {
      const badType = await app.request("GET", "/api/v1/events?types=task.created,DROP TABLE", { key: acme.api_key });
      expect(badType.status).toBe(400);
      expect(badType.body.error.details[0].field).toBe("types.1");
      const badId = await app.request("GET", "/api/v1/events", { key: acme.api_key, headers: { "last-event-id": "abc" } });
      expect(badId.status).toBe(400);
    });

    it("answers 404 for another org's team", async () => {
      const res = await app.request("GET", `/api/v1/events?team_id=${other.team_id}`, { key: acme.api_key });
      expect(res.status).toBe(404);
    });
  });
});

describe("GET /api/v1/events on shutdown", () => {
  it("ends open streams so the server can stop", async () => {
    const app = await startTestApp();
    try {
      const org = await app.bootstrap();
      const client = await openSse(`${app.url}/api/v1/events`, { "x-api-key": org.api_key });
      expect(client.status).toBe(200);
      await app.entourage.close();
      await client.ended;
    } finally {
      await app.db.drop();
    }
  });
});
