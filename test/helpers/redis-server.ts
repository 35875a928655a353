import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { findFreePort } from "../../src/lib/find-free-port.js";

/** The redis-server binary to start for tests, if this machine has one. */
export const REDIS_SERVER_BIN = [process.env.REDIS_SERVER_BIN, "/usr/bin/redis-server", "/usr/local/bin/redis-server"].find(
  (candidate): candidate is string => !!candidate && existsSync(candidate),
);

export interface RedisServer {
  url: string;
  /** Kills the server (SIGKILL, like a crash) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** A throwaway redis-server on a free loopback port, without persistence. */
export async function startRedisServer(): Promise<RedisServer> {
  if (!REDIS_SERVER_BIN) throw new Error("redis-server not found");
  const port = await findFreePort();
  let child: ChildProcess | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn(REDIS_SERVER_BIN!, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = proc;
      let output = "";
      proc.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) resolve();
      });
      proc.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${output.slice(-500)}`)));
    });

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      const proc = child;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((resolve) => proc.once("exit", resolve));
      proc.kill("SIGKILL");
      await exited;
    },
  };
}
