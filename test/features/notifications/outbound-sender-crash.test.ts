import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutboundSenderOptions } from "../../../src/features/notifications/outbound-sender.js";
import { startEntourage, type Entourage } from "../../../src/main.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../helpers/start-webhook-receiver.js";
import { startTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";

const WORKER = fileURLToPath(new URL("../../fixtures/outbound-worker-process.ts", import.meta.url));
const OPTIONS: Partial<OutboundSenderOptions> = { pollIntervalMs: 50, timeoutMs: 4000, leaseMs: 5000, retrySchedule: [200], jitter: 0, drainMs: 100 };

/** Starts a worker-only Entourage in a child process; resolves once its sender runs. */
function startWorkerProcess(databaseUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER], {
    env: { ...process.env, DATABASE_URL: databaseUrl, JWT_SECRET: TEST_JWT_SECRET, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, OUTBOUND_OPTIONS: JSON.stringify(OPTIONS) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`worker process exited early (${code})`)));
  });
}

describe("outbound delivery > a sender killed mid-attempt", () => {
  let app: TestApp;
  let receiver: WebhookReceiver;
  let child: ChildProcess | undefined;
  let second: Entourage | undefined;

  beforeAll(async () => {
    app = await startTestApp({ ENTOURAGE_WORKER: "off" });
    // First request: held open until the sender dies. Any later one: accepted.
    receiver = await startWebhookReceiver((_req, index) => (index === 0 ? "hang" : { status: 200, body: "got it" }));
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await second?.close();
    await receiver.close();
    await app.close();
  });

  it("is retried by another instance after its lease, and delivered exactly once", async () => {
    const acme = await app.bootstrap();
    const hook = (await app.request("POST", "/api/v1/outbound-webhooks", { key: acme.api_key, body: { url: receiver.url, events: ["task.created"] } })).body;
    child = await startWorkerProcess(app.db.url);
    await app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "survive a crash" } });

    const [held] = await receiver.waitForRequests(1, 20_000);
    const exited = new Promise((resolve) => child!.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;

    // Another instance on the same database picks the delivery up once the dead sender's lease ends.
    second = await startEntourage({ config: app.ctx.config, logger: pino({ level: "silent" }), role: "worker", databaseUrl: app.db.url, outbound: OPTIONS });
    const [delivery] = await waitFor(
      async () => {
        const res = await app.request("GET", `/api/v1/outbound-webhooks/${hook.id}/deliveries`, { key: acme.api_key });
        return res.body[0]?.status === "delivered" ? res.body : undefined;
      },
      "delivered after restart",
      20_000,
    );
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.headers["x-entourage-delivery"]).toBe(held!.headers["x-entourage-delivery"]);
    expect(receiver.requests[1]!.body).toBe(held!.body);
    // The killed attempt left no log line; the one that counted did.
    expect(delivery).toMatchObject({ id: held!.headers["x-entourage-delivery"], attempt_count: 1, last_status_code: 200 });
    expect(delivery.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([200]);
  }, 60_000);
});
