import type { ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { findFreePort } from "../../../src/lib/find-free-port.js";
import { spawnCli, waitForExit } from "../../helpers/run-cli.js";
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from "../../helpers/test-app.js";

const OUTPUT_KEPT = 20_000;

export interface EntourageProcess {
  url: string;
  port: number;
  /** The child as it runs now (replaced by restart). */
  child(): ChildProcess;
  /** The last lines it wrote (for failure messages). */
  output(): string;
  /** SIGKILL: no drain, no shutdown hooks, like a crash. */
  kill9(): Promise<void>;
  /** Starts it again on the same port with the same environment. */
  restart(): Promise<void>;
  /** SIGTERM and wait (a clean stop). */
  stop(): Promise<void>;
}

export interface EntourageProcessOptions {
  databaseUrl: string;
  redisUrl?: string;
  env?: Record<string, string>;
}

/** A real `entourage serve` (web + worker) child process (from source, via tsx) on a loopback port. */
export async function startEntourageProcess(options: EntourageProcessOptions): Promise<EntourageProcess> {
  const port = await findFreePort();
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: options.databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    ENTOURAGE_DATA_DIR: path.join(os.tmpdir(), "entourage-faults-unused"),
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? "warn",
    DELIVERY_LEASE_SECONDS: "3",
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  };
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let output = "";

  const launch = async () => {
    child = spawnCli(["serve"], env);
    // Always drain the pipes: a full pipe would block the child's logger.
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
      if (process.env.FAULTS_LOG_LEVEL) process.stderr.write(`[entourage:${port}] ${chunk}`);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    await waitUntilHealthy(url, child, () => output);
  };

  await launch();
  return {
    url,
    port,
    child: () => child,
    output: () => output,
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await waitForExit(child, 10_000).catch(() => undefined);
    },
    restart: launch,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      try {
        await waitForExit(child, 20_000);
      } catch {
        child.kill("SIGKILL");
      }
    },
  };
}

async function waitUntilHealthy(url: string, child: ChildProcess, output: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`entourage exited with ${child.exitCode} while starting:\n${output()}`);
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`entourage on ${url} not healthy within ${timeoutMs} ms:\n${output()}`);
}
