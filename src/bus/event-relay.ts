import { randomBytes } from "node:crypto";
import type { Knex } from "knex";
import pg from "pg";
import type { Logger } from "pino";
import { EVENTS_NOTIFY_CHANNEL, listAllEventsAfter, maxEventId, type DomainEvent } from "../features/events/events.store.js";
import { toBusEvent, type EventBus } from "./event-bus.js";
import {
  currentXidHorizon,
  ensureRelayCursor,
  readRelayCursor,
  saveRelayCursor,
  transactionsFinishedBefore,
} from "./relay-cursor.store.js";

const BATCH_SIZE = 500;
const SHARED_CURSOR = "redis";
// Arbitrary but fixed: the session-level advisory lock that makes one instance the shared relay.
const LEADER_LOCK: [number, number] = [0x656e74, 1];
const GAP_RECHECK_MS = 50;
const PUBLISH_RETRY_MS = 1_000;
const RECONNECT_MS = 1_000;
// Events handed over by `committed` and not yet published; beyond this many the relay forgets them and reads.
const MAX_KNOWN = 10_000;
// How soon the published mark is written when no later round's write carries it.
const PUBLISHED_SAVE_MS = 200;

export interface EventRelayOptions {
  knex: Knex;
  /** The same database as `knex`: the relay keeps one dedicated connection for LISTEN and its lock. */
  databaseUrl: string;
  bus: EventBus;
  logger: Logger;
  /** Safety-net poll, and how often a standby tries to become leader. */
  pollMs?: number;
  /** Longest wait for a missing id (an uncommitted or rolled-back insert) before moving past it. */
  gapGraceMs?: number;
}

export interface EventRelay {
  /**
   * Every event with an id up to this one is final in the table (or given up on after the grace) and
   * will be published; nothing above it has been published yet. A new SSE stream starts here.
   */
  settledId(): Promise<number>;
  /** Every event with an id up to this one has been handed to the bus. */
  publishedId(): Promise<number>;
  /** Whether this instance publishes now (always true on an unshared bus once connected). */
  isLeader(): boolean;
  /**
   * The NOTIFY payload for events this process hands over with `committed`: the relay does not read
   * the table when it hears it (a notification with any other payload still makes it read).
   */
  readonly ownNotifyPayload: string;
  /**
   * Events this process has just committed (the delivery writer's statement returns them). When they
   * come next after what was published, the relay publishes them as given instead of reading them back;
   * when an id before them is not known (another process's event, a gap) it reads the table as usual.
   */
  committed(events: DomainEvent[]): void;
  stop(): Promise<void>;
}

/** What a writer in the relay's process needs to hand it the events it commits. */
export type EventHandover = Pick<EventRelay, "committed" | "ownNotifyPayload">;

/**
 * Publishes the events table to the bus in id order.
 *
 * 1. A dedicated connection LISTENs for appendEvents' NOTIFY (sent at commit); a slow poll backs it up.
 * 2. On a shared (Redis) bus only the holder of an advisory lock publishes; the others stand by and
 *    retry each poll, so a crashed leader is replaced within one poll. Its cursor is kept in the
 *    database so the next leader resumes where it stopped; the leader's session writes it without
 *    waiting for the WAL flush, so a round costs no fsync. Duplicates in a hand-over are harmless:
 *    every SSE stream drops ids it has already sent. Each round records the settled id before it
 *    publishes, so no stream can start below an event already on the bus.
 * 3. Ids are assigned at insert but transactions commit out of order, so a missing id may still
 *    commit. The relay waits at a gap until every transaction that was running when it saw the gap
 *    has ended (then the id was rolled back) or `gapGraceMs` has passed, and never publishes past it.
 * 4. A round's events go to the bus in one call (one round trip to Redis). If it fails (Redis away) they
 *    are all retried from the same id; ingestion never waits on it.
 * 5. Events this process committed and handed over (`committed`) are published without reading them
 *    back while they are the next ids; their NOTIFY carries `ownNotifyPayload` and is not a reason to read.
 *    Every other notification, the poll, a gap, a full read and a failed publish make the next round read
 *    the table.
 */
export async function startEventRelay(options: EventRelayOptions): Promise<EventRelay> {
  const { knex, bus, logger } = options;
  const pollMs = options.pollMs ?? 2_000;
  const gapGraceMs = options.gapGraceMs ?? 10_000;
  const log = logger.child({ component: "event-relay" });

  // `cursor`: published through; `settled`: final in the table through (see EventRelay.settledId).
  let cursor = bus.shared ? (await ensureRelayCursor(knex, SHARED_CURSOR)).publishedId : await maxEventId(knex);
  let settled = cursor;
  let client: pg.Client | undefined;
  let connecting = false;
  let leader = false;
  let stopped = false;
  let pumping: Promise<void> | undefined;
  let again = false;
  let publishFailing = false;
  let gap: { id: number; seenAt: number; horizon: string; ended: boolean } | undefined;
  let wakeTimer: NodeJS.Timeout | undefined;
  // The published mark as last written to the shared cursor (see schedulePublishedSave).
  let savedPublishedId = cursor;
  let publishedSaveTimer: NodeJS.Timeout | undefined;
  const ownNotifyPayload = randomBytes(8).toString("hex");
  // Committed events handed over by this process, by id, until published (see `committed`).
  const known = new Map<number, DomainEvent>();
  // Whether the table may hold events that are not in `known`.
  let readTable = true;

  const poll = setInterval(() => {
    if (!client) void connect();
    else if (!leader) void tryLead();
    readTable = true;
    wake();
  }, pollMs);

  await connect();

  async function connect(): Promise<void> {
    if (stopped || client || connecting) return;
    connecting = true;
    const next = new pg.Client({ connectionString: options.databaseUrl, keepAlive: true });
    next.on("error", (error) => dropConnection(next, error));
    next.on("end", () => dropConnection(next));
    next.on("notification", (message) => {
      if (message.payload === ownNotifyPayload) return;
      readTable = true;
      wake();
    });
    try {
      await next.connect();
      // The session also writes the shared cursor (saveRelayCursor): a resume point, not worth an fsync a round.
      await next.query(`LISTEN ${EVENTS_NOTIFY_CHANNEL}; SET synchronous_commit = off`);
      client = next;
      await tryLead();
    } catch (error) {
      log.warn({ err: error }, "event relay cannot reach the database; retrying");
      next.end().catch(() => {});
    } finally {
      connecting = false;
    }
  }

  function dropConnection(dropped: pg.Client, error?: Error) {
    if (client !== dropped) return;
    client = undefined;
    if (leader && !stopped) log.warn({ err: error }, "event relay lost its database connection; reconnecting");
    leader = false;
    if (!stopped) setTimeout(() => void connect(), RECONNECT_MS).unref();
  }

  async function tryLead(): Promise<void> {
    const current = client;
    if (!current || leader || stopped) return;
    if (bus.shared) {
      const result = await current.query("SELECT pg_try_advisory_lock($1, $2) AS locked", LEADER_LOCK).catch(() => undefined);
      if (!result?.rows[0]?.locked || client !== current) return;
      // Resume from the last leader's record, not from what this instance saw when it last led.
      const recorded = await readRelayCursor(knex, SHARED_CURSOR);
      cursor = Math.max(cursor, recorded?.publishedId ?? 0);
      savedPublishedId = Math.max(savedPublishedId, recorded?.publishedId ?? 0);
      settled = Math.max(settled, cursor, recorded?.settledId ?? 0);
      log.info({ cursor }, "this instance now relays events to Redis");
    }
    known.clear();
    readTable = true;
    leader = true;
    wake();
  }

  function wake(): void {
    if (stopped || !leader) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = pump()
      .catch((error) => {
        log.error({ err: error }, "event relay failed; retrying");
        scheduleWake(PUBLISH_RETRY_MS);
      })
      .finally(() => {
        pumping = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  }

  function scheduleWake(ms: number): void {
    if (wakeTimer || stopped) return;
    wakeTimer = setTimeout(() => {
      wakeTimer = undefined;
      readTable = true;
      wake();
    }, ms);
  }

  async function pump(): Promise<void> {
    const start = cursor;
    const handedOver = readTable ? undefined : knownRun();
    if (!handedOver && !readTable && known.size === 0) return;
    // Cleared before the read: a notification that arrives during it asks for another.
    if (!handedOver) readTable = false;
    const rows = handedOver ?? (await listAllEventsAfter(knex, cursor, BATCH_SIZE));
    const ready = await settledPrefix(rows);
    if (!leader || stopped) return;
    if (ready.length > 0 && ready.at(-1)!.id > settled) {
      // Recorded before the publish: a stream that reads it can only have missed what it covers.
      // The published mark of the rounds before rides along: one write per round under load.
      if (bus.shared) await saveCursor({ settledId: ready.at(-1)!.id, publishedId: cursor });
      settled = ready.at(-1)!.id;
    }
    if (ready.length > 0) {
      if (await publish(ready)) {
        cursor = ready.at(-1)!.id;
        for (const row of ready) known.delete(row.id);
      } else scheduleWake(PUBLISH_RETRY_MS);
    }
    if (cursor !== start && bus.shared) schedulePublishedSave();
    if (rows.length === BATCH_SIZE && cursor === rows.at(-1)!.id) {
      again = true;
      if (!handedOver) readTable = true;
    }
  }

  async function saveCursor(marks: { settledId?: number; publishedId: number }): Promise<void> {
    if (!client) throw new Error("the relay's session is gone");
    await saveRelayCursor(client, SHARED_CURSOR, marks);
    savedPublishedId = Math.max(savedPublishedId, marks.publishedId);
  }

  /**
   * Records the published mark soon, unless the next round's write carries it first. It may lag by a
   * round: a new leader then publishes that round again, which streams drop as already sent.
   */
  function schedulePublishedSave(): void {
    if (publishedSaveTimer || stopped) return;
    publishedSaveTimer = setTimeout(async () => {
      if (cursor > savedPublishedId) await saveCursor({ publishedId: cursor }).catch((error) => log.warn({ err: error }, "cannot record the published mark; retrying"));
      publishedSaveTimer = undefined;
      if (cursor > savedPublishedId) schedulePublishedSave();
    }, PUBLISHED_SAVE_MS);
  }

  /** The handed-over events that come next after the cursor, in id order; undefined when the next one is not known. */
  function knownRun(): DomainEvent[] | undefined {
    const run: DomainEvent[] = [];
    for (let id = cursor + 1; run.length < BATCH_SIZE; id++) {
      const event = known.get(id);
      if (!event) break;
      run.push(event);
    }
    return run.length ? run : undefined;
  }

  /** The rows up to the first missing id that may still commit; the relay never publishes past one. */
  async function settledPrefix(rows: DomainEvent[]): Promise<DomainEvent[]> {
    let expected = cursor + 1;
    for (const [index, row] of rows.entries()) {
      // Ids up to `settled` were decided in an earlier round (publishing may have stopped short of them).
      const missing = Math.max(expected, settled + 1);
      if (missing < row.id && !(await gapClosed(missing, row.id))) {
        if (!again) scheduleWake(GAP_RECHECK_MS);
        return rows.slice(0, index);
      }
      expected = row.id + 1;
    }
    return rows;
  }

  /** Hands the rows to the bus in one call; on failure none counts as published, and all are tried again. */
  async function publish(rows: DomainEvent[]): Promise<boolean> {
    try {
      await bus.publish(rows.map(toBusEvent));
      if (publishFailing) log.info({ id: rows[0]!.id }, "event relay publishing again");
      publishFailing = false;
      return true;
    } catch (error) {
      if (!publishFailing) log.warn({ err: error, id: rows[0]!.id }, "cannot publish events; retrying (they are safe in the events table)");
      publishFailing = true;
      return false;
    }
  }

  /**
   * Whether the relay may move past the missing ids [missing, next). Once every transaction that
   * could hold them has ended, it reads the table once more before moving on, so an id that
   * committed in the meantime is published rather than skipped.
   */
  async function gapClosed(missing: number, next: number): Promise<boolean> {
    if (gap?.id !== missing) {
      gap = { id: missing, seenAt: Date.now(), horizon: await currentXidHorizon(knex), ended: false };
      log.debug({ missing: `${missing}..${next - 1}`, held: next }, "holding events behind ids not yet committed");
      return false;
    }
    if (gap.ended) {
      log.debug({ missing: `${missing}..${next - 1}`, waited: Date.now() - gap.seenAt }, "moving past event ids that never committed");
      gap = undefined;
      return true;
    }
    gap.ended = Date.now() - gap.seenAt >= gapGraceMs || (await transactionsFinishedBefore(knex, gap.horizon));
    if (gap.ended) {
      again = true;
      readTable = true;
    }
    return false;
  }

  return {
    async settledId() {
      if (!bus.shared) return settled;
      return (await readRelayCursor(knex, SHARED_CURSOR))?.settledId ?? 0;
    },
    async publishedId() {
      if (!bus.shared) return cursor;
      return (await readRelayCursor(knex, SHARED_CURSOR))?.publishedId ?? 0;
    },
    isLeader: () => leader,
    ownNotifyPayload,
    committed(events) {
      if (!leader || stopped) return;
      if (known.size + events.length > MAX_KNOWN) {
        known.clear();
        readTable = true;
      } else {
        for (const event of events) if (event.id > cursor) known.set(event.id, event);
      }
      wake();
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      if (wakeTimer) clearTimeout(wakeTimer);
      if (publishedSaveTimer) clearTimeout(publishedSaveTimer);
      await pumping;
      // A successor resumes from the published mark: record it before the lock is released.
      if (leader && bus.shared && cursor > savedPublishedId) await saveCursor({ publishedId: cursor }).catch(() => {});
      leader = false;
      const current = client;
      client = undefined;
      // Closing the session releases the advisory lock for a standby.
      await current?.end().catch(() => {});
    },
  };
}
