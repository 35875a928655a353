import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { findFreePort } from "../../src/lib/find-free-port.js";
import { request } from "../helpers/test-app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";
import { waitFor } from "../helpers/wait-for.js";
import { startEntourageProcess, type EntourageProcess } from "./helpers/entourage-process.js";
import { bootstrapScenarioOrg, expectNoDuplicateWork } from "./helpers/scenario.js";

const TASKS = 30;

interface Received {
  delivery: string;
  event: string;
  body: { event: string; task_id: number | null };
}

/** A receiver on a fixed loopback port that can be taken down (connections refused) and brought back. */
function receiverOn(port: number) {
  const received: Received[] = [];
  let server: http.Server | undefined;
  return {
    received,
    url: `http://127.0.0.1:${port}/hook`,
    up: () =>
      new Promise<void>((resolve) => {
        server = http.createServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on("data", (chunk: Buffer) => chunks.push(chunk));
          req.on("end", () => {
            received.push({
              delivery: String(req.headers["x-entourage-delivery"]),
              event: String(req.headers["x-entourage-event"]),
              body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
            });
            res.writeHead(204).end();
          });
        });
        server.listen(port, "127.0.0.1", resolve);
      }),
    down: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.closeAllConnections();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}

describe("an outbound receiver that is down for a while", () => {
  let db: TestDatabase;
  let org: BootstrapResult;
  let server: EntourageProcess;
  let receiver: ReturnType<typeof receiverOn>;

  beforeAll(async () => {
    db = await createTestDatabase();
    org = await bootstrapScenarioOrg(db.knex, "outbound-down");
    receiver = receiverOn(await findFreePort());
    server = await startEntourageProcess({
      databaseUrl: db.url,
      // Seconds instead of minutes and hours, so a short outage spans several retries.
      env: { ALLOW_PRIVATE_OUTBOUND: "true", OUTBOUND_RETRY_SCHEDULE: "1,1,1,2,2,2,3,3,3,3" },
    });
  });

  afterAll(async () => {
    await server?.stop();
    await receiver?.down();
    await db?.drop();
  });

  it("delivers every notification once the receiver is back", async () => {
    const endpoint = await request(server.url, "POST", "/api/v1/outbound-webhooks", {
      key: org.api_key,
      body: { url: receiver.url, events: ["task.*"] },
    });
    expect(endpoint.status, endpoint.text).toBe(201);

    // The receiver is down (connection refused) while tasks are created and changed.
    const taskIds: number[] = [];
    for (let n = 0; n < TASKS; n++) {
      const created = await request(server.url, "POST", "/api/v1/tasks", {
        key: org.api_key,
        body: { team_id: org.team_id, title: `Outbound fault ${n}`, priority: "high" },
      });
      expect(created.status, created.text).toBe(201);
      taskIds.push(created.body.id);
      if (n % 3 === 0) {
        const moved = await request(server.url, "PATCH", `/api/v1/tasks/${created.body.id}`, { key: org.api_key, body: { status: "in_progress" } });
        expect(moved.status, moved.text).toBe(200);
      }
    }
    await waitFor(
      async () => {
        const row = (await db.knex("outbound_delivery_attempts").whereNotNull("error").count({ n: "*" }).first()) as { n: number };
        return row.n >= TASKS * 2;
      },
      "failed attempts while the receiver is down",
      30_000,
      200,
    );

    await receiver.up();
    const rows = (await db.knex("outbound_deliveries").select("id", "event_id", "status").where({ endpoint_id: endpoint.body.id })) as {
      id: string;
      event_id: number;
      status: string;
    }[];
    await waitFor(
      async () => {
        const pending = (await db.knex("outbound_deliveries").where({ endpoint_id: endpoint.body.id }).whereNot("status", "delivered").count({ n: "*" }).first()) as {
          n: number;
        };
        return pending.n === 0;
      },
      "every notification delivered",
      45_000,
      200,
    );
    console.info(`outbound: ${rows.length} notifications, ${receiver.received.length} requests received after the outage`);

    const expectedEvents = (await db.knex("events").select("id").where({ org_id: org.org_id }).where("type", "like", "task.%")).length;
    expect(rows.length, "one notification per task event").toBe(expectedEvents);
    const receivedIds = receiver.received.map((r) => r.delivery);
    expect(receivedIds.sort(), "each notification received exactly once").toEqual(rows.map((row) => row.id).sort());
    const created = new Set(receiver.received.filter((r) => r.event === "task.created").map((r) => r.body.task_id));
    expect(taskIds.filter((id) => !created.has(id)), "every task.created arrived").toEqual([]);
    await expectNoDuplicateWork(db.knex, org.org_id);
  });
});
