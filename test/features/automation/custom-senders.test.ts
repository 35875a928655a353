import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BootstrapResult } from "../../../src/features/orgs/bootstrap-org.js";
import { taskEventDetails } from "../../helpers/task-events.js";
import { startTestApp, type TestApp } from "../../helpers/test-app.js";
import { deliverAndWait, registerWebhook, type RegisteredWebhook } from "../../helpers/webhooks.js";

describe("automation: custom senders", () => {
  let app: TestApp;
  let acme: BootstrapResult;
  let webhook: RegisteredWebhook;

  const send = (event: string, doc: Record<string, unknown>) => deliverAndWait(app, webhook, doc, { headers: { "x-entourage-event": event } });
  const task = (externalId = "OPS-7") => app.db.knex("tasks").where({ source_key: `custom:${webhook.id}:${externalId}` }).first();
  const eventsOf = (taskId: number, type: string) => taskEventDetails(app.db.knex, taskId, type);

  beforeAll(async () => {
    app = await startTestApp();
    acme = await app.bootstrap();
    webhook = await registerWebhook(app, acme.api_key, acme.team_id, { provider: "custom", events: ["task.*"], config: { auto_assign: true, default_task_type: "chore" } });
  });
  afterAll(() => app.close());

  it("task.create makes one task per external_id, assigned when auto_assign is on", async () => {
    const created = await send("task.create", { external_id: "OPS-7", title: "Rotate TLS certs", description: "Before Friday.", priority: "high", tags: ["ops"] });
    expect(created.actions).toEqual([expect.stringMatching(/^created task #\d+$/), "assigned to eng-1"]);
    expect(await task()).toMatchObject({
      title: "Rotate TLS certs",
      description: "Before Friday.",
      priority: "high",
      task_type: "chore",
      tags: ["custom", "external:OPS-7", "ops"],
      assignee_id: acme.agents[0]!.id,
    });
    const again = await send("task.create", { external_id: "OPS-7", title: "Rotate TLS certs" });
    expect(again.status).toBe("ignored");
    expect(await app.db.knex("tasks").where({ team_id: acme.team_id })).toHaveLength(1);
  });

  it("task.update changes only the fields it carries; task.close finishes the task", async () => {
    await send("task.update", { external_id: "OPS-7", priority: "critical" });
    expect(await task()).toMatchObject({ title: "Rotate TLS certs", priority: "critical" });
    const closed = await send("task.close", { external_id: "OPS-7", resolution: "cancelled" });
    expect(closed.actions[0]).toMatch(/→ cancelled$/);
    expect((await task()).status).toBe("cancelled");
    // Its engineer is free again.
    expect((await app.db.knex("agents").where({ id: acme.agents[0]!.id }).first()).status).toBe("available");
  });

  it("task.create with the title alone: medium priority, the webhook's type, tagged custom and external, empty description, the sender's source kept", async () => {
    await send("task.create", { external_id: "OPS-9", title: "Renew the domain", url: "https://ops.example.com/OPS-9" });
    expect(await task("OPS-9")).toMatchObject({
      description: "",
      priority: "medium",
      task_type: "chore",
      tags: ["custom", "external:OPS-9"],
      source: { kind: "custom", webhook_id: webhook.id, external_id: "OPS-9", url: "https://ops.example.com/OPS-9", auto_assign: true },
    });
  });

  it("task.update changes title, description, type and tags (still tagged custom and external); one naming no field changes nothing", async () => {
    await send("task.create", { external_id: "OPS-11", title: "Draft the runbook", tags: ["ops"] });
    const { id } = await task("OPS-11");
    await send("task.update", { external_id: "OPS-11", title: "Publish the runbook", description: "Reviewed by SRE.", task_type: "docs", tags: ["runbook"] });
    expect(await task("OPS-11")).toMatchObject({ title: "Publish the runbook", description: "Reviewed by SRE.", priority: "medium", task_type: "docs", tags: ["custom", "external:OPS-11", "runbook"] });

    const empty = await send("task.update", { external_id: "OPS-11" });
    expect(empty.status).toBe("processed");
    expect(await eventsOf(id, "task.updated")).toEqual([{ changes: ["title", "description", "task_type", "tags"], reason: "updated by the sender" }]);
  });

  it("task.create leaves the task unassigned when the webhook's auto_assign is off, though engineers are free", async () => {
    const quiet = await app.bootstrap({ name: "quiet" });
    const manual = await registerWebhook(app, quiet.api_key, quiet.team_id, { provider: "custom", events: ["task.*"], config: { auto_assign: false } });
    await deliverAndWait(app, manual, { external_id: "OPS-12", title: "Pick me by hand" }, { headers: { "x-entourage-event": "task.create" } });
    expect(await app.db.knex("tasks").where({ source_key: `custom:${manual.id}:OPS-12` }).first()).toMatchObject({ status: "todo", assignee_id: null });
    expect(await app.db.knex("agents").where({ org_id: quiet.org_id }).pluck("status")).toEqual(["available", "available"]);
  });

  it("ignores updates for unknown external ids", async () => {
    const res = await send("task.update", { external_id: "NOPE-1", title: "x" });
    expect(res.status).toBe("ignored");
  });
});
