import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { issuePayload } from "../../helpers/github-payloads.js";
import { taskEventDetails } from "../../helpers/task-events.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { waitFor } from "../../helpers/wait-for.js";
import { deliverAndWait, registerWebhook, sendDelivery, type RegisteredWebhook } from "../../helpers/webhooks.js";

describe("automation: auto_assign hands tasks to free engineers", () => {
  let app: TestApp;
  let nextIssue = 1;

  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(() => app.close());

  const setup = async (engineers: number) => {
    const org = await app.bootstrap({ engineers, name: `org-${Math.random()}` });
    const webhook = await registerWebhook(app, org.api_key, org.team_id, { events: ["issues.*"], config: { auto_assign: true } });
    return { org, webhook };
  };
  const open = async (webhook: RegisteredWebhook, labels: string[] = []) => {
    const number = nextIssue++;
    return deliverAndWait(app, webhook, issuePayload("opened", { number, labels, repository: `acme/r${webhook.id.slice(0, 8)}` }), { event: "issues" });
  };
  const agentsOf = (org: BootstrapResult) => app.db.knex("agents").where({ team_id: org.team_id }).orderBy("created_at");
  const tasksOf = (org: BootstrapResult) => app.db.knex("tasks").where({ team_id: org.team_id }).orderBy("id");

  it("gives the task to the first available engineer, who becomes busy", async () => {
    const { org, webhook } = await setup(2);
    const delivery = await open(webhook);
    const [task] = await tasksOf(org);
    expect(task.assignee_id).toBe(org.agents[0]!.id);
    expect(delivery.actions).toEqual([`created task #${task.id}`, "assigned to eng-1"]);
    expect((await agentsOf(org)).map((a) => a.status)).toEqual(["busy", "available"]);
    // Subscribers learn who took it, and that no person chose.
    expect(await taskEventDetails(app.db.knex, task.id, "task.assigned")).toEqual([{ assignee_id: org.agents[0]!.id, assignee_name: "eng-1", auto: true }]);
    await open(webhook);
    expect((await tasksOf(org)).map((t) => t.assignee_id)).toEqual([org.agents[0]!.id, org.agents[1]!.id]);
  });

  it("lets tasks wait when nobody is free, then hands them out by priority, then age, as engineers free up", async () => {
    const { org, webhook } = await setup(1);
    await open(webhook); // takes eng-1
    const low = await open(webhook, ["low"]);
    const critical = await open(webhook, ["critical"]);
    const medium = await open(webhook);
    expect(low.actions).toContain("no engineer available: waiting for one");
    const tasks = await tasksOf(org);
    expect(tasks.slice(1).every((t) => t.assignee_id === null)).toBe(true);

    // eng-1 finishes its task: it is free again and takes the critical one.
    const first = tasks[0]!;
    for (const status of ["in_progress", "done"]) {
      const res = await app.request("PATCH", `/api/v1/tasks/${first.id}`, { key: org.api_key, body: { status } });
      expect(res.status).toBe(200);
    }
    const byTitle = async () => Object.fromEntries((await tasksOf(org)).map((t) => [t.id, t.assignee_id]));
    const criticalId = Number(/#(\d+)/.exec(critical.actions[0])![1]);
    const mediumId = Number(/#(\d+)/.exec(medium.actions[0])![1]);
    const lowId = Number(/#(\d+)/.exec(low.actions[0])![1]);
    expect((await byTitle())[criticalId]).toBe(org.agents[0]!.id);
    expect((await agentsOf(org))[0].status).toBe("busy");

    // An engineer joins, then another turns available through the API: medium, then low.
    const joined = await app.request("POST", `/api/v1/teams/${org.team_id}/agents`, { key: org.api_key, body: { name: "eng-9", role: "engineer", status: "offline" } });
    await app.request("PATCH", `/api/v1/agents/${joined.body.id}`, { key: org.api_key, body: { status: "available" } });
    expect((await byTitle())[mediumId]).toBe(joined.body.id);
    expect((await byTitle())[lowId]).toBeNull();
  });

  it("never gives one engineer two tasks when many arrive at once", async () => {
    const { org, webhook } = await setup(3);
    const sends = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        sendDelivery(app.url, webhook, issuePayload("opened", { number: 5000 + i, repository: `acme/burst${webhook.id.slice(0, 8)}` }), { event: "issues" }),
      ),
    );
    expect(sends.every((r) => r.status === 202)).toBe(true);
    await waitFor(async () => (await tasksOf(org)).length === 12 && (await app.db.knex("deliveries").where({ webhook_id: webhook.id, status: "received" })).length === 0, "all processed");
    const assigned = (await tasksOf(org)).filter((t) => t.assignee_id).map((t) => t.assignee_id);
    expect(assigned).toHaveLength(3);
    expect(new Set(assigned).size).toBe(3);
    expect((await agentsOf(org)).every((a) => a.status === "busy")).toBe(true);
  });
});
