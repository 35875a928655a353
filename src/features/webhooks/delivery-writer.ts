import type { Knex } from "knex";
import { storableJson, storableText } from "../../lib/storable-text.js";
import { resolveRepeatedGuid } from "./deliveries.store.js";
import type { DeliveryStatus } from "./webhooks.schema.js";

export interface NewDelivery {
  webhook_id: string;
  org_id: string;
  delivery_guid: string;
  event_type: string;
  status: Exclude<DeliveryStatus, "received"> | "received";
  payload: string | null;
  headers: Record<string, string>;
  payload_summary: Record<string, unknown>;
  actions?: string[];
  error?: string | null;
  /** The door: `app` (routed from the GitHub App by a linked installation) or `receive` (the webhook's own secret; the default). */
  via?: "receive" | "app";
  /** The sending webhook's provider: a metrics label only, not stored. */
  provider?: "github" | "custom";
}

export type WriteResult =
  | { outcome: "inserted"; id: string }
  | { outcome: "requeued"; id: string }
  | { outcome: "duplicate"; id: string };

interface Pending {
  row: NewDelivery;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

const COLUMNS_PER_ROW = 12;
const ROW_SQL = "(?::uuid, ?::uuid, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, CASE WHEN ?::boolean THEN now() END, ?)";

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
      /** Told of every stored (or repeated) delivery: metrics. */
      onWritten?: (row: NewDelivery, result: WriteResult) => void;
    } = {},
  ) {}

  /** Resolves once the delivery is committed (or found to be a repeat); rejects when the database cannot take it. */
  write(row: NewDelivery): Promise<WriteResult> {
    // The GUID is matched against what the database returns, so it is made storable up front.
    const stored = { ...row, delivery_guid: storableText(row.delivery_guid) };
    const written = new Promise<WriteResult>((resolve, reject) => {
      this.queue.push({ row: stored, resolve, reject });
      if (this.inFlight < (this.options.maxInFlight ?? 4)) setImmediate(() => this.drain());
    });
    const onWritten = this.options.onWritten;
    if (onWritten) written.then((result) => onWritten(row, result), () => undefined);
    return written;
  }

  private drain(): void {
    while (this.queue.length && this.inFlight < (this.options.maxInFlight ?? 4)) {
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
    const bindings: Knex.RawBinding[] = [];
    for (const { row } of batch) {
      // A hostile document (NUL, lone surrogates) is still logged, not refused with a 503 for ever.
      bindings.push(
        row.webhook_id,
        row.org_id,
        row.delivery_guid,
        storableText(row.event_type),
        row.status,
        row.payload === null ? null : storableText(row.payload),
        JSON.stringify(storableJson(row.headers)),
        JSON.stringify(storableJson(row.payload_summary)),
        JSON.stringify(storableJson(row.actions ?? [])),
        row.error == null ? null : storableText(row.error),
        row.status !== "received",
        row.via ?? "receive",
      );
    }
    const sql = `
      WITH ins AS (
        INSERT INTO deliveries (webhook_id, org_id, delivery_guid, event_type, status, payload, headers, payload_summary, actions, error, processed_at, via)
        VALUES ${batch.map(() => ROW_SQL).join(", ")}
        ON CONFLICT (webhook_id, delivery_guid) DO NOTHING
        RETURNING id, webhook_id, org_id, delivery_guid, event_type, status, payload_summary, created_at
      ), ev AS (
        INSERT INTO events (org_id, team_id, type, data, created_at)
        SELECT ins.org_id, (w.config->>'team_id')::uuid, 'delivery.' || ins.status,
               jsonb_build_object('delivery_id', ins.id, 'webhook_id', ins.webhook_id, 'event_type', ins.event_type,
                                  'status', ins.status, 'delivery_guid', ins.delivery_guid, 'payload_summary', ins.payload_summary),
               ins.created_at
          FROM ins JOIN webhooks w ON w.id = ins.webhook_id
        RETURNING 1
      )
      SELECT ins.id, ins.webhook_id, ins.delivery_guid, ins.status,
             (SELECT count(*) FROM ev) AS events,
             pg_notify('entourage_deliveries', ''), pg_notify('entourage_events', '')
        FROM ins`;
    if (bindings.length !== batch.length * COLUMNS_PER_ROW) throw new Error("delivery batch bindings mismatch");
    const result = await this.knex.raw(sql, bindings);
    const inserted = new Map<string, { id: string; status: string }>();
    for (const row of result.rows as { id: string; webhook_id: string; delivery_guid: string; status: string }[]) {
      inserted.set(`${row.webhook_id}\n${row.delivery_guid}`, row);
    }
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
