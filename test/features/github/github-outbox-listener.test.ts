import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { startGithubOutboxSender, type GithubOutboxSender } from "../../../src/features/github/github-outbox-sender.js";
import { enqueueGithubAction } from "../../../src/features/github/github-outbox.store.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";

async function admin(sql: string, bindings: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: inject("databaseAdminUrl") });
  await client.connect();
  try {
    return await client.query(sql, bindings);
  } finally {
    await client.end();
  }
}

describe("GitHub outbox sender wake-ups", () => {
  let db: TestDatabase;
  let sender: GithubOutboxSender;
  const name = () => new URL(db.url).pathname.slice(1);
  const listenerPids = async () =>
    (await admin("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query = 'LISTEN entourage_github_outbox'", [name()])).rows.map((row) => row.pid as number);

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
      const found = await listenerPids();
      expect(found).toHaveLength(1);
      return found;
    });
    // Like a restart: the session dies and, for a few seconds, no new one is accepted.
    await admin(`ALTER DATABASE "${name()}" ALLOW_CONNECTIONS false`);
    try {
      await admin("SELECT pg_terminate_backend($1)", [pid]);
      await vi.waitFor(async () => expect(await listenerPids()).toEqual([]));
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // the outage itself, longer than a retry
    } finally {
      await admin(`ALTER DATABASE "${name()}" ALLOW_CONNECTIONS true`);
    }
    await vi.waitFor(async () => expect((await listenerPids()).filter((next) => next !== pid)).toHaveLength(1), { timeout: 10_000, interval: 100 });

    const [org] = (await db.knex("orgs").insert({ name: "acme" }).returning("id")) as { id: string }[];
    const { id } = await enqueueGithubAction(db.knex, { org_id: org!.id, kind: "issue_comment", repository: "acme/api", dedupe_key: "after-outage", request: { issue_number: 1, body: "hi" } });
    // No GitHub credentials: the sender marks the row skipped as soon as it looks.
    await vi.waitFor(async () => expect((await db.knex("github_outbox").where({ id }).first()).status).toBe("skipped"), { timeout: 5_000, interval: 50 });
  });
});
