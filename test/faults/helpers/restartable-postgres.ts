import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "../../../src/db/embedded-postgres.js";
import { findFreePort } from "../../../src/lib/find-free-port.js";

export interface RestartablePostgres {
  /** Maintenance URL; stays valid across restarts (same port). */
  adminUrl: string;
  /** Fast shutdown: open sessions are terminated, new connections refused. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL server of the suite's own (the embedded-postgres binaries, durable settings) that it
 * may stop and start again on the same port — a shared server (TEST_DATABASE_URL) must not be restarted.
 */
export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "entourage-faults-pg-"));
  await fs.chmod(dataDir, 0o755); // the postgres user must reach the cluster when we run as root
  const port = await findFreePort();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "warn" });
  let handle: EmbeddedPostgresHandle | undefined = await startEmbeddedPostgres({ dataDir, logger, port });
  const adminUrl = handle.url;
  return {
    adminUrl,
    async stop() {
      await handle?.stop();
      handle = undefined;
    },
    async start() {
      handle ??= await startEmbeddedPostgres({ dataDir, logger, port });
    },
    async destroy() {
      await handle?.stop();
      handle = undefined;
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
