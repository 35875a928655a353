import knexPkg, { type Knex } from "knex";
import pg from "pg";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "./embedded-postgres.js";

// int8 (counts, bigint ids) as numbers: every id and count here stays far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

/** A knex instance or an open transaction: what every store function takes first. */
export type Queryable = Knex | Knex.Transaction;

export interface Database {
  knex: Knex;
  /** The connection URL in use (embedded or DATABASE_URL). */
  url: string;
  embedded?: EmbeddedPostgresHandle;
  close(): Promise<void>;
}

export interface CreateDbOptions {
  logger: Logger;
  /** Pool size; the queue needs several connections at once. */
  poolMax?: number;
  /** Overrides DATABASE_URL / the embedded server (tests point this at their own database). */
  url?: string;
}

/** Knex over `pg`, connected to DATABASE_URL or to the embedded server it starts (or joins). */
export async function createDb(config: Config, options: CreateDbOptions): Promise<Database> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let url = options.url ?? config.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, logger: options.logger });
    url = await ensureDatabase(embedded.url, "entourage");
  }
  const knex = createKnex(url, options.poolMax);
  return {
    knex,
    url,
    embedded,
    async close() {
      await knex.destroy();
      await embedded?.stop();
    },
  };
}

export function createKnex(url: string, poolMax = 10): Knex {
  return knexPkg({
    client: "pg",
    connection: url,
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
}

/** Creates `name` on the server behind `maintenanceUrl` when missing; returns its URL. */
export async function ensureDatabase(maintenanceUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
        if (error.code !== "42P04") throw error; // created meanwhile by another process
      });
    }
  } finally {
    await client.end();
  }
  const url = new URL(maintenanceUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
