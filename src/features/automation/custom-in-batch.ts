import type { Knex } from "knex";
import type { z } from "zod";
import { appendEvents } from "../events/events.store.js";
import { changeTaskStatuses, type StatusChange } from "../tasks/tasks.service.js";
import { updateTaskFields, type Task, type TaskFieldChanges } from "../tasks/tasks.store.js";
import { customPayloadSchemas } from "../webhooks/custom-payload.schema.js";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { webhookConfig } from "../webhooks/webhooks.schema.js";
import { customClose, customFieldChanges, customSourceKey, customTaskInput, customUpdateAction, customUpdateEvent } from "./custom-rules.js";
import type { TaskToOpen } from "./open-tasks.js";

type Create = z.output<(typeof customPayloadSchemas)["task.create"]>;
type Update = z.output<(typeof customPayloadSchemas)["task.update"]>;
type Close = z.output<(typeof customPayloadSchemas)["task.close"]>;

/** A custom sender's delivery the batch can apply: its document, parsed, and the key of its external id. */
export type CustomEvent = { input: DeliveryInput; key: string; externalId: string } & (
  | { type: "task.create"; open: TaskToOpen }
  | { type: "task.update"; doc: Update }
  | { type: "task.close"; doc: Close }
);

/**
 * The custom senders' deliveries the batch can apply: a valid document (and, for a create, webhook
 * config), and an external id no other delivery of the batch names for that webhook (read loosely,
 * whatever its event: a create followed by its update or close goes one by one, in order), that
 * come before any pull request event in the batch.
 */
export function pickCustomEvents(inputs: DeliveryInput[]): CustomEvent[] {
  const named = new Map<string, number>();
  for (const input of inputs) {
    const id = input.payload.external_id;
    if (input.webhook.provider !== "custom" || typeof id !== "string") continue;
    const key = customSourceKey(input.webhook.id, id.trim());
    named.set(key, (named.get(key) ?? 0) + 1);
  }
  const picked: CustomEvent[] = [];
  for (const input of inputs) {
    // A pull request event may name a custom sender's task by its id: what comes after it waits for it.
    if (input.delivery.event_type.startsWith("pull_request.")) break;
    if (input.webhook.provider !== "custom") continue;
    const event = parseCustomEvent(input);
    if (event && named.get(event.key) === 1) picked.push(event);
  }
  return picked;
}

function parseCustomEvent(input: DeliveryInput): CustomEvent | undefined {
  const type = input.delivery.event_type;
  if (type !== "task.create" && type !== "task.update" && type !== "task.close") return undefined;
  const doc = customPayloadSchemas[type].safeParse(input.payload);
  if (!doc.success) return undefined;
  const externalId = doc.data.external_id;
  const key = customSourceKey(input.webhook.id, externalId);
  if (type === "task.create") {
    const config = webhookConfig.safeParse(input.webhook.config);
    if (!config.success) return undefined;
    const task = { ...customTaskInput(input.webhook.id, config.data, doc.data as Create, key), org_id: input.webhook.org_id };
    return { input, key, externalId, type, open: { input, task, autoAssign: config.data.auto_assign } };
  }
  if (type === "task.update") return { input, key, externalId, type, doc: doc.data as Update };
  return { input, key, externalId, type, doc: doc.data as Close };
}

/** An update or close of an external id that has its task. */
export interface CustomFollow {
  event: CustomEvent & { type: "task.update" | "task.close" };
  task: Task;
}

/**
 * Updates and closes of external ids with a task: closes move their tasks (one UPDATE, one events
 * append, then what each finished task sets off); updates change the fields they carry (one UPDATE,
 * one events append).
 */
export async function followCustomEvents(trx: Knex.Transaction, follows: CustomFollow[], outcomes: Map<DeliveryInput, DeliveryOutcome>): Promise<void> {
  const moves: StatusChange[] = [];
  const edits: { org_id: string; id: number; fields: TaskFieldChanges; source_updated_at: null }[] = [];
  const changed = new Map<number, string[]>();
  for (const { event, task } of follows) {
    if (event.type === "task.close") {
      const { move, action } = customClose(task, event.doc.resolution);
      if (move) moves.push(move);
      outcomes.set(event.input, { actions: [action] });
      continue;
    }
    const fields = customFieldChanges(event.doc);
    const keys = Object.keys(fields);
    outcomes.set(event.input, { actions: [customUpdateAction(task, keys)] });
    if (keys.length === 0) continue;
    // A custom sender's task has no source time to record.
    edits.push({ org_id: task.org_id, id: task.id, fields, source_updated_at: null });
    changed.set(task.id, keys);
  }
  await changeTaskStatuses(trx, moves);
  const edited = (await updateTaskFields(trx, edits)).sort((a, b) => a.id - b.id);
  await appendEvents(
    trx,
    edited.map((task) => customUpdateEvent(task, changed.get(task.id)!)),
  );
}
