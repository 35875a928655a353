import type { IncomingMessage } from "node:http";

/** The request headers a delivery keeps in its log (both doors): never the signature. */
const KEPT_HEADERS = [
  "content-type",
  "user-agent",
  "x-github-event",
  "x-github-delivery",
  "x-github-hook-id",
  "x-github-hook-installation-target-id",
  "x-github-hook-installation-target-type",
  "x-entourage-event",
  "x-entourage-delivery",
];

/** The kept headers present on a request, each cut to 500 characters. */
export function keptHeaders(req: IncomingMessage): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = firstHeader(req, name);
    if (value !== undefined) kept[name] = value.slice(0, 500);
  }
  return kept;
}

/** A header's value; the first one when it was sent more than once. */
export function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
