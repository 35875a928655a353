import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runClaim, sqlLiteral } from "../../src/db/run-claim.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

describe("a claim's values written into its text", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("reach PostgreSQL as given: integers, text with quotes and backslashes, lists of text", async () => {
    const text = `it's a \\ "worker"'; DROP TABLE deliveries; --`;
    const [row] = await runClaim<{ n: number; t: string; list: string[]; empty: string[] }>(
      db.knex,
      `SELECT ${sqlLiteral(42)} AS n, ${sqlLiteral(text)} AS t, ${sqlLiteral(["a'b", "c\\d"])} AS list, ${sqlLiteral([])} AS empty`,
    );
    expect(row).toMatchObject({ n: 42, t: text, list: ["a'b", "c\\d"], empty: [] });
  });

  it("refuses a number that is not a safe integer, before anything is sent", () => {
    for (const value of [2.5, Number.NaN, Infinity, 2 ** 60]) expect(() => sqlLiteral(value)).toThrow(TypeError);
  });
});
