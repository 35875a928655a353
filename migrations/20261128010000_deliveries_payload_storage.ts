import type { Knex } from "knex";

// Payloads are written once on the acknowledgement path and read once by the worker: storing
// them out of line without compression spares the database the compression work on the hot path.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE deliveries ALTER COLUMN payload SET STORAGE EXTERNAL");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("ALTER TABLE deliveries ALTER COLUMN payload SET STORAGE EXTENDED");
}
