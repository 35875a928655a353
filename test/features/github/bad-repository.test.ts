import nock from "nock";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { splitRepository } from "../../../src/features/github/github-client.js";
import { enqueueGithubAction } from "../../../src/features/github/github-outbox.store.js";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubAppEnv } from "../../helpers/github-app.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

describe("a repository name that is not owner/name", () => {
  it("is a clear 422 domain error, not a bare Error (which the HTTP layer answers 500)", () => {
    expect(splitRepository("octo/hello")).toEqual({ owner: "octo", repo: "hello" });
    for (const bad of ["hello", "octo/", "/hello", "a/b/c", ""]) {
      expect(() => splitRepository(bad)).toThrow(expect.objectContaining({ status: 422, code: "unprocessable_entity", message: `Not an owner/name repository: ${JSON.stringify(bad)}` }));
    }
  });

  describe("in the GitHub outbox", () => {
    let app: TestApp;
    let org: BootstrapResult;

    beforeAll(async () => {
      nock.disableNetConnect();
      nock.enableNetConnect("127.0.0.1");
      app = await startTestApp(githubAppEnv(), { githubOutbox: { backoffMs: () => 50, pollMs: 100 } });
      org = await app.bootstrap();
      // A linked installation that tracks no repository: the sender must work out the name itself.
      await app.db.knex("github_installations").insert({ id: 5150, account_login: "acme", org_id: org.org_id, linked_at: new Date() });
    });
    afterAll(async () => {
      await app?.close();
      nock.cleanAll();
      nock.enableNetConnect();
    });

    it("fails the write at once with the reason, instead of retrying it as a network error", async () => {
      const { id } = await enqueueGithubAction(app.db.knex, { org_id: org.org_id, kind: "issue_comment", repository: "not-a-repository", dedupe_key: "bad-repo:1", request: { issue_number: 1, body: "hi" } });
      const row = await vi.waitFor(async () => {
        const found = await app.db.knex("github_outbox").where({ id }).first();
        expect(found.last_error).not.toBeNull(); // settled once, one way or the other
        return found;
      });
      expect(row).toMatchObject({ status: "failed", attempts: 1, last_error: 'Not an owner/name repository: "not-a-repository"' });
    });
  });
});
