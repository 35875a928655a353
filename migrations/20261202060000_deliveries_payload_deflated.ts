import { inflateRawSync } from "node:zlib";
import type { Knex } from "knex";

// A delivery's payload is stored deflated by Entourage (src/features/webhooks/stored-payload.ts): an
// 11.6 KB issues.opened becomes about 1.9 KB, so PostgreSQL writes one TOAST chunk instead of six and
// a sixth of the WAL, and Node sends it a sixth of the bytes. `payload` (text) stays for the rows
// stored before, and is read when it is set. EXTERNAL: PostgreSQL does not try to compress it again.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE deliveries ADD COLUMN payload_deflated bytea");
  await knex.raw("ALTER TABLE deliveries ALTER COLUMN payload_deflated SET STORAGE EXTERNAL");
}

// PostgreSQL cannot inflate: the payloads are turned back into text here, a batch at a time.
export async function down(knex: Knex): Promise<void> {
  for (;;) {
    const rows = (await knex("deliveries").select("id", "payload_deflated").whereNotNull("payload_deflated").limit(500)) as { id: string; payload_deflated: Buffer }[];
    if (rows.length === 0) break;
    await knex.raw(
      `UPDATE deliveries d SET payload = v.payload, payload_deflated = NULL
         FROM unnest(?::uuid[], ?::text[]) AS v(id, payload)
        WHERE d.id = v.id`,
      [rows.map((row) => row.id), rows.map((row) => inflateRawSync(row.payload_deflated).toString("utf8"))],
    );
  }
  await knex.raw("ALTER TABLE deliveries DROP COLUMN payload_deflated");
}
