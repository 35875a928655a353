import type { Knex } from "knex";

/**
 * Two claims in one transaction, under a planner that would rather not read the index in order
 * (random pages made dear): the first steps over whatever dead entries the queue's pending index
 * holds, and what the second reads of `index` and `table` is what every later claim pays.
 */
export async function secondClaimReads<Row>(
  knex: Knex,
  index: string,
  table: string,
  claim: (trx: Knex.Transaction, limit: number) => Promise<Row[]>,
): Promise<{ claimed: Row[]; entries: number; blocks: number }> {
  return knex.transaction(async (trx) => {
    const counters = async () => {
      const row = (
        await trx.raw(`SELECT pg_stat_get_xact_tuples_returned(?::regclass) AS entries, pg_stat_get_xact_blocks_fetched(?::regclass) AS blocks`, [index, table])
      ).rows[0];
      return { entries: Number(row.entries), blocks: Number(row.blocks) };
    };
    await trx.raw("SET LOCAL random_page_cost = 1000");
    await claim(trx, 1);
    const before = await counters();
    const claimed = await claim(trx, 10);
    const after = await counters();
    return { claimed, entries: after.entries - before.entries, blocks: after.blocks - before.blocks };
  });
}
