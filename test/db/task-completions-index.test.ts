import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countTaskCompletions } from "../../src/features/events/events.store.js";
import { bootstrapOrg, type BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { pagesRead } from "../helpers/pages-read.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

// Each task from a GitHub issue that reaches done counts its completions, so the comment it queues
// on the issue gets a dedupe key of its own round. The events table only grows (until retention
// prunes it), so that count must read the task's completions, not every event of the org.
describe("counting a task's completions on a long event log", () => {
  let db: TestDatabase;
  let org: BootstrapResult;
  let other: BootstrapResult;

  beforeAll(async () => {
    db = await createTestDatabase();
    org = await bootstrapOrg(db.knex, { orgName: "busy", teamName: "t", engineers: 1 });
    other = await bootstrapOrg(db.knex, { orgName: "other", teamName: "t", engineers: 1 });
    const append = (orgId: string, type: string, from: number, to: number) =>
      db.knex.raw(
        `INSERT INTO events (org_id, type, data)
         SELECT :org, :type, jsonb_build_object('task_id', g, 'title', repeat('x', 200)) FROM generate_series(:from::int, :to::int) AS g`,
        { org: orgId, type, from, to },
      );
    // 24,000 events of the org about 6,000 tasks; task 7 was completed three times.
    for (const type of ["task.created", "task.assigned", "task.status_changed", "task.completed"]) await append(org.org_id, type, 1, 6000);
    await append(org.org_id, "task.completed", 7, 7);
    await append(org.org_id, "task.completed", 7, 7);
    // Another org's events with the same task ids do not count.
    await append(other.org_id, "task.completed", 1, 100);
    await db.knex.raw("ANALYZE events");
  }, 60_000);
  afterAll(() => db.drop());

  it("counts the task's completions in its org, reading a few pages whatever the log's length", async () => {
    const seven = await pagesRead(db.knex, "events", (trx) => countTaskCompletions(trx, org.org_id, 7));
    expect(seven.result).toBe(3);
    expect(seven.pages).toBeLessThan(10);
    const never = await pagesRead(db.knex, "events", (trx) => countTaskCompletions(trx, org.org_id, 6001));
    expect(never.result).toBe(0);
    expect(never.pages).toBeLessThan(10);
    expect(await countTaskCompletions(db.knex, other.org_id, 7)).toBe(1);
  });
});
