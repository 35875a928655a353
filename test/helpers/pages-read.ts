import type { Knex } from "knex";

/** Heap pages of `table` that `read` fetched, counted by its transaction's own statistics. */
export async function pagesRead<T>(knex: Knex, table: string, read: (trx: Knex.Transaction) => Promise<T>): Promise<{ result: T; pages: number }> {
  return knex.transaction(async (trx) => {
    const pages = async () => Number((await trx.raw("SELECT pg_stat_get_xact_blocks_fetched(?::regclass) AS n", [table])).rows[0].n);
    const before = await pages();
    const result = await read(trx);
    return { result, pages: (await pages()) - before };
  });
}
