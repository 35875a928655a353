import { z } from "zod";
import { timestamp } from "../../http/api-output.js";
import { paginationQuery } from "../../http/pagination.js";
import { errorResponseSchema } from "../openapi/error-response.schema.js";
import { TASK_TYPES } from "../tasks/tasks.schema.js";
import { validSubscriptions, type Provider } from "./webhook-events.js";

export const PROVIDERS = ["github", "custom"] as const;
export const DELIVERY_STATUSES = ["received", "processed", "failed", "ignored", "rejected"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

const repository = z.string().regex(/^[\w.-]+\/[\w.-]+$/, "must be owner/name");

/** A webhook's config: the keys Entourage reads are checked; others are kept as given. */
export const webhookConfig = z.looseObject({
  team_id: z.uuid(),
  auto_assign: z.boolean().default(false),
  default_task_type: z.enum(TASK_TYPES).default("bugfix"),
  repositories: z.array(repository).max(1000).optional(),
  installation_id: z.number().int().positive().optional(),
  close_issue: z.boolean().default(false),
});
export type WebhookConfig = z.infer<typeof webhookConfig>;

const eventsList = z.array(z.string().min(1).max(100)).min(1).max(200);

function checkEvents(provider: Provider, events: string[], ctx: z.RefinementCtx): void {
  const valid = validSubscriptions(provider);
  const unknown = events.filter((event) => !valid.includes(event));
  if (unknown.length) {
    ctx.addIssue({
      code: "custom",
      path: ["events"],
      message: `unknown event type(s) for ${provider}: ${unknown.join(", ")}. Valid: ${valid.join(", ")}`,
    });
  }
}

export const createWebhookBody = z
  .strictObject({
    org_id: z.uuid().optional(),
    name: z.string().trim().max(200).optional(),
    provider: z.enum(PROVIDERS),
    events: eventsList,
    config: webhookConfig,
    active: z.boolean().default(true),
  })
  .superRefine((body, ctx) => checkEvents(body.provider, body.events, ctx));
export type CreateWebhookBody = z.infer<typeof createWebhookBody>;

export const updateWebhookBody = z
  .strictObject({
    name: z.string().trim().max(200).optional(),
    events: eventsList.optional(),
    config: webhookConfig.optional(),
    active: z.boolean().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "nothing to update: send events, active, config or name");
export type UpdateWebhookBody = z.infer<typeof updateWebhookBody>;
export { checkEvents };

export const regenerateSecretBody = z.strictObject({
  grace_period_seconds: z.number().int().min(0).max(7 * 24 * 3600).default(0),
});

export const listDeliveriesQuery = z.object({
  status: z.enum(DELIVERY_STATUSES).optional(),
  event_type: z.string().max(100).optional(),
  delivery_guid: z.string().trim().min(1).max(200).optional(),
  ...paginationQuery,
});

/** A webhook as the API answers it: never the secret, only a hint of it. */
export const webhookOutput = z.strictObject({
  id: z.uuid(),
  org_id: z.uuid(),
  name: z.string(),
  provider: z.enum(PROVIDERS),
  events: z.array(z.string()),
  config: webhookConfig,
  active: z.boolean(),
  /** Where to send deliveries (GitHub's "Payload URL"). */
  receive_url: z.string(),
  secret_hint: z.string(),
  /** Until when the previous secret still verifies, after a regenerate with a grace period. */
  previous_secret_expires_at: timestamp.nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  /** What a delivery signed with this webhook's secret may act on: config.repositories, else the first repository it received from. */
  entitled_repositories: z.array(z.string()),
  /** The first repository it received from (recorded when config.repositories names none). */
  first_repository: z.string().nullable(),
  /** Why the App's deliveries are not routed here, when config names something they would be routed by. */
  routing_warnings: z.array(z.string()),
  /** Deliveries by status (GET only): rejected = refused signature, failed = the rules failed after their retries. */
  delivery_counts: z.strictObject(Object.fromEntries(DELIVERY_STATUSES.map((status) => [status, z.number().int()])) as Record<DeliveryStatus, z.ZodNumber>).optional(),
  last_delivery_at: timestamp.nullable().optional(),
});
export type WebhookView = z.output<typeof webhookOutput>;

/** POST /webhooks and regenerate-secret: the webhook with its secret, shown this once. */
export const webhookWithSecretOutput = webhookOutput.extend({ secret: z.string() });

/** A delivery in the log. */
export const deliveryListItemOutput = z.strictObject({
  id: z.uuid(),
  event_type: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  /** A few fields of the payload (action, repository, issue or PR number and title). */
  payload_summary: z.record(z.string(), z.unknown()),
  actions: z.array(z.string()),
  error: z.string().nullable(),
  attempts: z.number().int(),
  delivery_guid: z.string(),
  created_at: timestamp,
  processed_at: timestamp.nullable(),
});

/** One delivery with its request headers and the payload as it arrived (null once retention dropped it). */
export const deliveryOutput = deliveryListItemOutput.extend({
  headers: z.record(z.string(), z.unknown()),
  next_attempt_at: timestamp,
  payload: z.unknown(),
});

/** POST /webhooks/{id}/deliveries/{deliveryId}/redeliver: the failed delivery is queued again. */
export const redeliveryOutput = z.strictObject({ delivery_id: z.uuid(), status: z.literal("received") });
export type RedeliveryView = z.output<typeof redeliveryOutput>;

const receivedId = { delivery_id: z.uuid().meta({ description: "The delivery's id in the log (GET …/deliveries/{deliveryId})" }) };

/**
 * The receive endpoint's 2xx answers: stored for the worker, queued again (a failed GUID redelivered),
 * stored as ignored (not subscribed), a ping answered, or a GUID already received (nothing stored).
 */
export const receiveAnswerOutput = z.union([
  z.strictObject({ ...receivedId, status: z.literal("received") }),
  z.strictObject({ ...receivedId, status: z.literal("received"), redelivered: z.literal(true) }),
  z.strictObject({ ...receivedId, status: z.literal("ignored"), reason: z.string() }),
  z.strictObject({ ...receivedId, status: z.literal("processed"), pong: z.literal(true) }),
  z.strictObject({ ...receivedId, duplicate: z.literal(true) }),
]);
export type ReceiveAnswer = z.output<typeof receiveAnswerOutput>;

/** The receive endpoint's 400/422 for a delivery still logged (as failed): the error, and the failed row's id. */
export const loggedRefusalOutput = errorResponseSchema.extend({ delivery_id: z.uuid().meta({ description: "The failed delivery's id in the log" }) });
export type LoggedRefusal = z.output<typeof loggedRefusalOutput>;
