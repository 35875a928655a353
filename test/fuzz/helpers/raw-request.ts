import http from "node:http";
import fc from "fast-check";

export interface RawRequest {
  method: string;
  /** Path and query exactly as sent (not normalised). */
  path: string;
  /** Header lines; a name given twice is sent twice. */
  headers: [string, string][];
  body?: Buffer | string;
}

export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

const STREAM_READ_MS = 150;
const TIMEOUT_MS = 15_000;

/**
 * Sends a request byte for byte (duplicate headers, lying content types, invalid JSON) over a
 * keep-alive agent. An event stream is read for a moment and then cut, so SSE cannot hang a run.
 */
export function sendRaw(agent: http.Agent, baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: request.method, path: request.path, agent, timeout: TIMEOUT_MS });
    const grouped = new Map<string, string[]>();
    for (const [name, value] of request.headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
    for (const [name, values] of grouped) req.setHeader(name, values.length === 1 ? values[0]! : values);
    if (request.body !== undefined) req.setHeader("content-length", Buffer.byteLength(request.body));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      const contentType = String(res.headers["content-type"] ?? "");
      const finish = () => resolve({ status: res.statusCode ?? 0, contentType, text: Buffer.concat(chunks).toString("utf8") });
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      if (contentType.startsWith("text/event-stream")) {
        setTimeout(() => {
          res.destroy();
          finish();
        }, STREAM_READ_MS);
        return;
      }
      res.on("end", finish);
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer to ${request.method} ${request.path} within ${TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end(request.body);
  });
}

/** Gives a generated request a short printed form, so a failing counterexample stays readable. */
export function printable(request: RawRequest): RawRequest {
  const clip = (text: string) => (text.length > 120 ? `${text.slice(0, 120)}…(${text.length} chars)` : text);
  const shown = () =>
    `${request.method} ${clip(request.path)} ${JSON.stringify(request.headers.map(([n, v]) => [n, clip(v)]))} ${request.body === undefined ? "" : JSON.stringify(clip(String(request.body)))}`;
  return Object.assign(request, { [fc.toStringMethod]: shown });
}
