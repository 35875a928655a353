/** A changed file of a pull request, as GitHub's `pulls.listFiles` lists it. */
export interface PullRequestFile {
  filename: string;
  status: string;
  additions: number;
  deletions: number;
  changes?: number;
  /** The diff hunks; absent for binary or very large files. */
  patch?: string;
  previous_filename?: string;
}

export interface PullRequestRef {
  org_id: string;
  /** owner/name */
  repository: string;
  pull_number: number;
  installation_id: number | null;
}

/**
 * Where the changed files of a pull request come from: the shared GitHub client's
 * `listPullRequestFiles` in production (main.ts wires it), a fixed list in tests.
 */
export type PullRequestFilesSource = (ref: PullRequestRef) => Promise<PullRequestFile[]>;
