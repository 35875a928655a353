import type { Knex } from "knex";
import type { DeliveryInput, DeliveryOutcome } from "../webhooks/delivery-processor.js";
import { webhookConfig } from "../webhooks/webhooks.schema.js";
import { assignToAvailableEngineer } from "../tasks/task-assignment.js";
import { changeTaskStatus, createTask } from "../tasks/tasks.service.js";
import { findTaskBySourceKey, updateTask, type Task } from "../tasks/tasks.store.js";
import { taskEvent } from "../tasks/task-event.js";
import { appendEvents } from "../events/events.store.js";
import { issueSourceKey, type GithubIssueSource } from "./github-issue-source.js";
import { issuePayload, parsePayload, type IssuePayload } from "./github-payloads.js";
import { priorityFromLabels, taskTypeFromLabels } from "./label-mapping.js";
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
  if (existing.source_updated_at && updatedAt < existing.source_updated_at) {
    return { actions: [`ignored: older than the state already applied to task #${existing.id} (updated_at ${issue.updated_at})`], status: "ignored" };
  }

  const actions: string[] = [];
  let task: Task = existing;
  switch (payload.action) {
    case "closed":
    case "reopened":
      task = await followState(trx, task, payload, actions);
      break;
    case "edited": {
      const description = issueDescription(payload);
      if (task.title !== issue.title || task.description !== description) {
        task = await updateTask(trx, orgId, task.id, { title: issue.title, description });
        await appendEvents(trx, [taskEvent(task, "task.updated", { changes: ["title", "description"], reason: "issue edited" })]);
        actions.push(`updated task #${task.id} title and description`);
      }
      break;
    }
    case "labeled":
    case "unlabeled": {
      const config = webhookConfig.parse(input.webhook.config);
      const labels = issue.labels.map((l) => l.name);
      const changes = {
        priority: priorityFromLabels(labels),
        task_type: taskTypeFromLabels(labels, config.default_task_type),
        tags: issueTags(payload),
      };
      task = await updateTask(trx, orgId, task.id, changes);
      await appendEvents(trx, [taskEvent(task, "task.updated", { changes: Object.keys(changes), reason: `issue ${payload.action}` })]);
      actions.push(`task #${task.id} priority ${changes.priority}, type ${changes.task_type}`);
      break;
    }
    default:
      actions.push(`no rule for issues.${payload.action}`);
  }
  await updateTask(trx, orgId, task.id, { source_updated_at: updatedAt });
  return { actions: actions.length ? actions : [`task #${task.id} already up to date`] };
}

async function createIssueTask(
  trx: Knex.Transaction,
  input: DeliveryInput,
  payload: IssuePayload,
  key: string,
  updatedAt: Date,
): Promise<DeliveryOutcome> {
  const { issue, repository } = payload;
  const config = webhookConfig.parse(input.webhook.config);
  const labels = issue.labels.map((l) => l.name);
  const source: GithubIssueSource = {
    kind: "github_issue",
    repository: repository.full_name,
    issue_number: issue.number,
    node_id: issue.node_id,
    html_url: issue.html_url,
    installation_id: payload.installation?.id ?? null,
    webhook_id: input.webhook.id,
    auto_assign: config.auto_assign,
    close_issue: config.close_issue,
  };
  let task = await createTask(trx, input.webhook.org_id, {
    team_id: config.team_id,
    title: issue.title,
    description: issueDescription(payload),
    priority: priorityFromLabels(labels),
    task_type: taskTypeFromLabels(labels, config.default_task_type),
    tags: issueTags(payload),
    source,
    source_key: key,
    source_updated_at: updatedAt,
  });
  const actions = [`created task #${task.id}`];
  if (issue.state === "closed") {
    task = await followState(trx, task, payload, actions);
  } else if (config.auto_assign) {
    const { agent } = await assignToAvailableEngineer(trx, task);
    actions.push(agent ? `assigned to ${agent.name}` : "no engineer available: waiting for one");
  }
  return { actions };
}

/** The task follows the issue's open/closed state. */
async function followState(trx: Knex.Transaction, task: Task, payload: IssuePayload, actions: string[]): Promise<Task> {
  const { issue } = payload;
  const target = issue.state === "open" ? "todo" : issue.state_reason === "not_planned" ? "cancelled" : "done";
  if (task.status === target) return task;
  const reason = issue.state === "open" ? "issue reopened on GitHub" : "issue closed on GitHub";
  const updated = await changeTaskStatus(trx, task, target, { enforceTransitions: false, reason, mirrorsGithubIssue: true });
  actions.push(`task #${task.id} ${task.status} → ${target}`);
  return updated;
}

function issueDescription(payload: IssuePayload): string {
  const body = payload.issue.body?.trim();
  return `${body ? `${body}\n\n` : ""}GitHub issue: ${payload.issue.html_url}`;
}

function issueTags(payload: IssuePayload): string[] {
  return [
    "github",
    `issue:${payload.issue.number}`,
    `repo:${payload.repository.full_name}`,
    ...payload.issue.labels.map((l) => l.name),
  ];
}
