import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapOrg, type BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { holdsOpenTask, lockNextWaitingTask } from "../../src/features/tasks/tasks.store.js";
import { pagesRead } from "../helpers/pages-read.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

/** Heap pages of `tasks` that `read` fetched. */
const tasksPagesRead = <T>(knex: Knex, read: (trx: Knex.Transaction) => Promise<T>) => pagesRead(knex, "tasks", read);

// Every engineer that finishes a task asks for the team's next waiting task, and every release asks
// whether the engineer still holds an open task. Both must cost the same with 3 waiting tasks or
// 6,000, and with an engineer's 3 finished tasks or 6,000: a large backlog of waiting work (the seed's
// team of two engineers and a busy repository) otherwise makes every completion read all of it.
describe("the hand-out queries on a large team", () => {
  let db: TestDatabase;
  let org: BootstrapResult;
  const count = 6000;

  beforeAll(async () => {
    db = await createTestDatabase();
    org = await bootstrapOrg(db.knex, { orgName: "big", teamName: "t", engineers: 1 });
    // `count` tasks titled `${name} 1` … `${name} <count>`, the higher the number the older.
    const insert = (name: string, columns: string) =>
      db.knex.raw(
        `INSERT INTO tasks (org_id, team_id, title, description, priority, status, assignee_id, source, created_at)
         SELECT :org, :team, :name || ' ' || g, repeat('x', 200), ${columns}, now() - make_interval(secs => g)
           FROM generate_series(1, :count) AS g`,
        { org: org.org_id, team: org.team_id, name, count },
      );
    // Waiting for an engineer, priorities mixed; the oldest critical one is the next to hand out.
    await insert("waiting", `(ARRAY['low','medium','high'])[1 + g % 3], 'todo', NULL, '{"auto_assign": true}'`);
    await db.knex("tasks").whereIn("title", ["waiting 4000", "waiting 5000"]).update({ priority: "critical" });
    // Waiting too, but made by hand (not for auto-assign): never handed out.
    await insert("manual", `'critical', 'todo', NULL, '{}'`);
    // What the engineer has finished.
    await insert("finished", `'medium', 'done', '${org.agents[0]!.id}', '{"auto_assign": true}'`);
    await db.knex.raw("ANALYZE tasks");
  }, 60_000);
  afterAll(() => db.drop());

  it("finds the next waiting task (highest priority, then oldest) by reading the queue's index in order", async () => {
    const { result, pages } = await tasksPagesRead(db.knex, (trx) => lockNextWaitingTask(trx, org.team_id));
    const next = await db.knex("tasks").where({ id: result!.id }).first();
    expect(next.title).toBe("waiting 5000"); // created 5,000 s ago, before "waiting 4000"
    expect(pages).toBeLessThan(10);
  });

  it("skips a waiting task another transaction holds, still without reading the whole queue", async () => {
    const held = await db.knex.transaction();
    try {
      const first = await lockNextWaitingTask(held, org.team_id);
      const { result, pages } = await tasksPagesRead(db.knex, (trx) => lockNextWaitingTask(trx, org.team_id));
      expect(result!.id).not.toBe(first!.id);
      expect((await db.knex("tasks").where({ id: result!.id }).first()).title).toBe("waiting 4000");
      expect(pages).toBeLessThan(10);
    } finally {
      await held.rollback();
    }
  });

  it("tells whether an engineer holds an open task without reading the tasks it has finished", async () => {
    const engineer = org.agents[0]!.id;
    const idle = await tasksPagesRead(db.knex, (trx) => holdsOpenTask(trx, engineer));
    expect(idle.result).toBe(false);
    expect(idle.pages).toBeLessThan(10);
    const [open] = await db.knex("tasks").where({ title: "waiting 1" }).update({ assignee_id: engineer }).returning("id");
    const busy = await tasksPagesRead(db.knex, (trx) => holdsOpenTask(trx, engineer));
    expect(busy.result).toBe(true);
    expect(busy.pages).toBeLessThan(10);
    await db.knex("tasks").where({ id: open.id }).update({ assignee_id: null });
  });
});
