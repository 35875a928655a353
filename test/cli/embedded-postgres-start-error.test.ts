import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { explainStartFailure } from "../../src/db/embedded-postgres-error.js";
import { runCli } from "../helpers/run-cli.js";

const asRoot = process.getuid?.() === 0;

describe("when the embedded PostgreSQL cannot start", () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const dir of made) await fs.rm(dir, { recursive: true, force: true });
  });

  // PostgreSQL refuses to run as root, so as root it runs as "postgres", which cannot enter a mktemp -d (0700) directory.
  it.skipIf(!asRoot)("as root, a data dir under a mode-0700 directory fails with one sentence that says what to do, and nothing is created", async () => {
    const locked = await fs.mkdtemp(path.join(os.tmpdir(), "entourage-locked-"));
    made.push(locked);
    expect((await fs.stat(locked)).mode & 0o777).toBe(0o700);
    const dataDir = path.join(locked, "data");

    const result = await runCli(["migrate"], { ENTOURAGE_DATA_DIR: dataDir }, 30_000);

    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`which cannot enter ${locked} (mode 0700)`);
    expect(lines[0]).toMatch(/set ENTOURAGE_DATA_DIR to a directory outside it.*chmod o\+x/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await expect(fs.access(dataDir)).rejects.toThrow(); // fixing the mode and starting again starts clean
  });

  it("a raw initdb failure becomes one sentence naming the cause and the way out", () => {
    const error = new Error(
      'Postgres init script failed (code: 1, signal: null). ERROR OUTPUT: initdb: error: could not access directory "/srv/x/pg": Permission denied\n ',
    );
    const message = explainStartFailure("initialise", "/srv/x/pg", error).message;
    expect(message).toBe(
      'The embedded PostgreSQL in /srv/x/pg could not initialise because it may not read or write its directory (initdb: error: could not access directory "/srv/x/pg": Permission denied); ' +
        'give the user Entourage runs as (or, as root, the "postgres" user) access to ENTOURAGE_DATA_DIR, or set DATABASE_URL to a PostgreSQL of your own.',
    );
    expect(message).not.toContain("\n");
  });
});
