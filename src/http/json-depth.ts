import type { RequestHandler } from "express";
import { InputError } from "../errors.js";

/**
 * How deep a management request body may nest (objects and arrays count one level each). Nothing
 * Entourage takes needs more than a handful; the limit keeps recursive code (validation, jsonb,
 * JSON.stringify) far from the call-stack limit. Deeper bodies are 400 `too_deep`.
 */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests objects/arrays more than `limit` levels deep. Iterative: any depth is safe. */
export function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (!item || typeof item !== "object") continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) if (child && typeof child === "object") stack.push([child, depth + 1]);
  }
  return false;
}

/** Refuses a parsed JSON body deeper than MAX_JSON_DEPTH (mount after express.json). */
export const refuseDeepJson: RequestHandler = (req, _res, next) => {
  if (deeperThan(req.body, MAX_JSON_DEPTH)) {
    next(new InputError(`The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`, undefined, "too_deep"));
    return;
  }
  next();
};
