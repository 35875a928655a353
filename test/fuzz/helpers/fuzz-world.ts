import { randomBytes } from "node:crypto";
import http from "node:http";
import { expect } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { githubExample } from "../../helpers/github-examples.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";
import { sendRaw, type RawRequest, type RawResponse } from "./raw-request.js";

/** The ids of one org's things, as a fuzzer would guess or steal them. */
export interface OrgIds {
  org: string;
  team: string;
  agent: string;
  task: string;
  webhook: string;
  delivery: string;
  outbound: string;
  outboundDelivery: string;
  apiKey: string;
}

/**
 * One server and two orgs. A is the caller: the fuzzer holds its API key. B is the victim: its
 * names, payloads and texts all carry `canary`, which must never appear in an answer to A.
 */
export interface FuzzWorld {
  app: TestApp;
  canary: string;
  a: BootstrapResult;
  b: BootstrapResult;
  aIds: OrgIds;
  bIds: OrgIds;
  aGithub: RegisteredWebhook;
  aCustom: RegisteredWebhook;
  aInactive: RegisteredWebhook;
  bGithub: RegisteredWebhook;
  send(request: RawRequest): Promise<RawResponse>;
  /** The checks every answer must pass. */
  expectSafe(request: RawRequest, response: RawResponse, options?: { jsonRpc?: boolean }): void;
  /** Requests sent so far (the suite's budget is counted). */
  sent(): number;
  close(): Promise<void>;
}

export async function createFuzzWorld(): Promise<FuzzWorld> {
  const app = await startTestApp({ SSE_HEARTBEAT_SECONDS: "3600" });
  const canary = `CANARY${randomBytes(6).toString("hex")}`;
  const a = await app.bootstrap({ name: "attacker" });
  const b = await app.bootstrap({ name: `victim ${canary}` });
  const aIds = await populate(app, a, "ordinary");
  const bIds = await populate(app, b, canary);
  const aGithub = await registerWebhook(app, a.api_key, a.team_id, { events: ["*"] });
  const aCustom = await registerWebhook(app, a.api_key, a.team_id, { provider: "custom", events: ["*"] });
  const aInactive = await registerWebhook(app, a.api_key, a.team_id);
  await app.request("PATCH", `/api/v1/webhooks/${aInactive.id}`, { key: a.api_key, body: { active: false } });
  const bGithub = await registerWebhook(app, b.api_key, b.team_id, { events: ["*"], name: canary });

  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let count = 0;
  return {
    app,
    canary,
    a,
    b,
    aIds,
    bIds,
    aGithub,
    aCustom,
    aInactive,
    bGithub,
    async send(request) {
      count++;
      return sendRaw(agent, app.url, request);
    },
    expectSafe(request, response, options = {}) {
      const sentBody = request.body === undefined ? "" : ` ${JSON.stringify(String(request.body).slice(0, 300))}`;
      const what = `${request.method} ${request.path.slice(0, 200)}${sentBody} → ${response.status} ${response.text.slice(0, 300)}`;
      expect(response.status, what).toBeGreaterThanOrEqual(200);
      expect(response.status, what).toBeLessThan(500);
      expect(response.text.includes(canary), `another org's data leaked: ${what}`).toBe(false);
      if (response.status >= 400) {
        expect(response.contentType, what).toMatch(/^application\/json/);
        const error = JSON.parse(response.text).error;
        // MCP's own refusals speak JSON-RPC, whose error code is a number; Entourage's are strings.
        expect(options.jsonRpc ? ["string", "number"] : ["string"], what).toContain(typeof error?.code);
        expect(typeof error?.message, what).toBe("string");
      }
    },
    sent: () => count,
    async close() {
      agent.destroy();
      await app.close();
    },
  };
}

/** Gives an org one of everything, `mark` written into every text. */
async function populate(app: TestApp, org: BootstrapResult, mark: string): Promise<OrgIds> {
  const key = org.api_key;
  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(method, path, { key, body });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  const team = await ok("POST", "/api/v1/teams", { name: `team ${mark}` });
  const agent = await ok("POST", `/api/v1/teams/${team.id}/agents`, { name: `agent ${mark}`, role: "engineer" });
  const task = await ok("POST", "/api/v1/tasks", { team_id: org.team_id, title: `task ${mark}`, description: `secret plans ${mark}`, tags: [mark.toLowerCase().slice(0, 50)] });
  await ok("POST", `/api/v1/tasks/${task.id}/subtasks`, { subtasks: [{ title: `subtask ${mark}` }] });
  await ok("POST", `/api/v1/tasks/${task.id}/comments`, { body: `comment ${mark}` });
  const webhook = await registerWebhook(app, key, org.team_id, { events: ["*"], name: `hook ${mark}` });
  const payload = githubExample("issues", "opened");
  payload.issue.title = `issue ${mark}`;
  // Processed before anyone snapshots the org: the task it creates must not land mid-comparison.
  const delivery = await deliverAndWait(app, webhook, payload, { event: "issues" });
  const outbound = await ok("POST", "/api/v1/outbound-webhooks", { url: `http://127.0.0.1:9/${mark}`, events: ["task.*"], description: `notify ${mark}` });
  await ok("POST", "/api/v1/tasks", { team_id: org.team_id, title: `second task ${mark}` }); // an outbound delivery to list
  const outboundDelivery = await waitFor(
    async () => (await app.ctx.knex("outbound_deliveries").select("id").where({ endpoint_id: outbound.id }).first())?.id as string | undefined,
    "an outbound delivery",
  );
  const apiKey = await ok("POST", "/api/v1/api-keys", { name: `spare key ${mark}` });
  return {
    org: org.org_id,
    team: team.id,
    agent: agent.id,
    task: String(task.id),
    webhook: webhook.id,
    delivery: delivery.id,
    outbound: outbound.id,
    outboundDelivery,
    apiKey: apiKey.id,
  };
}

/** Runs `requests` with at most `concurrency` in flight. */
export async function inBatches<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}

/** What org B owns, as rows: compared before and after a run. */
export async function snapshotOtherOrg(world: FuzzWorld) {
  const { knex } = world.app.ctx;
  const org = world.b.org_id;
  const rows = async (table: string, columns: string[]) => knex(table).select(columns).where({ org_id: org }).orderBy(columns[0]!);
  return {
    tasks: await rows("tasks", ["id", "title", "status", "assignee_id", "updated_at"]),
    agents: await rows("agents", ["id", "name", "status", "updated_at"]),
    teams: await rows("teams", ["id", "name"]),
    webhooks: await rows("webhooks", ["id", "active", "events", "updated_at"]),
    outbound: await rows("outbound_webhooks", ["id", "url", "active", "updated_at"]),
    keys: await rows("api_keys", ["id", "revoked_at"]),
    comments: await knex("task_comments").select("id", "body").whereIn("task_id", knex("tasks").select("id").where({ org_id: org })).orderBy("id"),
  };
}

/** Nothing of B's changed since `before`, and nothing of A's points at B's team, agent or task. */
export async function expectOtherOrgUntouched(world: FuzzWorld, before: Awaited<ReturnType<typeof snapshotOtherOrg>>): Promise<void> {
  expect(await snapshotOtherOrg(world)).toEqual(before);
  const { knex } = world.app.ctx;
  const crossOrg = await knex("tasks as t")
    .leftJoin("teams as tm", "tm.id", "t.team_id")
    .leftJoin("agents as ag", "ag.id", "t.assignee_id")
    .leftJoin("tasks as p", "p.id", "t.parent_id")
    .where("t.org_id", world.a.org_id)
    .where((q) => q.whereNot("tm.org_id", world.a.org_id).orWhereNot("ag.org_id", world.a.org_id).orWhereNot("p.org_id", world.a.org_id))
    .select("t.id");
  expect(crossOrg, "A's tasks pointing at B's team, agent or parent").toEqual([]);
  const crossHooks = await knex("webhooks as w")
    .joinRaw("JOIN teams tm ON tm.id::text = w.config->>'team_id'")
    .where("w.org_id", world.a.org_id)
    .whereNot("tm.org_id", world.a.org_id)
    .select("w.id");
  expect(crossHooks, "A's webhooks feeding B's team").toEqual([]);
}
