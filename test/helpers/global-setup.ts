import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { TestProject } from "vitest/node";
import { createKnex, ensureDatabase } from "../../src/db/create-db.js";
import { startEmbeddedPostgres } from "../../src/db/embedded-postgres.js";
import { migrateLatest } from "../../src/db/migrate.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Maintenance URL of the test server (embedded, or TEST_DATABASE_URL). */
    databaseAdminUrl: string;
    /** A migrated database each test file clones. */
    templateDatabase: string;
  }
}

/**
 * Once per run: start one embedded PostgreSQL (unless TEST_DATABASE_URL points at a server),
 * migrate a template database, and hand both to the test files, which each clone their own.
 */
export default async function setup(project: TestProject) {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "warn" });
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stop = async () => {};
  let dataDir: string | undefined;
  if (!adminUrl) {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "entourage-test-"));
    await fs.chmod(dataDir, 0o755); // the postgres user must reach the cluster dir when we run as root
    const server = await startEmbeddedPostgres({
      dataDir,
      logger,
      // Durability is the production server's job; the test cluster trades it for speed.
      settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "300" },
    });
    adminUrl = server.url;
    stop = server.stop;
  }

  const templateDatabase = `entourage_template_${process.pid}`;
  const templateUrl = await ensureDatabase(adminUrl, templateDatabase);
  const knex = createKnex(templateUrl, 1);
  try {
    await migrateLatest(knex);
  } finally {
    await knex.destroy();
  }

  project.provide("databaseAdminUrl", adminUrl);
  project.provide("templateDatabase", templateDatabase);

  return async () => {
    const admin = createKnex(adminUrl, 1);
    try {
      const rows = await admin.raw("SELECT datname FROM pg_database WHERE datname LIKE ?", [`entourage_t%`]);
      for (const { datname } of rows.rows as { datname: string }[]) {
        await admin.raw(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      }
    } finally {
      await admin.destroy();
    }
    await stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  };
}
