import { matchesEventType } from "../../lib/event-type-pattern.js";

/** GitHub event types a webhook can subscribe to: `<X-GitHub-Event>.<action>` (or the bare event without action). */
export const GITHUB_EVENT_TYPES = [
  "issues.opened",
  "issues.edited",
  "issues.closed",
  "issues.reopened",
  "issues.deleted",
  "issues.labeled",
  "issues.unlabeled",
  "issues.assigned",
  "issues.unassigned",
  "issues.transferred",
  "issues.milestoned",
  "issues.demilestoned",
  "issues.pinned",
  "issues.unpinned",
  "issues.locked",
  "issues.unlocked",
  "issue_comment.created",
  "issue_comment.edited",
  "issue_comment.deleted",
  "pull_request.opened",
  "pull_request.edited",
  "pull_request.closed",
  "pull_request.merged",
  "pull_request.reopened",
  "pull_request.synchronize",
  "pull_request.ready_for_review",
  "pull_request.converted_to_draft",
  "pull_request.labeled",
  "pull_request.unlabeled",
  "pull_request.assigned",
  "pull_request.unassigned",
  "pull_request.review_requested",
  "pull_request.review_request_removed",
  "pull_request_review.submitted",
  "pull_request_review.edited",
  "pull_request_review.dismissed",
  "pull_request_review_comment.created",
  "pull_request_review_comment.edited",
  "pull_request_review_comment.deleted",
  "push",
  "create",
  "delete",
  "release.published",
  "check_suite.completed",
  "check_run.completed",
  "workflow_run.completed",
  "installation.created",
  "installation.deleted",
  "installation.suspend",
  "installation.unsuspend",
  "installation_repositories.added",
  "installation_repositories.removed",
] as const;

/** Custom senders' event types (see README "Custom senders"). */
export const CUSTOM_EVENT_TYPES = ["task.create", "task.update", "task.close"] as const;

export type Provider = "github" | "custom";

/** Every subscription a provider accepts: its event types, `<prefix>.*` for each prefix, and `*`. */
export function validSubscriptions(provider: Provider): string[] {
  const types: readonly string[] = provider === "github" ? GITHUB_EVENT_TYPES : CUSTOM_EVENT_TYPES;
  const wildcards = [...new Set(types.filter((type) => type.includes(".")).map((type) => `${type.split(".")[0]}.*`))];
  return ["*", ...wildcards, ...types];
}

/** True when a subscription list covers an event type; `pull_request.closed` also covers `pull_request.merged`. */
export function isSubscribed(subscriptions: readonly string[], eventType: string): boolean {
  return matchesEventType(subscriptions, eventType) || (eventType === "pull_request.merged" && subscriptions.includes("pull_request.closed"));
}

/** GitHub's event type for a delivery: header event plus action; a merged close is `pull_request.merged`. */
export function githubEventType(eventName: string, payload: { action?: unknown; pull_request?: { merged?: unknown } }): string {
  const action = typeof payload.action === "string" ? payload.action : undefined;
  if (eventName === "pull_request" && action === "closed" && payload.pull_request?.merged === true) return "pull_request.merged";
  return action ? `${eventName}.${action}` : eventName;
}
