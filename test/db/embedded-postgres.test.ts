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
});
