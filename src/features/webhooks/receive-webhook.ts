import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { AuthenticationError, GoneError, InputError, NotFoundError } from "../../errors.js";
import { answerDoorError, type DoorErrorDeps } from "../../http/answer-door-error.js";
import type { BodyBudget } from "../../http/body-budget.js";
import { readBody } from "../../http/read-body.js";
import { sendJson } from "../../http/send-json.js";
import { acceptDelivery } from "./accept-delivery.js";
import type { DeliveryWriter } from "./delivery-writer.js";
import type { RejectionLimiter } from "./rejection-limiter.js";
import { verifySignature } from "./verify-signature.js";
import type { WebhookResolver } from "./webhook-resolver.js";
import { firstHeader, keptHeaders } from "./kept-headers.js";

// GitHub caps payloads at 25 MB; larger bodies are refused before they are buffered.
export const MAX_WEBHOOK_BODY_BYTES = 25 * 1024 * 1024;
export const TOO_LARGE = "The body is over 25 MB, GitHub's limit";

export const RECEIVE_PATH = /^\/api\/v1\/webhooks\/([^/?#]*)\/receive\/?(?:\?.*)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ReceiveDeps extends DoorErrorDeps {
  writer: DeliveryWriter;
  resolver: WebhookResolver;
  rejections: RejectionLimiter;
  /** Shared with the App door: bytes of bodies not yet verified. */
  bodyBudget: BodyBudget;
}

/**
 * `POST /api/v1/webhooks/{id}/receive` on bare node:http: the signature is the credential.
 * Kept off Express and free of per-request logging because it is the hot path.
 */
export function createReceiveHandler(deps: ReceiveDeps) {
  return async (req: IncomingMessage, res: ServerResponse, rawId: string): Promise<void> => {
    try {
      await receive(deps, req, res, rawId);
    } catch (error) {
      answerDoorError("webhook", req, res, error, deps);
    }
  };
}

async function receive(deps: ReceiveDeps, req: IncomingMessage, res: ServerResponse, rawId: string): Promise<void> {
  const id = decodeURIComponentSafe(rawId);
  if (!id || !UUID.test(id)) throw new NotFoundError(`Webhook ${rawId} not found`);
  const resolved = await deps.resolver.resolve(id.toLowerCase());
  if (!resolved) throw new NotFoundError(`Webhook ${id} not found`);
  const { webhook, secrets } = resolved;
  if (!webhook.active) throw new GoneError("This webhook is inactive");

  const body = await readBody(req, res, { limit: MAX_WEBHOOK_BODY_BYTES, budget: deps.bodyBudget, tooLargeMessage: TOO_LARGE });
  const headers = keptHeaders(req);
  const signature = firstHeader(req, "x-hub-signature-256") ?? firstHeader(req, "x-entourage-signature");
  if (!verifySignature(secrets, body, signature)) {
    await recordRejection(deps, webhook, headers, signature ? "signature does not match" : "missing X-Hub-Signature-256", body.length);
    throw new AuthenticationError(
      signature
        ? "X-Hub-Signature-256 does not match: sign the raw body with HMAC-SHA256 keyed with this webhook's secret (whsec_… as shown)"
        : "Missing X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed with this webhook's secret>",
      "invalid_signature",
    );
  }

  let payloadText: string;
  let payloadBytes: Buffer | undefined;
  if ((headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    // GitHub's form content type: payload=<url-encoded JSON>; the signature covered the form body itself.
    const payload = new URLSearchParams(body.toString("utf8")).get("payload");
    if (payload === null) throw new InputError("A form-encoded delivery needs a payload= field");
    payloadText = payload;
  } else {
    payloadText = body.toString("utf8");
    payloadBytes = body;
  }

  const result = await acceptDelivery(deps.writer, {
    webhook,
    guid: webhook.provider === "github" ? headers["x-github-delivery"] : (headers["x-entourage-delivery"] ?? headers["x-github-delivery"]),
    eventName: webhook.provider === "github" ? headers["x-github-event"] : headers["x-entourage-event"],
    payloadText,
    payloadBytes,
    headers,
  });
  sendJson(res, result.httpStatus, result.body);
}

async function recordRejection(
  deps: ReceiveDeps,
  webhook: { id: string; org_id: string; provider: "github" | "custom" },
  headers: Record<string, string>,
  reason: string,
  bytes: number,
): Promise<void> {
  const { record, suppressed } = deps.rejections.take(webhook.id);
  if (!record) return;
  await deps.writer
    .write({
      webhook_id: webhook.id,
      org_id: webhook.org_id,
      provider: webhook.provider,
      // Synthetic: a forged request must never claim the GUID of a genuine delivery.
      delivery_guid: `rejected:${randomUUID()}`,
      event_type: (headers["x-github-event"] ?? headers["x-entourage-event"] ?? "unknown").slice(0, 100),
      status: "rejected",
      payload: null,
      headers: { ...headers, body_bytes: String(bytes), ...(suppressed ? { suppressed_before: String(suppressed) } : {}) },
      payload_summary: {},
      error: reason,
    })
    .catch((error) => deps.logger.warn({ err: error }, "could not record a rejected delivery"));
}

function decodeURIComponentSafe(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
