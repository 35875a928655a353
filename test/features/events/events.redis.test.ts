import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { REDIS_SERVER_BIN, startRedisServer, type RedisServer } from "../../helpers/redis-server.js";
import { openSse, type SseClient } from "../../helpers/sse-client.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

/** A Redis of the caller's (TEST_REDIS_URL), else a throwaway redis-server of this file's own. */
const SHARED_REDIS_URL = process.env.TEST_REDIS_URL;
if (!SHARED_REDIS_URL && !REDIS_SERVER_BIN) console.warn("Skipping the two-instance Redis tests: no redis-server installed (set REDIS_SERVER_BIN) and no TEST_REDIS_URL.");
if (!REDIS_SERVER_BIN) console.warn("Skipping the Redis restart test: no redis-server binary (set REDIS_SERVER_BIN).");

const isCreated = (taskId: number) => (m: { json: any }) => m.json?.type === "task.created" && m.json?.data?.task_id === taskId;

async function createTask(app: TestApp, org: BootstrapResult, title: string): Promise<number> {
  const res = await app.request("POST", "/api/v1/tasks", { key: org.api_key, body: { team_id: org.team_id, title } });
  expect(res.status).toBe(201);
  return res.body.id;
}

const readyzAnswers = (app: TestApp, status: number) =>
  vi.waitFor(async () => expect((await app.request("GET", "/readyz")).status).toBe(status), { timeout: 15_000, interval: 50 });

describe.skipIf(!SHARED_REDIS_URL && !REDIS_SERVER_BIN)("two instances sharing one database and one Redis", () => {
  let redisUrl: string;
  let ownRedis: RedisServer | undefined;
  let a: TestApp;
  let b: TestApp;
  let org: BootstrapResult;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    ownRedis = SHARED_REDIS_URL ? undefined : await startRedisServer();
    redisUrl = SHARED_REDIS_URL ?? ownRedis!.url;
    a = await startTestApp({ REDIS_URL: redisUrl });
    b = await startTestApp({ REDIS_URL: redisUrl }, { database: a.db });
    org = await a.bootstrap();
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await b?.close();
    await a?.close();
    await ownRedis?.stop();
  });

  it("reports Redis in /readyz", async () => {
    const res = await a.request("GET", "/readyz");
    expect(res.status).toBe(200);
    expect(res.body.checks).toEqual({ database: "ok", redis: "ok" });
  });

  it("drops what is published on an org's channel that is not an event, and keeps serving the next one", async () => {
    const client = await openSse(`${a.url}/api/v1/events`, { "x-api-key": org.api_key });
    clients.push(client);
    const intruder = new Redis(redisUrl);
    try {
      const channel = `entourage:events:${org.org_id}`;
      await intruder.publish(channel, "not json");
      await intruder.publish(channel, JSON.stringify({ id: 1, org_id: org.org_id, type: "task.created" })); // no data, team_id, created_at
      await intruder.publish(channel, JSON.stringify({ id: "x", org_id: org.org_id, team_id: null, type: "task.created", data: {}, created_at: "now" }));
    } finally {
      intruder.disconnect();
    }
    // The marker: a real event published after the bad ones reaches the client, and is all it got.
    const taskId = await createTask(a, org, "after the junk");
    await client.waitFor(isCreated(taskId));
    expect(client.messages.filter((m) => m.json).map((m) => [m.json.type, m.json.data?.task_id])).toEqual([["task.created", taskId]]);
  });

  it("shows each client the events caused on either instance, once each, through the org's Redis channel", async () => {
    const spy = new Redis(redisUrl);
    const onChannel: { id: number; type: string }[] = [];
    spy.on("message", (_channel: string, message: string) => onChannel.push(JSON.parse(message)));
    await spy.subscribe(`entourage:events:${org.org_id}`);
    const onA = await openSse(`${a.url}/api/v1/events?types=task.created`, { "x-api-key": org.api_key });
    const onB = await openSse(`${b.url}/api/v1/events?types=task.created`, { "x-api-key": org.api_key });
    clients.push(onA, onB);

    const viaA = await createTask(a, org, "created on A");
    const viaB = await createTask(b, org, "created on B");
    for (const client of [onA, onB]) {
      await client.waitFor(isCreated(viaA));
      await client.waitFor(isCreated(viaB));
    }
    // One relay publishes; the other stands by, so nothing arrives twice.
    for (const client of [onA, onB]) {
      expect(client.messages.map((m) => m.json.data.task_id)).toEqual([viaA, viaB]);
    }
    const created = onChannel.filter((event) => event.type === "task.created");
    expect(created).toHaveLength(2);
    expect(created[0]!.id).toBeLessThan(created[1]!.id);
    await spy.quit();
  });
});

describe.skipIf(!REDIS_SERVER_BIN)("Redis stopped and restarted mid-stream", () => {
  let redis: RedisServer;
  let app: TestApp;
  let org: BootstrapResult;
  const clients: SseClient[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    app = await startTestApp({ REDIS_URL: redis.url });
    org = await app.bootstrap();
  });
  afterAll(async () => {
    clients.forEach((client) => client.close());
    await app?.close();
    await redis?.stop();
  });

  it("keeps ingesting while Redis is away and loses nothing for a client resuming with Last-Event-ID", async () => {
    const live = await openSse(`${app.url}/api/v1/events?types=task.created`, { "x-api-key": org.api_key });
    clients.push(live);
    const before = await createTask(app, org, "before the outage");
    const seen = await live.waitFor(isCreated(before));

    await redis.stop();
    await readyzAnswers(app, 503);
    const ready = await app.request("GET", "/readyz");
    expect(ready.body.checks.database).toBe("ok");
    expect(ready.body.checks.redis).not.toBe("ok");

    const during = [await createTask(app, org, "during the outage 1"), await createTask(app, org, "during the outage 2")];

    await redis.start();
    await readyzAnswers(app, 200);

    // The stream that stayed open catches up once Redis is back...
    for (const id of during) await live.waitFor(isCreated(id), 15_000);
    // ...and a client that reconnects from its last id gets exactly what it missed, then live events.
    const resumed = await openSse(`${app.url}/api/v1/events?types=task.created`, { "x-api-key": org.api_key, "last-event-id": seen.id! });
    clients.push(resumed);
    const after = await createTask(app, org, "after the outage");
    await resumed.waitFor(isCreated(after), 15_000);
    expect(resumed.messages.map((m) => m.json.data.task_id)).toEqual([...during, after]);
    await live.waitFor(isCreated(after), 15_000);
    expect(live.messages.map((m) => m.json.data.task_id)).toEqual([before, ...during, after]);
  });
});
