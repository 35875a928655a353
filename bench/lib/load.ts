import autocannon from "autocannon";

export interface LoadResult {
  seconds: number;
  /** Acknowledged (2xx) responses per second over the measured run. */
  ackPerSecond: number;
  p50: number;
  p99: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  /** Builds each request: a fresh body, GUID and signature. */
  next(): { body: string; headers: Record<string, string> };
  /** Receives the delivery_id of each acknowledged delivery (Entourage answers with it). */
  onAcknowledged?(deliveryId: string): void;
}

const DELIVERY_ID = /"delivery_id":"([0-9a-f-]{36})"/;

/** One autocannon run with a per-request body; latencies in milliseconds. */
export async function fireLoad(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    requests: [
      {
        method: "POST",
        setupRequest: (request) => {
          const delivery = options.next();
          return { ...request, method: "POST", body: delivery.body, headers: { ...request.headers, ...delivery.headers } };
        },
        onResponse: options.onAcknowledged
          ? (status: number, body: string) => {
              const id = status >= 200 && status < 300 ? DELIVERY_ID.exec(body)?.[1] : undefined;
              if (id) options.onAcknowledged!(id);
            }
          : undefined,
      },
    ],
  });
  const seconds = result.duration;
  return {
    seconds,
    ackPerSecond: result["2xx"] / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok2xx: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
