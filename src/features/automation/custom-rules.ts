import type { Knex } from "knex";
import { appendEvents } from "../events/events.store.js";
import { assignToAvailableEngineer } from "../tasks/task-assignment.js";
import { taskEvent } from "../tasks/task-event.js";
import { changeTaskStatus, createTask } from "../tasks/tasks.service.js";
import { findTaskBySourceKey, updateTask } from "../tasks/tasks.store.js";
import { customPayloadSchemas, type CustomEventType } from "../webhooks/custom-payload.schema.js";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { webhookConfig } from "../webhooks/webhooks.schema.js";
import { parsePayload } from "./github-payloads.js";
import { lockKey } from "../../db/lock-key.js";

/**
 * Custom senders: `task.create` makes one task per `external_id` (a repeat changes nothing),
 * `task.update` changes the fields it carries, `task.close` finishes it (`resolution`: done | cancelled).
 */
export async function applyCustomEvent(trx: Knex.Transaction, input: DeliveryInput): Promise<DeliveryOutcome> {
  const eventType = input.delivery.event_type as CustomEventType;
  const schema = customPayloadSchemas[eventType];
  if (!schema) return { actions: [`no rule for ${eventType}`], status: "ignored" };
  const doc = parsePayload(schema, input.payload, eventType);
  const orgId = input.webhook.org_id;
  const key = `custom:${input.webhook.id}:${doc.external_id}`;
  await lockKey(trx, key);
  const existing = await findTaskBySourceKey(trx, orgId, key, { forUpdate: true });

  if (eventType === "task.create") {
    if (existing) return { actions: [`task #${existing.id} already exists for ${doc.external_id}`], status: "ignored" };
    const config = webhookConfig.parse(input.webhook.config);
    const create = customPayloadSchemas["task.create"].parse(doc);
    const task = await createTask(trx, orgId, {
      team_id: config.team_id,
      title: create.title,
      description: create.description ?? "",
      priority: create.priority ?? "medium",
      task_type: create.task_type ?? config.default_task_type,
      tags: ["custom", `external:${create.external_id}`, ...(create.tags ?? [])],
      source: { kind: "custom", webhook_id: input.webhook.id, external_id: create.external_id, url: create.url, auto_assign: config.auto_assign },
      source_key: key,
    });
    const actions = [`created task #${task.id}`];
    if (config.auto_assign) {
      const { agent } = await assignToAvailableEngineer(trx, task);
      actions.push(agent ? `assigned to ${agent.name}` : "no engineer available: waiting for one");
    }
    return { actions };
  }

  if (!existing) return { actions: [`ignored: no task for external_id ${doc.external_id}`], status: "ignored" };
  if (eventType === "task.close") {
    const close = customPayloadSchemas["task.close"].parse(doc);
    if (existing.status === close.resolution) return { actions: [`task #${existing.id} already ${close.resolution}`] };
    await changeTaskStatus(trx, existing, close.resolution, { enforceTransitions: false, reason: "closed by the sender" });
    return { actions: [`task #${existing.id} ${existing.status} → ${close.resolution}`] };
  }

  const changes = {
    ...(doc.title !== undefined ? { title: doc.title as string } : {}),
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    ...(doc.priority !== undefined ? { priority: doc.priority } : {}),
    ...(doc.task_type !== undefined ? { task_type: doc.task_type } : {}),
    ...(doc.tags !== undefined ? { tags: ["custom", `external:${doc.external_id}`, ...doc.tags] } : {}),
  };
  if (Object.keys(changes).length === 0) return { actions: [`task #${existing.id}: nothing to update`] };
  const task = await updateTask(trx, orgId, existing.id, changes);
  await appendEvents(trx, [taskEvent(task, "task.updated", { changes: Object.keys(changes), reason: "updated by the sender" })]);
  return { actions: [`updated task #${task.id} ${Object.keys(changes).join(", ")}`] };
}
