import type { Knex } from "knex";
import type { ClaimedDelivery } from "./deliveries.store.js";
import type { WebhookRow } from "./webhooks.store.js";

export interface DeliveryInput {
  delivery: ClaimedDelivery;
  payload: Record<string, unknown>;
  webhook: WebhookRow;
}

export interface DeliveryOutcome {
  /** What the rules did, in words: "created task #601", "assigned to eng-1". */
  actions: string[];
  /** `ignored` when no rule wanted it after all (e.g. a bot's edit). */
  status?: "processed" | "ignored";
}

/** Business rules for one delivery, run inside the worker's transaction. Throwing rolls back and retries. */
export type DeliveryProcessor = ((trx: Knex.Transaction, input: DeliveryInput) => Promise<DeliveryOutcome>) & {
  /** The same rules for many deliveries at once, where they can be applied set-wise (optional). */
  batch?: DeliveryBatchProcessor;
};

/**
 * Applies the rules to the deliveries of one transaction that it can take as a set (a few
 * statements for all of them instead of a dozen each), and returns their outcomes; every
 * delivery it leaves out goes through the per-delivery processor afterwards. Throwing undoes
 * the whole batch step, and then every delivery goes through the per-delivery processor.
 */
export type DeliveryBatchProcessor = (trx: Knex.Transaction, inputs: DeliveryInput[]) => Promise<Map<DeliveryInput, DeliveryOutcome>>;
