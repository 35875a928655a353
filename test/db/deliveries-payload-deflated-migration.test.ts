import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationSource } from "../../src/db/migration-source.js";
import { deflateRawSync } from "node:zlib";
import { claimDeliveries, findDelivery } from "../../src/features/webhooks/deliveries.store.js";
import { unpackPayload } from "../../src/features/webhooks/stored-payload.js";
import { createTestDatabase, insertWebhookRows, type TestDatabase } from "../helpers/test-database.js";

const NAME = "20261202060000_deliveries_payload_deflated";

describe(`migration ${NAME}`, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("reads deflated payloads and the text of rows stored before, and goes down with every payload as text", async () => {
    const { orgId, webhookId } = await insertWebhookRows(db);
    const before = '{"action":"opened","stored":"before the migration"}';
    const after = JSON.stringify({ action: "opened", stored: "after", text: "é ✓ 🎉 ".repeat(300) });
    const [legacy] = await db
      .knex("deliveries")
      .insert({ webhook_id: webhookId, org_id: orgId, delivery_guid: "legacy", event_type: "issues.opened", status: "received", payload: before })
      .returning("id");
    // As the version of this migration stored them (payloads are LZ4 blocks since the next one).
    const [packed] = await db
      .knex("deliveries")
      .insert({ webhook_id: webhookId, org_id: orgId, delivery_guid: "packed", event_type: "issues.opened", status: "received", payload_deflated: deflateRawSync(after, { level: 1 }) })
      .returning("id");
    expect((await findDelivery(db.knex, webhookId, legacy.id))?.payload).toBe(before);
    expect((await findDelivery(db.knex, webhookId, packed!.id))?.payload).toBe(after);
    const claimed = await db.knex.transaction((trx) => claimDeliveries(trx, 10, { holdSeconds: 60 }));
    expect(Object.fromEntries(claimed.map((delivery) => [delivery.delivery_guid, unpackPayload(delivery)]))).toEqual({ legacy: before, packed: after });

    await db.knex.migrate.down({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasColumn("deliveries", "payload_deflated")).toBe(false);
    expect(await db.knex("deliveries").orderBy("delivery_guid").pluck("payload")).toEqual([before, after]);

    await db.knex.migrate.up({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasColumn("deliveries", "payload_deflated")).toBe(true);
  });
});
