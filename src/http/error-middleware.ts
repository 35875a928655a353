import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import { z } from "zod";
import { isInvalidValueError } from "../db/is-invalid-value-error.js";
import { AppError, UnavailableError } from "../errors.js";

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  message?: string;
}

/** Maps domain errors (and body-parser's) to `{"error":{"code","message","details"}}`; logs only 5xx. */
export function createErrorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const { status, code, message, details } = describe(error);
    // Worth seeing (a schema let the value through), though the caller's input is to blame.
    if (isInvalidValueError(error)) logger.warn({ err: error, reqId: req.id, method: req.method, url: req.originalUrl }, "database refused a value");
    if (status >= 500) logger.error({ err: error, reqId: req.id, method: req.method, url: req.originalUrl }, "request failed");
    if (res.headersSent) {
      res.end();
      return;
    }
    if (error instanceof UnavailableError && error.retryAfterSeconds !== undefined) res.setHeader("retry-after", String(error.retryAfterSeconds));
    res.status(status).json({ error: { code, message, ...(details === undefined ? {} : { details }) } });
  };
}

function describe(error: unknown): { status: number; code: string; message: string; details?: unknown } {
  if (error instanceof AppError) return { status: error.status, code: error.code, message: error.message, details: error.details };
  if (error instanceof z.ZodError) return { status: 400, code: "validation_failed", message: "Invalid request", details: zodDetails(error) };
  if (isInvalidValueError(error)) {
    return { status: 400, code: "invalid_value", message: "A value in the request cannot be stored (e.g. a NUL character, an invalid Unicode escape, or a number out of range)" };
  }
  const httpish = error as HttpishError;
  const status = httpish?.status ?? httpish?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    const code =
      httpish.type === "entity.too.large" ? "payload_too_large" : httpish.type === "entity.parse.failed" ? "invalid_json" : "bad_request";
    const message = httpish.type === "entity.parse.failed" ? "The request body is not valid JSON" : (httpish.message ?? "Bad request");
    return { status, code, message };
  }
  return { status: 500, code: "internal_error", message: "Internal server error" };
}

/** One entry per failing field: `{ field: "config.team_id", message }`. */
export function zodDetails(error: z.ZodError): { field: string; message: string }[] {
  return error.issues.map((issue) => ({ field: issue.path.join(".") || "(body)", message: issue.message }));
}

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: "not_found", message: `No route for ${req.method} ${req.path}` } });
};
