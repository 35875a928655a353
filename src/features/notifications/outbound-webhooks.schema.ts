import { z } from "zod";
import { timestamp } from "../../http/api-output.js";
import { paginationQuery } from "../../http/pagination.js";
import { matchesEventType } from "../../lib/event-type-pattern.js";
import { OUTBOUND_DELIVERY_STATUSES } from "./outbound-deliveries.store.js";

/** Event types an endpoint can subscribe to; `task.*`, `review.*` and `*` are wildcards. */
export const OUTBOUND_EVENT_TYPES = [
  "task.created",
  "task.updated",
  "task.assigned",
  "task.unassigned",
  "task.status_changed",
  "task.completed",
  "review.requested",
  "review.submitted",
  "outbound_webhook.disabled",
] as const;

const WILDCARDS = ["*", "task.*", "review.*"] as const;

const DELIVERABLE: ReadonlySet<string> = new Set(OUTBOUND_EVENT_TYPES);

/** True when a subscription list covers an event type (exact name or wildcard); `*` covers the listed types only. */
export function subscribesTo(subscriptions: readonly string[], type: string): boolean {
  if (!DELIVERABLE.has(type)) return false;
  return matchesEventType(subscriptions, type);
}

const eventName = z.enum([...OUTBOUND_EVENT_TYPES, ...WILDCARDS], {
  error: () => `must be one of ${[...OUTBOUND_EVENT_TYPES, ...WILDCARDS].join(", ")}`,
});

const outboundUrl = z
  .string()
  .trim()
  .max(2000)
  .pipe(z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }))
  .refine((value) => {
    // zod still runs this after z.url() refused the value; that refusal already says why.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return !url.username && !url.password;
  }, "must not contain credentials; use api_key for an X-API-Key header");

// Sent as the X-API-Key header: CR, LF or NUL would split or end it. The message never repeats the value.
const headerValue = z
  .string()
  .min(1)
  .max(1000)
  .refine((value) => !/[\r\n\0]/.test(value), { message: "must not contain CR, LF or NUL characters", abort: true });

const events = z
  .array(eventName)
  .min(1, "subscribe to at least one event")
  .max(50)
  .transform((list) => [...new Set(list)]);

export const createOutboundWebhookBody = z.strictObject({
  url: outboundUrl,
  events,
  team_id: z.uuid().nullable().optional(),
  api_key: headerValue.nullable().optional(),
  description: z.string().trim().max(1000).default(""),
});

export const updateOutboundWebhookBody = z
  .strictObject({
    url: outboundUrl.optional(),
    events: events.optional(),
    active: z.boolean().optional(),
    description: z.string().trim().max(1000).optional(),
    api_key: headerValue.nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "nothing to update: send url, events, active, description or api_key");

export const listOutboundWebhooksQuery = z.object({ ...paginationQuery });

export const listOutboundDeliveriesQuery = z.object({
  status: z.enum(OUTBOUND_DELIVERY_STATUSES).optional(),
  ...paginationQuery,
});

export type CreateOutboundWebhookBody = z.infer<typeof createOutboundWebhookBody>;
export type UpdateOutboundWebhookBody = z.infer<typeof updateOutboundWebhookBody>;

/** An outbound endpoint as the API answers it: never its secret or API key, only a hint and whether there is one. */
export const outboundWebhookOutput = z.strictObject({
  id: z.uuid(),
  url: z.string(),
  events: z.array(z.string()),
  team_id: z.uuid().nullable(),
  description: z.string(),
  active: z.boolean(),
  has_api_key: z.boolean(),
  secret_hint: z.string(),
  /** Until when the previous secret still signs beside the new one, after a rotation. */
  previous_secret_expires_at: timestamp.nullable(),
  /** Since when every attempt has failed (null while healthy). */
  failing_since: timestamp.nullable(),
  disabled_at: timestamp.nullable(),
  disabled_reason: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});
export type OutboundWebhookView = z.output<typeof outboundWebhookOutput>;

/** POST /outbound-webhooks and rotate-secret: the endpoint with its signing secret, shown this once. */
export const outboundWebhookWithSecretOutput = outboundWebhookOutput.extend({ secret: z.string() });

/** One notification to an endpoint, with every attempt to send it. */
export const outboundDeliveryOutput = z.strictObject({
  id: z.uuid(),
  endpoint_id: z.uuid(),
  event: z.string(),
  event_id: z.number().int(),
  status: z.enum(OUTBOUND_DELIVERY_STATUSES),
  attempt_count: z.number().int(),
  next_attempt_at: timestamp.nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: timestamp.nullable(),
  created_at: timestamp,
  attempts: z.array(
    z.strictObject({
      attempted_at: timestamp,
      duration_ms: z.number().int(),
      status_code: z.number().int().nullable(),
      /** The start of the endpoint's answer. */
      response_excerpt: z.string().nullable(),
      error: z.string().nullable(),
      next_retry_at: timestamp.nullable(),
    }),
  ),
  /** The signed body as sent (one delivery's GET only). */
  payload: z.unknown().optional(),
});
export type OutboundDeliveryView = z.output<typeof outboundDeliveryOutput>;
