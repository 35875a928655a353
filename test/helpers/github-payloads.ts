import { githubExample } from "./github-examples.js";

export interface IssueChanges {
  number?: number;
  title?: string;
  body?: string | null;
  labels?: string[];
  state?: "open" | "closed";
  state_reason?: "completed" | "not_planned" | "reopened" | null;
  updated_at?: string;
  repository?: string;
}

/** A real `issues` example payload with the fields a test needs changed. */
export function issuePayload(action: "opened" | "closed" | "reopened" | "edited" | "labeled" | "unlabeled", changes: IssueChanges = {}) {
  // There is no `closed` example: a closed issue is the opened one with its state changed.
  const payload = githubExample("issues", action === "closed" ? "opened" : action);
  payload.action = action;
  const issue = payload.issue;
  if (changes.number !== undefined) {
    issue.number = changes.number;
    issue.html_url = issue.html_url.replace(/\/\d+$/, `/${changes.number}`);
  }
  if (changes.title !== undefined) issue.title = changes.title;
  if (changes.body !== undefined) issue.body = changes.body;
  if (changes.labels) issue.labels = changes.labels.map((name, i) => ({ ...(issue.labels[0] ?? {}), id: 1000 + i, name }));
  issue.state = changes.state ?? (action === "closed" ? "closed" : "open");
  issue.state_reason = changes.state_reason !== undefined ? changes.state_reason : action === "closed" ? "completed" : null;
  if (changes.updated_at) issue.updated_at = changes.updated_at;
  if (changes.repository) {
    payload.repository.full_name = changes.repository;
    payload.repository.name = changes.repository.split("/")[1];
  }
  return payload;
}

export interface PullRequestChanges {
  number?: number;
  title?: string;
  body?: string | null;
  branch?: string;
  draft?: boolean;
  head_sha?: string;
  repository?: string;
}

/** A real `pull_request` example payload with the fields a test needs changed; `merged` is a merged close. */
export function pullRequestPayload(action: "opened" | "closed" | "merged" | "ready_for_review" | "synchronize" | "reopened", changes: PullRequestChanges = {}) {
  const payload = githubExample("pull_request", action === "merged" ? "closed" : action);
  const pr = payload.pull_request;
  if (action === "merged") pr.merged = true;
  if (action === "closed") pr.merged = false;
  if (changes.number !== undefined) {
    pr.number = changes.number;
    payload.number = changes.number;
    pr.html_url = pr.html_url.replace(/\/\d+$/, `/${changes.number}`);
  }
  if (changes.title !== undefined) pr.title = changes.title;
  if (changes.body !== undefined) pr.body = changes.body;
  if (changes.branch !== undefined) pr.head.ref = changes.branch;
  if (changes.draft !== undefined) pr.draft = changes.draft;
  if (changes.head_sha !== undefined) pr.head.sha = changes.head_sha;
  if (changes.repository) {
    payload.repository.full_name = changes.repository;
    payload.repository.name = changes.repository.split("/")[1];
  }
  return payload;
}
