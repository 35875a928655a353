import os from "node:os";
import path from "node:path";
import pino, { type Logger } from "pino";
import type { AppContext } from "../../src/app-context.js";
import { loadConfig } from "../../src/config.js";
import { bootstrapOrg, type BootstrapResult } from "../../src/features/orgs/bootstrap-org.js";
import { startEntourage, type Entourage, type StartOptions } from "../../src/main.js";
import { createTestDatabase, type TestDatabase } from "./test-database.js";

export interface TestApp {
  url: string;
  ctx: AppContext;
  db: TestDatabase;
  entourage: Entourage;
  /** A new org with a team, engineers and an admin key. */
  bootstrap(options?: { engineers?: number; name?: string }): Promise<BootstrapResult>;
  /** fetch against the app with an API key (or none). */
  request(method: string, pathname: string, options?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export const TEST_JWT_SECRET = "test-jwt-secret-that-is-at-least-32-characters";
export const TEST_ENCRYPTION_KEY = "0".repeat(63) + "1";

export interface TestAppOptions extends Partial<Pick<StartOptions, "processor" | "worker" | "role" | "githubOutbox" | "pullRequestFiles" | "retention" | "githubOctokitOptions">> {
  /** Share another app's database (several instances); it is then not dropped on close. */
  database?: TestDatabase;
  /** Log here instead of nowhere (TEST_LOG_LEVEL). */
  logger?: Logger;
  /** Collect every log line (debug and up) here instead of discarding them. */
  logLines?: string[];
}

/** Starts a real Entourage (HTTP on a loopback port) on a database of its own. */
export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.database ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    ENTOURAGE_DATA_DIR: path.join(os.tmpdir(), "entourage-unused"),
    LOG_LEVEL: "silent",
    // The one test-only allowance: outbound tests send to loopback receivers. It is an environment
    // variable read at start-up, never a field of any API body.
    ALLOW_PRIVATE_OUTBOUND: "true",
    ...env,
  });
  const logLines = options.logLines;
  const defaultLogger = logLines ? pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) }) : pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const { database: _shared, logLines: _lines, logger = defaultLogger, ...startOptions } = options;
  // Octokit's throttling spaces writes a second apart: real GitHub needs it, nock does not.
  const entourage = await startEntourage({ config, logger, bootstrapEmpty: false, githubOctokitOptions: { throttle: { enabled: false } }, ...startOptions });
  config.PUBLIC_URL = entourage.url;
  return {
    url: entourage.url,
    ctx: entourage.ctx,
    db,
    entourage,
    bootstrap: (options = {}) =>
      bootstrapOrg(db.knex, { orgName: options.name ?? "acme", teamName: "core", engineers: options.engineers ?? 2 }),
    request: (method, pathname, options = {}) => request(entourage.url, method, pathname, options),
    async close() {
      await entourage.close();
      if (!options.database) await db.drop();
    },
  };
}

export async function request(
  baseUrl: string,
  method: string,
  pathname: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers["x-api-key"] = options.key;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(new URL(pathname, baseUrl), { method, headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
