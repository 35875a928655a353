import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { enqueueGithubAction } from "../../../src/features/github/github-outbox.store.js";
import { githubAppEnv, linkInstallation } from "../../helpers/github-app.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

/** A GitHub that accepts every request and never answers. */
function startHangingGithub(): Promise<{ server: http.Server; host: string; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests })),
  );
}

describe("when GitHub hangs", () => {
  let github: Awaited<ReturnType<typeof startHangingGithub>>;
  beforeAll(async () => {
    github = await startHangingGithub();
  });
  afterAll(async () => {
    github.server.closeAllConnections();
    await new Promise((resolve) => github.server.close(resolve));
  });

  const start = (timeoutSeconds: string) =>
    startTestApp(githubAppEnv({ GHE_HOST: github.host, GHE_PROTOCOL: "http", GITHUB_TIMEOUT_SECONDS: timeoutSeconds }), {
      githubOutbox: { pollMs: 100 },
    });

  it("a request-path call (a pull request's files) gives up after GITHUB_TIMEOUT_SECONDS", async () => {
    const app: TestApp = await start("1");
    try {
      const acme = await app.bootstrap(); // the first org: the instance org
      await linkInstallation(app, acme.api_key, 5, acme.org_id, { repositories: ["acme/api"] });
      const started = Date.now();
      const listing = app.ctx.pullRequestFiles!({ org_id: acme.org_id, repository: "acme/api", pull_number: 1, installation_id: 5 });
      await expect(listing).rejects.toThrow(/no answer from GitHub within 1 s/);
      expect(github.requests).toContain("POST /api/v3/app/installations/5/access_tokens");
      expect(Date.now() - started).toBeLessThan(2_500);
    } finally {
      await app.close();
    }
  });

  it("shutdown finishes within its drain time while a GitHub write hangs", async () => {
    const app = await start("60");
    const acme = await app.bootstrap();
    await linkInstallation(app, acme.api_key, 6, acme.org_id, { repositories: ["acme/api"] });
    const before = github.requests.length;
    await enqueueGithubAction(app.db.knex, {
      org_id: acme.org_id,
      kind: "issue_comment",
      repository: "acme/api",
      installation_id: 6,
      dedupe_key: "hang:1",
      request: { issue_number: 1, body: "Resolved in tasks #1" },
    });
    // Positive marker: the write is in flight at GitHub.
    await vi.waitFor(() => expect(github.requests.slice(before)).toContain("POST /api/v3/app/installations/6/access_tokens"), { timeout: 10_000 });
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 30_000);
});
