import { readFileSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { githubAppEnv } from "../helpers/github-app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";
import { startEntourageProcess, type EntourageProcess } from "./helpers/entourage-process.js";
import { bootstrapScenarioOrg, registerIssuesWebhook, type ScenarioWebhook } from "./helpers/scenario.js";

const MB = 1024 * 1024;
const SOCKETS = 40;
const FLOOD_MS = 4_000;
const BODY_BYTES = 24 * MB; // just under the 25 MB per-body cap: each one is admissible on its own
const BUDGET_MB = 64;
// What the budget leaves for everything else while the flood lasts (Node buffers, sockets, GC slack).
const PEAK_ABOVE_BASELINE_MB = BUDGET_MB + 160;

function residentMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return kb / 1024;
}

/**
 * One client that, until `until`, keeps uploading 24 MB unsigned bodies as fast as loopback
 * goes; each refusal (503 before the body, 401 after it) closes the connection and it starts
 * again. Resolves with the statuses it saw.
 */
async function flood(port: number, path: string, until: number): Promise<number[]> {
  const statuses: number[] = [];
  const chunk = Buffer.alloc(256 * 1024, 0x61);
  while (Date.now() < until) {
    statuses.push(
      await new Promise<number>((resolve) => {
        const socket = net.connect(port, "127.0.0.1");
        let answer = "";
        let sent = 0;
        const finish = (status: number) => {
          socket.destroy();
          resolve(status);
        };
        const pump = () => {
          while (sent < BODY_BYTES && Date.now() < until) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once("drain", pump);
          }
          if (sent < BODY_BYTES) finish(0);
        };
        socket.on("connect", () => {
          socket.write(
            `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nx-github-event: issues\r\n` +
              `x-github-delivery: ${crypto.randomUUID()}\r\nx-hub-signature-256: sha256=${"0".repeat(64)}\r\ncontent-length: ${BODY_BYTES}\r\n\r\n`,
          );
          pump();
        });
        socket.on("data", (data) => {
          answer += data.toString("latin1");
          if (answer.includes("\r\n")) finish(Number(answer.split(" ")[1]));
        });
        socket.on("error", () => finish(-1));
        socket.on("close", () => finish(answer ? Number(answer.split(" ")[1]) : -1));
      }),
    );
  }
  return statuses;
}

describe(`${SOCKETS} sockets uploading 24 MB unsigned bodies for ${FLOOD_MS / 1000} s`, () => {
  let db: TestDatabase;
  let server: EntourageProcess;
  let webhook: ScenarioWebhook;

  beforeAll(async () => {
    db = await createTestDatabase();
    const org = await bootstrapScenarioOrg(db.knex, "flood");
    server = await startEntourageProcess({
      databaseUrl: db.url,
      env: githubAppEnv({
        UNVERIFIED_BODY_BUDGET_MB: process.env.FLOOD_BUDGET_MB ?? String(BUDGET_MB),
        ENTOURAGE_WORKER: "off",
        // glibc's allocator raises its thresholds after large frees and then keeps freed memory
        // mapped (measured: the peak stays resident). Fixed thresholds give it back to the OS;
        // README "Security model" recommends them for production too.
        MALLOC_MMAP_THRESHOLD_: "131072",
        MALLOC_TRIM_THRESHOLD_: "131072",
      }),
    });
    webhook = await registerIssuesWebhook(server.url, org);
  });

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it(`keeps resident memory under baseline + ${PEAK_ABOVE_BASELINE_MB} MB, gives the budget back, and a second flood costs no more than the first`, async () => {
    const pid = server.child().pid!;
    const paths = [`/api/v1/webhooks/${webhook.id}/receive`, "/api/github/webhooks"];
    // Warm up both doors with a few small refused deliveries, so the baseline is a server that has served.
    for (const path of paths) {
      for (let i = 0; i < 5; i++) await fetch(`${server.url}${path}`, { method: "POST", headers: { "x-github-event": "issues" }, body: "{}" });
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const baseline = residentMb(pid);

    const floodOnce = async (round: number) => {
      let peak = residentMb(pid);
      const sampler = setInterval(() => (peak = Math.max(peak, residentMb(pid))), 100);
      const until = Date.now() + FLOOD_MS;
      const results = (await Promise.all(Array.from({ length: SOCKETS }, (_, i) => flood(server.port, paths[i % 2]!, until)))).flat();
      clearInterval(sampler);
      const count = (status: number) => results.filter((s) => s === status).length;
      // Every upload is over once the clients are gone: nothing of the budget may stay taken.
      await vi.waitFor(async () => expect(await unverifiedBodyBytes(server.url)).toBe(0), { timeout: 10_000, interval: 100 });
      const after = residentMb(pid);
      console.log(
        `flood ${round}: baseline ${baseline.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, after ${after.toFixed(0)} MB; ` +
          `uploads: ${results.length}, 503 before the body ${count(503)}, 401 after it ${count(401)}`,
      );
      expect(peak - baseline).toBeLessThan(PEAK_ABOVE_BASELINE_MB);
      expect(count(503)).toBeGreaterThan(0);
      expect(count(401)).toBeGreaterThan(0);
      return { after, verified: count(401) };
    };

    const first = await floodOnce(1);
    const second = await floodOnce(2);
    // Memory still resident after a flood is garbage the collector has not yet asked for, or
    // allocator pages kept for reuse, and it varies by tens of MB from run to run (measured: 236 to
    // 327 MB after the same flood). A leak keeps every body that was read whole: 24 MB for each 401,
    // 16 to 21 of them per flood. Half of that is the bound — far above the noise, far below a leak.
    const leakMb = (second.verified * BODY_BYTES) / MB;
    expect(second.after - first.after).toBeLessThan(Math.max(128, leakMb / 2));
    // And it still serves.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

async function unverifiedBodyBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = /^entourage_unverified_body_bytes (\S+)$/m.exec(text)?.[1];
  if (value === undefined) throw new Error("entourage_unverified_body_bytes missing from /metrics");
  return Number(value);
}
