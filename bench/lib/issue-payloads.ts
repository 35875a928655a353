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
