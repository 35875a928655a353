import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationSource } from "../../src/db/migration-source.js";
import { bootstrapOrg, type BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

// A task counts its own completions since 20261202050000 (the round in its issue comment's dedupe key).
// Tasks finished before then must start from a count no lower than any round already used for them,
// or their next comment would reuse a key and never be posted.
const NAME = "20261202050000_task_completions";

describe(`migration ${NAME}: tasks count their completions`, () => {
  let db: TestDatabase;
  let org: BootstrapResult;
  let other: BootstrapResult;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.knex.migrate.down({ migrationSource, name: NAME });
    org = await bootstrapOrg(db.knex, { orgName: "m", teamName: "t", engineers: 0 });
    other = await bootstrapOrg(db.knex, { orgName: "o", teamName: "t", engineers: 0 });
  });
  afterAll(() => db.drop());

  it("starts each task from the most of its task.completed events, its highest queued round, and 1 when done", async () => {
    const task = async (title: string, status: string) =>
      (await db.knex("tasks").insert({ org_id: org.org_id, team_id: org.team_id, title, status, completed_at: status === "done" ? new Date() : null }).returning("id"))[0].id as number;
    const completed = (orgId: string, taskId: number, times: number) =>
      db.knex("events").insert(Array.from({ length: times }, () => ({ org_id: orgId, type: "task.completed", data: { task_id: taskId } })));
    const queued = (taskId: number, dedupeKey: string) =>
      db.knex("github_outbox").insert({ org_id: org.org_id, task_id: taskId, kind: "issue_comment", repository: "o/r", dedupe_key: dedupeKey, request: "{}", status: "sent" });

    const thrice = await task("finished three times", "done");
    await completed(org.org_id, thrice, 3);
    // Reopened; its events pruned, its second comment still in the outbox.
    const pruned = await task("events pruned", "todo");
    await completed(org.org_id, pruned, 1);
    await queued(pruned, `resolution:${pruned}:2`);
    await queued(pruned, `close:${pruned}:7`);
    const done = await task("done, no trace left", "done");
    const open = await task("never finished", "todo");
    // Another org's events about the same task id are not this task's.
    await completed(other.org_id, open, 4);

    await db.knex.migrate.up({ migrationSource, name: NAME });
    const counts = Object.fromEntries((await db.knex("tasks").where({ org_id: org.org_id }).select("id", "completions")).map((row) => [row.id, row.completions]));
    expect(counts).toEqual({ [thrice]: 3, [pruned]: 2, [done]: 1, [open]: 0 });
  });
});
