import type { Knex } from "knex";
import { changeTaskStatuses, type StatusChange } from "../tasks/tasks.service.js";
import { appendEvents } from "../events/events.store.js";
import { taskEvent } from "../tasks/task-event.js";
import { updateTaskFields, type Task, type TaskFieldChanges } from "../tasks/tasks.store.js";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { knownEntitlement } from "../webhooks/repository-entitlement.js";
import { claimFirstRepository } from "../webhooks/webhooks.store.js";
import { webhookConfig, type WebhookConfig } from "../webhooks/webhooks.schema.js";
import { issueSourceKey } from "./github-issue-source.js";
import { issuePayload, type IssuePayload } from "./github-payloads.js";
import {
  alreadyUpToDate,
  followedFields,
  followedState,
  followedStateAction,
  isOlderThanApplied,
  olderThanApplied,
  type FieldChange,
} from "./issue-rules.js";
import { issueTaskInput } from "./issue-task-input.js";
import type { TaskToOpen } from "./open-tasks.js";

/** One picked delivery: an issues event the batch can apply, about an issue no other delivery of the batch touches. */
export interface IssueEvent {
  input: DeliveryInput;
  payload: IssuePayload;
  config: WebhookConfig;
  key: string;
}

export type ExistingTask = Task & { source_updated_at: Date | null };

/** The actions taken set-wise: opened (a new task); closed, reopened, edited, labeled, unlabeled (the task follows). */
const BATCH_ACTIONS = new Set(["opened", "closed", "reopened", "edited", "labeled", "unlabeled"]);

/** The task an opened issue becomes, to be created with others (openTasks). */
export function issueToOpen({ input, payload, config, key }: IssueEvent): TaskToOpen {
  return {
    input,
    task: { ...issueTaskInput(input, config, payload, key, new Date(payload.issue.updated_at)), org_id: input.webhook.org_id },
    autoAssign: config.auto_assign,
  };
}

/**
 * closed or reopened of an issue with a task: the tasks follow the issues' state (one UPDATE, one
 * events append, then what each finished task sets off); edited, labeled or unlabeled: their fields
 * follow (one UPDATE, which also records the issue's updated_at of the tasks that do not move, and
 * one events append). Nothing changes a task that reflects a later state of its issue.
 */
export async function followIssues(
  trx: Knex.Transaction,
  follows: { event: IssueEvent; task: ExistingTask }[],
  outcomes: Map<DeliveryInput, DeliveryOutcome>,
): Promise<void> {
  const moves: StatusChange[] = [];
  const edits: { org_id: string; id: number; fields: TaskFieldChanges; source_updated_at: Date }[] = [];
  const updated = new Map<number, FieldChange>();
  for (const { event, task } of follows) {
    const { payload } = event;
    if (isOlderThanApplied(task, payload.issue)) {
      outcomes.set(event.input, olderThanApplied(task, payload.issue));
      continue;
    }
    // A task that moves records the issue's updated_at with its status; any other, with its fields.
    const followsState = payload.action === "closed" || payload.action === "reopened";
    const move = followsState ? followedState(task, payload.issue) : undefined;
    const edit = followsState ? undefined : followedFields(task, payload, event.config);
    if (move) moves.push(move);
    else edits.push({ org_id: task.org_id, id: task.id, fields: edit?.fields ?? {}, source_updated_at: new Date(payload.issue.updated_at) });
    if (edit) updated.set(task.id, edit);
    outcomes.set(event.input, { actions: [move ? followedStateAction(move) : edit ? edit.action : alreadyUpToDate(task)] });
  }
  await changeTaskStatuses(trx, moves);
  const edited = (await updateTaskFields(trx, edits)).filter((task) => updated.has(task.id)).sort((a, b) => a.id - b.id);
  await appendEvents(
    trx,
    edited.map((task) => taskEvent(task, "task.updated", updated.get(task.id)!.event)),
  );
}

/**
 * A webhook that has not recorded its first repository yet records it once for the batch (as the
 * first of its deliveries would, one by one), so that its deliveries' entitlement is known.
 * Returns views of the inputs carrying it; `IssueEvent.input` stays the caller's object.
 */
export async function recordFirstRepositories(trx: Knex.Transaction, inputs: DeliveryInput[]): Promise<{ view: DeliveryInput; input: DeliveryInput }[]> {
  const recorded = new Map<string, string | undefined>();
  for (const input of inputs) {
    const { webhook, payload } = input;
    if (recorded.has(webhook.id) || webhook.first_repository != null || knownEntitlement(input)) continue;
    recorded.set(webhook.id, await claimFirstRepository(trx, webhook.id, (payload.repository as { full_name: string }).full_name));
  }
  return inputs.map((input) => {
    const first = recorded.get(input.webhook.id);
    return { input, view: first === undefined ? input : { ...input, webhook: { ...input.webhook, first_repository: first } } };
  });
}

/**
 * The issues events the batch can apply: about an issue no other delivery of the batch touches,
 * that their webhook may act on, whose payload is complete, and that come before any pull request
 * event of their repository in the batch.
 */
export function pickIssueEvents(inputs: { view: DeliveryInput; input: DeliveryInput }[]): IssueEvent[] {
  const picked: IssueEvent[] = [];
  const touched = new Map<string, number>();
  for (const { input } of inputs) {
    const key = looseIssueKey(input);
    if (key) touched.set(key, (touched.get(key) ?? 0) + 1);
  }
  // Repositories with a pull request event so far: it goes one by one, after the set-wise step, and
  // may move the tasks of that repository's issues (a merge finishes them), so their later events wait for it.
  const pulledBefore = new Set<string>();
  for (const { input, view } of inputs) {
    const repository = looseRepository(input);
    if (input.delivery.event_type.startsWith("pull_request.") && repository !== undefined) pulledBefore.add(repository.toLowerCase());
    const action = input.delivery.event_type.startsWith("issues.") ? input.delivery.event_type.slice("issues.".length) : undefined;
    if (input.webhook.provider !== "github" || !action || !BATCH_ACTIONS.has(action)) continue;
    if (repository === undefined || pulledBefore.has(repository.toLowerCase())) continue;
    const entitlement = knownEntitlement(view);
    if (!entitlement || entitlement.refused) continue;
    const parsed = issuePayload.safeParse(input.payload);
    const config = webhookConfig.safeParse(input.webhook.config);
    if (!parsed.success || !config.success) continue;
    const payload = parsed.data;
    if (payload.action !== action || payload.issue.pull_request) continue;
    // An issue opened already closed is created and closed one by one.
    if (action === "opened" && payload.issue.state !== "open") continue;
    const key = issueSourceKey(payload.repository.full_name, payload.issue.number);
    if (touched.get(key) !== 1) continue;
    // A webhook's own secret is no credential for an installation: its payload's `installation` is dropped.
    if (input.delivery.via !== "app") delete payload.installation;
    picked.push({ input, payload, config: config.data, key });
  }
  return picked;
}

/** The issue a delivery is about, read loosely (any issues.* event), or undefined. */
function looseIssueKey(input: DeliveryInput): string | undefined {
  if (!input.delivery.event_type.startsWith("issues.")) return undefined;
  const repository = looseRepository(input);
  const number = (input.payload.issue as { number?: unknown } | undefined)?.number;
  if (repository === undefined || typeof number !== "number") return undefined;
  return issueSourceKey(repository, number);
}

/** The repository's full name a delivery's payload gives, read loosely (before any schema), or undefined. */
export function looseRepository(input: DeliveryInput): string | undefined {
  const name = (input.payload.repository as { full_name?: unknown } | undefined)?.full_name;
  return typeof name === "string" ? name : undefined;
}
