import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationSource } from "../../src/db/migration-source.js";
import { bootstrapOrg } from "../../src/features/orgs/bootstrap-org.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

const NAME = "20261128005000_task_comments";

describe(`migration ${NAME}`, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("keeps comments with their task, cascades on task deletion, and goes down and up again", async () => {
    const org = await bootstrapOrg(db.knex, { orgName: "m", teamName: "t", engineers: 1 });
    const [task] = await db.knex("tasks").insert({ org_id: org.org_id, team_id: org.team_id, title: "x" }).returning("id");
    await db.knex("task_comments").insert({ org_id: org.org_id, task_id: task.id, author_agent_id: org.agents[0]!.id, body: "hi" });
    const [row] = await db.knex("task_comments").select("kind", "metadata");
    expect(row).toEqual({ kind: "comment", metadata: {} });
    await expect(db.knex("task_comments").insert({ org_id: org.org_id, task_id: task.id, body: "x", kind: "shout" })).rejects.toThrow(/check/);

    await db.knex("agents").where({ id: org.agents[0]!.id }).delete();
    expect((await db.knex("task_comments").first("author_agent_id")).author_agent_id).toBeNull();
    await db.knex("tasks").where({ id: task.id }).delete();
    expect(await db.knex("task_comments")).toEqual([]);

    await db.knex.migrate.down({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasTable("task_comments")).toBe(false);
    await db.knex.migrate.up({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasTable("task_comments")).toBe(true);
  });
});
