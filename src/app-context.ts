import type { Knex } from "knex";
import type { Logger } from "pino";
import type { Config } from "./config.js";

export interface Secrets {
  jwtSecret: string;
  /** 32-byte AES-256-GCM key. */
  encryptionKey: Buffer;
}

/** What routes, services and workers are built from: clients are made once, in main, and passed in. */
export interface AppContext {
  config: Config;
  knex: Knex;
  /** The database URL in use, for dedicated connections (LISTEN). */
  databaseUrl: string;
  logger: Logger;
  secrets: Secrets;
}
