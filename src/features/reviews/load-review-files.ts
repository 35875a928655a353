import type { Queryable } from "../../db/create-db.js";
import type { PullRequestFile, PullRequestFilesSource } from "./pull-request-files-source.js";
import { cacheFiles, findCachedFiles } from "./pull-request-files.store.js";
import type { Review } from "./reviews.store.js";

export const NO_GITHUB_FILES =
  "GitHub credentials are missing (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET; see README: GitHub App): the pull request's changed files cannot be listed";

export interface ReviewFiles {
  files: PullRequestFile[];
  /** Why `files` is empty when it could not be listed. */
  error?: string;
}

/**
 * The pull request's changed files at the review's head SHA: from the cache, else from GitHub
 * (cached while the review is pending; GitHub lists the PR's current head, which an outdated
 * review no longer is). A missing client or a GitHub failure is reported, not thrown.
 */
export async function loadReviewFiles(db: Queryable, source: PullRequestFilesSource | undefined, review: Review): Promise<ReviewFiles> {
  const head = { org_id: review.org_id, repository: review.repository, pull_number: review.pull_number, head_sha: review.head_sha };
  const cached = await findCachedFiles(db, head);
  if (cached) return { files: cached };
  if (!source) return { files: [], error: NO_GITHUB_FILES };
  let files: PullRequestFile[];
  try {
    files = await source({ org_id: review.org_id, repository: review.repository, pull_number: review.pull_number, installation_id: review.installation_id });
  } catch (error) {
    return { files: [], error: `GitHub did not list the pull request's files: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (review.status === "pending") await cacheFiles(db, head, files);
  return { files };
}
