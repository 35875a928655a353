import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../../src/lib/find-free-port.js";
import { isProcessAlive } from "../../src/lib/is-process-alive.js";
import { runCli, spawnCli, waitForExit, waitForOutput } from "../helpers/run-cli.js";

// These drive the real command on its own embedded PostgreSQL in a temporary data dir.
describe("entourage CLI on the embedded default", () => {
  let root: string;
  let dataDir: string;
  const env = () => ({ ENTOURAGE_DATA_DIR: dataDir });
  const postmasterPid = async () => Number((await fs.readFile(path.join(dataDir, "pg", "postmaster.pid"), "utf8")).split("\n")[0]);

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "entourage-cli-"));
    await fs.chmod(root, 0o755);
    dataDir = path.join(root, "data");
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it("bootstrap --json creates an org, team, engineers and a key, starting and stopping its own server", async () => {
    const result = await runCli(["bootstrap", "--org", "Acme", "--team", "Core", "--engineers", "3", "--json"], env());
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toEqual({
      org_id: expect.any(String),
      team_id: expect.any(String),
      api_key: expect.stringMatching(/^oc_/),
      agents: [1, 2, 3].map((n) => ({ id: expect.any(String), name: `eng-${n}`, role: "engineer" })),
    });
    await expect(fs.access(path.join(dataDir, "pg", "postmaster.pid"))).rejects.toThrow();
  });

  it("serves; a CLI beside it joins its PostgreSQL; the printed key lists the teams; SIGTERM stops both", async () => {
    const port = await findFreePort();
    const server = spawnCli(["serve"], { ...env(), PORT: String(port) });
    try {
      await waitForOutput(server, /Entourage is serving/);
      const pid = await postmasterPid();
      const secrets = await fs.stat(path.join(dataDir, "secrets.json"));
      expect(secrets.mode & 0o077).toBe(0); // generated JWT/encryption keys readable by the owner only

      const cli = await runCli(["bootstrap", "--org", "Beta", "--team", "Web", "--json"], env());
      expect(cli.code, cli.stderr).toBe(0);
      expect(await postmasterPid()).toBe(pid); // joined, not a second server
      const { api_key, team_id } = JSON.parse(cli.stdout);

      const res = await fetch(`http://127.0.0.1:${port}/api/v1/teams`, { headers: { "x-api-key": api_key } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { id: string }[]).map((team) => team.id)).toEqual([team_id]);
      expect(isProcessAlive(pid)).toBe(true);

      server.kill("SIGTERM");
      expect(await waitForExit(server)).toBe(0);
      expect(isProcessAlive(pid)).toBe(false);
    } finally {
      if (server.exitCode === null) server.kill("SIGKILL");
    }
  });

  it("after a kill -9, the next start finds the orphaned PostgreSQL, replaces it and serves the same data", async () => {
    const port = await findFreePort();
    const first = spawnCli(["serve"], { ...env(), PORT: String(port) });
    await waitForOutput(first, /Entourage is serving/);
    const orphan = await postmasterPid();
    first.kill("SIGKILL");
    await waitForExit(first);
    expect(isProcessAlive(orphan)).toBe(true);

    const second = spawnCli(["serve"], { ...env(), PORT: String(port) });
    try {
      await waitForOutput(second, /Entourage is serving/);
      expect(isProcessAlive(orphan)).toBe(false);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      const orgs = await runCli(["bootstrap", "--org", "Gamma", "--team", "Ops", "--json"], env());
      expect(orgs.code, orgs.stderr).toBe(0);
    } finally {
      second.kill("SIGTERM");
      await waitForExit(second);
    }
  });

  it("refuses invalid configuration with one line per variable", async () => {
    const result = await runCli(["migrate"], { PORT: "eighty", ENCRYPTION_KEY: "short", DATABASE_URL: "mysql://x" });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/^ {2}PORT: /m);
    expect(result.stderr).toMatch(/^ {2}ENCRYPTION_KEY: must be 32 bytes written as 64 hex characters/m);
    expect(result.stderr).toMatch(/^ {2}DATABASE_URL: must be a postgres/m);
  });

  it("prints usage for an unknown command", async () => {
    const result = await runCli(["frobnicate"], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: entourage");
  });
});
