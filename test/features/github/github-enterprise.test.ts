import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { enqueueGithubAction } from "../../../src/features/github/github-outbox.store.js";
import { githubAppEnv, linkInstallation } from "../../helpers/github-app.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";

/** A local fake GitHub Enterprise Server: the two endpoints a comment needs, under /api/v3. */
function startFakeGithub(): Promise<{ server: http.Server; host: string; requests: { method: string; url: string; authorization?: string; body: string }[] }> {
  const requests: { method: string; url: string; authorization?: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      res.setHeader("content-type", "application/json");
      if (req.method === "POST" && req.url === "/api/v3/app/installations/5/access_tokens") {
        res.writeHead(201).end(JSON.stringify({ token: "ghs_fake", expires_at: new Date(Date.now() + 3600_000).toISOString() }));
      } else if (req.method === "POST" && req.url === "/api/v3/repos/acme/api/issues/1/comments") {
        res.writeHead(201).end(JSON.stringify({ id: 11, html_url: "http://ghe.local/acme/api/issues/1#issuecomment-11" }));
      } else {
        res.writeHead(404).end(JSON.stringify({ message: "Not Found" }));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests })));
}

describe("GitHub Enterprise Server (GHE_HOST, GHE_PROTOCOL)", () => {
  let app: TestApp | undefined;
  let fake: Awaited<ReturnType<typeof startFakeGithub>> | undefined;
  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => fake?.server.close(resolve));
  });

  it("sends the outbox's writes to the configured host, with an installation token", async () => {
    fake = await startFakeGithub();
    app = await startTestApp(githubAppEnv({ GHE_HOST: fake.host, GHE_PROTOCOL: "http" }), { githubOutbox: { pollMs: 100 } });
    const acme = await app.bootstrap();
    await linkInstallation(app, acme.api_key, 5, acme.org_id, { repositories: ["acme/api"] });
    const { id } = await enqueueGithubAction(app.db.knex, { org_id: acme.org_id, kind: "issue_comment", repository: "acme/api", installation_id: 5, dedupe_key: "ghe:1", request: { issue_number: 1, body: "Resolved in tasks #1" } });
    const row = await waitFor(async () => {
      const r = await app!.db.knex("github_outbox").where({ id }).first();
      return r?.status !== "pending" && r;
    }, "the comment to be sent");
    expect(row).toMatchObject({ status: "sent", result: { comment_id: 11 } });
    expect(fake.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["POST /api/v3/app/installations/5/access_tokens", "POST /api/v3/repos/acme/api/issues/1/comments"]);
    expect(fake.requests[0]!.authorization).toMatch(/^bearer /i);
    expect(fake.requests[1]!.authorization).toBe("token ghs_fake");
  });
});
