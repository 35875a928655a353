import { deflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationSource } from "../../src/db/migration-source.js";
import { claimDeliveries, findDelivery, insertDeliveries, packDelivery } from "../../src/features/webhooks/deliveries.store.js";
import { unpackPayload } from "../../src/features/webhooks/stored-payload.js";
import { createTestDatabase, insertWebhookRows, type TestDatabase } from "../helpers/test-database.js";

const NAME = "20261202070000_deliveries_payload_lz4";

describe(`migration ${NAME}`, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("stores new payloads as LZ4 blocks, still reads the deflated and text rows stored before, and goes down with the LZ4 ones deflated", async () => {
    const { orgId, webhookId } = await insertWebhookRows(db);
    const asText = '{"action":"opened","stored":"as text"}';
    const deflated = '{"action":"opened","stored":"deflated"}';
    const lz4 = JSON.stringify({ action: "opened", stored: "as an LZ4 block", text: "é ✓ 🎉 ".repeat(300) });
    const base = { webhook_id: webhookId, org_id: orgId, event_type: "issues.opened", status: "received" };
    await db.knex("deliveries").insert([
      { ...base, delivery_guid: "text", payload: asText },
      { ...base, delivery_guid: "deflated", payload_deflated: deflateRawSync(deflated, { level: 1 }) },
    ]);
    const [packed] = await insertDeliveries(db.knex, [packDelivery({ ...base, status: "received", delivery_guid: "lz4", payload: lz4, headers: {}, payload_summary: {} })]);

    const stored = await db.knex("deliveries").where({ id: packed!.id }).first();
    expect(stored).toMatchObject({ payload: null, payload_deflated: null });
    expect(stored.payload_lz4.length).toBeLessThan(Buffer.byteLength(lz4) / 4);
    const ids = Object.fromEntries((await db.knex("deliveries").select("delivery_guid", "id")).map((row) => [row.delivery_guid, row.id]));
    for (const [guid, text] of [["text", asText], ["deflated", deflated], ["lz4", lz4]]) {
      expect((await findDelivery(db.knex, webhookId, ids[guid!]))?.payload).toBe(text);
    }
    const claimed = await db.knex.transaction((trx) => claimDeliveries(trx, 10, { holdSeconds: 60 }));
    expect(Object.fromEntries(claimed.map((delivery) => [delivery.delivery_guid, unpackPayload(delivery)]))).toEqual({ text: asText, deflated, lz4 });

    await db.knex.migrate.down({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasColumn("deliveries", "payload_lz4")).toBe(false);
    const down = await db.knex("deliveries").where({ id: packed!.id }).first();
    expect(unpackPayload({ ...down, payload_lz4: null })).toBe(lz4);
    expect(down.payload_deflated).not.toBeNull();

    await db.knex.migrate.up({ migrationSource, name: NAME });
    expect(await db.knex.schema.hasColumn("deliveries", "payload_lz4")).toBe(true);
  });
});
