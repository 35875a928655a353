import type { Request, Response } from "express";
import { z } from "zod";
import { InputError } from "../errors.js";

export const paginationQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
};

/** Opaque cursor text for a keyset position. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

/** The decoded position, or undefined when absent; a cursor we did not issue is a 400. */
export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (!cursor) return undefined;
  let parsed: z.ZodSafeParseResult<T> | undefined;
  try {
    parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new InputError("Invalid cursor: use the Link header of the previous page", [{ field: "cursor", message: "malformed" }], "validation_failed");
  return parsed.data;
}

/**
 * One page of a keyset listing: `rows` were fetched with `limit + 1`, so a row beyond `limit`
 * means there is a next page, linked from the last row's position. Returns the page's rows.
 */
export function takePage<T>(req: Request, res: Response, publicUrl: string, rows: T[], limit: number, positionOf: (last: T) => unknown): T[] {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  setNextLink(req, res, publicUrl, rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : undefined);
  return page;
}

/** Sets `Link: <…>; rel="next"` (same path and filters, new cursor) when there is a next page. */
export function setNextLink(req: Request, res: Response, publicUrl: string, nextCursor: string | undefined): void {
  if (!nextCursor) return;
  const url = new URL(req.originalUrl, publicUrl);
  url.searchParams.set("cursor", nextCursor);
  res.setHeader("Link", `<${url.toString()}>; rel="next"`);
}
