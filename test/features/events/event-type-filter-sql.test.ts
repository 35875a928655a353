import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listEvents } from "../../../src/features/events/events.store.js";
import { bootstrapOrg } from "../../../src/features/orgs/bootstrap-org.js";
import { matchesEventType } from "../../../src/lib/event-type-pattern.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";

// Types chosen to sit on the rule's edges: a bare prefix, a longer word sharing the prefix, a nested type.
const TYPES = ["task", "task.created", "task.status_changed", "taskforce.created", "tasks.created", "review.submitted", "review", "agent.status_changed"];
const PATTERN_SETS = [["*"], ["task.*"], ["task.created"], ["review.*", "task.created"], ["taskforce.*"], ["agent.*", "*"], ["nothing.*"]];

describe("the replay's SQL filter and the live filter are one rule", () => {
  let db: TestDatabase;
  let orgId: string;
  let afterId: number; // events bootstrap itself wrote are not part of the comparison

  beforeAll(async () => {
    db = await createTestDatabase();
    orgId = (await bootstrapOrg(db.knex, { orgName: "patterns", teamName: "t", engineers: 0 })).org_id;
    afterId = Number((await db.knex("events").max({ id: "id" }).first())?.id ?? 0);
    await db.knex("events").insert(TYPES.map((type) => ({ org_id: orgId, type })));
  });
  afterAll(() => db.drop());

  it.each(PATTERN_SETS)("%j selects in SQL exactly what matchesEventType covers", async (...patterns) => {
    const replayed = (await listEvents(db.knex, { org_id: orgId, after_id: afterId, types: patterns })).map((event) => event.type);
    expect(replayed.sort()).toEqual(TYPES.filter((type) => matchesEventType(patterns, type)).sort());
  });
});
