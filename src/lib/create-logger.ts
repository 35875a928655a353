import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

export type LogFormat = "json" | "pretty";

export interface LoggerSettings {
  LOG_LEVEL: string;
  /** Forces a format; unset: pretty on a terminal, JSON otherwise (Probot's convention). */
  LOG_FORMAT?: LogFormat;
}

/**
 * Keys whose values never reach a log line, at any level: credentials, and documents a stranger
 * sent us (payloads, bodies). pino's `*` matches one level, so each name is listed at the top and
 * one level down (`{ err }`, `{ req }`, `{ delivery }`…); error objects from Octokit and pg carry
 * the request (with its Authorization header) and the offending values in `detail`.
 */
const SECRET_KEYS = [
  "authorization",
  "password",
  "secret",
  "secrets",
  "token",
  "access_token",
  "api_key",
  "apiKey",
  "key_hash",
  "private_key",
  "privateKey",
  "jwtSecret",
  "encryptionKey",
  "payload",
  "payloadText",
  "body",
  "headers",
  "request",
  "response",
  "detail",
  "parameters",
];
export const REDACTED_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  '*.headers["x-api-key"]',
  '*.headers["x-hub-signature-256"]',
];

/** Pretty only for a person at a terminal, unless LOG_FORMAT says otherwise. */
export function chooseLogFormat(settings: Pick<LoggerSettings, "LOG_FORMAT">, stdoutIsTty = Boolean(process.stdout.isTTY)): LogFormat {
  return settings.LOG_FORMAT ?? (stdoutIsTty ? "pretty" : "json");
}

/** The one pino logger (Probot's logger library); children carry request ids and components. Writes to stderr. */
export function createLogger(settings: LoggerSettings, destination?: DestinationStream, stdoutIsTty?: boolean): Logger {
  const format = chooseLogFormat(settings, stdoutIsTty);
  const out = destination ?? pino.destination({ dest: 2, sync: true });
  const stream =
    format === "pretty"
      ? pretty({ destination: out, sync: true, colorize: destination ? false : Boolean(process.stderr.isTTY), ignore: "pid,hostname,name", translateTime: "SYS:HH:MM:ss.l" })
      : out;
  return pino({ name: "entourage", level: settings.LOG_LEVEL, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, stream);
}
