import http from "node:http";
import { sleep } from "./processes.js";

export interface EndToEndResult {
  rate: number;
  sent: number;
  acked: number;
  /** What the others got: HTTP status or the connection error's code, with how many. */
  notAcked: Record<string, number>;
  seen: number;
  p50: number;
  p99: number;
  max: number;
  ackP99: number;
  /** Filled in by the caller from the database. */
  workerLagP50?: number;
  workerLagP99?: number;
  /** Filled in by the caller: CPU of web, worker and database per delivery sent, and the database's part. */
  cpuPerDeliveryUs?: number;
  databaseCpuPerDeliveryUs?: number;
  /** Per delivery, wall-clock milliseconds (Date.now() scale): sent, acknowledged, its task.created seen on SSE. */
  timings: DeliveryTiming[];
}

export interface DeliveryTiming {
  issueNumber: number;
  sentAt: number;
  ackedAt?: number;
  seenAt?: number;
}

export interface EndToEndOptions {
  baseUrl: string;
  apiKey: string;
  receiveUrl: string;
  rate: number;
  seconds: number;
  /** Sent at the same rate before the measured seconds and not timed: the first deliveries after a start meet cold caches. */
  warmupSeconds?: number;
  /** Called as the first timed delivery is about to be sent (to read CPU counters from then on). */
  onMeasuring?: () => void;
  firstNumber: number;
  make(number: number): { body: string; headers: Record<string, string> };
}

/**
 * Sends deliveries at a steady rate and times each from the moment its request is sent to the
 * moment its `task.created` event arrives on the SSE stream (receive → worker → task → relay → SSE).
 * Deliveries of the warm-up are sent the same way but not timed or counted.
 */
export async function measureEndToEnd(options: EndToEndOptions): Promise<EndToEndResult> {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const ackLatencies: number[] = [];
  const timings = new Map<number, DeliveryTiming>();
  const wallClock = (now: number) => performance.timeOrigin + now;
  const stream = await openEventStream(`${options.baseUrl}/api/v1/events?types=task.created`, options.apiKey, (event) => {
    const number = event?.data?.task?.source?.issue_number;
    const at = typeof number === "number" ? sentAt.get(number) : undefined;
    if (at !== undefined) {
      const now = performance.now();
      latencies.push(now - at);
      timings.get(number)!.seenAt = wallClock(now);
      sentAt.delete(number);
    }
  });
  await sleep(500);

  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(options.receiveUrl);
  const total = Math.round(options.rate * options.seconds);
  const warmup = Math.round(options.rate * (options.warmupSeconds ?? 0));
  let acked = 0;
  const notAcked: Record<string, number> = {};
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = -warmup; i < total; i++) {
    const due = t0 + ((i + warmup) * 1000) / options.rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const number = options.firstNumber + i;
    const delivery = options.make(number);
    if (i < 0) {
      inFlight.push(post(agent, url, delivery).then(() => undefined));
      continue;
    }
    if (i === 0) options.onMeasuring?.();
    const start = performance.now();
    sentAt.set(number, start);
    const timing: DeliveryTiming = { issueNumber: number, sentAt: wallClock(start) };
    timings.set(number, timing);
    inFlight.push(
      post(agent, url, delivery).then((status) => {
        const now = performance.now();
        if (typeof status === "number" && status >= 200 && status < 300) acked++;
        else notAcked[status] = (notAcked[status] ?? 0) + 1;
        ackLatencies.push(now - start);
        timing.ackedAt = wallClock(now);
      }),
    );
  }
  await Promise.all(inFlight);
  const deadline = performance.now() + 15_000;
  while (latencies.length < acked && performance.now() < deadline) await sleep(50);
  stream.close();
  agent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  const ackSorted = [...ackLatencies].sort((a, b) => a - b);
  return {
    rate: options.rate,
    sent: total,
    acked,
    notAcked,
    seen: latencies.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? NaN,
    ackP99: percentile(ackSorted, 0.99),
    timings: [...timings.values()],
  };
}

/** "503 ×2, ECONNRESET ×1": what the requests not acknowledged got; empty when there were none. */
export function describeNotAcked(notAcked: Record<string, number>): string {
  return Object.entries(notAcked)
    .map(([what, n]) => `${what} ×${n}`)
    .join(", ");
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** The response's status, or the code of the error that ended the request (ECONNRESET, …). */
function post(agent: http.Agent, url: URL, delivery: { body: string; headers: Record<string, string> }): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.request(
      { agent, method: "POST", hostname: url.hostname, port: url.port, path: url.pathname, headers: { ...delivery.headers, "content-length": Buffer.byteLength(delivery.body) } },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    request.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    request.end(delivery.body);
  });
}

/** A minimal SSE reader over fetch: calls `onEvent` with each frame's JSON data. */
async function openEventStream(url: string, apiKey: string, onEvent: (event: any) => void): Promise<{ close(): void }> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: "text/event-stream", "x-api-key": apiKey }, signal: controller.signal });
  if (response.status !== 200 || !response.body) throw new Error(`SSE ${url}: ${response.status} ${await response.text()}`);
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          const data = frame
            .split("\n")
            .filter((line) => line.startsWith("data:"))
            .map((line) => line.slice(5).trimStart())
            .join("\n");
          if (data) onEvent(JSON.parse(data));
        }
      }
    } catch {
      // closed
    }
  })();
  return { close: () => controller.abort() };
}
