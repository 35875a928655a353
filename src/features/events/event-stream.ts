import type { Response } from "express";
import type { Knex } from "knex";
import type { Logger } from "pino";
import { toBusEvent, type BusEvent, type EventBus } from "../../bus/event-bus.js";
import { matchesEventFilter, type EventFilter } from "./event-filter.js";
import { readPrunedEventId } from "../retention/retention.store.js";
import { listEvents } from "./events.store.js";
import type { EventStreams } from "./event-streams.js";

const REPLAY_PAGE = 500;
// A client this far behind is cut off; it reconnects with Last-Event-ID and reads from the table.
const MAX_PENDING = 5_000;
const RETRY_MS = 3_000;

export interface EventStreamOptions {
  knex: Knex;
  bus: EventBus;
  streams: EventStreams;
  logger: Logger;
  /** Every event up to this id has been published on the bus (see the relay). */
  settledId(): Promise<number>;
  orgId: string;
  filter: EventFilter;
  /** Resume after this id (Last-Event-ID); undefined starts with what happens next. */
  lastEventId?: number;
  heartbeatMs: number;
  /** When the token the stream was opened with expires: the stream says `token_expired` and ends then. */
  expiresAt?: Date;
}

/**
 * Streams one org's events as SSE, without gaps or duplicates across a resume:
 * 1. subscribe to the bus first, queueing what arrives;
 * 2. replay from the table after Last-Event-ID up to the relay's settled id;
 * 3. on the first live event, read the table between the replay and it (published before we
 *    subscribed), then follow the bus, which the relay feeds strictly in id order;
 * 4. when the bus says it may have dropped messages (Redis reconnected), do 2-3 again.
 * A resume from an event that retention has deleted since gets a `reset` event (reload your state)
 * instead of the replay, which would have a silent gap.
 * Everything runs through one queue, so writes never interleave; ids at or below the last one
 * handled are dropped.
 */
export function streamEvents(res: Response, options: EventStreamOptions): void {
  const { knex, orgId, filter } = options;
  let position = options.lastEventId ?? 0;
  let positioned = options.lastEventId !== undefined;
  let resuming = positioned;
  let bridgeNeeded = true;
  let pending = 0;
  let closed = false;
  let queue: Promise<void> = Promise.resolve();

  res.status(200);
  res.setHeader("Content-Type", "text/event-stream; charset=utf-8");
  res.setHeader("Cache-Control", "no-cache, no-transform");
  res.setHeader("Connection", "keep-alive");
  res.setHeader("X-Accel-Buffering", "no"); // nginx would otherwise buffer the stream
  res.flushHeaders();
  res.write(`retry: ${RETRY_MS}\n: connected\n\n`);

  const enqueue = (work: () => Promise<void>) => {
    if (closed) return;
    if (++pending > MAX_PENDING) {
      options.logger.warn({ orgId }, "SSE client too slow; closing its stream (it resumes with Last-Event-ID)");
      close();
      return;
    }
    queue = queue
      .then(() => (closed ? undefined : work()))
      .catch((error) => {
        options.logger.error({ err: error, orgId }, "SSE stream failed");
        close();
      })
      .finally(() => void pending--);
  };

  const unsubscribe = options.bus.subscribe(orgId, {
    onEvent: (event) => enqueue(() => handleLive(event)),
    onResync: () => enqueue(catchUp),
  });
  // Through the queue, so the notice never splits a frame; the client reconnects with a fresh token and Last-Event-ID.
  const expiry = options.expiresAt
    ? setTimeout(() => enqueue(expire), Math.min(Math.max(0, options.expiresAt.getTime() - Date.now()), 2 ** 31 - 1))
    : undefined;
  const heartbeat = setInterval(() => {
    if (!closed && pending === 0) res.write(": heartbeat\n\n");
  }, options.heartbeatMs);
  const removeFromRegistry = options.streams.add(close);
  res.on("close", close);
  enqueue(catchUp);

  function close() {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(expiry);
    unsubscribe();
    removeFromRegistry();
    if (!res.writableEnded) res.end();
  }

  async function expire(): Promise<void> {
    res.write(`event: token_expired\ndata: ${JSON.stringify({ reason: "the access token has expired; reconnect with a fresh one" })}\n\n`);
    close();
  }

  async function catchUp(): Promise<void> {
    const settled = await options.settledId();
    if (resuming && (await readPrunedEventId(knex)) > position) await sendReset();
    else if (positioned) await replay(settled);
    resuming = false;
    position = Math.max(position, settled);
    positioned = true;
    bridgeNeeded = true;
  }

  async function handleLive(event: BusEvent): Promise<void> {
    if (event.id <= position) return;
    if (bridgeNeeded) {
      await replay(event.id - 1);
      bridgeNeeded = false;
    }
    if (matchesEventFilter(filter, event)) await send(event);
    position = event.id;
  }

  /** Sends the table's matching events in (position, upTo]. */
  async function replay(upTo: number): Promise<void> {
    while (!closed && position < upTo) {
      const page = await listEvents(knex, {
        org_id: orgId,
        after_id: position,
        up_to_id: upTo,
        types: filter.types,
        team_id: filter.team_id,
        limit: REPLAY_PAGE,
      });
      for (const event of page) await send(toBusEvent(event));
      position = page.length < REPLAY_PAGE ? upTo : page.at(-1)!.id;
    }
  }

  async function sendReset(): Promise<void> {
    const reset = { reason: "events_pruned", last_event_id: position, message: "Events after last_event_id are no longer kept; reload the current state" };
    res.write(`event: reset\ndata: ${JSON.stringify(reset)}\n\n`);
  }

  async function send(event: BusEvent): Promise<void> {
    if (closed) return;
    const frame = `id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`;
    if (!res.write(frame)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
}
