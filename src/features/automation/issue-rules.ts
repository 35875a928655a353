import type { Knex } from "knex";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { webhookConfig, type WebhookConfig } from "../webhooks/webhooks.schema.js";
import { changeTaskStatus, createTask, type StatusChange } from "../tasks/tasks.service.js";
import { findTaskBySourceKey, updateTask, type Task, type TaskFieldChanges } from "../tasks/tasks.store.js";
import { taskEvent } from "../tasks/task-event.js";
import { appendEvents } from "../events/events.store.js";
import { issueSourceKey } from "./github-issue-source.js";
import { handOutNewTask } from "./open-tasks.js";
import { issuePayload, parsePayload, type IssuePayload } from "./github-payloads.js";
import { priorityFromLabels, taskTypeFromLabels } from "./label-mapping.js";
import { issueDescription, issueTags, issueTaskInput } from "./issue-task-input.js";
import { lockKey } from "../../db/lock-key.js";

const CREATING_ACTIONS = new Set(["opened", "reopened", "closed"]);

/**
 * `issues.*` → the issue's task. One task per issue (keyed by repository and number, and
 * serialised per issue), created by opened — or by reopened/closed when those arrive first —
 * and then kept in step: closed → done/cancelled, reopened → todo, edited → title and
 * description, labeled/unlabeled → priority, type and tags. An event older than the state
 * already applied (the payload's updated_at) changes nothing.
 */
export async function applyIssueEvent(trx: Knex.Transaction, input: DeliveryInput): Promise<DeliveryOutcome> {
  const payload = parsePayload(issuePayload, input.payload, "issues");
  const { issue, repository } = payload;
  if (issue.pull_request) return { actions: ["ignored: a pull request's issue event"], status: "ignored" };
  const orgId = input.webhook.org_id;
  const key = issueSourceKey(repository.full_name, issue.number);
  await lockKey(trx, key);

  const existing = await findTaskBySourceKey(trx, orgId, key, { forUpdate: true });
  const updatedAt = new Date(issue.updated_at);
  if (!existing) {
    if (!CREATING_ACTIONS.has(payload.action)) {
      return { actions: [`ignored: no task for ${repository.full_name}#${issue.number} (it was opened before this webhook)`], status: "ignored" };
    }
    return createIssueTask(trx, input, payload, key, updatedAt);
  }
  if (isOlderThanApplied(existing, issue)) return olderThanApplied(existing, issue);

  const actions: string[] = [];
  let task: Task = existing;
  switch (payload.action) {
    case "closed":
    case "reopened":
      task = await followState(trx, task, payload, actions);
      break;
    case "edited":
    case "labeled":
    case "unlabeled": {
      const change = followedFields(task, payload, webhookConfig.parse(input.webhook.config));
      if (change) {
        task = await updateTask(trx, orgId, task.id, change.fields);
        await appendEvents(trx, [taskEvent(task, "task.updated", change.event)]);
        actions.push(change.action);
      }
      break;
    }
    default:
      actions.push(`no rule for issues.${payload.action}`);
  }
  await updateTask(trx, orgId, task.id, { source_updated_at: updatedAt });
  return { actions: actions.length ? actions : [alreadyUpToDate(task)] };
}

async function createIssueTask(
  trx: Knex.Transaction,
  input: DeliveryInput,
  payload: IssuePayload,
  key: string,
  updatedAt: Date,
): Promise<DeliveryOutcome> {
  const config = webhookConfig.parse(input.webhook.config);
  let task = await createTask(trx, input.webhook.org_id, issueTaskInput(input, config, payload, key, updatedAt));
  const actions = [`created task #${task.id}`];
  if (payload.issue.state === "closed") {
    task = await followState(trx, task, payload, actions);
  } else if (config.auto_assign) {
    actions.push((await handOutNewTask(trx, task)).action);
  }
  return { actions };
}

/** Whether the task already reflects a later state of the issue than this event's (the payload's updated_at). */
export function isOlderThanApplied(task: { source_updated_at: Date | null }, issue: IssuePayload["issue"]): boolean {
  return task.source_updated_at !== null && new Date(issue.updated_at) < task.source_updated_at;
}

/** The outcome of such an event: ignored, saying why. */
export function olderThanApplied(task: Task, issue: IssuePayload["issue"]): DeliveryOutcome {
  return { actions: [`ignored: older than the state already applied to task #${task.id} (updated_at ${issue.updated_at})`], status: "ignored" };
}

/** The status a task takes to follow its issue's open/closed state: the change, or undefined when it has it. */
export function followedState(task: Task, issue: IssuePayload["issue"]): StatusChange | undefined {
  const to = issue.state === "open" ? "todo" : issue.state_reason === "not_planned" ? "cancelled" : "done";
  if (task.status === to) return undefined;
  const reason = issue.state === "open" ? "issue reopened on GitHub" : "issue closed on GitHub";
  return { task, to, options: { enforceTransitions: false, reason, mirrorsGithubIssue: true, sourceUpdatedAt: new Date(issue.updated_at) } };
}

/** What an edited or labeled/unlabeled issue changes on its task: the fields, its task.updated event's data, and in words. */
export interface FieldChange {
  fields: TaskFieldChanges;
  event: { changes: string[]; reason: string };
  action: string;
}

/**
 * edited → title and description (undefined when both are as they were); labeled, unlabeled →
 * priority, type and tags from the issue's labels now.
 */
export function followedFields(task: Task, payload: IssuePayload, config: WebhookConfig): FieldChange | undefined {
  const { issue } = payload;
  if (payload.action === "edited") {
    const description = issueDescription(payload);
    if (task.title === issue.title && task.description === description) return undefined;
    return {
      fields: { title: issue.title, description },
      event: { changes: ["title", "description"], reason: "issue edited" },
      action: `updated task #${task.id} title and description`,
    };
  }
  const labels = issue.labels.map((l) => l.name);
  const fields = { priority: priorityFromLabels(labels), task_type: taskTypeFromLabels(labels, config.default_task_type), tags: issueTags(payload) };
  return {
    fields,
    event: { changes: Object.keys(fields), reason: `issue ${payload.action}` },
    action: `task #${task.id} priority ${fields.priority}, type ${fields.task_type}`,
  };
}

/** What an event that changed nothing did, in words. */
export function alreadyUpToDate(task: Task): string {
  return `task #${task.id} already up to date`;
}

/** What following the state did, in words. */
export function followedStateAction({ task, to }: StatusChange): string {
  return `task #${task.id} ${task.status} → ${to}`;
}

/** The task follows the issue's open/closed state. */
async function followState(trx: Knex.Transaction, task: Task, payload: IssuePayload, actions: string[]): Promise<Task> {
  const change = followedState(task, payload.issue);
  if (!change) return task;
  const updated = await changeTaskStatus(trx, task, change.to, change.options);
  actions.push(followedStateAction(change));
  return updated;
}
