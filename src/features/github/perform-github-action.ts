import { sha256Hex } from "../../lib/sha256-hex.js";
import { AppError } from "../../errors.js";
import { GithubAppNotInstalledError, GithubInstallationNotLinkedError, splitRepository, type GithubClient, type GithubOctokit } from "./github-client.js";
import type { ClaimedGithubAction, GithubActionSettlement } from "./github-outbox.store.js";

export const NO_GITHUB_CREDENTIALS =
  "Not posted: GitHub App credentials are not configured (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET); see README: GitHub App";

/** How far before the row's creation to look for an earlier attempt's comment or review (clock skew). */
const LOOKBACK_MS = 10 * 60 * 1000;

// POSTs that create something are sent once per attempt: Octokit's own retry would repeat a
// request GitHub may have accepted before answering 502. Our retry checks for the marker first.
const NO_AUTOMATIC_RETRY = { request: { retries: 0 } } as const;

/** Hidden in comment and review bodies so a retry can tell whether an earlier attempt already reached GitHub. */
export function githubMarker(dedupeKey: string): string {
  const safe = /^[\w:.#/@=+-]+$/.test(dedupeKey) && !dedupeKey.includes("--") ? dedupeKey : `sha256:${sha256Hex(dedupeKey)}`;
  return `<!-- entourage:${safe} -->`;
}

/**
 * Performs one outbox row against GitHub and says how to settle it:
 * - no client (no credentials), no installation linked to the row's org covering the repository,
 *   or the App not installed there → skipped, with the reason;
 * - issue_comment / create_review: the body carries a hidden marker; when an earlier attempt
 *   may have reached GitHub (attempts > 1), the issue's comments (the PR's reviews) are read
 *   first and a found marker settles the row as sent without posting again;
 * - close_issue, add_labels: idempotent, simply repeated;
 * - 5xx, 429, rate limits and network errors → retry; any other 4xx → failed.
 */
export async function performGithubAction(github: GithubClient | undefined, row: ClaimedGithubAction): Promise<Exclude<GithubActionSettlement, { status: "pending" }> | { status: "retry"; error: string; retryAfterMs?: number }> {
  if (!github) return { status: "skipped", error: NO_GITHUB_CREDENTIALS };
  try {
    // The row's org decides, never an installation id carried by a payload.
    const octokit = await github.forOrgRepository(row.org_id, row.repository);
    return { status: "sent", result: await perform(octokit, row) };
  } catch (error) {
    if (error instanceof GithubAppNotInstalledError || error instanceof GithubInstallationNotLinkedError) {
      return { status: "skipped", error: `Not posted: ${error.message}` };
    }
    if (error instanceof AppError) return { status: "failed", error: error.message }; // ours, e.g. a bad repository name: no retry can help
    return classify(error);
  }
}

async function perform(octokit: GithubOctokit, row: ClaimedGithubAction): Promise<Record<string, unknown>> {
  const { owner, repo } = splitRepository(row.repository);
  const request = row.request;
  const marker = githubMarker(row.dedupe_key);
  const since = new Date(new Date(row.created_at).getTime() - LOOKBACK_MS).toISOString();
  switch (row.kind) {
    case "issue_comment": {
      const issue_number = Number(request.issue_number);
      if (row.attempts > 1) {
        const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number, since, per_page: 100 });
        const found = comments.find((comment) => comment.body?.includes(marker));
        if (found) return { comment_id: found.id, html_url: found.html_url, found_after_retry: true };
      }
      const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number, body: `${String(request.body ?? "")}\n\n${marker}`, ...NO_AUTOMATIC_RETRY });
      return { comment_id: data.id, html_url: data.html_url };
    }
    case "create_review": {
      const pull_number = Number(request.pull_number);
      if (row.attempts > 1) {
        const reviews = await octokit.paginate(octokit.rest.pulls.listReviews, { owner, repo, pull_number, per_page: 100 });
        const found = reviews.find((review) => review.body?.includes(marker));
        if (found) return { review_id: found.id, html_url: found.html_url, found_after_retry: true };
      }
      const { pull_number: _n, body, ...rest } = request;
      const { data } = await octokit.request("POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews", {
        ...rest,
        owner,
        repo,
        pull_number,
        body: `${typeof body === "string" ? body : ""}\n\n${marker}`,
        ...NO_AUTOMATIC_RETRY,
      });
      return { review_id: data.id, html_url: data.html_url };
    }
    case "close_issue": {
      const issue_number = Number(request.issue_number);
      const state_reason = typeof request.state_reason === "string" ? (request.state_reason as "completed" | "not_planned") : undefined;
      const { data } = await octokit.rest.issues.update({ owner, repo, issue_number, state: "closed", ...(state_reason ? { state_reason } : {}) });
      return { state: data.state, html_url: data.html_url };
    }
    case "add_labels": {
      const issue_number = Number(request.issue_number);
      const labels = Array.isArray(request.labels) ? request.labels.map(String) : [];
      const { data } = await octokit.rest.issues.addLabels({ owner, repo, issue_number, labels });
      return { labels: data.map((label) => label.name) };
    }
    default:
      throw Object.assign(new Error(`unknown GitHub action kind ${String(row.kind)}`), { status: 400 });
  }
}

function classify(error: unknown): { status: "retry"; error: string; retryAfterMs?: number } | { status: "failed"; error: string } {
  const status = (error as { status?: unknown }).status;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof status !== "number" || status === 0) return { status: "retry", error: `network error: ${message}` };
  const headers = ((error as { response?: { headers?: Record<string, string | undefined> } }).response?.headers ?? {}) as Record<string, string | undefined>;
  const rateLimited = status === 429 || (status === 403 && (headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(message)));
  if (status >= 500 || rateLimited || status === 408) {
    return { status: "retry", error: `GitHub answered ${status}: ${message}`, retryAfterMs: retryAfterMs(headers) };
  }
  return { status: "failed", error: `GitHub answered ${status}: ${message}` };
}

function retryAfterMs(headers: Record<string, string | undefined>): number | undefined {
  const after = Number(headers["retry-after"]);
  if (Number.isFinite(after) && after > 0) return after * 1000;
  const reset = Number(headers["x-ratelimit-reset"]);
  if (Number.isFinite(reset) && reset > 0 && headers["x-ratelimit-remaining"] === "0") return Math.max(reset * 1000 - Date.now(), 1000);
  return undefined;
}
