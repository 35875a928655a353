import { randomUUID } from "node:crypto";
import { customPayloadSchemas, type CustomEventType } from "./custom-payload.schema.js";
import type { DeliveryWriter, WriteResult } from "./delivery-writer.js";
import { payloadSummary } from "./payload-summary.js";
import { CUSTOM_EVENT_TYPES, githubEventType, isSubscribed } from "./webhook-events.js";
import type { LoggedRefusal, ReceiveAnswer } from "./webhooks.schema.js";
import type { WebhookRow } from "./webhooks.store.js";

export interface IncomingDelivery {
  webhook: Pick<WebhookRow, "id" | "org_id" | "provider" | "events">;
  /** X-GitHub-Delivery / X-Entourage-Delivery; one is generated when absent. */
  guid?: string;
  /** GitHub: the X-GitHub-Event header. Custom: X-Entourage-Event (or the body's `event`). */
  eventName?: string;
  /** The JSON document as received. */
  payloadText: string;
  /** The bytes payloadText was decoded from, when the document was the whole body. */
  payloadBytes?: Buffer;
  /** Parsed already by the caller (the App door); parsed here otherwise. */
  payload?: Record<string, unknown>;
  headers: Record<string, string>;
  /** `app` when the GitHub App door routed it here; the receive endpoint's otherwise. */
  via?: "receive" | "app";
}

export type AcceptResult = { httpStatus: 200 | 202; body: ReceiveAnswer } | { httpStatus: 400 | 422; body: LoggedRefusal };

const MAX_GUID_LENGTH = 200;

/**
 * Classifies a verified delivery and stores it before answering:
 * 1. parse the document (invalid JSON → 400, logged as failed);
 * 2. name its event type (GitHub header + action; custom header or body) and, for custom
 *    senders, validate the document (→ 422, logged as failed);
 * 3. a `ping`, or an event the webhook does not subscribe to, is logged as processed / ignored;
 * 4. anything else is stored as `received` for the worker: 202, or 200 `duplicate` for a GUID seen before.
 */
export async function acceptDelivery(writer: DeliveryWriter, incoming: IncomingDelivery): Promise<AcceptResult> {
  const { webhook } = incoming;
  const guid = incoming.guid?.slice(0, MAX_GUID_LENGTH) || randomUUID();
  const base = {
    webhook_id: webhook.id,
    org_id: webhook.org_id,
    delivery_guid: guid,
    headers: incoming.headers,
    via: incoming.via ?? "receive",
    provider: webhook.provider,
    payloadBytes: incoming.payloadBytes,
  };

  let payload = incoming.payload;
  if (!payload) {
    try {
      const parsed: unknown = JSON.parse(incoming.payloadText);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new SyntaxError("the document must be a JSON object");
      payload = parsed as Record<string, unknown>;
    } catch (error) {
      const message = `invalid JSON: ${(error as Error).message}`;
      const stored = await writer.write({ ...base, event_type: incoming.eventName ?? "unknown", status: "failed", payload: incoming.payloadText, payload_summary: {}, error: message });
      return reply(stored, { httpStatus: 400, body: { delivery_id: stored.id, error: { code: "invalid_json", message: `The body is not a JSON object: ${(error as Error).message}` } } });
    }
  }

  let eventType: string;
  if (webhook.provider === "github") {
    if (!incoming.eventName) {
      const stored = await writer.write({ ...base, event_type: "unknown", status: "failed", payload: incoming.payloadText, payload_summary: payloadSummary(payload), error: "missing X-GitHub-Event header" });
      return reply(stored, { httpStatus: 400, body: { delivery_id: stored.id, error: { code: "bad_request", message: "Missing X-GitHub-Event header" } } });
    }
    eventType = githubEventType(incoming.eventName, payload);
  } else {
    eventType = incoming.eventName ?? (typeof payload.event === "string" ? payload.event : "");
    // Own keys only: "constructor" or "__proto__" must not find Object's members.
    const schema = Object.hasOwn(customPayloadSchemas, eventType) ? customPayloadSchemas[eventType as CustomEventType] : undefined;
    const issues = schema
      ? schema.safeParse(payload).error?.issues.map((issue) => ({ field: issue.path.join(".") || "(body)", message: issue.message }))
      : [{ field: "event", message: `must be one of ${CUSTOM_EVENT_TYPES.join(", ")} (X-Entourage-Event header or body "event")` }];
    if (issues?.length) {
      const error = issues.map((issue) => `${issue.field}: ${issue.message}`).join("; ");
      const stored = await writer.write({ ...base, event_type: eventType || "unknown", status: "failed", payload: incoming.payloadText, payload_summary: payloadSummary(payload), error });
      return reply(stored, { httpStatus: 422, body: { delivery_id: stored.id, error: { code: "unprocessable_entity", message: "The document does not match the custom event schema", details: issues } } });
    }
  }

  const summary = payloadSummary(payload);
  if (eventType === "ping") {
    const stored = await writer.write({ ...base, event_type: "ping", status: "processed", payload: incoming.payloadText, payload_summary: summary, actions: ["pong"] });
    return reply(stored, { httpStatus: 200, body: { delivery_id: stored.id, status: "processed", pong: true } });
  }
  if (!isSubscribed(webhook.events, eventType)) {
    const reason = `ignored: this webhook is not subscribed to ${eventType}`;
    const stored = await writer.write({ ...base, event_type: eventType, status: "ignored", payload: incoming.payloadText, payload_summary: summary, actions: [reason] });
    return reply(stored, { httpStatus: 202, body: { delivery_id: stored.id, status: "ignored", reason } });
  }
  const stored = await writer.write({ ...base, event_type: eventType, status: "received", payload: incoming.payloadText, payload_summary: summary });
  return reply(stored, { httpStatus: 202, body: { delivery_id: stored.id, status: "received" } });
}

/** A repeated GUID answers 200 duplicate (replay protection) unless it had failed and was queued again. */
function reply(stored: WriteResult, answer: AcceptResult): AcceptResult {
  if (stored.outcome === "duplicate") return { httpStatus: 200, body: { delivery_id: stored.id, duplicate: true } };
  if (stored.outcome === "requeued") return { httpStatus: 202, body: { delivery_id: stored.id, status: "received", redelivered: true } };
  return answer;
}
