import { openSse, type SseClient } from "../../helpers/sse-client.js";

export interface ResumableSse {
  /** Event ids received, in order, over every connection. */
  ids: number[];
  /** How many times the stream was opened again after it ended. */
  reconnects: number;
  /** Drops the current connection (a flaky network); the client reconnects by itself. */
  drop(): void;
  close(): Promise<void>;
}

/**
 * An SSE client that behaves like EventSource: when the stream ends or cannot be opened it
 * reconnects (after `retryMs`) sending Last-Event-ID, the last id it saw.
 */
export function openResumableSse(url: string, headers: Record<string, string>, lastEventId: number, retryMs = 250): ResumableSse {
  const state: ResumableSse = { ids: [], reconnects: 0, drop: () => current?.close(), close: async () => {} };
  let last = lastEventId;
  let closed = false;
  let current: SseClient | undefined;
  let seen = 0;

  const loop = (async () => {
    for (let connection = 0; !closed && connection < 1_000; connection++) {
      if (connection > 0) state.reconnects++;
      try {
        current = await openSse(url, { ...headers, "last-event-id": String(last) });
        const take = setInterval(drain, 20);
        await current.ended;
        clearInterval(take);
        drain();
      } catch {
        // not reachable right now: retry
      }
      seen = 0;
      if (!closed) await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  })();

  function drain() {
    const messages = current?.messages ?? [];
    for (; seen < messages.length; seen++) {
      const id = Number(messages[seen]!.id);
      if (Number.isFinite(id)) {
        state.ids.push(id);
        last = id;
      }
    }
  }

  state.close = async () => {
    closed = true;
    drain();
    current?.close();
    await loop;
  };
  return state;
}
