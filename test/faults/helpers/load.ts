import { randomUUID } from "node:crypto";
import http from "node:http";
import { githubSignature } from "../../helpers/github-signature.js";

/** One answer (or network failure: status 0) to one POST. */
export interface LoadResponse {
  guid: string;
  status: number;
  body: string;
  /** When the answer arrived, ms since the run started. */
  at: number;
}

export interface LoadOptions {
  /** Base URLs; request n goes to target n mod length (read at each request, so it may change). */
  targets: () => string[];
  webhook: { id: string; secret: string };
  /** Distinct deliveries. */
  count: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** The JSON document of delivery n. */
  payload(n: number): unknown;
  event?: string;
  /** Each delivery sent this many times at once (a duplicate storm); default 1. */
  copies?: number;
  /** A delivery answered 5xx or not at all is sent again (like GitHub's redeliver), up to this many tries. */
  maxTries?: number;
  retryDelayMs?: number;
  /** The whole run gives up after this. */
  deadlineMs: number;
  /** Called after every answer with the number of distinct deliveries acknowledged (2xx) so far. */
  onProgress?(acked: number): void;
}

export interface LoadResult {
  responses: LoadResponse[];
  /** GUIDs of deliveries that got a 2xx at least once. */
  acked: Set<string>;
  /** GUIDs that never got a 2xx. */
  unacked: string[];
}

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * A bounded load loop on loopback: `count` signed GitHub-style deliveries, `concurrency` at a time,
 * each retried on a 5xx or a network error until it is acknowledged or `maxTries` is spent.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const responses: LoadResponse[] = [];
  const acked = new Set<string>();
  const unacked: string[] = [];
  const guids = Array.from({ length: options.count }, () => randomUUID());
  let next = 0;
  let sent = 0;

  const deliver = async (n: number) => {
    const guid = guids[n]!;
    const body = JSON.stringify(options.payload(n));
    const signature = await githubSignature(options.webhook.secret, body);
    for (let attempt = 1; attempt <= (options.maxTries ?? 1); attempt++) {
      if (Date.now() - started > options.deadlineMs) break;
      const copies = Array.from({ length: options.copies ?? 1 }, () => {
        const targets = options.targets();
        const target = targets[sent++ % targets.length]!;
        return post(agent, target, options.webhook.id, guid, options.event ?? "issues", body, signature);
      });
      const answers = await Promise.all(copies);
      for (const answer of answers) {
        responses.push({ guid, ...answer, at: Date.now() - started });
        if (answer.status >= 200 && answer.status < 300) acked.add(guid);
      }
      options.onProgress?.(acked.size);
      if (acked.has(guid) || answers.every((answer) => answer.status >= 400 && answer.status < 500)) return;
      await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 200));
    }
    if (!acked.has(guid)) unacked.push(guid);
  };

  const lanes = Array.from({ length: options.concurrency }, async () => {
    while (next < options.count && Date.now() - started <= options.deadlineMs) await deliver(next++);
  });
  await Promise.all(lanes);
  agent.destroy();
  for (let n = next; n < options.count; n++) unacked.push(guids[n]!);
  return { responses, acked, unacked };
}

function post(
  agent: http.Agent,
  baseUrl: string,
  webhookId: string,
  guid: string,
  event: string,
  body: string,
  signature: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      new URL(`/api/v1/webhooks/${webhookId}/receive`, baseUrl),
      {
        method: "POST",
        agent,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/faults",
          "x-github-event": event,
          "x-github-delivery": guid,
          "x-hub-signature-256": signature,
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", (error) => resolve({ status: 0, body: String(error) }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (error) => resolve({ status: 0, body: (error as NodeJS.ErrnoException).code ?? error.message }));
    req.end(body);
  });
}
