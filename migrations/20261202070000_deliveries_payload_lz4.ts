import type { Knex } from "knex";
import { uncompressSync } from "lz4-napi";
import { deflateRawSync } from "node:zlib";

// New payloads are stored as LZ4 blocks (src/features/webhooks/stored-payload.ts): packing an 11.6 KB
// issues.opened costs Node about a third of what DEFLATE did, for 2.5 KB instead of 1.9 KB.
// `payload_deflated` and `payload` stay for the rows stored before, and are read when they are set.
// EXTERNAL: PostgreSQL does not try to compress it again.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE deliveries ADD COLUMN payload_lz4 bytea");
  await knex.raw("ALTER TABLE deliveries ALTER COLUMN payload_lz4 SET STORAGE EXTERNAL");
}

// The version before reads `payload_deflated`: the LZ4 payloads are deflated here, a batch at a time.
export async function down(knex: Knex): Promise<void> {
  for (;;) {
    const rows = (await knex("deliveries").select("id", "payload_lz4").whereNotNull("payload_lz4").limit(500)) as { id: string; payload_lz4: Buffer }[];
    if (rows.length === 0) break;
    await knex.raw(
      `UPDATE deliveries d SET payload_deflated = v.packed, payload_lz4 = NULL
         FROM unnest(?::uuid[], ?::bytea[]) AS v(id, packed)
        WHERE d.id = v.id`,
      [rows.map((row) => row.id), rows.map((row) => deflateRawSync(uncompressSync(row.payload_lz4), { level: 1 }))],
    );
  }
  await knex.raw("ALTER TABLE deliveries DROP COLUMN payload_lz4");
}
