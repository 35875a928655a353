import pino from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startGithubOutboxSender, type GithubOutboxSender } from "../../../src/features/github/github-outbox-sender.js";
import { enqueueGithubAction } from "../../../src/features/github/github-outbox.store.js";
import { cutOffListener, listenerPids } from "../../helpers/database-outage.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";

describe("GitHub outbox sender wake-ups", () => {
  let db: TestDatabase;
  let sender: GithubOutboxSender;
  const listeners = () => listenerPids(db);

  beforeAll(async () => {
    db = await createTestDatabase();
    // The poll is far longer than the test: only a NOTIFY can wake the sender in time.
    sender = await startGithubOutboxSender({ knex: db.knex, logger: pino({ level: "silent" }), databaseUrl: db.url }, { pollMs: 600_000 });
  });
  afterAll(async () => {
    await sender?.stop();
    await db?.drop();
  });

  it("is woken by NOTIFY again after the database was away for longer than one retry", async () => {
    const [pid] = await vi.waitFor(async () => {
      const found = await listeners();
      expect(found).toHaveLength(1);
      return found;
    });
    await cutOffListener(db, pid!);
    await vi.waitFor(async () => expect((await listeners()).filter((next) => next !== pid)).toHaveLength(1), { timeout: 10_000, interval: 100 });

    const [org] = (await db.knex("orgs").insert({ name: "acme" }).returning("id")) as { id: string }[];
    const { id } = await enqueueGithubAction(db.knex, { org_id: org!.id, kind: "issue_comment", repository: "acme/api", dedupe_key: "after-outage", request: { issue_number: 1, body: "hi" } });
    // No GitHub credentials: the sender marks the row skipped as soon as it looks.
    await vi.waitFor(async () => expect((await db.knex("github_outbox").where({ id }).first()).status).toBe("skipped"), { timeout: 5_000, interval: 50 });
  });
});
