import type { Knex } from "knex";
import type { EventHandover } from "../../bus/event-relay.js";
import type { DomainEvent } from "../events/events.store.js";
import { storableText } from "../../lib/storable-text.js";
import { insertDeliveries, packDelivery, resolveRepeatedGuid, type NewDelivery, type PackedDelivery } from "./deliveries.store.js";

export type { NewDelivery };

export type WriteResult =
  | { outcome: "inserted"; id: string }
  | { outcome: "requeued"; id: string }
  | { outcome: "duplicate"; id: string };

interface Pending {
  row: PackedDelivery;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

/**
 * One statement at a time by default: what arrives while it runs goes in the next one. Under load that
 * makes larger batches, so fewer statements and commits per delivery. Against four in flight it cost
 * 429–593 against 632–876 µs of CPU per acknowledgement at 50 connections, with more of them per second
 * and a lower p99; at a steady 200/s a write that arrives during a statement waits for it (a few ms at
 * p99). docs/performance.md, "One statement in flight".
 */
const DEFAULT_MAX_IN_FLIGHT = 1;

/**
 * Stores deliveries durably before they are acknowledged, folding concurrent writes into one
 * multi-row statement ("group commit"): under load each round trip carries many deliveries,
 * when idle each write goes alone at once. One statement also appends the `delivery.<status>`
 * events and notifies listening workers, so the acknowledgement costs a single round trip.
 */
export class DeliveryWriter {
  private queue: Pending[] = [];
  private inFlight = 0;

  constructor(
    private readonly knex: Knex,
    private readonly options: {
      maxBatch?: number;
      maxInFlight?: number;
      onReceived?: () => void;
      /**
       * This process's event relay: it is handed the `delivery.<status>` events each statement committed,
       * to publish them without reading them back, and the statement's NOTIFY carries its payload.
       */
      relay?: EventHandover;
      /** Told of every stored (or repeated) delivery: metrics. */
      onWritten?: (row: NewDelivery, result: WriteResult) => void;
      /** Told of every statement that stored a batch: how many deliveries it carried and how long it took (metrics). */
      onStatement?: (deliveries: number, seconds: number) => void;
    } = {},
  ) {}

  /** Resolves once the delivery is committed (or found to be a repeat); rejects when the database cannot take it. */
  write(row: NewDelivery): Promise<WriteResult> {
    // The GUID is matched against what the database returns, so it is made storable up front.
    const stored = packDelivery({ ...row, delivery_guid: storableText(row.delivery_guid) });
    const written = new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ row: stored, resolve, reject });
      if (this.inFlight < (this.options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)) setImmediate(() => this.drain());
    });
    const onWritten = this.options.onWritten;
    if (onWritten) written.then((result) => onWritten(row, result), () => undefined);
    return written;
  }

  private drain(): void {
    while (this.queue.length && this.inFlight < (this.options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)) {
      const batch = this.queue.splice(0, this.options.maxBatch ?? 200);
      this.inFlight++;
      this.flush(batch).finally(() => {
        this.inFlight--;
        if (this.queue.length) this.drain();
      });
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    try {
      await this.insert(batch);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad row (say, its webhook deleted meanwhile) must not fail its neighbours.
      await Promise.all(batch.map((item) => this.insert([item]).catch((itemError) => item.reject(itemError))));
    }
  }

  private async insert(batch: Pending[]): Promise<void> {
    const started = performance.now();
    const rows = await insertDeliveries(
      this.knex,
      batch.map((item) => item.row),
      { eventsNotifyPayload: this.options.relay?.ownNotifyPayload },
    );
    this.options.onStatement?.(batch.length, (performance.now() - started) / 1000);
    const inserted = new Map<string, { id: string; status: string }>();
    const events: DomainEvent[] = [];
    for (const row of rows) {
      inserted.set(`${row.webhook_id}\n${row.delivery_guid}`, row);
      if (row.event) events.push(row.event);
    }
    if (events.length) this.options.relay?.committed(events);
    let received = false;
    const repeats: Pending[] = [];
    for (const item of batch) {
      const key = `${item.row.webhook_id}\n${item.row.delivery_guid}`;
      const hit = inserted.get(key);
      if (!hit) {
        repeats.push(item);
        continue;
      }
      inserted.delete(key); // a GUID twice in one batch: the second is a repeat
      if (hit.status === "received") received = true;
      item.resolve({ outcome: "inserted", id: hit.id });
    }
    // Side by side, not one after another: a storm of repeats must not hold the writer up.
    await Promise.all(
      repeats.map(async (item) => {
        const repeat = await resolveRepeatedGuid(this.knex, item.row.webhook_id, item.row.delivery_guid);
        if (!repeat) {
          item.reject(new Error("delivery was neither inserted nor found"));
          return;
        }
        if (repeat.requeued) received = true;
        item.resolve({ outcome: repeat.requeued ? "requeued" : "duplicate", id: repeat.id });
      }),
    );
    if (received) this.options.onReceived?.();
  }
}
