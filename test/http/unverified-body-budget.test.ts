import net from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { githubAppEnv, TEST_WEBHOOK_SECRET } from "../helpers/github-app.js";
import { startTestApp, type TestApp } from "../helpers/test-app.js";
import { registerWebhook, sendDelivery, type RegisteredWebhook } from "../helpers/webhooks.js";
import { sign } from "@octokit/webhooks-methods";

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Sends only the request head (never the body) and resolves with whatever the server answers. */
function sendHeadOnly(url: string, path: string, headers: Record<string, string>): Promise<RawAnswer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1");
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = text.slice(0, end);
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (text.length - end - 4 < length) return;
      socket.destroy();
      resolve({ status: Number(head.split(" ")[1]), head, body: text.slice(end + 4, end + 4 + length) });
    });
    socket.on("error", reject);
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer to ${path} within 5 s`));
    });
    socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`);
  });
}

/** An upload that declares `bytes`, sends a few and then holds the connection open. */
function startSlowUpload(url: string, path: string, bytes: number): Promise<net.Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1", () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-github-event: issues\r\n` +
          `x-github-delivery: ${crypto.randomUUID()}\r\nx-hub-signature-256: sha256=${"0".repeat(64)}\r\ncontent-length: ${bytes}\r\n\r\n{"a":"`,
        () => resolve(socket),
      );
    });
    socket.on("error", () => {});
    socket.once("error", reject);
  });
}

const MB = 1024 * 1024;

describe("the budget for bodies read before their signature is checked", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    app = await startTestApp({ ...githubAppEnv(), UNVERIFIED_BODY_BUDGET_MB: "2" }, { logger: pino({ level: "debug" }, sink) });
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { events: ["*"] });
  });
  afterAll(() => app.close());

  const doors = (): [string, string][] => [
    ["the App door", "/api/github/webhooks"],
    ["a registered webhook", `/api/v1/webhooks/${webhook.id}/receive`],
  ];

  it("answers 503 with Retry-After on both doors, before reading the body, while the budget is taken; then accepts again", async () => {
    const held = [
      await startSlowUpload(app.url, `/api/v1/webhooks/${webhook.id}/receive`, 1.5 * MB),
      await startSlowUpload(app.url, "/api/github/webhooks", 400_000),
    ];
    // The App door's held upload is admitted once both are in: a third small upload still fits.
    await vi.waitFor(() => expect(app.entourage.pipeline.bodyBudget.usedBytes).toBeGreaterThanOrEqual(1.8 * MB));

    for (const [door, path] of doors()) {
      const refused = await sendHeadOnly(app.url, path, {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-github-delivery": crypto.randomUUID(),
        "content-length": String(0.5 * MB),
      });
      expect(refused.status, door).toBe(503);
      expect(refused.head, door).toMatch(/\r\nretry-after: \d+/i);
      expect(JSON.parse(refused.body).error.code, door).toBe("service_unavailable");

      const chunked = await sendHeadOnly(app.url, path, { "content-type": "application/json", "transfer-encoding": "chunked" });
      expect(chunked.status, `${door}, chunked`).toBe(503);
    }

    for (const socket of held) socket.destroy();
    await vi.waitFor(() => expect(app.entourage.pipeline.bodyBudget.usedBytes).toBe(0));

    const accepted = await sendDelivery(app.url, webhook, { zen: "ok", hook_id: 1 }, { event: "ping" });
    expect(accepted.status, accepted.text).toBe(200);
    const body = JSON.stringify({ zen: "ok", hook_id: 1 });
    const res = await fetch(`${app.url}/api/github/webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": crypto.randomUUID(),
        "x-hub-signature-256": await sign(TEST_WEBHOOK_SECRET, body),
      },
      body,
    });
    expect(res.status).toBeLessThan(300);
  });

  it("counts uploads the client abandons, without an error line for each", async () => {
    const before = app.entourage.pipeline.clientAborts.count;
    for (const [, path] of doors()) {
      for (let i = 0; i < 5; i++) (await startSlowUpload(app.url, path, 100_000)).destroy();
    }
    await vi.waitFor(() => expect(app.entourage.pipeline.clientAborts.count - before).toBe(10));
    await vi.waitFor(() => expect(app.entourage.pipeline.bodyBudget.usedBytes).toBe(0));
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines.filter((line) => /abort/i.test(line.msg)).length).toBeLessThanOrEqual(1);
  });
});
