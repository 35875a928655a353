import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "../../src/db/embedded-postgres.js";
import { findFreePort } from "../../src/lib/find-free-port.js";

async function selectOne(url: string, sql = "SELECT 1 AS one"): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Object.values((await client.query(sql)).rows[0])[0];
  } finally {
    await client.end();
  }
}

describe("embedded PostgreSQL", () => {
  const logger = pino({ level: "silent" });
  let dataDir: string | undefined;
  let handle: EmbeddedPostgresHandle | undefined;

  afterAll(async () => {
    await handle?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it("can be stopped and started again in the same process, on the port it was given", async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "entourage-embedded-"));
    await fs.chmod(dataDir, 0o755);
    const port = await findFreePort();
    handle = await startEmbeddedPostgres({ dataDir, logger, port });
    expect(new URL(handle.url).port).toBe(String(port));
    await handle.stop();
    handle = undefined;

    handle = await startEmbeddedPostgres({ dataDir, logger, port });
    expect(new URL(handle.url).port).toBe(String(port));
    expect(await selectOne(handle.url)).toBe(1);
  });

  it("has backends write out what they write as they go, so a burst of writes is not flushed all at once later", async () => {
    expect(handle).toBeDefined();
    expect(await selectOne(handle!.url, "SHOW backend_flush_after")).toBe("256kB");
  });

  describe.skipIf(process.platform !== "linux")("the server's heap (glibc)", () => {
    /** GLIBC_TUNABLES as a backend of the server sees it (backends inherit the postmaster's environment). */
    async function serverTunables(url: string): Promise<string | undefined> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { pid } = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0];
        const environ = await fs.readFile(`/proc/${pid}/environ`, "utf8");
        return environ.split("\0").find((entry) => entry.startsWith("GLIBC_TUNABLES="))?.slice("GLIBC_TUNABLES=".length);
      } finally {
        await client.end();
      }
    }

    it("keeps a pad at the top of each backend's heap, without changing this process's environment", async () => {
      expect(handle).toBeDefined();
      expect(process.env.GLIBC_TUNABLES).toBeUndefined();
      expect(await serverTunables(handle!.url)).toBe("glibc.malloc.top_pad=16777216");
    });

    it("leaves an operator's own GLIBC_TUNABLES as it is", async () => {
      expect(handle).toBeDefined();
      const port = Number(new URL(handle!.url).port);
      await handle!.stop();
      handle = undefined;
      process.env.GLIBC_TUNABLES = "glibc.malloc.top_pad=1048576";
      try {
        handle = await startEmbeddedPostgres({ dataDir: dataDir!, logger, port });
        expect(await serverTunables(handle.url)).toBe("glibc.malloc.top_pad=1048576");
        expect(process.env.GLIBC_TUNABLES).toBe("glibc.malloc.top_pad=1048576");
      } finally {
        delete process.env.GLIBC_TUNABLES;
      }
    });
  });
});
