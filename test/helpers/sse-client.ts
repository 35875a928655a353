/** One SSE frame as a client sees it. */
export interface SseMessage {
  id?: string;
  /** The `event:` field; absent for plain messages. */
  event?: string;
  data: string;
  /** `data` parsed as JSON. */
  json: any;
}

export interface SseClient {
  status: number;
  messages: SseMessage[];
  comments: string[];
  /** Resolves with the first message (already received or to come) that matches. */
  waitFor(predicate: (message: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  /** Resolves with the next comment line that matches (heartbeats). */
  waitForComment(predicate: (comment: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens an SSE stream with fetch and parses frames as they arrive. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: controller.signal });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((waiter) => waiter());

  let buffer = "";
  const ended = (async () => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          parseFrame(frame);
        }
        notify();
      }
    } catch {
      // aborted by close()
    }
  })();

  function parseFrame(frame: string) {
    let id: string | undefined;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of frame.split("\n")) {
      if (line.startsWith(":")) comments.push(line.slice(1).trim());
      else if (line.startsWith("id:")) id = line.slice(3).trim();
      else if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) {
      const text = data.join("\n");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      messages.push({ id, data: text, json, ...(event ? { event } : {}) });
    }
  }

  function waitUntil<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what} did not arrive within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => [m.id, m.json?.type]))}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }

  return {
    status: response.status,
    messages,
    comments,
    waitFor: (predicate, timeoutMs = 10_000) => waitUntil(() => messages.find(predicate), timeoutMs, "message"),
    waitForComment: (predicate, timeoutMs = 10_000) => waitUntil(() => comments.find(predicate), timeoutMs, "comment"),
    ended,
    close: () => controller.abort(),
  };
}
