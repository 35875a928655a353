import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { AppError, UnavailableError } from "../errors.js";
import type { ClientAborts } from "./client-aborts.js";
import { ClientAbortedError } from "./read-body.js";
import { sendJson } from "./send-json.js";

export interface DoorErrorDeps {
  logger: Logger;
  clientAborts: ClientAborts;
}

/**
 * How both webhook doors answer what went wrong, in the API's error shape:
 * - a domain error (src/errors.ts) is the sender's to fix: its status, code and message;
 * - a client that went away is counted, with nothing to answer;
 * - anything else is ours: the delivery is not stored, so it is not acknowledged (503, the
 *   sender retries) and it is logged.
 * A body left unread closes the connection rather than reading a stranger's bytes to keep it.
 */
export function answerDoorError(door: string, req: IncomingMessage, res: ServerResponse, error: unknown, deps: DoorErrorDeps): void {
  if (error instanceof ClientAbortedError) {
    deps.clientAborts.record(door);
    return;
  }
  const known = error instanceof AppError ? error : undefined;
  if (!known) deps.logger.error({ err: error, door }, "could not store a delivery; answered 503");
  if (res.headersSent || res.destroyed) return;
  const answer = known ?? new UnavailableError("The delivery could not be stored; retry later", 5);
  const headers: Record<string, string> = {};
  if (answer instanceof UnavailableError && answer.retryAfterSeconds !== undefined) headers["retry-after"] = String(answer.retryAfterSeconds);
  if (!req.complete) headers.connection = "close";
  const details = answer.details === undefined ? {} : { details: answer.details };
  sendJson(res, answer.status, { error: { code: answer.code, message: answer.message, ...details } }, headers);
}
