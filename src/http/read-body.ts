import type { IncomingMessage, ServerResponse } from "node:http";
import { PayloadTooLargeError, UnavailableError } from "../errors.js";
import type { BodyBudget } from "./body-budget.js";

/** The client went away (closed the connection, or node's request timeout did) before the body arrived. */
export class ClientAbortedError extends Error {
  override name = "ClientAbortedError";
}

// A body of unknown length (chunked) reserves this much up front, and more as it grows.
const CHUNKED_RESERVATION_BYTES = 1024 * 1024;
const RETRY_AFTER_SECONDS = 5;

export interface ReadBodyOptions {
  /** Largest body accepted; a larger one is refused before it is buffered. */
  limit: number;
  /** Shared by both doors; the reservation is released when `res` closes. */
  budget: BodyBudget;
  /** What to say in the 413. */
  tooLargeMessage: string;
}

/**
 * Reads a request body as bytes within the shared budget:
 * 1. a declared length over `limit` is a 413, and one the budget cannot take a 503 with
 *    Retry-After — both before a byte of the body is read;
 * 2. bytes are reserved as they arrive (a body of unknown length first reserves 1 MiB);
 * 3. the reservation is given back when the response closes, however the request ends.
 * Rejects with ClientAbortedError when the client goes away first.
 */
export function readBody(req: IncomingMessage, res: ServerResponse, options: ReadBodyOptions): Promise<Buffer> {
  const { limit, budget } = options;
  // Gone while we looked the webhook up: its close events have already fired.
  if (req.destroyed || res.destroyed) return Promise.reject(new ClientAbortedError("the client closed the connection before the body arrived"));
  const declared = Number(req.headers["content-length"]);
  const known = req.headers["content-length"] !== undefined && Number.isFinite(declared);
  if (known && declared > limit) return Promise.reject(new PayloadTooLargeError(options.tooLargeMessage));
  let held = known ? declared : Math.min(limit, CHUNKED_RESERVATION_BYTES);
  if (!budget.take(held)) return Promise.reject(busy());
  res.once("close", () => budget.give(held));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: Error) => {
      req.removeListener("data", onData);
      req.removeListener("close", onClose);
      chunks.length = 0;
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return stop(new PayloadTooLargeError(options.tooLargeMessage));
      if (size > held) {
        const more = Math.max(size - held, Math.min(limit - held, CHUNKED_RESERVATION_BYTES));
        if (!budget.take(more)) return stop(busy());
        held += more;
      }
      chunks.push(chunk);
    };
    const onClose = () => {
      if (!req.complete) stop(new ClientAbortedError("the client closed the connection before the body arrived"));
    };
    req.on("data", onData);
    req.on("close", onClose);
    req.on("error", () => {}); // "aborted" and resets arrive as close without complete
    req.once("end", () => {
      req.removeListener("close", onClose);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
  });
}

function busy(): UnavailableError {
  return new UnavailableError("Too many deliveries are being received at once; retry later", RETRY_AFTER_SECONDS);
}
