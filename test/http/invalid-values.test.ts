import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../helpers/test-app.js";

// Found by the hostile-input properties (test/fuzz): values zod accepts but PostgreSQL cannot store.
describe("values the database cannot store", () => {
  let app: TestApp;
  let acme: BootstrapResult;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
  });
  afterAll(() => app.close());

  it("are refused with a JSON 400, not a 500: NUL in a body, in a query, a lone surrogate", async () => {
    const attempts = [
      app.request("POST", "/api/v1/tasks", { key: acme.api_key, body: { team_id: acme.team_id, title: "a\u0000b" } }),
      app.request("POST", "/api/v1/teams", { key: acme.api_key, body: { name: "\u0000" } }),
      app.request("GET", "/api/v1/tasks?tag=a%00b", { key: acme.api_key }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status, res.text).toBe(400);
      expect(res.body.error).toMatchObject({ code: "invalid_value", message: expect.any(String) });
    }
    expect(await app.db.knex("tasks").where({ org_id: acme.org_id }).count({ n: "*" }).first()).toEqual({ n: 0 });
  });
});
