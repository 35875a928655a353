import { fetch, type Dispatcher } from "undici";
import { assertPublicUrl, ForbiddenDestinationError } from "./outbound-url-safety.js";
import { signOutboundRequest } from "./sign-outbound-request.js";

const EXCERPT_BYTES = 1024;

export interface OutboundRequest {
  url: string;
  deliveryId: string;
  eventType: string;
  body: string;
  /** Current secret first, then the previous one while a rotation lasts. */
  secrets: string[];
  apiKey: string | null;
  timeoutMs: number;
  /** Connects for the request: a public-only agent (createPublicOnlyAgent) unless private targets are allowed. */
  dispatcher: Dispatcher;
  /** Skip the IP-literal check (ALLOW_PRIVATE_OUTBOUND: tests and closed networks only). */
  allowPrivate?: boolean;
  /** Aborts the attempt (the sender is shutting down). */
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status_code: number | null;
  response_excerpt: string | null;
  error: string | null;
  duration_ms: number;
  /** From a Retry-After header, when the receiver sent one. */
  retry_after_ms: number | null;
}

/**
 * One signed POST: an IP-literal host checked here, a name checked by the dispatcher when it
 * connects (unless private targets are allowed), no redirect followed, the whole exchange
 * bounded by `timeoutMs`. Never throws; no error it returns contains a header value.
 */
export async function sendOutboundRequest(request: OutboundRequest): Promise<OutboundResponse> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  try {
    if (!request.allowPrivate) assertPublicUrl(request.url);
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "User-Agent": "Entourage-Webhooks/1",
      "X-Entourage-Event": request.eventType,
      "X-Entourage-Delivery": request.deliveryId,
      ...signOutboundRequest(request.secrets, request.deliveryId, Math.floor(Date.now() / 1000), request.body),
    };
    if (request.apiKey) headers["X-API-Key"] = request.apiKey;
    const response = await fetch(request.url, {
      method: "POST",
      headers,
      body: request.body,
      redirect: "manual",
      signal,
      dispatcher: request.dispatcher,
    });
    const excerpt = await readExcerpt(response);
    const redirected = response.status >= 300 && response.status < 400;
    return {
      status_code: response.status,
      response_excerpt: excerpt,
      error: redirected ? `redirects are not followed (Location: ${response.headers.get("location") ?? "none"})` : null,
      duration_ms: elapsed(),
      retry_after_ms: parseRetryAfter(response.headers.get("retry-after")),
    };
  } catch (error) {
    const message = timeout.aborted
      ? `no response within ${request.timeoutMs} ms`
      : request.signal?.aborted
        ? "aborted: sender shutting down"
        : describeError(error);
    return { status_code: null, response_excerpt: null, error: message, duration_ms: elapsed(), retry_after_ms: null };
  }
}

/** The first KiB of the body (as text); the rest is not read. */
async function readExcerpt(response: Awaited<ReturnType<typeof fetch>>): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  // PostgreSQL text cannot hold NUL; a binary answer is only an excerpt anyway.
  const text = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8").replaceAll("\u0000", "\uFFFD");
  return text || null;
}

/** Retry-After as delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function describeError(error: unknown): string {
  if (error instanceof ForbiddenDestinationError) return error.message;
  const err = error as Error & { cause?: { code?: string; message?: string } };
  if (err.cause instanceof ForbiddenDestinationError) return err.cause.message;
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message}: ${cause}` : err.message || String(error);
}
