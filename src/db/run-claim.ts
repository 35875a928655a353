import pg from "pg";
import type { Queryable } from "./create-db.js";

/**
 * Every row a queue finishes leaves a dead entry in the queue's partial index of pending rows until
 * VACUUM, and a claim must mark such entries dead as it steps over them, or each claim reads all of
 * them again and the queue slows down with traffic. An index scan in order does; a bitmap scan never
 * does, and it is what the planner picks when it expects few pending rows, the usual case (a seq scan,
 * when the table looks small, reads all of it). These settings, local to the claim's transaction,
 * leave the claim the index scan.
 */
export const CLAIM_PLANNER_SETTINGS = "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off";

/**
 * Runs a queue's claim with CLAIM_PLANNER_SETTINGS in one round trip: one implicit transaction, so the
 * settings end with it (in a caller's transaction they last until that one ends). That is the simple
 * protocol, which takes no parameters: the statement's values are written into it with `sqlLiteral`.
 */
export async function runClaim<Row>(db: Queryable, statement: string): Promise<Row[]> {
  const results = (await db.raw(`${CLAIM_PLANNER_SETTINGS}; ${statement}`)) as unknown as pg.QueryResult[];
  return results.at(-1)!.rows as Row[];
}

/** A value written into a claim's text: an integer as it is, text escaped, a list of texts as a text[]. */
export function sqlLiteral(value: number | string | readonly string[]): string {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`a claim takes integers, not ${value}`);
    return String(value);
  }
  if (typeof value === "string") return pg.escapeLiteral(value);
  return `ARRAY[${value.map((item) => pg.escapeLiteral(item)).join(", ")}]::text[]`;
}
