import type { z } from "zod";
import { InputError, NotFoundError } from "../errors.js";
import { zodDetails } from "./error-middleware.js";

/** Validates a body or query against a schema; 400 with one detail per bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new InputError("Invalid request", zodDetails(result.error), "validation_failed");
  return result.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid path parameter; anything malformed is simply not found. */
export function uuidParam(value: unknown, what: string): string {
  if (typeof value !== "string" || !UUID.test(value)) throw new NotFoundError(`${what} ${String(value)} not found`);
  return value.toLowerCase();
}

/** An integer id path parameter (tasks); anything malformed is simply not found. */
export function intParam(value: unknown, what: string): number {
  const text = typeof value === "string" ? value.replace(/^#/, "") : "";
  const id = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id) || id <= 0) throw new NotFoundError(`${what} ${String(value)} not found`);
  return id;
}
