import type { Queryable } from "../../db/create-db.js";
import type { PullRequestFile } from "./pull-request-files-source.js";

export interface PullRequestHead {
  org_id: string;
  repository: string;
  pull_number: number;
  head_sha: string;
}

/** The changed files cached for a pull request at one head SHA, or undefined. */
export async function findCachedFiles(db: Queryable, head: PullRequestHead): Promise<PullRequestFile[] | undefined> {
  const row = (await db("pull_request_files")
    .select("files")
    .where({ org_id: head.org_id, pull_number: head.pull_number, head_sha: head.head_sha })
    .whereRaw("lower(repository) = lower(?)", [head.repository])
    .first()) as { files: PullRequestFile[] } | undefined;
  return row?.files;
}

/** Caches the files of a head SHA; the first list stored for a SHA stays. */
export async function cacheFiles(db: Queryable, head: PullRequestHead, files: PullRequestFile[]): Promise<void> {
  await db.raw(
    `INSERT INTO pull_request_files (org_id, repository, pull_number, head_sha, files) VALUES (?, ?, ?, ?, ?::jsonb)
     ON CONFLICT (org_id, lower(repository), pull_number, head_sha) DO NOTHING`,
    [head.org_id, head.repository, head.pull_number, head.head_sha, JSON.stringify(files)],
  );
}
