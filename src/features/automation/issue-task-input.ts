import type { DeliveryInput } from "../webhooks/delivery-processor.js";
import type { WebhookConfig } from "../webhooks/webhooks.schema.js";
import type { CreateTaskInput } from "../tasks/tasks.service.js";
import type { GithubIssueSource } from "./github-issue-source.js";
import type { IssuePayload } from "./github-payloads.js";
import { priorityFromLabels, taskTypeFromLabels } from "./label-mapping.js";

/** The task an issue becomes: title, description, priority, type and tags from the issue, its source for later events. */
export function issueTaskInput(input: DeliveryInput, config: WebhookConfig, payload: IssuePayload, key: string, updatedAt: Date): CreateTaskInput {
  const { issue, repository } = payload;
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
  return {
    team_id: config.team_id,
    title: issue.title,
    description: issueDescription(payload),
    priority: priorityFromLabels(labels),
    task_type: taskTypeFromLabels(labels, config.default_task_type),
    tags: issueTags(payload),
    source,
    source_key: key,
    source_updated_at: updatedAt,
  };
}

export function issueDescription(payload: IssuePayload): string {
  const body = payload.issue.body?.trim();
  return `${body ? `${body}\n\n` : ""}GitHub issue: ${payload.issue.html_url}`;
}

export function issueTags(payload: IssuePayload): string[] {
  return [
    "github",
    `issue:${payload.issue.number}`,
    `repo:${payload.repository.full_name}`,
    ...payload.issue.labels.map((l) => l.name),
  ];
}
