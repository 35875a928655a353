import type { Knex } from "knex";
import { migrationSource } from "./migration-source.js";

/** Brings the schema to the latest migration; safe to call from several processes at once. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

export async function migrateDown(knex: Knex): Promise<string[]> {
  const [, reverted] = (await knex.migrate.rollback({ migrationSource }, true)) as [number, string[]];
  return reverted;
}
