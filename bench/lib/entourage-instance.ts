import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { cpuSecondsOfTrees, freePort, memoryOf, postmasterPid, sleep, startChild, type Child } from "./processes.js";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

export interface EntourageOptions {
  label: string;
  /** Fresh data dir (embedded PostgreSQL lives in it; secrets too). */
  dataDir: string;
  /** DATABASE_URL (a fresh database); omitted: the embedded PostgreSQL. */
  databaseUrl?: string;
  redisUrl?: string;
  /** Extra node flags for every Entourage process (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Processes of external servers this instance uses (PostgreSQL, Redis), for CPU accounting. */
  serverPids?: number[];
}

export interface Entourage {
  label: string;
  url: string;
  apiKey: string;
  teamId: string;
  web: Child;
  workers: Child[];
  db: pg.Pool;
  /** Its database's URL. */
  databaseUrl: string;
  /** The PostgreSQL server's version. */
  postgresVersion: string;
  /** `events` defaults to `issues.*`, what the bench sends. */
  /** A GitHub webhook (events default issues.*), or with `provider: "custom"` a custom sender's (task.*). */
  createWebhook(options: { autoAssign: boolean; events?: string[]; provider?: "github" | "custom" }): Promise<{ id: string; secret: string; receiveUrl: string }>;
  /** CPU seconds used so far by the web process, the workers and the database (and Redis) they use. */
  cpuSeconds(): number;
  /** The part of cpuSeconds() used by the database server's processes. */
  databaseCpuSeconds(): number;
  startWorker(): Promise<Child>;
  stopWorkers(): Promise<void>;
  /** Peak RSS (VmHWM) of every Entourage process started so far, MB. */
  peakRss(): { web: number; workers: number[] };
  stop(): Promise<void>;
}

/**
 * Starts `entourage serve` from the built dist (ENTOURAGE_WORKER=off: it only acknowledges) and
 * opens a pool on its database for counting. Workers are separate `entourage worker` processes.
 */
export async function startEntourage(options: EntourageOptions): Promise<Entourage> {
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    PORT: String(port),
    HOST: "127.0.0.1",
    ENTOURAGE_DATA_DIR: options.dataDir,
    LOG_LEVEL: "info",
    ENTOURAGE_WORKER: "off",
    ...(options.databaseUrl
      ? { DATABASE_URL: options.databaseUrl, JWT_SECRET: randomBytes(32).toString("hex"), ENCRYPTION_KEY: randomBytes(32).toString("hex") }
      : {}),
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    // The worker's size, when the caller sets it (to compare settings on one build).
    DELIVERY_WORKER_CONCURRENCY: process.env.DELIVERY_WORKER_CONCURRENCY,
    DELIVERY_WORKER_GROUP_SIZE: process.env.DELIVERY_WORKER_GROUP_SIZE,
    DELIVERY_WORKER_GATHER_MS: process.env.DELIVERY_WORKER_GATHER_MS,
  };
  const cli = path.join(ROOT, "dist", "src", "cli.js");
  let spawned = 0;
  const nodeArgs = (role: string) => {
    spawned++;
    return [...(options.nodeFlags ?? []).map((flag) => flag.replace("%ROLE%", role).replace("%N", String(spawned))), cli, role];
  };
  const web = startChild(process.execPath, nodeArgs("serve"), env, options.dataDir);
  const [, apiKey] = await web.waitFor(/^\s+(oc_\S+)\s*$/m, 120_000);
  const [, teamId] = await web.waitFor(/team ([0-9a-f-]{36})/, 10_000);
  await web.waitFor(/Entourage is serving/, 30_000);
  const url = `http://127.0.0.1:${port}`;

  const databaseUrl = options.databaseUrl ?? embeddedUrl(options.dataDir);
  const db = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  const setting = async (name: string) => String(Object.values((await db.query(`SHOW ${name}`)).rows[0])[0]);
  const postgresVersion = `${await setting("server_version")} (fsync ${await setting("fsync")}, synchronous_commit ${await setting("synchronous_commit")}, backend_flush_after ${await setting("backend_flush_after")}, GLIBC_TUNABLES ${await serverTunables(db)})`;
  const workers: Child[] = [];
  const finishedWorkers: number[] = [];
  const embedded = options.databaseUrl ? undefined : postmasterPid(path.join(options.dataDir, "pg"));
  let finishedCpu = 0; // CPU of worker processes already stopped

  const api = async (method: string, pathname: string, body?: unknown) => {
    const response = await fetch(`${url}${pathname}`, {
      method,
      headers: { "x-api-key": apiKey!, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as Record<string, any>;
    if (!response.ok) throw new Error(`${method} ${pathname}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };

  const instance: Entourage = {
    label: options.label,
    url,
    apiKey: apiKey!,
    teamId: teamId!,
    web,
    workers,
    db,
    databaseUrl,
    postgresVersion,
    async createWebhook({ autoAssign, provider = "github", events = provider === "custom" ? ["task.*"] : ["issues.*"] }) {
      const webhook = await api("POST", "/api/v1/webhooks", {
        name: `bench (${provider}, auto_assign ${autoAssign})`,
        provider,
        events,
        config: { team_id: teamId, auto_assign: autoAssign },
      });
      return { id: webhook.id, secret: webhook.secret, receiveUrl: `${url}/api/v1/webhooks/${webhook.id}/receive` };
    },
    async startWorker() {
      const worker = startChild(process.execPath, nodeArgs("worker"), env, options.dataDir);
      await worker.waitFor(/delivery worker started/, 60_000);
      workers.push(worker);
      return worker;
    },
    async stopWorkers() {
      for (const worker of workers.splice(0)) {
        const peak = memoryOf(worker.pid)?.peakMb;
        const cpuBefore = cpuSecondsOfTrees([worker.pid]);
        await worker.stop();
        finishedCpu += cpuBefore; // what it used after this reading (its shutdown) is not counted
        if (peak !== undefined) finishedWorkers.push(peak);
      }
    },
    cpuSeconds() {
      const roots = [web.pid, ...workers.map((worker) => worker.pid), ...(options.serverPids ?? [])];
      return cpuSecondsOfTrees(embedded === undefined ? roots : [...roots, embedded]) + finishedCpu;
    },
    databaseCpuSeconds() {
      return cpuSecondsOfTrees(embedded === undefined ? (options.serverPids ?? []) : [embedded]);
    },
    peakRss() {
      return {
        web: memoryOf(web.pid)?.peakMb ?? 0,
        workers: [...finishedWorkers, ...workers.map((worker) => memoryOf(worker.pid)?.peakMb ?? 0)],
      };
    },
    async stop() {
      await instance.stopWorkers();
      await db.end();
      await web.stop(60_000);
    },
  };
  return instance;
}

/** The embedded cluster's URL, from the files Entourage keeps in its data dir. */
function embeddedUrl(dataDir: string): string {
  const info = JSON.parse(readFileSync(path.join(dataDir, "postgres.json"), "utf8")) as { user: string; password: string };
  const port = readFileSync(path.join(dataDir, "pg", "postmaster.pid"), "utf8").split("\n")[3]!.trim();
  return `postgres://${encodeURIComponent(info.user)}:${encodeURIComponent(info.password)}@127.0.0.1:${port}/entourage`;
}

/** Counts of deliveries by status, and tasks. */
export async function countRows(db: pg.Pool): Promise<{ deliveries: Record<string, number>; total: number; tasks: number }> {
  const { rows } = await db.query("SELECT status, count(*)::int AS n FROM deliveries GROUP BY status");
  const deliveries: Record<string, number> = {};
  let total = 0;
  for (const row of rows as { status: string; n: number }[]) {
    deliveries[row.status] = row.n;
    total += row.n;
  }
  const tasks = (await db.query("SELECT count(*)::int AS n FROM tasks")).rows[0].n as number;
  return { deliveries, total, tasks };
}

/** Deliveries still waiting for a worker. */
export async function pendingCount(db: pg.Pool): Promise<number> {
  return (await db.query("SELECT count(*)::int AS n FROM deliveries WHERE status = 'received'")).rows[0].n as number;
}

export { sleep };

/** The server's GLIBC_TUNABLES as one of its backends has it (a local server only; "unknown" otherwise). */
async function serverTunables(db: pg.Pool): Promise<string> {
  const client = await db.connect();
  try {
    const pid = Number((await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
    const environ = await readFile(`/proc/${pid}/environ`, "utf8").catch(() => undefined);
    if (environ === undefined) return "unknown";
    return environ.split("\0").find((entry) => entry.startsWith("GLIBC_TUNABLES="))?.slice("GLIBC_TUNABLES=".length) ?? "none";
  } finally {
    client.release();
  }
}
