import { z } from "zod";
import { paginationQuery } from "../../http/pagination.js";
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
