import { createHmac, randomUUID } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const examples = require("@octokit/webhooks-examples") as { name: string; examples: Record<string, any>[] }[];

// A number no real example contains, replaced per request without re-serialising the JSON.
const MARKER = 987654321;

export interface SignedDelivery {
  body: string;
  headers: Record<string, string>;
}

/**
 * The real `issues.opened` example from @octokit/webhooks-examples, split around its issue number so
 * each request can carry a new issue (a new task) and a new GUID at the cost of a string join and an HMAC.
 */
export function createIssueDeliveries(secret: string, repository = "bench/entourage") {
  const group = examples.find((entry) => entry.name === "issues");
  const example = group?.examples.find((candidate) => candidate.action === "opened");
  if (!example) throw new Error("@octokit/webhooks-examples has no issues.opened example");
  const payload = structuredClone(example);
  payload.issue.number = MARKER;
  payload.issue.html_url = `https://github.com/${repository}/issues/${MARKER}`;
  payload.repository.full_name = repository;
  payload.repository.name = repository.split("/")[1];
  const parts = JSON.stringify(payload).split(String(MARKER));

  return {
    bytes: parts.join("1").length,
    /** A signed delivery for issue `number`, with a fresh GUID. */
    make(number: number): SignedDelivery {
      const body = parts.join(String(number));
      return {
        body,
        headers: {
          "content-type": "application/json",
          "user-agent": "GitHub-Hookshot/bench",
          "x-github-event": "issues",
          "x-github-delivery": randomUUID(),
          "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
        },
      };
    },
  };
}

/** Markers in the pull request template, replaced per row in SQL (see pullRequestTemplate). */
export const PULL_REQUEST_MARKERS = { issue: "987654321", pull: "987654322", sha: "a".repeat(40) };

/**
 * The real `pull_request.opened` example (or, with `merged`, its merged close) as text, for a pull
 * request in `repository` that fixes an issue: its number, the issue's and its head SHA are
 * PULL_REQUEST_MARKERS, for a seed to replace.
 */
export function pullRequestTemplate(merged: boolean, repository = "bench/entourage"): string {
  const group = examples.find((entry) => entry.name === "pull_request");
  const example = group?.examples.find((candidate) => candidate.action === "opened");
  if (!example) throw new Error("@octokit/webhooks-examples has no pull_request.opened example");
  const { issue, pull, sha } = PULL_REQUEST_MARKERS;
  const payload = structuredClone(example);
  payload.action = merged ? "closed" : "opened";
  Object.assign(payload.pull_request, {
    number: Number(pull),
    title: `Fix issue ${issue}`,
    body: `Fixes #${issue}`,
    draft: false,
    state: merged ? "closed" : "open",
    merged,
    html_url: `https://github.com/${repository}/pull/${pull}`,
  });
  payload.pull_request.head.ref = `issue-${issue}-fix`;
  payload.pull_request.head.sha = sha;
  payload.repository.full_name = repository;
  payload.repository.name = repository.split("/")[1];
  return JSON.stringify(payload);
}
