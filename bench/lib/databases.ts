import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort, postmasterPid, sleep, startChild, type Child } from "./processes.js";

export interface Server {
  url: string;
  version: string;
  /** The server's own processes (for CPU accounting). */
  pids: number[];
  stop(): Promise<void>;
}

const asPostgres = (command: string, args: string[]) =>
  process.getuid?.() === 0 ? (["runuser", ["-u", "postgres", "--", command, ...args]] as const) : ([command, args] as const);

/**
 * A throwaway Debian PostgreSQL cluster on a free loopback port, durable settings (fsync, synchronous_commit on),
 * and what the README advises for one's own server: backend_flush_after (BENCH_PG_FLUSH_AFTER=0 for the default)
 * and glibc's heap pad (BENCH_PG_GLIBC_TUNABLES, empty for none), as the embedded server has them.
 */
export async function startPostgresCluster(): Promise<Server> {
  const versions = readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a));
  const bin = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((dir) => existsSync(`${dir}/initdb`));
  if (!bin) throw new Error("no /usr/lib/postgresql/*/bin/initdb: install postgresql or set BENCH_DATABASE_URL");
  const work = mkdtempSync(path.join(os.tmpdir(), "entourage-bench-pg-"));
  chmodSync(work, 0o755);
  const data = path.join(work, "data");
  execFileSync("mkdir", ["-p", data]);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(data, uid, gid);
  }
  const [initCommand, initArgs] = asPostgres(`${bin}/initdb`, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  execFileSync(initCommand, initArgs, { stdio: "ignore" });
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300 -c fsync=on -c synchronous_commit=on -c backend_flush_after=${process.env.BENCH_PG_FLUSH_AFTER ?? "256kB"}`;
  const [startCommand, startArgs] = asPostgres(`${bin}/pg_ctl`, ["-D", data, "-l", path.join(data, "server.log"), "-w", "-o", options, "start"]);
  const tunables = process.env.BENCH_PG_GLIBC_TUNABLES ?? "glibc.malloc.top_pad=16777216";
  const env = { ...process.env, GLIBC_TUNABLES: tunables || undefined };
  execFileSync(startCommand, startArgs, { stdio: "ignore", env });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    version: await serverVersion(url),
    pids: [postmasterPid(data)].filter((pid): pid is number => pid !== undefined),
    async stop() {
      const [stopCommand, stopArgs] = asPostgres(`${bin}/pg_ctl`, ["-D", data, "-m", "fast", "stop"]);
      try {
        execFileSync(stopCommand, stopArgs, { stdio: "ignore" });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  };
}

/** A throwaway Redis on a free loopback port (no persistence: it only carries pub/sub). */
export async function startRedis(): Promise<Server> {
  const port = await freePort();
  const child: Child = startChild("/usr/bin/redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], process.env);
  await child.waitFor(/Ready to accept connections/, 10_000);
  const version = /version=(\S+)|v=(\S+)/.exec(child.output())?.slice(1).find(Boolean) ?? "?";
  return { url: `redis://127.0.0.1:${port}`, version, pids: [child.pid], stop: () => child.stop() };
}

/** A fresh database on the server at `maintenanceUrl`; returns its URL. */
export async function createDatabase(maintenanceUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(maintenanceUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function serverVersion(url: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      const { rows } = await client.query("SHOW server_version");
      return String(rows[0].server_version);
    } catch (error) {
      if (attempt > 50) throw error;
      await sleep(100);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
