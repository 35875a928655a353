import type { PullRequestFile } from "../github/github-client.js";

export type { PullRequestFile };

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
