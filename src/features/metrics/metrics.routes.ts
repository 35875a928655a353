import { timingSafeEqual } from "node:crypto";
import { Router, type Request } from "express";
import { AuthenticationError, NotAllowedError } from "../../errors.js";
import type { Metrics } from "./create-metrics.js";

/**
 * `GET /metrics` in Prometheus text format. With METRICS_TOKEN set, the scraper sends
 * `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise); without it only loopback clients are
 * answered (403 otherwise), so a forgotten token does not publish the figures to the world.
 */
export function createMetricsRouter(metrics: Metrics, token: string | undefined): Router {
  const router = Router();
  router.get("/metrics", async (req, res) => {
    if (token) {
      if (!bearerMatches(req, token)) throw new AuthenticationError("Send Authorization: Bearer <METRICS_TOKEN> to read /metrics");
    } else if (!isLoopback(req.socket.remoteAddress)) {
      throw new NotAllowedError("/metrics answers loopback clients only; set METRICS_TOKEN to let a remote Prometheus scrape it");
    }
    res.setHeader("Content-Type", metrics.registry.contentType);
    res.setHeader("Cache-Control", "no-store");
    res.end(await metrics.registry.metrics());
  });
  return router;
}

function bearerMatches(req: Request, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(req.get("authorization") ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** 127.0.0.0/8 and ::1, also written as IPv4-mapped IPv6. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}
