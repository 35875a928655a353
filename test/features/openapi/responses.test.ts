import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROUTES, type ApiRoute } from "../../../src/features/openapi/api-routes.js";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";

/**
 * Every route that documents its answer (`response`) answers exactly that: each field present with
 * its type, timestamps as ISO text, and no field the document does not name (strict objects), so a
 * column added to a store cannot leak into the API unnoticed.
 */
describe("answers match the documented response schemas", () => {
  let app: TestApp;
  let org: BootstrapResult;
  const checked = new Set<ApiRoute>();

  const route = (method: ApiRoute["method"], path: string) => {
    const found = API_ROUTES.find((candidate) => candidate.method === method && candidate.path === path);
    if (!found?.response) throw new Error(`${method} ${path} documents no response`);
    return found;
  };
  /** Calls the route at `url` (its path with ids filled in) and checks the answer against its schema. */
  const call = async (method: ApiRoute["method"], path: string, url: string, body?: unknown) => {
    const documented = route(method, path);
    const res = await app.request(method.toUpperCase(), `/api/v1${url}`, { key: org.api_key, body });
    expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(documented.ok[0]);
    const parsed = documented.response!.safeParse(res.body);
    expect(parsed.error?.issues ?? [], `${method} ${path}`).toEqual([]);
    checked.add(documented);
    return res.body;
  };

  beforeAll(async () => {
    app = await startTestApp();
    org = await app.bootstrap();
  });
  afterAll(() => app.close());

  it("teams and agents", async () => {
    const team = await call("post", "/teams", "/teams", { name: "contract" });
    await call("get", "/teams", "/teams");
    const agent = await call("post", "/teams/{id}/agents", `/teams/${team.id}/agents`, { name: "rev-1", role: "reviewer" });
    await call("get", "/teams/{id}/agents", `/teams/${team.id}/agents`);
    await call("patch", "/agents/{id}", `/agents/${agent.id}`, { status: "offline" });
  });

  it("tasks, sub-tasks and comments", async () => {
    const task = await call("post", "/tasks", "/tasks", { team_id: org.team_id, title: "Contract", tags: ["api"] });
    await call("post", "/tasks/{id}/subtasks", `/tasks/${task.id}/subtasks`, { subtasks: [{ title: "one" }, { title: "two", depends_on: [0] }] });
    await call("patch", "/tasks/{id}", `/tasks/${task.id}`, { status: "in_progress" });
    await call("get", "/tasks/{id}", `/tasks/${task.id}`);
    await call("get", "/tasks", "/tasks");
    await call("post", "/tasks/{id}/comments", `/tasks/${task.id}/comments`, { body: "looks right" });
    await call("get", "/tasks/{id}/comments", `/tasks/${task.id}/comments`);
  });

  it("delivery stats", async () => {
    await call("get", "/stats/deliveries", "/stats/deliveries?window=10m&bucket=1m");
  });

  it("checked every route that documents a response", () => {
    const documented = API_ROUTES.filter((candidate) => candidate.response);
    expect(documented.filter((candidate) => !checked.has(candidate)).map((candidate) => `${candidate.method} ${candidate.path}`)).toEqual([]);
  });
});
