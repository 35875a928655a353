import type { Knex } from "knex";
import type { z } from "zod";
import { appendEvents } from "../events/events.store.js";
import { taskEvent } from "../tasks/task-event.js";
import { changeTaskStatus, createTask, type CreateTaskInput, type StatusChange } from "../tasks/tasks.service.js";
import { findTaskBySourceKey, updateTask, type Task, type TaskFieldChanges } from "../tasks/tasks.store.js";
import { customPayloadSchemas, type CustomEventType } from "../webhooks/custom-payload.schema.js";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { webhookConfig, type WebhookConfig } from "../webhooks/webhooks.schema.js";
import { parsePayload } from "./github-payloads.js";
import { lockKey } from "../../db/lock-key.js";
import { handOutNewTask } from "./open-tasks.js";

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
  const key = customSourceKey(input.webhook.id, doc.external_id);
  await lockKey(trx, key);
  const existing = await findTaskBySourceKey(trx, orgId, key, { forUpdate: true });

  if (eventType === "task.create") {
    if (existing) return alreadyCreated(existing, doc.external_id);
    const config = webhookConfig.parse(input.webhook.config);
    const task = await createTask(trx, orgId, customTaskInput(input.webhook.id, config, customPayloadSchemas["task.create"].parse(doc), key));
    const actions = [`created task #${task.id}`];
    if (config.auto_assign) actions.push((await handOutNewTask(trx, task)).action);
    return { actions };
  }

  if (!existing) return noTaskFor(doc.external_id);
  if (eventType === "task.close") {
    const { move, action } = customClose(existing, customPayloadSchemas["task.close"].parse(doc).resolution);
    if (move) await changeTaskStatus(trx, move.task, move.to, move.options);
    return { actions: [action] };
  }

  const changes = customFieldChanges(doc);
  const changed = Object.keys(changes);
  if (changed.length === 0) return { actions: [customUpdateAction(existing, changed)] };
  const task = await updateTask(trx, orgId, existing.id, changes);
  await appendEvents(trx, [customUpdateEvent(task, changed)]);
  return { actions: [customUpdateAction(task, changed)] };
}

/** An update or close of an external id without a task changes nothing. */
export function noTaskFor(externalId: string): DeliveryOutcome {
  return { actions: [`ignored: no task for external_id ${externalId}`], status: "ignored" };
}

/** What a `task.close` does to its task: the move (none when it is there already), and the action in words. */
export function customClose(task: Task, resolution: "done" | "cancelled"): { move?: StatusChange; action: string } {
  if (task.status === resolution) return { action: `task #${task.id} already ${resolution}` };
  return {
    move: { task, to: resolution, options: { enforceTransitions: false, reason: "closed by the sender" } },
    action: `task #${task.id} ${task.status} → ${resolution}`,
  };
}

/** The fields a `task.update` carries (its tags follow the custom ones). */
export function customFieldChanges(doc: z.output<(typeof customPayloadSchemas)["task.update"]>): TaskFieldChanges {
  return {
    ...(doc.title !== undefined ? { title: doc.title } : {}),
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    ...(doc.priority !== undefined ? { priority: doc.priority } : {}),
    ...(doc.task_type !== undefined ? { task_type: doc.task_type } : {}),
    ...(doc.tags !== undefined ? { tags: ["custom", `external:${doc.external_id}`, ...doc.tags] } : {}),
  };
}

export function customUpdateEvent(task: Task, changed: string[]) {
  return taskEvent(task, "task.updated", { changes: changed, reason: "updated by the sender" });
}

/** What a `task.update` did, in words (also when it carried no field). */
export function customUpdateAction(task: Pick<Task, "id">, changed: string[]): string {
  return changed.length ? `updated task #${task.id} ${changed.join(", ")}` : `task #${task.id}: nothing to update`;
}

/** The task of a custom sender's external id is found by this key (one task per id and webhook). */
export function customSourceKey(webhookId: string, externalId: string): string {
  return `custom:${webhookId}:${externalId}`;
}

/** A `task.create` of an external id that has its task already changes nothing. */
export function alreadyCreated(task: Task, externalId: string): DeliveryOutcome {
  return { actions: [`task #${task.id} already exists for ${externalId}`], status: "ignored" };
}

/** The task a custom sender's `task.create` makes. */
export function customTaskInput(webhookId: string, config: WebhookConfig, create: z.output<(typeof customPayloadSchemas)["task.create"]>, key: string): CreateTaskInput {
  return {
    team_id: config.team_id,
    title: create.title,
    description: create.description ?? "",
    priority: create.priority ?? "medium",
    task_type: create.task_type ?? config.default_task_type,
    tags: ["custom", `external:${create.external_id}`, ...(create.tags ?? [])],
    source: { kind: "custom", webhook_id: webhookId, external_id: create.external_id, url: create.url, auto_assign: config.auto_assign },
    source_key: key,
  };
}
