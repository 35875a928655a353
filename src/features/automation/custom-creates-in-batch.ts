import { customPayloadSchemas } from "../webhooks/custom-payload.schema.js";
import type { DeliveryInput } from "../webhooks/delivery-processor.js";
import { webhookConfig } from "../webhooks/webhooks.schema.js";
import { customSourceKey, customTaskInput } from "./custom-rules.js";
import type { TaskToOpen } from "./open-tasks.js";

/** A custom sender's `task.create` the batch can apply. */
export interface CustomCreate {
  input: DeliveryInput;
  key: string;
  externalId: string;
  open: TaskToOpen;
}

/**
 * The custom senders' `task.create` deliveries the batch can apply: a valid document and webhook
 * config, and an external id no other delivery of the batch names for that webhook (read loosely,
 * whatever its event: a create followed by its update or close goes one by one, in order).
 */
export function pickCustomCreates(inputs: DeliveryInput[]): CustomCreate[] {
  const named = new Map<string, number>();
  for (const input of inputs) {
    const id = input.payload.external_id;
    if (input.webhook.provider !== "custom" || typeof id !== "string") continue;
    const key = customSourceKey(input.webhook.id, id.trim());
    named.set(key, (named.get(key) ?? 0) + 1);
  }
  const picked: CustomCreate[] = [];
  for (const input of inputs) {
    if (input.webhook.provider !== "custom" || input.delivery.event_type !== "task.create") continue;
    const doc = customPayloadSchemas["task.create"].safeParse(input.payload);
    const config = webhookConfig.safeParse(input.webhook.config);
    if (!doc.success || !config.success) continue;
    const key = customSourceKey(input.webhook.id, doc.data.external_id);
    if (named.get(key) !== 1) continue;
    picked.push({
      input,
      key,
      externalId: doc.data.external_id,
      open: { input, task: { ...customTaskInput(input.webhook.id, config.data, doc.data, key), org_id: input.webhook.org_id }, autoAssign: config.data.auto_assign },
    });
  }
  return picked;
}
