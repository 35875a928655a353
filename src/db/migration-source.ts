import fs from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";
import type { Knex } from "knex";

// src/db → ../../migrations (TypeScript under tsx/vitest); dist/src/db → dist/migrations (compiled).
const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Lists and imports the migrations itself: knex skips `.mjs` and cannot load `.ts` under vitest.
 * Names are reported without extension so a compiled and a source checkout agree on history.
 */
export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    const files = await fs.readdir(MIGRATIONS_DIR);
    return files
      .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith(".d.ts"))
      .sort();
  },
  getMigrationName(file) {
    return file.replace(/\.(ts|js)$/, "");
  },
  async getMigration(file) {
    return (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Migration;
  },
};
