import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseEnv } from "node:util";
import { z } from "zod";

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const optionalUrl = optionalString.pipe(z.url().optional());

// Room for unverified request bodies: a sixteenth of the machine's memory, between 64 and 512 MB.
const DEFAULT_BODY_BUDGET_MB = Math.min(512, Math.max(64, Math.floor(os.totalmem() / 16 / 1024 / 1024)));

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** The whole environment Entourage reads, in one place: type, validation and defaults. */
export const configSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(8000),
    HOST: z.string().default("127.0.0.1"),
    PUBLIC_URL: optionalUrl,
    DATABASE_URL: optionalString.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
        .optional(),
    ),
    ENTOURAGE_DATA_DIR: z.string().default("./.entourage"),
    REDIS_URL: optionalString.pipe(
      z
        .string()
        .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
        .optional(),
    ),
    JWT_SECRET: optionalString.pipe(z.string().min(32, "must be at least 32 characters").optional()),
    ENCRYPTION_KEY: optionalString.pipe(
      z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, "must be 32 bytes written as 64 hex characters")
        .optional(),
    ),
    APP_ID: optionalString.pipe(z.string().regex(/^\d+$/, "must be the numeric GitHub App ID").optional()),
    PRIVATE_KEY: optionalString,
    PRIVATE_KEY_PATH: optionalString,
    WEBHOOK_SECRET: optionalString,
    WEBHOOK_PROXY_URL: optionalUrl,
    GHE_HOST: optionalString,
    GHE_PROTOCOL: z.enum(["http", "https"]).default("https"),
    // Missed-delivery recovery (GitHub App): every N seconds (0 = off), first pass looking back H hours.
    GITHUB_RECOVERY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(600),
    GITHUB_RECOVERY_LOOKBACK_HOURS: z.coerce.number().min(0).max(72, "GitHub keeps deliveries for 3 days").default(24),
    // Bodies both webhook doors may hold in memory before their signature is checked, in all (MB);
    // beyond it new uploads get 503 with Retry-After. Each body is also capped at 25 MB.
    UNVERIFIED_BODY_BUDGET_MB: z.preprocess(
      (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
      z.coerce.number().int().min(1).max(65_536).default(DEFAULT_BODY_BUDGET_MB),
    ),
    // Every call to GitHub gives up after this many seconds (GitHub itself answers webhooks within 10 s).
    GITHUB_TIMEOUT_SECONDS: z.coerce.number().positive().max(300).default(10),
    // The org that administers the instance (GitHub App, installation links); default: the org created first.
    ENTOURAGE_INSTANCE_ORG_ID: optionalString.pipe(z.uuid("must be an org id (a UUID)").optional()),
    LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
    // Unset: human-readable lines on a terminal, JSON lines otherwise.
    LOG_FORMAT: optionalString.pipe(z.enum(["json", "pretty"]).optional()),
    SSE_HEARTBEAT_SECONDS: z.coerce.number().positive().max(3600).default(15),
    ENTOURAGE_WORKER: z.enum(["on", "off"]).default("on"),
    // How long a worker that stops answering mid-transaction keeps the deliveries it claimed (a worker
    // that dies loses them at once): PostgreSQL ends such a transaction after this long idle.
    DELIVERY_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    // A worker's processing transactions in flight at once, and the most deliveries in each (a backlog
    // fills them all; a steady stream runs one at a time). Measured on 2 cores: docs/performance.md.
    DELIVERY_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    DELIVERY_WORKER_GROUP_SIZE: z.coerce.number().int().min(1).max(500).default(50),
    // Without a backlog, after a transaction that found two or more deliveries, the next starts no sooner
    // than this many ms after it: a steady stream goes in fewer, larger groups (docs/performance.md). 0: at once.
    DELIVERY_WORKER_GATHER_MS: z.coerce.number().int().min(0).max(1000).default(20),
    // Outbound retry delays in seconds, comma-separated (e.g. "1,2,5"); unset: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    OUTBOUND_RETRY_SCHEDULE: optionalString.pipe(
      z
        .string()
        .regex(/^\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?){0,19}$/, "must be up to 20 delays in seconds, comma-separated (e.g. 5,300,1800)")
        .transform((value) => value.split(",").map((delay) => Math.round(Number(delay) * 1000)))
        .optional(),
    ),
    // Bearer token Prometheus sends to GET /metrics; unset: /metrics answers loopback clients only.
    METRICS_TOKEN: optionalString.pipe(z.string().min(16, "must be at least 16 characters (generate one with: openssl rand -hex 32)").optional()),
    // Retention in days, 0 = keep for ever (README: Operating Entourage).
    DELIVERY_PAYLOAD_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(30),
    DELIVERY_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(90),
    EVENT_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(30),
    ALLOW_PRIVATE_OUTBOUND: z
      .enum(["true", "false", "1", "0", ""])
      .default("false")
      .transform((value) => value === "true" || value === "1"),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_URL) {
      // Outside embedded mode there is no data dir we can trust to keep generated secrets.
      for (const key of ["JWT_SECRET", "ENCRYPTION_KEY"] as const) {
        if (!env[key]) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: "is required when DATABASE_URL is set (generate one with: openssl rand -hex 32)",
          });
        }
      }
    }
  });

export type RawConfig = z.infer<typeof configSchema>;

export interface Config extends RawConfig {
  PUBLIC_URL: string;
  /** Absolute path of ENTOURAGE_DATA_DIR. */
  dataDir: string;
  embedded: boolean;
}

/** Thrown when the environment is invalid; `lines` holds one message per variable. */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(`Invalid configuration:\n${lines.map((line) => `  ${line}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Reads `.env` (if present) under the real environment; the real environment wins. */
export function readDotEnv(file = ".env"): Record<string, string> {
  try {
    return parseEnv(readFileSync(file, "utf8")) as Record<string, string>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
}

/** Parses the environment once; throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = configSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join(".") || "environment";
      return `${key}: ${issue.message}`;
    });
    throw new ConfigError([...new Set(lines)]);
  }
  const raw = result.data;
  return {
    ...raw,
    PUBLIC_URL: (raw.PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, ""),
    dataDir: path.resolve(raw.ENTOURAGE_DATA_DIR),
    embedded: !raw.DATABASE_URL,
  };
}
